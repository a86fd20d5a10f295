"""A fake Stripe API at the SDK's HTTP boundary.

`FakeStripe` is a `stripe.HTTPClient`: installed as `stripe.default_http_client`, it receives
every request the stripe SDK makes (ours and dj-stripe's) after the SDK has built the URL, the
headers and the form-encoded body, and answers with canned JSON from an in-memory store. So the
SDK's encoding, response parsing and error mapping all run for real; only the network is fake.

    fake.put(subscription_object(...))     # what Stripe "has" now
    fake.requests                          # every request, decoded: method, path, params
    fake.fail("POST", "/v1/checkout/sessions", status=500)   # the next such request fails
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe

_KEY_PART = re.compile(r"\[([^\]]*)\]")


def decode_form(body: str) -> dict[str, Any]:
    """Stripe's form encoding (`a[b][0][c]=v`) back into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        head = key.split("[", 1)[0]
        parts = [head, *_KEY_PART.findall(key)]
        node: Any = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _lists(root)


def _lists(node: Any) -> Any:
    if isinstance(node, dict):
        converted = {k: _lists(v) for k, v in node.items()}
        if converted and all(k.isdigit() for k in converted):
            return [converted[k] for k in sorted(converted, key=int)]
        return converted
    return node


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str]


# Collection path -> Stripe object type.
_COLLECTIONS = {
    "customers": "customer",
    "subscriptions": "subscription",
    "subscription_items": "subscription_item",
    "invoices": "invoice",
    "prices": "price",
    "products": "product",
    "plans": "plan",
    "charges": "charge",
    "payment_intents": "payment_intent",
    "payment_methods": "payment_method",
    "accounts": "account",
}


@dataclass
class FakeStripe(stripe.HTTPClient):
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    failures: dict[tuple[str, str], list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    idempotent: dict[str, str] = field(default_factory=dict)  # Idempotency-Key -> object id
    account: dict[str, Any] = field(
        default_factory=lambda: {
            "id": "acct_fake",
            "object": "account",
            "type": "standard",
            "email": "billing@example.com",
            "country": "US",
            "default_currency": "usd",
            "settings": {"dashboard": {"display_name": "DB Workbench (test)"}},
            "business_profile": {"name": "DB Workbench"},
            "charges_enabled": True,
            "payouts_enabled": True,
            "details_submitted": True,
            "created": 1_700_000_000,
            "metadata": {},
        }
    )
    name = "fake_stripe"

    def __post_init__(self) -> None:
        super().__init__()
        self._ids = itertools.count(1)

    # -- test helpers ---------------------------------------------------------------------
    def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.objects[obj["id"]] = obj
        return obj

    def fail(self, method: str, path: str, *, status: int = 500, code: str = "api_error") -> None:
        body = {"error": {"type": "api_error", "code": code, "message": "Injected failure."}}
        self.failures.setdefault((method.upper(), path), []).append((status, body))

    def calls(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method.upper() and r.path == path]

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._ids):04d}"

    # -- stripe.HTTPClient ----------------------------------------------------------------
    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        parts = urlsplit(url)
        body = post_data.decode() if isinstance(post_data, bytes) else (post_data or "")
        params = decode_form(parts.query if method.lower() in ("get", "delete") else body)
        recorded = Recorded(method.upper(), parts.path, params, dict(headers or {}))
        self.requests.append(recorded)
        queued = self.failures.get((recorded.method, recorded.path))
        if queued:
            status, error = queued.pop(0)
            return json.dumps(error), status, {"request-id": "req_fake"}
        status, response = self._route(recorded)
        return json.dumps(response), status, {"request-id": f"req_{len(self.requests)}"}

    def request_stream(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("the fake Stripe does not stream")

    def close(self) -> None:
        pass

    # -- routes ---------------------------------------------------------------------------
    @staticmethod
    def _missing(what: str) -> tuple[int, dict[str, Any]]:
        return 404, {
            "error": {
                "type": "invalid_request_error",
                "code": "resource_missing",
                "message": f"No such {what}",
                "param": "id",
            }
        }

    def _route(self, r: Recorded) -> tuple[int, dict[str, Any]]:
        segments = [s for s in r.path.split("/") if s][1:]  # drop "v1"
        if r.method == "GET" and segments == ["account"]:
            return 200, self.account
        if r.method == "POST" and segments == ["customers"]:
            return 200, self._customer_create(r.params)
        if r.method == "POST" and segments == ["checkout", "sessions"]:
            return 200, self._session("cs_test", "checkout.session", r.params)
        if r.method == "POST" and segments == ["billing_portal", "sessions"]:
            return 200, self._session("bps", "billing_portal.session", r.params)
        if r.method == "GET" and segments == ["prices"]:
            return 200, self._list(self._prices(r.params), r.path)
        if r.method == "DELETE" and len(segments) == 2 and segments[0] == "subscriptions":
            sub = self.objects.get(segments[1])
            if sub is None:
                return self._missing("subscription")
            sub.update(status="canceled", canceled_at=int(time.time()), ended_at=int(time.time()))
            return 200, sub
        if r.method == "GET" and len(segments) == 2:
            obj = self.objects.get(segments[1])
            if obj is None or obj.get("object") != _COLLECTIONS.get(segments[0]):
                return self._missing(_COLLECTIONS.get(segments[0], segments[0]))
            return 200, obj
        if r.method == "GET" and len(segments) in (1, 3):
            # Lists dj-stripe may walk (an invoice's lines, a customer's sources): empty.
            return 200, self._list([], r.path)
        return 404, {
            "error": {"type": "invalid_request_error", "message": f"Unrecognized {r.path}"}
        }

    def _list(self, data: list[dict[str, Any]], url: str) -> dict[str, Any]:
        return {"object": "list", "data": data, "has_more": False, "url": url}

    def _prices(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        keys = params.get("lookup_keys") or []
        return [
            p
            for p in self.objects.values()
            if p.get("object") == "price" and p.get("lookup_key") in keys and p.get("active")
        ]

    def _customer_create(self, params: dict[str, Any]) -> dict[str, Any]:
        idempotency = self.requests[-1].headers.get("Idempotency-Key")
        if idempotency and idempotency in self.idempotent:
            return self.objects[self.idempotent[idempotency]]
        customer: dict[str, Any] = {
            "id": self.new_id("cus"),
            "object": "customer",
            "email": params.get("email"),
            "name": params.get("name"),
            "description": params.get("description"),
            "metadata": params.get("metadata") or {},
            "livemode": False,
            "created": int(time.time()),
            "balance": 0,
            "currency": None,
            "delinquent": False,
            "default_source": None,
            "invoice_settings": {"default_payment_method": None},
            "invoice_prefix": "FAKE",
        }
        if idempotency:
            self.idempotent[idempotency] = customer["id"]
        return self.put(customer)

    def _session(self, prefix: str, object_type: str, params: dict[str, Any]) -> dict[str, Any]:
        session_id = self.new_id(prefix)
        host = "checkout.stripe.test" if prefix == "cs_test" else "billing.stripe.test"
        return {
            "id": session_id,
            "object": object_type,
            "url": f"https://{host}/{session_id}",
            "livemode": False,
            **{k: v for k, v in params.items() if k not in ("expand",)},
        }
