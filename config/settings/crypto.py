"""Encryption at rest of stored credentials (core/crypto, docs/encryption.md).

ENCRYPTION_KEYS: master keys, "primary=<id>;<id>=<base64 of 32 bytes>;...", parsed and checked
here so a bad value stops start-up (errors never echo key material). Required in production with
the default provider; development and test fall back to a fixed, public, INSECURE key.
ENCRYPTION_MASTER_KEY_PROVIDER: dotted path of a MasterKeyProvider (KMS plug-in point).
"""

from __future__ import annotations

from config.settings.base import IS_PRODUCTION
from core.crypto.master_keys import ENV_PROVIDER, load_master_keys
from core.env import env_int, env_str

ENCRYPTION_MASTER_KEY_PROVIDER = env_str("ENCRYPTION_MASTER_KEY_PROVIDER", ENV_PROVIDER)
ENCRYPTION_KEYS = load_master_keys(
    env_str("ENCRYPTION_KEYS", None),
    production=IS_PRODUCTION,
    required=ENCRYPTION_MASTER_KEY_PROVIDER == ENV_PROVIDER,
)
ENCRYPTION_KEY_CACHE_TTL_SECONDS = env_int("ENCRYPTION_KEY_CACHE_TTL_SECONDS", 300, min_value=0)
ENCRYPTION_KEY_CACHE_SIZE = env_int("ENCRYPTION_KEY_CACHE_SIZE", 1000, min_value=0)
