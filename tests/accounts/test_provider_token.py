"""Google sign-in by ID token (allauth's `provider/token`): signature checked against Google's
certificates, which are served at the HTTP boundary."""

from __future__ import annotations

import datetime
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.accounts.conftest import Client, bearer
from tests.accounts.fakehttp import FakeHTTP

pytestmark = pytest.mark.django_db

GOOGLE_ID = "google-client-id.apps.googleusercontent.com"
CERTS = "https://www.googleapis.com/oauth2/v1/certs"


def _key_and_cert() -> tuple[Any, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-google")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture
def google(settings: Any, fake_http: FakeHTTP) -> Any:
    settings.SOCIALACCOUNT_PROVIDERS = {
        "google": {"APP": {"client_id": GOOGLE_ID, "secret": "s", "key": ""}}
    }
    key, cert = _key_and_cert()
    fake_http.add("GET", CERTS, (200, {"kid-1": cert}))

    def id_token(email: str, signing_key: Any = key, **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": "https://accounts.google.com",
            "aud": GOOGLE_ID,
            "sub": "google-sub-7",
            "email": email,
            "email_verified": True,
            "name": "Tok En",
            "iat": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
            **claims,
        }
        return jwt.encode(payload, signing_key, algorithm="RS256", headers={"kid": "kid-1"})

    return id_token


def provider_token(client: Client, token: str) -> Any:
    return client.post(
        "/_allauth/app/v1/auth/provider/token",
        {
            "provider": "google",
            "process": "login",
            "token": {"client_id": GOOGLE_ID, "id_token": token},
        },
        format="json",
    )


def test_id_token_signs_in_and_returns_app_tokens(
    client: Client, google: Any, alice: Any, charlie: Any
) -> None:
    response = provider_token(client, google("alice@example.com"))
    assert response.status_code == 200, response.content
    meta = response.json()["meta"]
    me = client.get("/api/v1/account", **bearer(meta["access_token"])).json()
    assert me["id"] == str(alice.pk)
    assert not charlie.socialaccount_set.exists()


def test_forged_or_replayed_id_tokens_are_refused(client: Client, google: Any, alice: Any) -> None:
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = provider_token(client, google("alice@example.com", signing_key=other_key))
    assert forged.status_code == 400
    assert forged.json()["status"] == 400
    wrong_audience = provider_token(client, google("alice@example.com", aud="someone-else"))
    assert wrong_audience.status_code == 400

    token = google("alice@example.com")
    assert provider_token(client, token).status_code == 200
    assert provider_token(client, token).status_code == 400  # jti already used
