"""core.crypto: value format, associated data, key commitment, master and data keys, rotation,
ENCRYPTION_KEYS parsing, redaction and the data key cache.

Pure library tests: no database. Settings are exercised in fresh interpreters, as in
tests/core/test_settings.py.
"""

from __future__ import annotations

import base64
import copy
import functools
import os
import pickle
import struct
import subprocess
import sys
import threading
import uuid

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.exceptions import ImproperlyConfigured

from core.crypto import (
    OVERHEAD,
    Aad,
    DataKey,
    DataKeyCache,
    DataKeyset,
    DecryptionError,
    EnvMasterKeyProvider,
    Keyring,
    MasterKeyProvider,
    MasterKeys,
    UnknownKeyError,
    WrappedKey,
    WrappedKeyset,
    ciphertext_key_version,
    data_key_aad,
    decrypt_bytes,
    encrypt_bytes,
    from_text,
    generate_data_key,
    get_master_key_provider,
    load_master_keys,
    new_wrapped_data_key,
    parse_master_keys,
    rewrap_data_key,
    to_text,
    unwrap_data_key,
    unwrap_keyset,
    wrap_data_key,
)
from core.crypto import values as values_module
from core.crypto.master_keys import dev_master_keys
from core.crypto.primitives import derive_message_keys
from tests.conftest import ROOT
from tests.core.test_settings import GOOD_PRODUCTION as SETTINGS_GOOD_PRODUCTION

WS = uuid.UUID("6f1c1d52-8a55-4f0e-9a57-3f1d2b1c0a01")
OTHER_WS = uuid.UUID("0b7e0a4c-3c1e-4bd8-8c39-5a0e9d1f2a02")
AAD = Aad(WS, "connections.connection", "password", 42)
SECRET = b"postgresql://app:hunter2-very-secret@db.internal/prod"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


K1 = bytes(range(1, 33))
K2 = bytes(range(101, 133))
K3 = bytes(range(201, 233))
KEYS_K1 = f"primary=k1;k1={_b64(K1)}"
KEYS_K1_K2 = f"primary=k2;k1={_b64(K1)};k2={_b64(K2)}"
KEYS_K2 = f"primary=k2;k2={_b64(K2)}"


@pytest.fixture
def keyset() -> DataKeyset:
    return DataKeyset(WS, [generate_data_key(1), generate_data_key(2)], primary_version=2)


# ------------------------------------------------------------------------------------------
# Value format
# ------------------------------------------------------------------------------------------


def test_round_trip_bytes_and_text(keyset: DataKeyset) -> None:
    ciphertext = keyset.encrypt(SECRET, AAD)
    assert keyset.decrypt(ciphertext, AAD) == SECRET
    assert len(ciphertext) == len(SECRET) + OVERHEAD == len(SECRET) + 97
    assert SECRET not in ciphertext
    assert ciphertext[0] == 0x01
    assert ciphertext_key_version(ciphertext) == 2 == keyset.primary_version

    token = keyset.encrypt_text("pässwörd ✓", AAD)
    assert token.isascii()
    assert "=" not in token
    assert "+" not in token
    assert "/" not in token
    assert keyset.decrypt_text(token, AAD) == "pässwörd ✓"
    assert keyset.decrypt(from_text(token), AAD) == "pässwörd ✓".encode()
    assert keyset.decrypt(keyset.encrypt(b"", AAD), AAD) == b""


def test_each_encryption_is_fresh(keyset: DataKeyset) -> None:
    first, second = keyset.encrypt(SECRET, AAD), keyset.encrypt(SECRET, AAD)
    assert first != second
    assert first[5:37] != second[5:37]  # salt
    assert first[37:49] != second[37:49]  # nonce


def test_header_layout_is_as_documented(keyset: DataKeyset) -> None:
    ciphertext = keyset.encrypt(SECRET, AAD)
    version, key_version = struct.unpack(">BI", ciphertext[:5])
    assert (version, key_version) == (1, 2)
    salt, nonce, commitment = ciphertext[5:37], ciphertext[37:49], ciphertext[49:81]
    message_key, expected_commitment = derive_message_keys(
        keyset.primary.material, salt, values_module.PURPOSE, ciphertext[:5]
    )
    assert commitment == expected_commitment
    plaintext = AESGCM(message_key).decrypt(nonce, ciphertext[81:], ciphertext[:81] + AAD.encode())
    assert plaintext == SECRET


