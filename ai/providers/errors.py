"""Provider failures as one error type with a stable code and a sentence a user may read.

Raw provider bodies and SDK messages never reach users or logs: they can quote the request, and
OpenAI's 401 body quotes part of the key. What is kept for logs (`detail`) is only the
provider's name, the HTTP status and the provider's own error type/code identifiers.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx2
import openai

from core.exceptions import ApplicationError

logger = logging.getLogger("ai.providers")


@dataclass(frozen=True)
class _Code:
    message: str
    http_status: int
    retryable: bool  # worth another attempt at the same provider
    falls_back: bool  # another provider may succeed where this one failed


CODES: Mapping[str, _Code] = {
    "not_configured": _Code("The AI assistant is not configured on this server.", 503, False, True),
    "context_too_long": _Code(
        "The conversation is too long for the model. Start a new chat or shorten the schema.",
        400,
        False,
        False,
    ),
    "overloaded": _Code(
        "The AI provider is overloaded right now. Please try again in a minute.", 503, True, True
    ),
    "rate_limited": _Code(
        "The AI provider is receiving too many requests. Please try again in a minute.",
        503,
        True,
        True,
    ),
    "bad_key": _Code(
        "The AI provider rejected the service's API key. An administrator has been notified.",
        503,
        False,
        True,
    ),
    "quota_exhausted": _Code(
        "The AI provider account has run out of credit. An administrator has been notified.",
        503,
        False,
        True,
    ),
    "model_not_found": _Code(
        "The configured AI model is not available. An administrator has been notified.",
        503,
        False,
        True,
    ),
    "timeout": _Code("The AI provider took too long to answer. Please try again.", 504, True, True),
    "unavailable": _Code(
        "The AI provider is unavailable right now. Please try again in a minute.", 503, True, True
    ),
    "invalid_request": _Code("The AI provider could not process this request.", 502, False, False),
    "bad_response": _Code(
        "The AI model returned a response the service could not read. Please try again.",
        502,
        False,
        False,
    ),
}

# Codes that mean "this deployment is misconfigured", not "this request failed": worth an alert.
ADMIN_CODES = frozenset({"bad_key", "quota_exhausted", "model_not_found"})


class ProviderError(ApplicationError):
    """A provider call failed. `str()` is the user message; `detail` is safe for logs."""

    def __init__(
        self,
        code: str,
        user_message: str | None = None,
        retryable: bool | None = None,
        *,
        provider: str = "",
        status: int | None = None,
        retry_after: float | None = None,
        detail: str = "",
    ) -> None:
        spec = CODES[code]
        super().__init__(user_message or spec.message, code=code, status=spec.http_status)
        self.user_message = self.message
        self.retryable = spec.retryable if retryable is None else retryable
        self.provider = provider
        self.provider_status = status
        self.retry_after = retry_after
        self.detail = detail or f"{provider or 'provider'}: {code}"

    @property
    def falls_back(self) -> bool:
        return CODES[self.code].falls_back

    def __repr__(self) -> str:
        return f"ProviderError({self.code!r}, provider={self.provider!r}, detail={self.detail!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # args holds the message, not the constructor's arguments: pickle (Celery, multiprocessing)
        # needs to be told how to rebuild the error.
        return (
            _rebuild,
            (
                self.code,
                self.user_message,
                self.retryable,
                self.provider,
                self.provider_status,
                self.retry_after,
                self.detail,
            ),
        )

    @classmethod
    def not_configured(cls, detail: str = "no AI provider is configured") -> ProviderError:
        return cls("not_configured", detail=detail)

    @classmethod
    def bad_response(cls, *, provider: str = "", detail: str = "") -> ProviderError:
        return cls("bad_response", provider=provider, detail=detail or f"{provider}: bad response")


def _rebuild(
    code: str,
    user_message: str,
    retryable: bool,
    provider: str,
    status: int | None,
    retry_after: float | None,
    detail: str,
) -> ProviderError:
    return ProviderError(
        code,
        user_message,
        retryable,
        provider=provider,
        status=status,
        retry_after=retry_after,
        detail=detail,
    )


# ---------------------------------------------------------------------------------------------
# Mapping
# ---------------------------------------------------------------------------------------------
_CONTEXT_MARKERS = (
    "prompt is too long",
    "context length",
    "context_length",
    "context window",
    "maximum context",
    "too many tokens",
    "input is too long",
    "reduce the length",
)

_BY_TYPE = {
    # Anthropic error.type values
    "authentication_error": "bad_key",
    "permission_error": "bad_key",
    "billing_error": "quota_exhausted",
    "not_found_error": "model_not_found",
    "request_too_large": "context_too_long",
    "rate_limit_error": "rate_limited",
    "api_error": "unavailable",
    "overloaded_error": "overloaded",
    "timeout_error": "timeout",
    # OpenAI error.code / error.type values
    "context_length_exceeded": "context_too_long",
    "string_above_max_length": "context_too_long",
    "insufficient_quota": "quota_exhausted",
    "invalid_api_key": "bad_key",
    "model_not_found": "model_not_found",
    "rate_limit_exceeded": "rate_limited",
    "server_error": "unavailable",
    "server_is_overloaded": "overloaded",
    "slow_down": "rate_limited",
}

# Types that say less than the HTTP status does (OpenAI's 503 "overloaded" has type
# server_error); they only decide when there is no status, as in an error event mid-stream.
_GENERIC_TYPES = frozenset({"server_error", "api_error", "invalid_request_error", "requests"})

_BY_STATUS = {
    400: "invalid_request",
    401: "bad_key",
    402: "quota_exhausted",
    403: "bad_key",
    404: "model_not_found",
    408: "timeout",
    409: "unavailable",
    413: "context_too_long",
    422: "invalid_request",
    429: "rate_limited",
    500: "unavailable",
    502: "unavailable",
    503: "overloaded",
    504: "timeout",
    529: "overloaded",
}


def classify(
    *,
    provider: str,
    status: int | None,
    error_type: str | None = None,
    error_code: str | None = None,
    message: str | None = None,
    retry_after: float | None = None,
    default: str = "unavailable",
) -> ProviderError:
    """Decide the code from whatever the provider told us. `message` is only searched for
    context-length wording; it is never kept."""
    lowered = (message or "").lower()
    code: str | None = None
    request_error = status is None or status in (400, 413, 422)
    if request_error and any(marker in lowered for marker in _CONTEXT_MARKERS):
        code = "context_too_long"
    if code is None and error_code:
        code = _BY_TYPE.get(error_code)
    if code is None and error_type and error_type not in _GENERIC_TYPES:
        code = _BY_TYPE.get(error_type)
    if code is None and status is not None and status >= 400:
        code = _BY_STATUS.get(status) or ("unavailable" if status >= 500 else "invalid_request")
    if code is None and error_type:
        code = _BY_TYPE.get(error_type)
    if code is None:
        code = default
    detail = f"{provider}: HTTP {status if status is not None else '-'}"
    if error_type:
        detail += f" type={error_type}"
    if error_code:
        detail += f" code={error_code}"
    return ProviderError(
        code, provider=provider, status=status, retry_after=retry_after, detail=detail
    )


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    if not headers:
        return None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _error_fields(body: object) -> tuple[str | None, str | None, str | None]:
    """(type, code, message) from an Anthropic or OpenAI error body, wrapped or not."""
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        body = body["error"]
    if not isinstance(body, Mapping):
        return None, None, body if isinstance(body, str) else None
    details = body.get("details")
    code = body.get("code")
    if code is None and isinstance(details, Mapping):
        code = details.get("error_code")
    return (
        _str_or_none(body.get("type")),
        str(code) if code is not None else None,
        _str_or_none(body.get("message")),
    )


def from_exception(exc: BaseException, *, provider: str) -> ProviderError:
    """Map anything an SDK call or its stream can raise to a ProviderError."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(
        exc, anthropic.APITimeoutError | openai.APITimeoutError | httpx2.TimeoutException
    ):
        return ProviderError("timeout", provider=provider, detail=f"{provider}: timed out")
    if isinstance(exc, anthropic.APIConnectionError | openai.APIConnectionError):
        return ProviderError(
            "unavailable", provider=provider, detail=f"{provider}: connection failed"
        )
    if isinstance(exc, httpx2.TransportError | httpx2.StreamError):
        return ProviderError(
            "unavailable",
            provider=provider,
            detail=f"{provider}: connection failed ({type(exc).__name__})",
        )
    if isinstance(exc, anthropic.APIStatusError | openai.APIStatusError):
        error_type, error_code, message = _error_fields(exc.body)
        # A mid-stream SSE error arrives on a 200 response; its body says what happened.
        status = exc.status_code if exc.status_code >= 400 else None
        return classify(
            provider=provider,
            status=status,
            error_type=error_type,
            error_code=error_code,
            message=message,
            retry_after=retry_after_seconds(exc.response.headers),
        )
    if isinstance(exc, anthropic.APIError | openai.APIError):
        error_type, error_code, message = _error_fields(exc.body)
        return classify(
            provider=provider,
            status=None,
            error_type=error_type,
            error_code=error_code,
            message=message,
        )
    logger.error(
        "Unexpected error from AI provider %s (%s)", provider, type(exc).__name__, exc_info=exc
    )
    return ProviderError.bad_response(
        provider=provider, detail=f"{provider}: unexpected {type(exc).__name__}"
    )
