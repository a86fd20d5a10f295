"""Cost of value encryption (core.crypto) per 1 KB value, next to plain AES-256-GCM.

    uv run python bench/crypto_bench.py [--iterations 20000] [--repeat 7]

No Django settings, database or network: the library is pure. Each row is timed `repeat` times
over `iterations` calls; the table shows the median (and the best) per call.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cryptography
from cryptography.hazmat.backends.openssl.backend import backend
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.crypto import (
    Aad,
    DataKeyCache,
    DataKeyset,
    EnvMasterKeyProvider,
    Keyring,
    MasterKeys,
    WrappedKeyset,
    generate_data_key,
    new_wrapped_data_key,
    unwrap_keyset,
)
from core.crypto.aad import data_key_aad


def measure(fn: Callable[[], object], iterations: int, repeat: int) -> tuple[float, float]:
    """(median, best) seconds per call."""
    for _ in range(min(iterations, 1000)):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(iterations):
            fn()
        samples.append((time.perf_counter() - start) / iterations)
    return statistics.median(samples), min(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    workspace = uuid.uuid4()
    aad = Aad(workspace, "connections.connection", "password", uuid.uuid4())
    value_1k = os.urandom(1024)
    value_64 = os.urandom(64)
    text_1k = "x" * 1024

    provider = EnvMasterKeyProvider(MasterKeys({"k1": os.urandom(32)}, "k1"))
    stored = WrappedKeyset(
        workspace,
        2,
        {v: new_wrapped_data_key(provider, workspace_id=workspace, version=v) for v in (1, 2)},
    )
    keyset: DataKeyset = unwrap_keyset(provider, stored)
    keyring = Keyring(
        provider=provider,
        load_wrapped=lambda _: stored,
        cache=DataKeyCache(max_size=1000, ttl_seconds=3600),
    )
    ct_1k = keyset.encrypt(value_1k, aad)
    ct_64 = keyset.encrypt(value_64, aad)
    token_1k = keyset.encrypt_text(text_1k, aad)

    plain_key = os.urandom(32)
    plain = AESGCM(plain_key)
    nonce = os.urandom(12)
    plain_ct = plain.encrypt(nonce, value_1k, None)

    def plain_round_trip() -> None:
        n = os.urandom(12)
        plain.decrypt(n, plain.encrypt(n, value_1k, None), None)

    data_key = generate_data_key(3)
    dek_aad = data_key_aad(workspace, 3)
    wrapped = provider.wrap(data_key.material, dek_aad)

    def round_trip_1k() -> None:
        keyset.decrypt(keyset.encrypt(value_1k, aad), aad)

    def round_trip_1k_text() -> None:
        keyset.decrypt_text(keyset.encrypt_text(text_1k, aad), aad)

    def round_trip_1k_keyring() -> None:
        keyring.decrypt(keyring.encrypt(value_1k, aad), aad)

    def round_trip_64() -> None:
        keyset.decrypt(keyset.encrypt(value_64, aad), aad)

    rows: list[tuple[str, Callable[[], object]]] = [
        ("plain AES-256-GCM encrypt 1 KB (baseline)", lambda: plain.encrypt(nonce, value_1k, None)),
        ("plain AES-256-GCM decrypt 1 KB (baseline)", lambda: plain.decrypt(nonce, plain_ct, None)),
        ("plain AES-256-GCM encrypt+decrypt 1 KB", plain_round_trip),
        ("encrypt 1 KB", lambda: keyset.encrypt(value_1k, aad)),
        ("decrypt 1 KB", lambda: keyset.decrypt(ct_1k, aad)),
        ("encrypt+decrypt 1 KB", round_trip_1k),
        ("encrypt+decrypt 1 KB, text form", round_trip_1k_text),
        ("decrypt 1 KB, text form", lambda: keyset.decrypt_text(token_1k, aad)),
        ("encrypt+decrypt 1 KB via Keyring (cache hit)", round_trip_1k_keyring),
        ("encrypt+decrypt 64 B", round_trip_64),
        ("decrypt 64 B", lambda: keyset.decrypt(ct_64, aad)),
        ("wrap a DEK (env master key)", lambda: provider.wrap(data_key.material, dek_aad)),
        ("unwrap a DEK (env master key)", lambda: provider.unwrap(wrapped, dek_aad)),
        ("keyset load on cache miss (2 DEKs)", lambda: unwrap_keyset(provider, stored)),
    ]

    print(
        f"Python {platform.python_version()}, cryptography {cryptography.__version__}, "
        f"{backend.openssl_version_text()}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs; {args.iterations} calls x {args.repeat} runs, single thread"
    )
    print(f"ciphertext overhead: {len(ct_1k) - 1024} bytes; 1 KB as text: {len(token_1k)} chars")
    print()
    width = max(len(name) for name, _ in rows)
    header = f"{'operation':<{width}}  {'µs/op':>8}  {'best':>8}  {'ops/s':>10}"
    print(header)
    print("-" * len(header))
    for name, fn in rows:
        median, best = measure(fn, args.iterations, args.repeat)
        print(f"{name:<{width}}  {median * 1e6:8.2f}  {best * 1e6:8.2f}  {1 / median:10,.0f}")


if __name__ == "__main__":
    main()
