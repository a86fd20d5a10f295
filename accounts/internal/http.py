"""The client's IP and user agent for the accounts app: core.http's one rule for trusting
proxy headers, with the shapes allauth's rate limiter and session records expect."""

from __future__ import annotations

from django.http import HttpRequest

from core import http

USER_AGENT_MAX_LENGTH = 200


def client_ip(request: HttpRequest) -> str:
    """Never empty: allauth keys rate limits by it."""
    return http.client_ip(request) or "0.0.0.0"  # noqa: S104 - a value, not a bind


def user_agent(request: HttpRequest) -> str:
    return http.user_agent(request)[:USER_AGENT_MAX_LENGTH]