def test_older_versions_still_decrypt_and_are_flagged_for_reencryption() -> None:
    v1, v2 = generate_data_key(1), generate_data_key(2)
    old = DataKeyset(WS, [v1], primary_version=1).encrypt(SECRET, AAD)
    rotated = DataKeyset(WS, [v1, v2], primary_version=2)
    assert rotated.decrypt(old, AAD) == SECRET
    assert rotated.needs_reencryption(old)
    assert not rotated.needs_reencryption(rotated.encrypt(SECRET, AAD))


@pytest.mark.parametrize(
    "moved",
    [
        Aad(OTHER_WS, "connections.connection", "password", 42),
        Aad(WS, "connections.sshtunnel", "password", 42),
        Aad(WS, "connections.connection", "ssh_private_key", 42),
        Aad(WS, "connections.connection", "password", 43),
    ],
    ids=["workspace", "table", "column", "row"],
)
def test_ciphertext_moved_elsewhere_fails(keyset: DataKeyset, moved: Aad) -> None:
    ciphertext = keyset.encrypt(SECRET, AAD)
    keys = {1: keyset._keys[1], 2: keyset._keys[2]}
    # At the format level (the same keys, only the associated data differs) ...
    with pytest.raises(DecryptionError) as excinfo:
        decrypt_bytes(keys, ciphertext, moved)
    assert excinfo.value.__cause__ is None
    assert excinfo.value.__suppress_context__
    # ... and through a keyset of the destination workspace holding the very same keys.
    destination = DataKeyset(moved.workspace_id, keys.values(), primary_version=2)
    with pytest.raises(DecryptionError):
        destination.decrypt(ciphertext, moved)
    assert keyset.decrypt(ciphertext, AAD) == SECRET


def test_aad_encoding_is_canonical_and_unambiguous() -> None:
    assert Aad(WS, "t", "c", 5).encode() == Aad(str(WS), "t", "c", "5").encode()
    assert Aad(1, "ab", "c", 1).encode() != Aad(1, "a", "bc", 1).encode()
    assert Aad(1, "t", "c", 12).encode() != Aad(11, "t", "c", 2).encode()
    assert Aad(1, "t", "c", 1).encode() != data_key_aad(1, 1)
    for bad_row in (None, True, "", 1.5):
        with pytest.raises((TypeError, ValueError)):
            Aad(WS, "t", "c", bad_row)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="table"):
        Aad(WS, "", "c", 1)


def test_every_single_bit_flip_is_detected(keyset: DataKeyset) -> None:
    ciphertext = keyset.encrypt(b"s3cret", AAD)
    for position in range(len(ciphertext)):
        for bit in range(8):
            tampered = bytearray(ciphertext)
            tampered[position] ^= 1 << bit
            with pytest.raises(DecryptionError):
                keyset.decrypt(bytes(tampered), AAD)
    assert keyset.decrypt(ciphertext, AAD) == b"s3cret"


def test_truncated_extended_and_garbage_ciphertexts_fail(keyset: DataKeyset) -> None:
    ciphertext = keyset.encrypt(b"s3cret", AAD)
    for length in range(len(ciphertext)):
        with pytest.raises(DecryptionError):
            keyset.decrypt(ciphertext[:length], AAD)
    with pytest.raises(DecryptionError):
        keyset.decrypt(ciphertext + b"\x00", AAD)
    with pytest.raises(DecryptionError):
        keyset.decrypt(b"\x02" + ciphertext[1:], AAD)
    for token in ("", "not base64!", "abc+/def", "é"):
        with pytest.raises(DecryptionError):
            keyset.decrypt_text(token, AAD)
    # A valid token with one character changed.
    token = keyset.encrypt_text("s3cret", AAD)
    changed = token[:30] + ("A" if token[30] != "A" else "B") + token[31:]
    with pytest.raises(DecryptionError):
        keyset.decrypt_text(changed, AAD)


def test_wrong_data_key_fails(keyset: DataKeyset) -> None:
    ciphertext = keyset.encrypt(SECRET, AAD)
    impostor = DataKeyset(WS, [generate_data_key(2)], primary_version=2)
    with pytest.raises(DecryptionError) as excinfo:
        impostor.decrypt(ciphertext, AAD)
    assert not isinstance(excinfo.value, UnknownKeyError)

    only_v1 = DataKeyset(WS, [keyset._keys[1]], primary_version=1)
    with pytest.raises(UnknownKeyError) as unknown:
        only_v1.decrypt(ciphertext, AAD)
    assert unknown.value.key_id == 2


def test_keyset_refuses_another_workspaces_values(keyset: DataKeyset) -> None:
    other = Aad(OTHER_WS, "connections.connection", "password", 42)
    with pytest.raises(ValueError, match="workspace"):
        keyset.encrypt(SECRET, other)
    with pytest.raises(DecryptionError):
        keyset.decrypt(keyset.encrypt(SECRET, AAD), other)


