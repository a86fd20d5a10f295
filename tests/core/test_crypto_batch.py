"""core.crypto's fast paths: the hand-written HKDF, the base64url decoder, the per-column
associated data and batch decryption of a page must give exactly what the one-value paths give,
and refuse exactly what they refuse. Pure library tests: no database."""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import random
import uuid

import pytest
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.crypto import (
    Aad,
    DataKeyCache,
    DataKeyset,
    DecryptionError,
    EnvMasterKeyProvider,
    Keyring,
    UnknownKeyError,
    ciphertext_key_version,
    from_text,
    generate_data_key,
    to_text,
)
from core.crypto.aad import ColumnAad
from core.crypto.primitives import derive_message_keys
from tests.core.test_crypto import KEYS_K1, OTHER_WS, WS, Store

TABLE, COLUMN = "queries.savedquery", "sql"


@pytest.fixture
def keyset() -> DataKeyset:
    return DataKeyset(WS, [generate_data_key(1), generate_data_key(2)], primary_version=2)


def _column(workspace: object = WS) -> ColumnAad:
    return ColumnAad(workspace, TABLE, COLUMN)  # type: ignore[arg-type]


def _page(keyset: DataKeyset, count: int = 20) -> list[tuple[uuid.UUID, str | None]]:
    rows: list[tuple[uuid.UUID, str | None]] = []
    for i in range(count):
        row_id = uuid.uuid4()
        text = None if i % 7 == 3 else f"select {i} -- ✓ {'x' * i}"
        token = None if text is None else keyset.encrypt_text(text, Aad(WS, TABLE, COLUMN, row_id))
        rows.append((row_id, token))
    return rows


# --- HKDF ------------------------------------------------------------------------------------


@pytest.mark.parametrize("purpose", [b"value", b"kek-wrap", b""])
def test_derivation_equals_hkdf_and_stdlib_hmac_for_many_keys(purpose: bytes) -> None:
    for _ in range(50):
        key, salt = os.urandom(32), os.urandom(32)
        header = os.urandom(random.choice((1, 5)))
        context = purpose + b"\x00" + header
        prk = hmac.digest(salt, key, "sha256")
        expected = (
            hmac.digest(prk, b"dbw.enc\x00" + context + b"\x01", "sha256"),
            hmac.digest(prk, b"dbw.commit\x00" + context + b"\x01", "sha256"),
        )
        assert derive_message_keys(key, salt, purpose, header) == expected
        assert expected[0] == HKDF(SHA256(), 32, salt, b"dbw.enc\x00" + context).derive(key)
    # Keys whose bytes hit every pad boundary (all zero, all 0xff, all equal to a pad byte).
    for byte in (0x00, 0xFF, 0x36, 0x5C):
        key = salt = bytes([byte]) * 32
        prk = hmac.digest(salt, key, "sha256")
        assert derive_message_keys(key, salt, purpose, b"\x01")[1] == hmac.digest(
            prk, b"dbw.commit\x00" + purpose + b"\x00\x01\x01", "sha256"
        )


def test_derivation_refuses_keys_and_salts_of_other_sizes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        derive_message_keys(os.urandom(31), os.urandom(32), b"value", b"\x01")
    with pytest.raises(ValueError, match="32 bytes"):
        derive_message_keys(os.urandom(32), os.urandom(64), b"value", b"\x01")


# --- base64url -------------------------------------------------------------------------------


def _reference_from_text(token: str) -> bytes:
    """The decoder as first written (b64decode with validation), taking only unpadded tokens
    as to_text writes them."""
    raw = token.encode("ascii")
    if b"+" in raw or b"/" in raw or b"=" in raw:
        raise ValueError("not base64url")
    return base64.b64decode(raw + b"=" * (-len(raw) % 4), altchars=b"-_", validate=True)


def _agree(token: str) -> None:
    try:
        expected: bytes | None = _reference_from_text(token)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        expected = None
    if expected is None:
        with pytest.raises(DecryptionError):
            from_text(token)
    else:
        assert from_text(token) == expected


def test_base64url_decoder_agrees_with_the_reference_on_valid_and_mangled_tokens() -> None:
    rng = random.Random(5)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/= \n.!é\x00"
    for length in range(0, 140):
        raw = rng.randbytes(length)
        token = to_text(raw)
        assert token == base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        assert from_text(token) == raw
        _agree(token)
        for _ in range(6):
            chars = list(token)
            action = rng.randrange(3)
            position = rng.randrange(len(chars) + 1)
            if action == 0 or not chars:
                chars.insert(position, rng.choice(alphabet))
            elif action == 1:
                del chars[min(position, len(chars) - 1)]
            else:
                chars[min(position, len(chars) - 1)] = rng.choice(alphabet)
            _agree("".join(chars))
    for token in ("", "A", "AA", "AAA=", "QQ==", "QUJD", "QU JD", "QU+D", "QU/D", "é", "QUJ\n"):
        _agree(token)


