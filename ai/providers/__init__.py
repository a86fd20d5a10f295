"""The AI provider layer: one interface over Anthropic Messages, OpenAI Responses, OpenAI Chat
Completions and OpenAI-compatible servers, with retries and fallback between them.

Callers build a ChatRequest and use `stream_chat(request)` (an iterator of ProviderEvent, meant
for a worker thread) or `complete(request)` (one ProviderResult). Failures are ProviderError.
See docs/ai-providers.md.
"""

from ai.providers.anthropic_messages import AnthropicProvider
from ai.providers.chain import (
    FallbackChain,
    RetryPolicy,
    build_providers,
    complete,
    get_provider_chain,
    stream_chat,
)
from ai.providers.errors import ProviderError
from ai.providers.openai_chat import OpenAIChatProvider
from ai.providers.openai_responses import OpenAIResponsesProvider
from ai.providers.types import (
    CancelSignal,
    ChatRequest,
    Finish,
    FinishReason,
    Message,
    Provider,
    ProviderEvent,
    ProviderResult,
    ReasoningDelta,
    ReasoningPart,
    ReasoningSignature,
    StreamError,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallPart,
    ToolCallStart,
    ToolResultPart,
    ToolSpec,
    Usage,
)

__all__ = [
    "AnthropicProvider",
    "CancelSignal",
    "ChatRequest",
    "FallbackChain",
    "Finish",
    "FinishReason",
    "Message",
    "OpenAIChatProvider",
    "OpenAIResponsesProvider",
    "Provider",
    "ProviderError",
    "ProviderEvent",
    "ProviderResult",
    "ReasoningDelta",
    "ReasoningPart",
    "ReasoningSignature",
    "RetryPolicy",
    "StreamError",
    "TextDelta",
    "TextPart",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallEnd",
    "ToolCallPart",
    "ToolCallStart",
    "ToolResultPart",
    "ToolSpec",
    "Usage",
    "build_providers",
    "complete",
    "get_provider_chain",
    "stream_chat",
]