def test_decryption_errors_carry_no_secret(keyset: DataKeyset) -> None:
    ciphertext = keyset.encrypt(SECRET, AAD)
    tampered = ciphertext[:-1] + bytes([ciphertext[-1] ^ 1])
    with pytest.raises(DecryptionError) as excinfo:
        keyset.decrypt(tampered, AAD)
    text = repr(excinfo.value) + str(excinfo.value) + repr(excinfo.value.args)
    for secret in (SECRET, keyset.primary.material):
        assert secret.hex() not in text
        assert _b64(secret)[:16] not in text
    assert "hunter2" not in text
    assert excinfo.value.__cause__ is None
    assert excinfo.value.__suppress_context__


# ------------------------------------------------------------------------------------------
# Key commitment: an "invisible salamander" ciphertext that plain AES-GCM opens under two keys.
# ------------------------------------------------------------------------------------------

_GCM_R = 0xE1 << 120
_GF_ONE = 1 << 127  # GCM's bit-reflected representation of 1


def _gf_mul(x: int, y: int) -> int:
    """Multiplication in GF(2^128) as GCM defines it (NIST SP 800-38D, algorithm 1)."""
    z, v = 0, y
    for i in range(127, -1, -1):
        if (x >> i) & 1:
            z ^= v
        v = (v >> 1) ^ _GCM_R if v & 1 else v >> 1
    return z


def _gf_pow(x: int, n: int) -> int:
    result = _GF_ONE
    while n:
        if n & 1:
            result = _gf_mul(result, x)
        x = _gf_mul(x, x)
        n >>= 1
    return result


def _aes_block(key: bytes, block: bytes) -> int:
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305 - one block
    return int.from_bytes(encryptor.update(block) + encryptor.finalize(), "big")


def _blocks(data: bytes) -> list[int]:
    padded = data + b"\x00" * (-len(data) % 16)
    return [int.from_bytes(padded[i : i + 16], "big") for i in range(0, len(padded), 16)]


def _ghash(h: int, aad: bytes, ciphertext: bytes) -> int:
    y = 0
    lengths = ((len(aad) * 8) << 64) | (len(ciphertext) * 8)
    for block in [*_blocks(aad), *_blocks(ciphertext), lengths]:
        y = _gf_mul(y ^ block, h)
    return y


def _gcm_two_key_ciphertext(key1: bytes, key2: bytes, nonce: bytes, aad: bytes) -> bytes:
    """Ciphertext+tag that authenticates under both keys: one free ciphertext block is solved
    for so that both keys' GHASH tags coincide (Len, Grubbs, Ristenpart 2021)."""
    h1, h2 = _aes_block(key1, bytes(16)), _aes_block(key2, bytes(16))
    j0 = nonce + b"\x00\x00\x00\x01"
    mask1, mask2 = _aes_block(key1, j0), _aes_block(key2, j0)
    body = bytearray(bytes(16) + os.urandom(16))  # block 0 is solved for
    tag1 = _ghash(h1, aad, bytes(body)) ^ mask1
    tag2 = _ghash(h2, aad, bytes(body)) ^ mask2
    total = len(_blocks(aad)) + len(_blocks(bytes(body))) + 1
    power = total - len(_blocks(aad))
    diff = _gf_pow(h1, power) ^ _gf_pow(h2, power)
    free = _gf_mul(tag1 ^ tag2, _gf_pow(diff, (1 << 128) - 2))
    body[:16] = free.to_bytes(16, "big")
    tag = tag1 ^ _gf_mul(free, _gf_pow(h1, power))
    return bytes(body) + tag.to_bytes(16, "big")


def test_key_commitment_defeats_a_ciphertext_valid_under_two_keys() -> None:
    honest, other = generate_data_key(1), generate_data_key(1)
    header = struct.pack(">BI", 1, 1)
    salt, nonce = os.urandom(32), os.urandom(12)
    key1, commitment1 = derive_message_keys(honest.material, salt, values_module.PURPOSE, header)
    key2, commitment2 = derive_message_keys(other.material, salt, values_module.PURPOSE, header)
    assert commitment1 != commitment2
    prefix = header + salt + nonce + commitment1
    associated = prefix + AAD.encode()
    body = _gcm_two_key_ciphertext(key1, key2, nonce, associated)

    # Plain AES-GCM is fooled: the same bytes open under both keys, to different plaintexts.
    plaintext1 = AESGCM(key1).decrypt(nonce, body, associated)
    plaintext2 = AESGCM(key2).decrypt(nonce, body, associated)
    assert plaintext1 != plaintext2

    crafted = prefix + body
    assert decrypt_bytes({1: honest}, crafted, AAD) == plaintext1
    with pytest.raises(DecryptionError):
        decrypt_bytes({1: other}, crafted, AAD)
    # Claiming the other key's commitment instead changes the authenticated header: neither opens.
    recommitted = header + salt + nonce + commitment2 + body
    for key in (honest, other):
        with pytest.raises(DecryptionError):
            decrypt_bytes({1: key}, recommitted, AAD)


