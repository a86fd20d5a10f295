"""The client's IP and user agent, by the project's one rule for trusting proxy headers."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest

USER_AGENT_MAX_LENGTH = 200


def _clean(value: str | None) -> str | None:
    value = (value or "").split(",")[0].strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    """From the header named by CLIENT_IP_HEADER (e.g. Fly-Client-IP) when one is configured,
    else the peer address. Anyone can send such a header, so it is trusted only when the
    deployment says a proxy sets it."""
    header = getattr(settings, "CLIENT_IP_HEADER", "") or ""
    if header:
        ip = _clean(request.headers.get(header))
        if ip:
            return ip
    return _clean(request.META.get("REMOTE_ADDR")) or "0.0.0.0"  # noqa: S104 - a value, not a bind


def user_agent(request: HttpRequest) -> str:
    return (request.headers.get("User-Agent") or "")[:USER_AGENT_MAX_LENGTH]
