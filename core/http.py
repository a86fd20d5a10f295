from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The caller's IP: from the trusted proxy header when one is configured, else the peer.

    Behind Fly's proxy the peer is the proxy; `Fly-Client-IP` carries the client. A header is
    trusted only when CLIENT_IP_HEADER names it, since anyone can send one.
    """
    header = getattr(settings, "CLIENT_IP_HEADER", "") or ""
    candidates = []
    if header:
        candidates.append(request.headers.get(header, ""))
    candidates.append(request.META.get("REMOTE_ADDR", ""))
    for value in candidates:
        value = (value or "").split(",")[0].strip()
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            continue
    return None


def user_agent(request: HttpRequest) -> str:
    return (request.headers.get("User-Agent") or "")[:400]