# ------------------------------------------------------------------------------------------
# Master keys, wrapping and rotation
# ------------------------------------------------------------------------------------------


def test_data_key_wraps_and_unwraps_bound_to_workspace_and_version() -> None:
    provider = EnvMasterKeyProvider.from_value(KEYS_K1)
    data_key = generate_data_key(3)
    wrapped = wrap_data_key(provider, workspace_id=WS, data_key=data_key)
    assert wrapped.kek_id == "k1"
    assert data_key.material not in wrapped.blob
    assert len(wrapped.blob) == 125
    assert unwrap_data_key(provider, workspace_id=WS, version=3, wrapped=wrapped) == data_key
    with pytest.raises(DecryptionError):
        unwrap_data_key(provider, workspace_id=OTHER_WS, version=3, wrapped=wrapped)
    with pytest.raises(DecryptionError):
        unwrap_data_key(provider, workspace_id=WS, version=4, wrapped=wrapped)
    flipped = bytearray(wrapped.blob)
    flipped[60] ^= 0x04
    with pytest.raises(DecryptionError):
        provider.unwrap(WrappedKey("k1", bytes(flipped)), data_key_aad(WS, 3))


def test_wrapped_key_relabelled_with_another_master_key_id_fails() -> None:
    # Same master key bytes under two ids: the id is bound, so relabelling does not unwrap.
    provider = EnvMasterKeyProvider(MasterKeys({"k1": K1, "k9": K1}, "k1"))
    wrapped = provider.wrap(K3, b"aad")
    with pytest.raises(DecryptionError):
        provider.unwrap(WrappedKey("k9", wrapped.blob), b"aad")
    with pytest.raises(UnknownKeyError):
        provider.unwrap(WrappedKey("nope", wrapped.blob), b"aad")


def test_master_key_rotation_rewrap_keeps_values_decrypting() -> None:
    before = EnvMasterKeyProvider.from_value(KEYS_K1)
    wrapped_v1 = new_wrapped_data_key(before, workspace_id=WS, version=1)
    keyset = unwrap_keyset(before, WrappedKeyset(WS, 1, {1: wrapped_v1}))
    stored_value = keyset.encrypt(SECRET, AAD)

    # Deploy 1: k2 added and promoted; k1 stays so existing wrapped keys still unwrap.
    during = EnvMasterKeyProvider.from_value(KEYS_K1_K2)
    assert during.primary_id == "k2"
    assert (
        unwrap_keyset(during, WrappedKeyset(WS, 1, {1: wrapped_v1})).decrypt(stored_value, AAD)
        == SECRET
    )
    assert not during.can_retire("k1", ["k1"])
    assert "rewrap them first" in during.retire_blockers("k1", ["k1"])[0]

    rewrapped = rewrap_data_key(during, workspace_id=WS, version=1, wrapped=wrapped_v1)
    assert rewrapped.kek_id == "k2"
    assert rewrapped.blob != wrapped_v1.blob
    assert rewrap_data_key(during, workspace_id=WS, version=1, wrapped=rewrapped) is rewrapped
    assert during.can_retire("k1", [rewrapped.kek_id])
    assert not during.can_retire("k2", [])  # the primary
    assert during.unavailable_key_ids(["k1", "k2"]) == frozenset()

    # Deploy 2: k1 removed. Rewrapped keys decrypt the old value; the old wrapping is dead.
    after = EnvMasterKeyProvider.from_value(KEYS_K2)
    assert after.unavailable_key_ids(["k1", "k2"]) == {"k1"}
    keyset_after = unwrap_keyset(after, WrappedKeyset(WS, 1, {1: rewrapped}))
    assert keyset_after.decrypt(stored_value, AAD) == SECRET
    with pytest.raises(UnknownKeyError) as excinfo:
        unwrap_keyset(after, WrappedKeyset(WS, 1, {1: wrapped_v1}))
    assert excinfo.value.key_id == "k1"


