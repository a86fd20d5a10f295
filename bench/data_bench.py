"""Cost of encryption at rest for the data API.

    uv run python bench/data_bench.py [--rows 500] [--requests 40] [--iterations 20000]

1. Encrypt + decrypt per 1 KB value, as the data apps store them (text form, through the
   keyring with a warm cache), next to plain AES-256-GCM (core.crypto; measure() is
   bench/crypto_bench.py's).
2. The saved-queries list endpoint returning `--rows` rows of about 1 KB of SQL each, in one
   page, through the whole Django/DRF stack (authentication, membership, row-level security,
   the query, decryption, serialization, JSON rendering), with decryption as shipped versus the
   same endpoint with decryption bypassed (a lookup of the already-decrypted text in a dict, so
   both return byte-identical bodies). Requests alternate between the two so drift hits both.

Prints the ratio encrypted/bypassed (goal: at most 1.3). Uses the services scripts/services.py
finds; creates, migrates and drops its own database (`--keep-db` keeps it for the next run).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import psycopg  # noqa: E402
from crypto_bench import measure  # noqa: E402
from psycopg import sql  # noqa: E402

DB = "dbw_bench_data"


def service_urls() -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "services.py"), "--for", "test"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    env = {}
    for line in out.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value.strip("'")
    return env


def with_db(url: str, name: str) -> str:
    base, _, rest = url.rpartition("/")
    query = rest.partition("?")[2]
    return f"{base}/{name}" + (f"?{query}" if query else "")


def crypto_per_value(iterations: int, repeat: int) -> list[tuple[str, float]]:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from core.crypto import (
        Aad,
        ColumnAad,
        DataKeyCache,
        EnvMasterKeyProvider,
        Keyring,
        MasterKeys,
        WrappedKeyset,
        new_wrapped_data_key,
    )

    workspace = uuid.uuid4()
    provider = EnvMasterKeyProvider(MasterKeys({"k1": os.urandom(32)}, "k1"))
    stored = WrappedKeyset(
        workspace, 1, {1: new_wrapped_data_key(provider, workspace_id=workspace, version=1)}
    )
    keyring = Keyring(
        provider=provider,
        load_wrapped=lambda _: stored,
        cache=DataKeyCache(max_size=10, ttl_seconds=3600),
    )
    aad = Aad(workspace, "queries.savedquery", "sql", uuid.uuid4())
    text = "select * from orders where note = '" + "x" * 988 + "'"
    assert len(text) == 1024
    token = keyring.encrypt_text(text, aad)
    raw = os.urandom(1024)
    plain = AESGCM(os.urandom(32))

    def plain_round_trip() -> None:
        nonce = os.urandom(12)
        plain.decrypt(nonce, plain.encrypt(nonce, raw, None), None)

    # A page of one column, as the list endpoints decrypt it (keyring.decrypt_texts).
    column = ColumnAad(workspace, "queries.savedquery", "sql")
    page_rows = [uuid.uuid4() for _ in range(500)]
    page = [(row, keyring.encrypt_text(text, column.aad(row))) for row in page_rows]
    assert keyring.decrypt_texts(column, page) == [text] * len(page)
    rows = [
        ("plain AES-256-GCM encrypt+decrypt 1 KB (baseline)", plain_round_trip),
        ("encrypt 1 KB (keyring, text form)", lambda: keyring.encrypt_text(text, aad)),
        ("decrypt 1 KB (keyring, text form)", lambda: keyring.decrypt_text(token, aad)),
        (
            "encrypt+decrypt 1 KB (keyring, text form)",
            lambda: keyring.decrypt_text(keyring.encrypt_text(text, aad), aad),
        ),
    ]
    results = [(name, measure(fn, iterations, repeat)[0]) for name, fn in rows]
    per_page = measure(
        lambda: keyring.decrypt_texts(column, page), max(1, iterations // len(page)), repeat
    )[0]
    results.append(("decrypt 1 KB, in a page of 500 (decrypt_texts)", per_page / len(page)))
    return results


def prepare_database(env: dict[str, str], keep: bool) -> tuple[str, str, str]:
    owner_url = os.environ.get("DATABASE_OWNER_URL") or env["DATABASE_OWNER_URL"]
    app_url = os.environ.get("DATABASE_URL") or env["DATABASE_URL"]
    superuser_url = with_db(owner_url.replace("dbw_owner@", "postgres@"), "postgres")
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB]).fetchone()
        if exists and not keep:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(DB)))
            exists = None
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER dbw_owner").format(sql.Identifier(DB)))
    owner_db, app_db = with_db(owner_url, DB), with_db(app_url, DB)
    if not exists:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--skip-checks", "-v", "0"],
            cwd=ROOT,
            env={
                **os.environ,
                **env,
                "DJANGO_ENV": "test",
                "DATABASE_URL": owner_db,
                "DATABASE_OWNER_URL": owner_db,
                "LOG_LEVEL": "WARNING",
            },
            check=True,
        )
        print(f"migrated {DB} in {time.perf_counter() - started:.0f}s")
    return superuser_url, owner_db, app_db


def list_endpoint(rows: int, requests: int) -> dict[str, list[float]]:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    from core import entities
    from core.entity_writes import entity_create
    from core.tenancy import db_context
    from core.versioning import VersionClock
    from queries.entity import SavedQueryEntity
    from queries.models import SavedQuery
    from workspaces.services import workspace_create

    user = get_user_model().objects.create(email=f"bench-{uuid.uuid4().hex[:8]}@example.com")
    workspace = workspace_create(user=user, name="Bench")
    texts: dict[str, str] = {}
    with db_context(workspace_id=workspace.pk, user_id=user.pk):
        clock = VersionClock.reserve(workspace.pk, count=rows, poke=False)
        for i in range(rows):
            text = f"select {i}, * from orders where note = '" + "x" * 970 + "'"
            entity_create(
                SavedQueryEntity,
                workspace_id=workspace.pk,
                user=user,
                fields={"name": f"query {i:04}", "sql": text, "tags": ["bench"]},
                writer="bench",
                clock=clock,
            )
        for row in SavedQuery.objects.filter(workspace_id=workspace.pk):
            assert row.sql_encrypted is not None
            texts[row.sql_encrypted] = SavedQueryEntity.read(row, "sql")
    client = APIClient()
    client.force_authenticate(user)
    path = f"/api/v1/workspaces/{workspace.pk}/saved-queries/?limit={rows}"
    # The list decrypts a page column by column (entities.unseal_many), single reads value by
    # value (entities.unseal): the bypass replaces both with dict lookups.
    real_unseal, real_unseal_many = entities.unseal, entities.unseal_many

    def bypassed_unseal(instance: Any, field_name: str) -> str | None:
        token = getattr(instance, field_name)
        return None if token is None else texts[token]

    def bypassed_unseal_many(instances: Any, field_name: str) -> list[str | None]:
        return [bypassed_unseal(instance, field_name) for instance in instances]

    def timed(bypass: bool) -> tuple[float, bytes]:
        if bypass:
            setattr(entities, "unseal", bypassed_unseal)  # noqa: B010
            setattr(entities, "unseal_many", bypassed_unseal_many)  # noqa: B010
        try:
            started = time.perf_counter()
            response = client.get(path)
            elapsed = time.perf_counter() - started
        finally:
            setattr(entities, "unseal", real_unseal)  # noqa: B010
            setattr(entities, "unseal_many", real_unseal_many)  # noqa: B010
        assert response.status_code == 200, response.content[:300]
        return elapsed * 1000, response.content

    # The bypass must bypass all of the decryption: count the keyring's decryptions during one
    # request of each mode (outside the timed requests).
    from core.crypto import store

    keyring, calls = store.keyring(), [0]
    real_decrypt, real_decrypt_texts = keyring.decrypt, keyring.decrypt_texts

    def counted_decrypt(*args: Any) -> Any:
        calls[0] += 1
        return real_decrypt(*args)

    def counted_decrypt_texts(*args: Any) -> Any:
        calls[0] += 1
        return real_decrypt_texts(*args)

    setattr(keyring, "decrypt", counted_decrypt)  # noqa: B010
    setattr(keyring, "decrypt_texts", counted_decrypt_texts)  # noqa: B010
    try:
        timed(True)
        assert calls[0] == 0, "the bypassed mode decrypted"
        timed(False)
        assert calls[0] > 0, "the encrypted mode did not decrypt"
    finally:
        del keyring.decrypt, keyring.decrypt_texts

    for _ in range(5):  # warm-up: key cache, query plans, imports
        timed(False)
        timed(True)
    _, body_real = timed(False)
    _, body_bypassed = timed(True)
    assert body_real == body_bypassed, "both modes must return the same body"
    assert body_real.count(b'"sql":') == rows
    results: dict[str, list[float]] = {"encrypted": [], "bypassed": []}
    for n in range(requests):
        order = (False, True) if n % 2 == 0 else (True, False)
        for bypass in order:
            elapsed, _ = timed(bypass)
            results["bypassed" if bypass else "encrypted"].append(elapsed)
    return results


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--iterations", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()

    import cryptography

    print(
        f"Python {platform.python_version()}, cryptography {cryptography.__version__}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs"
    )
    print(f"\nper value ({args.iterations} calls x {args.repeat} runs, median):")
    for name, seconds in crypto_per_value(args.iterations, args.repeat):
        print(f"  {name:<52}{seconds * 1e6:8.2f} µs")

    env = service_urls()
    superuser_url, owner_db, app_db = prepare_database(env, args.keep_db)
    os.environ.update(
        {
            **env,
            "DJANGO_ENV": "test",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": app_db,
            "DATABASE_OWNER_URL": owner_db,
            "LOG_LEVEL": "WARNING",
        }
    )
    try:
        results = list_endpoint(args.rows, args.requests)
    finally:
        if not args.keep_db:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(superuser_url, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DB))
                )
    print(
        f"\nGET saved-queries, {args.rows} rows of ~1 KB SQL in one page, "
        f"{args.requests} requests per mode (ms):"
    )
    print(f"  {'mode':<12}{'p50':>9}{'p90':>9}{'mean':>9}{'min':>9}")
    for mode, values in results.items():
        print(
            f"  {mode:<12}{pct(values, 50):>9.1f}{pct(values, 90):>9.1f}"
            f"{statistics.mean(values):>9.1f}{min(values):>9.1f}"
        )
    ratio_p50 = pct(results["encrypted"], 50) / pct(results["bypassed"], 50)
    ratio_mean = statistics.mean(results["encrypted"]) / statistics.mean(results["bypassed"])
    per_row = (pct(results["encrypted"], 50) - pct(results["bypassed"], 50)) / args.rows * 1000
    print(
        f"\nratio encrypted/bypassed: p50 {ratio_p50:.3f}, mean {ratio_mean:.3f} (goal <= 1.3); "
        f"decryption adds {per_row:.1f} µs per row"
    )


if __name__ == "__main__":
    main()
