"""Cost of searching and sorting encrypted chat titles in Python (chats.selectors.chat_list).

    uv run python bench/chat_title_bench.py [--titles 2000] [--repeat 7]

The title search (`q`) and the title orderings decrypt the titles of the member's most recently
updated chats (TITLE_SCAN_LIMIT, 2,000) as one batch (keyring.decrypt_texts, as
ChatEntity.read_many does), then filter or sort them. This measures that part, per request, with
titles of about 60 characters; the query that loads them is one index scan on top. No database.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--titles", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_ENV", "test")

    from core.crypto import (
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
    column = ColumnAad(workspace, "chats.chat", "title")
    titles = [
        f"Why is the orders report {i} slow on the replica at night?"[:60]
        for i in range(args.titles)
    ]
    page = [
        (row_id, keyring.encrypt_text(title, column.aad(row_id)))
        for row_id, title in ((uuid.uuid4(), t) for t in titles)
    ]
    ids = [row_id for row_id, _ in page]

    def decrypt() -> list[str | None]:
        return keyring.decrypt_texts(column, page)

    def search() -> list[uuid.UUID]:
        needle = "REPORT 19".casefold()
        return [i for i, t in zip(ids, decrypt(), strict=True) if needle in (t or "").casefold()]

    def sort() -> list[uuid.UUID]:
        pairs = sorted(
            zip(ids, decrypt(), strict=True),
            key=lambda p: ((p[1] or "").casefold(), p[1], str(p[0])),
        )
        return [i for i, _ in pairs]

    print(f"python {platform.python_version()} on {platform.machine()}, {args.titles} titles")
    for name, fn in (
        ("decrypt (batch)", decrypt),
        ("decrypt + search", search),
        ("decrypt + sort", sort),
    ):
        fn()
        runs = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            fn()
            runs.append((time.perf_counter() - started) * 1000)
        print(f"{name:20s} median {statistics.median(runs):6.2f} ms  min {min(runs):6.2f} ms")


if __name__ == "__main__":
    main()