def test_rewrap_of_a_key_bound_elsewhere_fails() -> None:
    provider = EnvMasterKeyProvider.from_value(KEYS_K1_K2)
    old = EnvMasterKeyProvider.from_value(KEYS_K1)
    wrapped = new_wrapped_data_key(old, workspace_id=WS, version=1)
    with pytest.raises(DecryptionError):
        rewrap_data_key(provider, workspace_id=OTHER_WS, version=1, wrapped=wrapped)


def test_get_master_key_provider_follows_settings(settings: object) -> None:
    get_master_key_provider.cache_clear()
    try:
        provider = get_master_key_provider()
        assert isinstance(provider, EnvMasterKeyProvider)
        assert provider.insecure
        assert provider.primary_id == "dev-insecure"
        assert get_master_key_provider() is provider

        get_master_key_provider.cache_clear()
        settings.ENCRYPTION_MASTER_KEY_PROVIDER = f"{__name__}.FakeKmsProvider"  # type: ignore[attr-defined]
        kms = get_master_key_provider()
        assert isinstance(kms, FakeKmsProvider)
        wrapped = new_wrapped_data_key(kms, workspace_id=WS, version=1)
        assert wrapped.kek_id == "kms-1"
        assert len(unwrap_data_key(kms, workspace_id=WS, version=1, wrapped=wrapped).material) == 32

        get_master_key_provider.cache_clear()
        settings.ENCRYPTION_MASTER_KEY_PROVIDER = "core.crypto.nowhere.Provider"  # type: ignore[attr-defined]
        with pytest.raises(ImproperlyConfigured, match="ENCRYPTION_MASTER_KEY_PROVIDER"):
            get_master_key_provider()
    finally:
        get_master_key_provider.cache_clear()


class FakeKmsProvider(MasterKeyProvider):
    """Stands in for a KMS: wraps with a key it never hands out, built from settings."""

    def __init__(self) -> None:
        self._inner = EnvMasterKeyProvider(MasterKeys({"kms-1": K3}, "kms-1"))

    @classmethod
    def from_settings(cls, settings: object) -> FakeKmsProvider:
        return cls()

    @property
    def primary_id(self) -> str:
        return "kms-1"

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset({"kms-1"})

    def wrap(self, plaintext_key: bytes, aad: bytes) -> WrappedKey:
        return self._inner.wrap(plaintext_key, aad)

    def unwrap(self, wrapped: WrappedKey, aad: bytes) -> bytes:
        return self._inner.unwrap(wrapped, aad)


# ------------------------------------------------------------------------------------------
# ENCRYPTION_KEYS parsing
# ------------------------------------------------------------------------------------------


def test_parse_accepts_documented_variants() -> None:
    keys = parse_master_keys(KEYS_K1_K2)
    assert keys.primary_id == "k2"
    assert keys.ids == {"k1", "k2"}
    assert keys.get("k1") == K1
    assert keys.get("k2") == K2
    urlsafe = base64.urlsafe_b64encode(bytes(range(250, 256)) + K3[6:]).decode().rstrip("=")
    spaced = f"\n k1 = {_b64(K1)} ;\n primary = k1 ;\n 2025-q3_b={urlsafe};\n"
    parsed = parse_master_keys(spaced)
    assert parsed.primary_id == "k1"
    assert parsed.ids == {"k1", "2025-q3_b"}
    assert parsed.get("2025-q3_b") == bytes(range(250, 256)) + K3[6:]


SHORT = os.urandom(16)


MALFORMED_KEYS = [
    (f"k1={_b64(K1)}", "names no primary key"),
    (f"primary=k2;k1={_b64(K1)}", "primary names key id 'k2', which is not defined"),
    (f"primary=k1;primary=k1;k1={_b64(K1)}", "primary is given more than once"),
    (f"primary=k1;k1={_b64(SHORT)}", "must decode to 32 bytes (256 bits), got 16"),
    (f"primary=k1;k1={_b64(K1 + b'x')}", "got 33"),
    (f"primary=k1;k1={_b64(K1)[:-3]}!!", "is not valid base64"),
    (f"primary=k1;{_b64(K1)}", "entry 2 is not of the form"),
    (f"primary=k1;k1={_b64(K1)};k1={_b64(K2)}", "defined more than once"),
    (f"primary=k1;k1={_b64(K1)};k2={_b64(K1)}", "are the same bytes"),
    (f"primary=k1;k1={_b64(bytes(32))}", "not random bytes"),
    (f"primary=k1;k 1={_b64(K1)}", "entry 2: the key id must be"),
    (f"primary=k1;{'x' * 33}={_b64(K1)}", "entry 2: the key id must be"),
    (f"primary={_b64(K1)};k1={_b64(K2)}", "primary must name a key id"),
    ("primary=k1", "defines no keys"),
    (f"primary=k1;k1={_b64(K1)};k2=", "entry 3 is not of the form"),
    (";;", "defines no keys"),
]


