"""What the SDK-backed providers share: model choice, timeouts, tool-input parsing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx2

from ai.providers.errors import ProviderError
from ai.providers.types import ChatRequest

DEFAULT_TIMEOUT_SECONDS = 120.0


def sdk_timeout(seconds: float) -> httpx2.Timeout:
    # For a stream the read timeout is the longest silence allowed between two chunks.
    return httpx2.Timeout(seconds, connect=min(seconds, 10.0))


class SdkProvider:
    name: str = ""

    def __init__(self, *, models: Mapping[str, str] | None) -> None:
        self.models: dict[str, str] = dict(models or {})

    def model_for(self, request: ChatRequest) -> str | None:
        return request.model or self.models.get(request.task)

    def _model(self, request: ChatRequest) -> str:
        model = self.model_for(request)
        if not model:
            raise ProviderError(
                "not_configured",
                provider=self.name,
                detail=f"{self.name}: no model configured for task {request.task!r}",
            )
        return model

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} models={self.models}>"


@dataclass
class ToolBuffer:
    id: str
    name: str
    parts: list[str] = field(default_factory=list)

    @property
    def arguments(self) -> str:
        return "".join(self.parts)


def parse_tool_input(arguments: str | None, *, provider: str, name: str) -> dict[str, Any]:
    if arguments is None or not arguments.strip():
        return {}
    try:
        value = json.loads(arguments)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ProviderError.bad_response(
            provider=provider, detail=f"{provider}: tool call {name!r} input is not a JSON object"
        )
    return value


def usage_int(value: object) -> int:
    return value if isinstance(value, int) else 0
