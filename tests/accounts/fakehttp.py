"""Answers outgoing HTTP calls made with `requests` (allauth's providers, the Resend SDK) at the
transport boundary: the libraries run for real, only the network is replaced."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from requests.structures import CaseInsensitiveDict

Reply = tuple[int, Any] | tuple[int, Any, dict[str, str]]
Handler = Callable[["Call"], Reply] | Reply


@dataclass
class Call:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body or b"null")

    @property
    def form(self) -> dict[str, list[str]]:
        return parse_qs((self.body or b"").decode())

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.url).query)


@dataclass
class FakeHTTP:
    routes: list[tuple[str, str, Handler]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)

    def add(self, method: str, url_prefix: str, handler: Handler) -> None:
        """Later routes win over earlier ones for the same prefix."""
        self.routes.insert(0, (method.upper(), url_prefix, handler))

    def calls_to(self, url_prefix: str) -> list[Call]:
        return [c for c in self.calls if c.url.startswith(url_prefix)]

    def send(self, request: requests.PreparedRequest) -> requests.Response:
        raw = request.body or b""
        body = raw.encode() if isinstance(raw, str) else raw
        assert isinstance(body, bytes)
        call = Call(
            method=str(request.method),
            url=str(request.url),
            headers={str(k): str(v) for k, v in request.headers.items()},
            body=body,
        )
        self.calls.append(call)
        for method, prefix, handler in self.routes:
            if call.method == method and call.url.startswith(prefix):
                reply = handler(call) if callable(handler) else handler
                status, payload = reply[0], reply[1]
                headers = reply[2] if len(reply) > 2 else {}
                response = requests.Response()
                response.status_code = status
                if isinstance(payload, (bytes, str)):
                    response._content = payload.encode() if isinstance(payload, str) else payload
                    content_type = "text/plain"
                else:
                    response._content = json.dumps(payload).encode()
                    content_type = "application/json"
                response.headers = CaseInsensitiveDict({"Content-Type": content_type, **headers})
                response.url = call.url
                response.request = request
                response.encoding = "utf-8"
                return response
        raise AssertionError(f"unexpected outgoing HTTP call: {call.method} {call.url}")