@pytest.mark.parametrize(
    ("value", "message"), MALFORMED_KEYS, ids=[message for _, message in MALFORMED_KEYS]
)
def test_malformed_keys_fail_loudly_without_echoing_key_material(value: str, message: str) -> None:
    with pytest.raises(ImproperlyConfigured) as excinfo:
        parse_master_keys(value)
    text = str(excinfo.value)
    assert text.startswith("Environment variable ENCRYPTION_KEYS: ")
    assert message in text
    assert excinfo.value.__cause__ is None
    for raw in (K1, K2, SHORT, K1 + b"x"):
        encoded = _b64(raw)
        for start in range(0, len(encoded) - 8):
            assert encoded[start : start + 8] not in text


def test_load_master_keys_profiles() -> None:
    dev = load_master_keys("", production=False, required=True)
    assert dev is not None
    assert dev.insecure
    assert dev.primary_id == "dev-insecure"
    with pytest.raises(ImproperlyConfigured, match="ENCRYPTION_KEYS is required but not set"):
        load_master_keys(None, production=True, required=True)
    assert load_master_keys(None, production=True, required=False) is None  # a KMS provider
    production = load_master_keys(KEYS_K1, production=True, required=True)
    assert production is not None
    assert not production.insecure
    dev_key = dev_master_keys().get("dev-insecure")
    assert dev_key is not None
    with pytest.raises(ImproperlyConfigured, match="public development key") as excinfo:
        load_master_keys(f"primary=x;x={_b64(dev_key)}", production=True, required=True)
    assert _b64(dev_key)[:10] not in str(excinfo.value)


# The settings tests own the minimal good production environment; add the encryption keys.
GOOD_PRODUCTION = {**SETTINGS_GOOD_PRODUCTION, "ENCRYPTION_KEYS": KEYS_K1_K2}


