"""Envelope encryption of stored credentials (see docs/encryption.md).

    master keys (KEKs, ENCRYPTION_KEYS or a KMS)   MasterKeyProvider: wrap / unwrap / rewrap
      └─ wrap ─> data keys (DEKs), versioned per workspace     DataKeyset, WrappedKeyset
            └─ encrypt ─> values, bound to (workspace, table, column, row)      Aad

Pure library: no models. Every ciphertext is committed AES-256-GCM (core.crypto.primitives).
"""

from core.crypto.aad import Aad, ColumnAad, Id, canonical_id, data_key_aad
from core.crypto.cache import DataKeyCache
from core.crypto.data_keys import (
    DataKeyset,
    WrappedKeyset,
    generate_data_key,
    new_wrapped_data_key,
    rewrap_data_key,
    unwrap_data_key,
    unwrap_keyset,
    wrap_data_key,
)
from core.crypto.errors import CryptoError, DecryptionError, UnknownKeyError
from core.crypto.key import DataKey
from core.crypto.keyring import Keyring
from core.crypto.master_keys import MasterKeys, load_master_keys, parse_master_keys
from core.crypto.providers import (
    EnvMasterKeyProvider,
    MasterKeyProvider,
    WrappedKey,
    get_master_key_provider,
)
from core.crypto.values import (
    OVERHEAD,
    ciphertext_key_version,
    decrypt_bytes,
    encrypt_bytes,
    from_text,
    to_text,
)

__all__ = [
    "OVERHEAD",
    "Aad",
    "ColumnAad",
    "CryptoError",
    "DataKey",
    "DataKeyCache",
    "DataKeyset",
    "DecryptionError",
    "EnvMasterKeyProvider",
    "Id",
    "Keyring",
    "MasterKeyProvider",
    "MasterKeys",
    "UnknownKeyError",
    "WrappedKey",
    "WrappedKeyset",
    "canonical_id",
    "ciphertext_key_version",
    "data_key_aad",
    "decrypt_bytes",
    "encrypt_bytes",
    "from_text",
    "generate_data_key",
    "get_master_key_provider",
    "load_master_keys",
    "new_wrapped_data_key",
    "parse_master_keys",
    "rewrap_data_key",
    "to_text",
    "unwrap_data_key",
    "unwrap_keyset",
    "wrap_data_key",
]