# --- per-column associated data --------------------------------------------------------------


@pytest.mark.parametrize(
    "row_id", [42, "42", uuid.UUID("7d6c1d52-8a55-4f0e-9a57-3f1d2b1c0a09"), "row-é", 2**70]
)
def test_column_aad_encodes_as_aad(row_id: object) -> None:
    for workspace in (WS, str(WS), 7):
        column = ColumnAad(workspace, TABLE, COLUMN)  # type: ignore[arg-type]
        assert column.encode(row_id) == Aad(workspace, TABLE, COLUMN, row_id).encode()  # type: ignore[arg-type]
        assert column.aad(row_id) == Aad(workspace, TABLE, COLUMN, row_id)  # type: ignore[arg-type]


def test_column_aad_validates_like_aad() -> None:
    with pytest.raises(ValueError, match="table"):
        ColumnAad(WS, "", COLUMN)
    with pytest.raises(ValueError, match="column"):
        ColumnAad(WS, TABLE, "")
    with pytest.raises(TypeError):
        ColumnAad(None, TABLE, COLUMN)  # type: ignore[arg-type]
    for bad_row in (None, True, "", 1.5):
        with pytest.raises((TypeError, ValueError)):
            _column().encode(bad_row)  # type: ignore[arg-type]
    assert _column().encode(1) != ColumnAad(WS, TABLE + "x", COLUMN).encode(1)
    assert ColumnAad(WS, "ab", "c").encode(1) != ColumnAad(WS, "a", "bc").encode(1)


# --- batch decryption ------------------------------------------------------------------------


def test_batch_decryption_equals_one_by_one(keyset: DataKeyset) -> None:
    page = _page(keyset)
    expected = [
        None if token is None else keyset.decrypt_text(token, Aad(WS, TABLE, COLUMN, row_id))
        for row_id, token in page
    ]
    assert keyset.decrypt_texts(_column(), page) == expected
    assert keyset.decrypt_texts(_column(str(WS)), page) == expected
    assert keyset.decrypt_texts(_column(), []) == []
    assert expected[3] is None
    assert expected[4] == "select 4 -- ✓ xxxx"


def test_batch_decryption_of_old_and_new_key_versions(keyset: DataKeyset) -> None:
    v1_only = DataKeyset(WS, [keyset._keys[1]], primary_version=1)
    old_row, new_row = uuid.uuid4(), uuid.uuid4()
    page: list[tuple[uuid.UUID, str | None]] = [
        (old_row, v1_only.encrypt_text("old", Aad(WS, TABLE, COLUMN, old_row))),
        (new_row, keyset.encrypt_text("new", Aad(WS, TABLE, COLUMN, new_row))),
    ]
    assert keyset.decrypt_texts(_column(), page) == ["old", "new"]
    with pytest.raises(UnknownKeyError):
        v1_only.decrypt_texts(_column(), page)


def test_batch_decryption_refuses_a_moved_or_tampered_value(keyset: DataKeyset) -> None:
    page = [item for item in _page(keyset, 6) if item[1] is not None]
    (row_a, token_a), (row_b, token_b) = page[0], page[1]
    # Swapped between two rows of the page.
    with pytest.raises(DecryptionError):
        keyset.decrypt_texts(_column(), [(row_a, token_b), (row_b, token_a)])
    # The same row ids under another column, table or workspace.
    for column in (
        ColumnAad(WS, TABLE, "description"),
        ColumnAad(WS, "queries.queryhistory", COLUMN),
    ):
        with pytest.raises(DecryptionError):
            keyset.decrypt_texts(column, page)
    with pytest.raises(DecryptionError):
        keyset.decrypt_texts(_column(OTHER_WS), page)
    other = DataKeyset(OTHER_WS, keyset._keys.values(), primary_version=2)
    with pytest.raises(DecryptionError):
        other.decrypt_texts(_column(OTHER_WS), page)
    # One bit flipped in one value of the page (the last), wherever the bit is.
    raw = bytearray(from_text(token_b))
    for position in range(0, len(raw), 7):
        tampered = bytearray(raw)
        tampered[position] ^= 0x10
        with pytest.raises(DecryptionError):
            keyset.decrypt_texts(_column(), [(row_a, token_a), (row_b, to_text(bytes(tampered)))])
    with pytest.raises(DecryptionError):
        keyset.decrypt_texts(_column(), [(row_a, token_a + "A")])
    with pytest.raises(DecryptionError):
        keyset.decrypt_texts(_column(), [(row_a, "not base64!")])