def _load_settings(env: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
    """Import the settings in a fresh interpreter (no django.setup(): only settings matter)."""
    base = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "VIRTUAL_ENV"}}
    base["DJANGO_SETTINGS_MODULE"] = "config.settings"
    base.update(env)
    return subprocess.run(
        [sys.executable, "-c", "from django.conf import settings\n" + code],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_settings_load_keys_and_redact_them() -> None:
    result = _load_settings(
        GOOD_PRODUCTION,
        "from core.crypto import get_master_key_provider\n"
        "p = get_master_key_provider()\n"
        "print(repr(settings.ENCRYPTION_KEYS)); print(p.primary_id, sorted(p.key_ids))\n"
        "print(settings.ENCRYPTION_KEY_CACHE_TTL_SECONDS, settings.ENCRYPTION_KEY_CACHE_SIZE)",
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines == [
        "MasterKeys(primary='k2', ids=['k1', 'k2'])",
        "k2 ['k1', 'k2']",
        "300 1000",
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ENCRYPTION_KEYS": None}, "ENCRYPTION_KEYS is required but not set"),
        ({"ENCRYPTION_KEYS": f"primary=k9;k1={_b64(K1)};k2={_b64(K2)}"}, "primary names key id"),
        ({"ENCRYPTION_KEYS": f"primary=k1;k1={_b64(K1)[:20]}"}, "must decode to 32 bytes"),
        ({"ENCRYPTION_KEY_CACHE_SIZE": "-1"}, "ENCRYPTION_KEY_CACHE_SIZE must be >= 0"),
    ],
)
def test_bad_production_encryption_settings_stop_start_up(
    change: dict[str, str | None], message: str
) -> None:
    env = dict(GOOD_PRODUCTION)
    for key, value in change.items():
        if value is None:
            env.pop(key)
        else:
            env[key] = value
    result = _load_settings(env, "settings.ENCRYPTION_KEYS")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr
    for raw in (K1, K2):
        assert _b64(raw)[:12] not in result.stderr


def test_production_with_a_kms_provider_needs_no_encryption_keys() -> None:
    env = dict(GOOD_PRODUCTION, ENCRYPTION_MASTER_KEY_PROVIDER="myco.kms.Provider")
    env.pop("ENCRYPTION_KEYS")
    result = _load_settings(env, "print(settings.ENCRYPTION_KEYS)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "None"


def test_development_without_keys_uses_the_marked_insecure_key() -> None:
    env = {k: v for k, v in GOOD_PRODUCTION.items() if k not in {"ENCRYPTION_KEYS", "SECRET_KEY"}}
    env["DJANGO_ENV"] = "development"
    result = _load_settings(env, "print(settings.ENCRYPTION_KEYS)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "MasterKeys(primary='dev-insecure', ids=['dev-insecure'], INSECURE dev key)"
    )


# ------------------------------------------------------------------------------------------
# Redaction
# ------------------------------------------------------------------------------------------


def _renderings(obj: object) -> str:
    return f"{obj!r} {obj!s} {obj} {[obj]!r} { ({'k': obj})!s}"


def _assert_no_material(text: str, *materials: bytes) -> None:
    for material in materials:
        assert material.hex() not in text
        assert _b64(material)[:12] not in text
        assert repr(material)[2:14] not in text


def test_key_holding_objects_redact_repr_and_refuse_pickling() -> None:
    data_key = DataKey(7, K3)
    keyset = DataKeyset(WS, [data_key], primary_version=7)
    master_keys = parse_master_keys(KEYS_K1_K2)
    provider = EnvMasterKeyProvider(master_keys)
    cache = DataKeyCache(max_size=4, ttl_seconds=60)
    cache.put(keyset)
    keyring = Keyring(provider=provider, load_wrapped=_never, cache=cache)
    holders: list[object] = [data_key, keyset, master_keys, provider, cache, keyring]
    for holder in holders:
        _assert_no_material(_renderings(holder), K1, K2, K3)
        with pytest.raises(TypeError, match="cannot be pickled"):
            pickle.dumps(holder)
        with pytest.raises(TypeError):
            copy.deepcopy(holder)
    assert repr(data_key) == "DataKey(version=7, material=<redacted>)"
    assert "<redacted>" in repr(keyset)
    assert "[7]" in repr(keyset)
    wrapped = provider.wrap(K3, b"aad")
    assert repr(wrapped) == "WrappedKey(kek_id='k2', blob=<125 bytes>)"


def _never(workspace_id: object) -> WrappedKeyset:
    raise AssertionError("not expected to load")


# ------------------------------------------------------------------------------------------
# Cache and keyring
# ------------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _keyset_for(workspace_id: int | str | uuid.UUID) -> DataKeyset:
    return DataKeyset(workspace_id, [generate_data_key(1)], primary_version=1)


def test_cache_entries_expire_after_ttl_even_when_used() -> None:
    clock = FakeClock()
    cache = DataKeyCache(max_size=10, ttl_seconds=300, clock=clock)
    loads: list[object] = []

    def load() -> DataKeyset:
        loads.append(WS)
        return _keyset_for(WS)

    first = cache.get_or_load(WS, load)
    clock.now += 299
    assert cache.get_or_load(WS, load) is first
    assert cache.get(str(WS)) is first  # canonical ids: UUID and its text are one entry
    clock.now += 1
    assert cache.get(WS) is None
    assert len(cache) == 0
    second = cache.get_or_load(WS, load)
    assert second is not first
    assert len(loads) == 2


def test_cache_is_bounded_lru() -> None:
    clock = FakeClock()
    cache = DataKeyCache(max_size=3, ttl_seconds=300, clock=clock)
    for workspace in (1, 2, 3):
        cache.put(_keyset_for(workspace))
    assert cache.get(1) is not None  # 1 becomes most recently used
    cache.put(_keyset_for(4))  # evicts 2, the least recently used
    assert len(cache) == 3
    assert cache.get(2) is None
    assert all(cache.get(w) is not None for w in (1, 3, 4))
    for workspace in range(10, 50):
        cache.put(_keyset_for(workspace))
    assert len(cache) == 3
    # Expired entries are swept on insert, so they do not linger in memory.
    clock.now += 301
    cache.put(_keyset_for(99))
    assert len(cache) == 1


def test_cache_invalidate_and_disabled_cache() -> None:
    cache = DataKeyCache(max_size=10, ttl_seconds=300)
    cache.put(_keyset_for(1))
    cache.put(_keyset_for(2))
    cache.invalidate("1")
    assert cache.get(1) is None
    assert cache.get(2) is not None
    cache.clear()
    assert len(cache) == 0
    for disabled in (
        DataKeyCache(max_size=0, ttl_seconds=300),
        DataKeyCache(max_size=5, ttl_seconds=0),
    ):
        disabled.put(_keyset_for(1))
        assert len(disabled) == 0
        assert disabled.get(1) is None


def test_load_racing_an_invalidate_is_not_cached() -> None:
    cache = DataKeyCache(max_size=10, ttl_seconds=300)

    def load() -> DataKeyset:
        cache.invalidate(WS)  # a rotation lands while the stale rows are being read
        return _keyset_for(WS)

    assert cache.get_or_load(WS, load) is not None
    assert cache.get(WS) is None


def test_cache_is_thread_safe() -> None:
    cache = DataKeyCache(max_size=8, ttl_seconds=300)
    errors: list[BaseException] = []
    barrier = threading.Barrier(12)

    def worker(seed: int) -> None:
        try:
            barrier.wait()
            for i in range(400):
                workspace = (seed * 7 + i) % 20
                keyset = cache.get_or_load(workspace, functools.partial(_keyset_for, workspace))
                assert keyset.workspace_id == str(workspace)
                if i % 50 == 0:
                    cache.invalidate(workspace)
                assert len(cache) <= 8
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(cache) <= 8


class Store:
    """Stands in for the workspace data key table."""

    def __init__(self, provider: MasterKeyProvider) -> None:
        self.provider = provider
        self.rows: dict[str, WrappedKeyset] = {}
        self.loads = 0

    def add_version(self, workspace_id: uuid.UUID, version: int) -> None:
        current = self.rows.get(str(workspace_id))
        keys = dict(current.keys) if current else {}
        keys[version] = new_wrapped_data_key(
            self.provider, workspace_id=workspace_id, version=version
        )
        self.rows[str(workspace_id)] = WrappedKeyset(workspace_id, version, keys)

    def load(self, workspace_id: object) -> WrappedKeyset:
        self.loads += 1
        return self.rows[str(workspace_id)]


def test_keyring_caches_and_follows_a_rotation_made_elsewhere() -> None:
    provider = EnvMasterKeyProvider.from_value(KEYS_K1)
    store = Store(provider)
    store.add_version(WS, 1)
    this_process = Keyring(
        provider=provider, load_wrapped=store.load, cache=DataKeyCache(max_size=10, ttl_seconds=300)
    )
    other_process = Keyring(
        provider=provider, load_wrapped=store.load, cache=DataKeyCache(max_size=10, ttl_seconds=300)
    )
    token = this_process.encrypt_text("hunter2", AAD)
    assert this_process.decrypt_text(token, AAD) == "hunter2"
    assert store.loads == 1  # the second call was a cache hit

    store.add_version(WS, 2)  # another process rotates the data key
    other_process.invalidate(WS)
    newer = other_process.encrypt(b"rotated", AAD)
    assert ciphertext_key_version(newer) == 2
    loads = store.loads
    assert this_process.decrypt(newer, AAD) == b"rotated"  # unknown newer version: one reload
    assert store.loads == loads + 1
    assert ciphertext_key_version(this_process.encrypt(b"x", AAD)) == 2

    # An unknown *older* version (deleted after re-encryption) does not trigger reloads.
    bogus = bytearray(newer)
    bogus[1:5] = (1).to_bytes(4, "big")
    store.rows[str(WS)] = WrappedKeyset(WS, 2, {2: store.rows[str(WS)].keys[2]})
    this_process.invalidate(WS)
    this_process.keyset(WS)
    loads = store.loads
    with pytest.raises(UnknownKeyError):
        this_process.decrypt(bytes(bogus), AAD)
    assert store.loads == loads


def test_data_key_validation() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        DataKey(1, b"short")
    with pytest.raises(ValueError, match="version"):
        DataKey(0, K1)
    with pytest.raises(ValueError, match="primary"):
        DataKeyset(WS, [DataKey(1, K1)], primary_version=2)
    with pytest.raises(ValueError, match="twice"):
        DataKeyset(WS, [DataKey(1, K1), DataKey(1, K2)], primary_version=1)
    assert encrypt_bytes(DataKey(1, K1), b"", AAD) != encrypt_bytes(DataKey(1, K1), b"", AAD)
    assert from_text(to_text(b"\x00\xff" * 5)) == b"\x00\xff" * 5


def test_message_key_derivation_is_rfc5869_hkdf() -> None:
    """derive_message_keys computes HKDF by hand (shared extract step); it must equal the
    library's HKDF byte for byte, or stored values would stop decrypting."""
    from cryptography.hazmat.primitives.hashes import SHA256
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    from core.crypto.primitives import derive_message_keys

    key, salt = os.urandom(32), os.urandom(32)
    purpose, header = b"value", b"\x01\x00\x00\x00\x07"
    context = purpose + b"\x00" + header
    expected_key = HKDF(SHA256(), 32, salt, b"dbw.enc\x00" + context).derive(key)
    expected_commitment = HKDF(SHA256(), 32, salt, b"dbw.commit\x00" + context).derive(key)
    assert derive_message_keys(key, salt, purpose, header) == (expected_key, expected_commitment)
