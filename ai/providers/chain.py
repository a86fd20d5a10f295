"""The fallback chain: providers in AI_PROVIDER_ORDER, retries with backoff, and the rules for
when a failure may move on to the next provider. docs/ai-providers.md states the rules for
operators; keep the two in step.

- A retryable failure (overloaded, rate limited, 5xx, connection error, timeout) is retried at
  the same provider up to `max_retries` times, with exponential backoff and jitter, honouring
  the provider's Retry-After; then the next provider is tried. A timeout already cost a full
  timeout period, so it moves on at once unless the provider is the last one.
- A configuration failure of one provider (bad or unauthorised key, exhausted quota, unknown
  model) is not retried but does move on: the next provider has its own key and account, and the
  user's request was not at fault. It is logged at ERROR so an administrator hears of it.
- A failure caused by the request itself (context too long, other 4xx, malformed output) ends
  the chain: another provider would fail the same way, or cost money to find out.
- Once any event of a provider's stream has reached the caller, nothing is retried: a failure
  becomes a StreamError event followed by Finish("error"), so output is never duplicated.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import httpx2
from django.conf import settings

from ai.providers.anthropic_messages import AnthropicProvider
from ai.providers.errors import ADMIN_CODES, ProviderError, from_exception
from ai.providers.openai_chat import OpenAIChatProvider
from ai.providers.openai_responses import OpenAIResponsesProvider
from ai.providers.types import (
    CancelSignal,
    ChatRequest,
    Finish,
    Provider,
    ProviderEvent,
    ProviderResult,
    StreamError,
    is_cancelled,
)

logger = logging.getLogger("ai.providers")

PROVIDER_NAMES = ("anthropic", "openai", "openai_chat", "compatible")


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 2  # per provider, after the first attempt
    backoff_base: float = 0.5  # seconds before the first retry (then doubled each time)
    backoff_cap: float = 8.0
    # A provider asking to wait longer than this is skipped rather than waited for.
    max_retry_after: float = 20.0


class FallbackChain:
    """A Provider made of providers; see the module docstring for the rules."""

    name = "chain"

    def __init__(
        self,
        providers: Sequence[Provider],
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float, CancelSignal | None], bool] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.providers = list(providers)
        self.retry = retry or RetryPolicy()
        self._sleep = sleep or _wait
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security

    def __repr__(self) -> str:
        return f"<FallbackChain {[p.name for p in self.providers]}>"

    def model_for(self, request: ChatRequest) -> str | None:
        """The model of the first provider that would be tried."""
        for provider in self.providers:
            model = provider.model_for(request)
            if model:
                return model
        return None

    def _candidates(self, request: ChatRequest) -> list[Provider]:
        candidates = [p for p in self.providers if p.model_for(request)]
        if not candidates:
            raise ProviderError.not_configured(
                f"no AI provider configured for task {request.task!r}"
                if self.providers
                else "no AI provider configured"
            )
        return candidates

    def _retry_delay(self, error: ProviderError, attempt: int, is_last: bool) -> float | None:
        """Seconds to wait before retrying the same provider, or None to stop trying it."""
        if not error.retryable or attempt >= self.retry.max_retries:
            return None
        if error.code == "timeout" and not is_last:
            return None
        if error.retry_after is not None:
            if error.retry_after > self.retry.max_retry_after:
                return None
            return error.retry_after + self._rng.uniform(0, 0.1 * self.retry.backoff_base)
        # int ** int is typed Any (a negative exponent gives a float); the annotation says float.
        backoff: float = min(self.retry.backoff_cap, self.retry.backoff_base * 2**attempt)
        return backoff / 2 + self._rng.uniform(0, backoff / 2)

    def _note(self, provider: Provider, error: ProviderError) -> None:
        if error.code in ADMIN_CODES:
            logger.error(
                "AI provider %s is misconfigured (%s); check its key, account and model.",
                provider.name,
                error.detail,
            )

    def stream_chat(self, request: ChatRequest) -> Iterator[ProviderEvent]:
        candidates = self._candidates(request)
        last_error: ProviderError | None = None
        for position, provider in enumerate(candidates):
            is_last = position == len(candidates) - 1
            attempt = 0
            while True:
                if is_cancelled(request.cancel):
                    return
                emitted = False
                try:
                    with closing(provider.stream_chat(request)) as events:  # type: ignore[type-var]  # a generator
                        for event in events:
                            emitted = True
                            yield event
                    return
                except Exception as exc:
                    error = from_exception(exc, provider=provider.name)
                self._note(provider, error)
                if emitted:
                    logger.warning(
                        "AI provider %s failed mid-stream (%s); not retried after output began.",
                        provider.name,
                        error.detail,
                    )
                    yield StreamError(error)
                    yield Finish(
                        "error", provider=provider.name, model=provider.model_for(request) or ""
                    )
                    return
                last_error = error
                delay = self._retry_delay(error, attempt, is_last)
                if delay is None:
                    break
                attempt += 1
                logger.warning(
                    "AI provider %s failed (%s); retry %d/%d in %.2fs.",
                    provider.name,
                    error.detail,
                    attempt,
                    self.retry.max_retries,
                    delay,
                )
                if self._sleep(delay, request.cancel):
                    return
            assert last_error is not None  # noqa: S101 - the loop only breaks after a failure
            if not last_error.falls_back or is_last:
                raise last_error
            logger.warning(
                "AI provider %s failed (%s); falling back to %s.",
                provider.name,
                last_error.detail,
                candidates[position + 1].name,
            )
        raise ProviderError.not_configured()  # unreachable: the last candidate returns or raises

    def complete(self, request: ChatRequest) -> ProviderResult:
        candidates = self._candidates(request)
        for position, provider in enumerate(candidates):
            is_last = position == len(candidates) - 1
            attempt = 0
            while True:
                try:
                    return provider.complete(request)
                except Exception as exc:
                    error = from_exception(exc, provider=provider.name)
                self._note(provider, error)
                delay = self._retry_delay(error, attempt, is_last)
                if delay is None:
                    break
                attempt += 1
                logger.warning(
                    "AI provider %s failed (%s); retry %d/%d in %.2fs.",
                    provider.name,
                    error.detail,
                    attempt,
                    self.retry.max_retries,
                    delay,
                )
                if self._sleep(delay, request.cancel):
                    raise error
            if not error.falls_back or is_last:
                raise error
            logger.warning(
                "AI provider %s failed (%s); falling back to %s.",
                provider.name,
                error.detail,
                candidates[position + 1].name,
            )
        raise ProviderError.not_configured()  # unreachable


def _wait(seconds: float, cancel: CancelSignal | None) -> bool:
    """Sleep, waking early on cancel. True if cancelled."""
    if isinstance(cancel, threading.Event):
        return cancel.wait(seconds)
    deadline = time.monotonic() + seconds
    while True:
        if is_cancelled(cancel):
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(remaining, 0.1))


# ---------------------------------------------------------------------------------------------
# From settings
# ---------------------------------------------------------------------------------------------
def task_models() -> dict[str, dict[str, str]]:
    """{task: {provider: model}} from every AI_MODEL_<TASK> setting."""
    out: dict[str, dict[str, str]] = {}
    for key in dir(settings):
        if key.startswith("AI_MODEL_"):
            value = getattr(settings, key)
            if isinstance(value, dict):
                out[key.removeprefix("AI_MODEL_").lower()] = dict(value)
    return out


def _models_for(name: str, by_task: dict[str, dict[str, str]]) -> dict[str, str]:
    models: dict[str, str] = {}
    for task, mapping in by_task.items():
        model = mapping.get(name)
        if model is None and name == "openai_chat":
            model = mapping.get("openai")  # same account, same model names
        if model:
            models[task] = model
    return models


def build_providers(*, http_client: httpx2.Client | None = None) -> list[Provider]:
    """The configured providers, in AI_PROVIDER_ORDER. A provider without its key (or, for
    "compatible", without its base URL) is skipped."""
    by_task = task_models()
    timeout = float(settings.AI_REQUEST_TIMEOUT_SECONDS)
    providers: list[Provider] = []
    for name in settings.AI_PROVIDER_ORDER:
        models = _models_for(name, by_task)
        provider: Provider | None = None
        if name == "anthropic" and settings.ANTHROPIC_API_KEY:
            provider = AnthropicProvider(
                api_key=settings.ANTHROPIC_API_KEY,
                base_url=settings.ANTHROPIC_BASE_URL,
                models=models,
                timeout=timeout,
                http_client=http_client,
            )
        elif name == "openai" and settings.OPENAI_API_KEY:
            provider = OpenAIResponsesProvider(
                api_key=settings.OPENAI_API_KEY,
                base_url=settings.OPENAI_BASE_URL,
                models=models,
                timeout=timeout,
                http_client=http_client,
            )
        elif name == "openai_chat" and settings.OPENAI_API_KEY:
            provider = OpenAIChatProvider(
                api_key=settings.OPENAI_API_KEY,
                base_url=settings.OPENAI_BASE_URL,
                models=models,
                timeout=timeout,
                http_client=http_client,
            )
        elif name == "compatible" and settings.AI_COMPATIBLE_BASE_URL:
            provider = OpenAIChatProvider(
                api_key=settings.AI_COMPATIBLE_API_KEY,
                base_url=settings.AI_COMPATIBLE_BASE_URL,
                models=models,
                timeout=timeout,
                http_client=http_client,
                name="compatible",
                compatible=True,
            )
        if provider is None:
            logger.debug("AI provider %s is not configured; skipped.", name)
        else:
            providers.append(provider)
    return providers


_SETTING_NAMES = (
    "AI_PROVIDER_ORDER",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "AI_COMPATIBLE_BASE_URL",
    "AI_COMPATIBLE_API_KEY",
    "AI_REQUEST_TIMEOUT_SECONDS",
    "AI_MAX_RETRIES",
)
_cache_lock = threading.Lock()
_cache: dict[str, Any] = {}


def get_provider_chain() -> FallbackChain:
    """The chain for the current settings. Built once and reused (the SDK clients keep their
    connection pools); rebuilt when the settings change, as they do under override_settings."""
    snapshot = (
        tuple(repr(getattr(settings, name, None)) for name in _SETTING_NAMES),
        repr(sorted(task_models().items())),
    )
    with _cache_lock:
        if _cache.get("snapshot") != snapshot:
            _cache["chain"] = FallbackChain(
                build_providers(),
                retry=RetryPolicy(max_retries=int(settings.AI_MAX_RETRIES)),
            )
            _cache["snapshot"] = snapshot
        chain: FallbackChain = _cache["chain"]
        return chain


def stream_chat(request: ChatRequest) -> Iterator[ProviderEvent]:
    """Stream a chat turn through the configured providers. See FallbackChain."""
    return get_provider_chain().stream_chat(request)


def complete(request: ChatRequest) -> ProviderResult:
    """One-shot call (JSON tasks) through the configured providers. See FallbackChain."""
    return get_provider_chain().complete(request)