def test_batch_decryption_refuses_non_utf8_plaintext(keyset: DataKeyset) -> None:
    row_id = uuid.uuid4()
    token = to_text(keyset.encrypt(b"\xff\xfe", Aad(WS, TABLE, COLUMN, row_id)))
    with pytest.raises(DecryptionError, match="UTF-8"):
        keyset.decrypt_texts(_column(), [(row_id, token)])


def test_keyring_batch_follows_a_rotation_made_elsewhere() -> None:
    provider = EnvMasterKeyProvider.from_value(KEYS_K1)
    store = Store(provider)
    store.add_version(WS, 1)

    def keyring() -> Keyring:
        return Keyring(
            provider=provider,
            load_wrapped=store.load,
            cache=DataKeyCache(max_size=10, ttl_seconds=300),
        )

    this_process, other_process = keyring(), keyring()
    row_a, row_b = uuid.uuid4(), uuid.uuid4()
    token_a = this_process.encrypt_text("a", Aad(WS, TABLE, COLUMN, row_a))
    assert this_process.decrypt_texts(_column(), [(row_a, token_a)]) == ["a"]
    assert store.loads == 1

    store.add_version(WS, 2)  # another process rotates
    token_b = other_process.encrypt_text("b", Aad(WS, TABLE, COLUMN, row_b))
    assert ciphertext_key_version(from_text(token_b)) == 2
    page: list[tuple[object, str | None]] = [(row_a, token_a), (row_b, token_b), (row_b, None)]
    assert this_process.decrypt_texts(_column(), page) == ["a", "b", None]  # type: ignore[arg-type]
    assert store.loads == 3  # one reload for the newer version

    # An unknown older version does not reload.
    bogus = bytearray(from_text(token_b))
    bogus[1:5] = (1).to_bytes(4, "big")
    store.rows[str(WS)] = type(store.rows[str(WS)])(WS, 2, {2: store.rows[str(WS)].keys[2]})
    this_process.invalidate(WS)
    this_process.keyset(WS)
    loads = store.loads
    with pytest.raises(UnknownKeyError):
        this_process.decrypt_texts(_column(), [(row_b, to_text(bytes(bogus)))])
    assert store.loads == loads


# --- model fields: unseal_many ---------------------------------------------------------------


def test_unseal_many_equals_unseal_across_workspaces(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.crypto import fields, store
    from queries.models import QueryHistory, SavedQuery

    provider = EnvMasterKeyProvider.from_value(KEYS_K1)
    keys = Store(provider)
    keys.add_version(WS, 1)
    keys.add_version(OTHER_WS, 1)
    keyring = Keyring(
        provider=provider, load_wrapped=keys.load, cache=DataKeyCache(max_size=10, ttl_seconds=60)
    )
    monkeypatch.setattr(store, "_keyring", keyring)

    rows = []
    for i in range(9):
        row = SavedQuery(id=uuid.uuid4(), workspace_id=(WS, OTHER_WS)[i % 2])
        fields.seal(row, "sql_encrypted", None if i == 4 else f"select {i}")
        rows.append(row)
    expected = [fields.unseal(row, "sql_encrypted") for row in rows]
    assert expected[4] is None
    assert expected[5] == "select 5"
    assert fields.unseal_many(rows, "sql_encrypted") == expected
    assert fields.unseal_many([], "sql_encrypted") == []
    json_row = SavedQuery(id=uuid.uuid4(), workspace_id=WS)
    fields.seal_json(json_row, "sql_encrypted", {"a": [1, "✓"]})
    assert fields.unseal_json_many([json_row, rows[4]], "sql_encrypted") == [{"a": [1, "✓"]}, None]

    # A value moved to another row, or another model's rows, fail as with unseal().
    moved = SavedQuery(id=uuid.uuid4(), workspace_id=WS, sql_encrypted=rows[0].sql_encrypted)
    with pytest.raises(DecryptionError):
        fields.unseal_many([rows[2], moved], "sql_encrypted")
    other_model = QueryHistory(id=rows[0].id, workspace_id=WS, sql_encrypted=rows[0].sql_encrypted)
    with pytest.raises(DecryptionError):
        fields.unseal_many([other_model], "sql_encrypted")
    with pytest.raises(TypeError, match="one model"):
        fields.unseal_many([rows[0], other_model], "sql_encrypted")  # type: ignore[list-item]
