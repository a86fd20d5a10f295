"""The provider-neutral shapes: what callers send (ChatRequest) and what comes back
(ProviderEvent while streaming, ProviderResult for one-shot calls).

Nothing here knows about an SDK; each provider translates to and from these.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, TypeAlias

if TYPE_CHECKING:
    from ai.providers.errors import ProviderError

Role: TypeAlias = Literal["user", "assistant", "tool"]
FinishReason: TypeAlias = Literal[
    "stop", "length", "tool-calls", "content-filter", "error", "other"
]

# Either an Event a stop request sets, or any callable answering "stop now?". It is polled about
# every 0.1 s while a stream runs, so keep a callable cheap (a Redis GET is fine).
CancelSignal: TypeAlias = threading.Event | Callable[[], bool]


def is_cancelled(cancel: CancelSignal | None) -> bool:
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    return bool(cancel())


# ---------------------------------------------------------------------------------------------
# Request
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TextPart:
    text: str


@dataclass(frozen=True)
class ReasoningPart:
    """Reasoning from an earlier assistant turn. Only Anthropic takes it back, and only with the
    signature it was sent with (needed when thinking is on during a tool-use loop)."""

    text: str
    signature: str | None = None


@dataclass(frozen=True)
class ToolCallPart:
    id: str
    name: str
    input: dict[str, Any]


@dataclass(frozen=True)
class ToolResultPart:
    tool_call_id: str
    name: str
    output: str  # plain text or a JSON document, given to the model verbatim
    is_error: bool = False


Part: TypeAlias = TextPart | ReasoningPart | ToolCallPart | ToolResultPart


@dataclass(frozen=True)
class Message:
    """One turn. `user` holds text, `assistant` holds text, reasoning and tool calls, `tool`
    holds the results of the previous assistant turn's tool calls."""

    role: Role
    parts: Sequence[Part]

    @classmethod
    def user(cls, text: str) -> Message:
        return cls("user", (TextPart(text),))

    @classmethod
    def assistant(cls, text: str = "", tool_calls: Sequence[ToolCallPart] = ()) -> Message:
        parts: list[Part] = [TextPart(text)] if text else []
        parts.extend(tool_calls)
        return cls("assistant", tuple(parts))

    @classmethod
    def tool_results(cls, results: Sequence[ToolResultPart]) -> Message:
        return cls("tool", tuple(results))

    @property
    def text(self) -> str:
        return "".join(part.text for part in self.parts if isinstance(part, TextPart))


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    input_schema: dict[str, Any]  # JSON Schema of the tool's input object


@dataclass(frozen=True)
class ChatRequest:
    messages: Sequence[Message]
    system: str = ""
    tools: Sequence[ToolSpec] = ()
    # Picks the model per provider from settings (AI_MODEL_CHAT, AI_MODEL_SQL, ...).
    task: str = "chat"
    # Pins the model name for every provider tried; leave None to use the per-task settings.
    model: str | None = None
    max_output_tokens: int = 4096
    # None leaves the provider's default; OpenAI reasoning models reject anything else, and the
    # Anthropic SDK in use has no temperature parameter, so Anthropic ignores it.
    temperature: float | None = None
    # Ask for reasoning: Anthropic extended thinking with this budget (added on top of
    # max_output_tokens), OpenAI Responses reasoning summaries. Chat Completions ignores it.
    thinking_budget_tokens: int | None = None
    # One-shot JSON tasks: ask OpenAI-style APIs for a JSON object (the prompt must say "JSON").
    json_output: bool = False
    cancel: CancelSignal | None = field(default=None, compare=False, repr=False)


# ---------------------------------------------------------------------------------------------
# Stream events
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TextDelta:
    type: ClassVar[str] = "text_delta"
    text: str


@dataclass(frozen=True)
class ReasoningDelta:
    type: ClassVar[str] = "reasoning_delta"
    text: str


@dataclass(frozen=True)
class ReasoningSignature:
    """Anthropic's signature for the reasoning just streamed; keep it in a ReasoningPart to send
    the reasoning back in the next turn of a tool-use loop."""

    type: ClassVar[str] = "reasoning_signature"
    signature: str


@dataclass(frozen=True)
class ToolCallStart:
    type: ClassVar[str] = "tool_call_start"
    id: str
    name: str


@dataclass(frozen=True)
class ToolCallDelta:
    type: ClassVar[str] = "tool_call_delta"
    id: str
    json_fragment: str


@dataclass(frozen=True)
class ToolCallEnd:
    type: ClassVar[str] = "tool_call_end"
    id: str
    name: str
    input: dict[str, Any]


@dataclass(frozen=True)
class Usage:
    type: ClassVar[str] = "usage"
    input_tokens: int
    output_tokens: int
    provider: str = ""
    model: str = ""


@dataclass(frozen=True)
class Finish:
    type: ClassVar[str] = "finish"
    reason: FinishReason
    provider: str = ""
    model: str = ""


@dataclass(frozen=True)
class StreamError:
    """A failure after output had already reached the caller: the chain does not retry or fall
    back then (the output would be duplicated). Always followed by Finish("error")."""

    type: ClassVar[str] = "error"
    error: ProviderError


ProviderEvent: TypeAlias = (
    TextDelta
    | ReasoningDelta
    | ReasoningSignature
    | ToolCallStart
    | ToolCallDelta
    | ToolCallEnd
    | Usage
    | Finish
    | StreamError
)


# ---------------------------------------------------------------------------------------------
# One-shot result
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    input: dict[str, Any]


_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


@dataclass(frozen=True)
class ProviderResult:
    text: str
    finish_reason: FinishReason
    provider: str
    model: str
    tool_calls: Sequence[ToolCall] = ()
    reasoning: str = ""
    usage: Usage | None = None

    def json(self) -> Any:
        """The text parsed as JSON (a ```json fence around it is tolerated)."""
        from ai.providers.errors import ProviderError

        text = self.text.strip()
        fenced = _FENCE.match(text)
        if fenced:
            text = fenced.group(1)
        try:
            return json.loads(text)
        except ValueError:
            raise ProviderError.bad_response(provider=self.provider) from None


class Provider(Protocol):
    """What every provider, and the fallback chain, offers."""

    name: str

    def model_for(self, request: ChatRequest) -> str | None:
        """The model this provider would use for the request; None if it has none for the task."""
        ...

    def stream_chat(self, request: ChatRequest) -> Iterator[ProviderEvent]: ...

    def complete(self, request: ChatRequest) -> ProviderResult: ...
