from __future__ import annotations

from typing import Any

from allauth.core.internal import ratelimit
from django.http import HttpRequest

from core.exceptions import ApplicationError


class RateLimited(ApplicationError):
    status_code = 429
    code = "rate_limited"


def rate_limit(request: HttpRequest, action: str, **kwargs: Any) -> None:
    """Consume one hit of ACCOUNT_RATE_LIMITS[action]: allauth's limiter (counters in the Redis
    cache), so our endpoints and allauth's are configured in one table."""
    usage = ratelimit.consume(
        request, app="allauth.account", action=action, limit_get=True, **kwargs
    )
    if usage is None:
        raise RateLimited("Too many requests. Try again later.", headers={"Retry-After": "60"})
