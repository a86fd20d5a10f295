"""One generation, in the worker: stream from the provider, append each UI message stream chunk
to the generation's Redis Stream, then save the assistant's message.

Order of the last chunks: the message (with model, usage and finish reason) is saved, and the
chat's active generation cleared, in one transaction before `finish` (or `abort`) is appended:
a client that sees the end and reloads finds the message stored.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from ai import conversation, prompts, protocol, streams, tools
from ai.providers import (
    ChatRequest,
    Finish,
    ProviderError,
    ReasoningDelta,
    ReasoningSignature,
    StreamError,
    TextDelta,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    Usage,
    get_provider_chain,
)
from ai.schema import select_schema
from ai.services import approvals, usage
from ai.services.worker_db import worker_db
from chats import selectors as chat_selectors
from chats import services as chat_services
from core.tasks import enqueue_on_commit

logger = logging.getLogger("ai.generation")

UNEXPECTED = "The assistant failed unexpectedly. Please try again."
TOO_LONG = "The answer grew too long and was cut off."
NOT_SAVED = "The answer could not be saved. Please try again."


@dataclass
class _State:
    text_id: str | None = None
    reasoning_id: str | None = None
    parts: int = 0
    tool_names: dict[str, str] = field(default_factory=dict)
    started_tools: set[str] = field(default_factory=set)
    streamed_input: set[str] = field(default_factory=set)  # tool calls whose input was streamed
    input_tokens: int = 0
    output_tokens: int = 0
    model: str = ""
    provider: str = ""
    finish_reason: str | None = None
    error: str | None = None
    called_provider: bool = False

    def next_id(self, prefix: str) -> str:
        self.parts += 1
        return f"{prefix}{self.parts}"


class Generation:
    """Runs one claimed generation; `request` is what the web stored when it opened it."""

    def __init__(self, generation_id: str, request: dict[str, Any]) -> None:
        self.generation_id = generation_id
        self.request = request
        self.workspace_id = request["workspace_id"]
        self.user_id = request["user_id"]
        self.chat_id = uuid.UUID(request["chat_id"])
        self.message_id = uuid.UUID(request["message_id"])
        self.context: dict[str, Any] = request.get("context") or {}
        self.dialect: str = self.context.get("dialect") or "postgres"
        self.writer = streams.ChunkWriter(generation_id)
        self.builder = protocol.MessageBuilder(request.get("base_parts") or [])
        self.stop = streams.StopSignal(generation_id)
        self.state = _State()

    # -- output ------------------------------------------------------------------------------
    def emit(self, *chunks: dict[str, Any], legacy_only: bool = False) -> None:
        for chunk in chunks:
            self.builder.apply(chunk)
        self.writer.add(*chunks, legacy_only=legacy_only)

    def _close_text(self) -> list[dict[str, Any]]:
        if self.state.text_id is None:
            return []
        chunk = protocol.text_end(self.state.text_id)
        self.state.text_id = None
        return [chunk]

    def _close_reasoning(self, signature: str | None = None) -> list[dict[str, Any]]:
        if self.state.reasoning_id is None:
            return []
        chunk = protocol.reasoning_end(self.state.reasoning_id, signature=signature)
        self.state.reasoning_id = None
        return [chunk]

    # -- provider events -----------------------------------------------------------------------
    def on_event(self, event: Any) -> None:
        state = self.state
        if isinstance(event, TextDelta):
            if not event.text:
                return
            chunks = self._close_reasoning()
            if state.text_id is None:
                state.text_id = state.next_id("text-")
                chunks.append(protocol.text_start(state.text_id))
            chunks.append(protocol.text_delta(state.text_id, event.text))
            self.emit(*chunks)
        elif isinstance(event, ReasoningDelta):
            if not event.text:
                return
            chunks = self._close_text()
            if state.reasoning_id is None:
                state.reasoning_id = state.next_id("reasoning-")
                chunks.append(protocol.reasoning_start(state.reasoning_id))
            chunks.append(protocol.reasoning_delta(state.reasoning_id, event.text))
            self.emit(*chunks)
        elif isinstance(event, ReasoningSignature):
            self.emit(*self._close_reasoning(signature=event.signature))
        elif isinstance(event, ToolCallStart):
            chunks = self._close_text() + self._close_reasoning()
            state.tool_names[event.id] = event.name
            state.started_tools.add(event.id)
            chunks.append(protocol.tool_input_start(event.id, event.name))
            self.emit(*chunks)
        elif isinstance(event, ToolCallDelta):
            if event.id in state.started_tools and event.json_fragment:
                state.streamed_input.add(event.id)
                self.emit(protocol.tool_input_delta(event.id, event.json_fragment))
        elif isinstance(event, ToolCallEnd):
            self.on_tool_call(event)
        elif isinstance(event, Usage):
            state.input_tokens += event.input_tokens
            state.output_tokens += event.output_tokens
            state.model = event.model or state.model
            state.provider = event.provider or state.provider
        elif isinstance(event, Finish):
            state.finish_reason = event.reason
            state.model = event.model or state.model
            state.provider = event.provider or state.provider
        elif isinstance(event, StreamError):
            state.error = event.error.user_message

    def on_tool_call(self, event: ToolCallEnd) -> None:
        chunks = self._close_text() + self._close_reasoning()
        if event.id not in self.state.started_tools:
            self.state.started_tools.add(event.id)
            chunks.append(protocol.tool_input_start(event.id, event.name))
        approval_id = None
        tool_input: Any = event.input
        if event.name == tools.RUN_READONLY_QUERY:
            decision = tools.decide_query(
                event.input.get("sql"),
                dialect=self.dialect,
                max_rows=int(settings.AI_TOOL_MAX_ROWS),
                approve_all=bool(self.request.get("approve_all_sql")),
                make_approval=self._make_approval,
            )
            tool_input, approval_id = decision.tool_input, decision.approval_id
        available = protocol.tool_input_available(event.id, event.name, tool_input)
        if not approval_id:
            self.emit(*chunks, available)
            return
        # Waiting for approval: clients from ai@6 on build the input from the streamed deltas
        # and get the approval request; older ones get the input (with the token) instead.
        if event.id not in self.state.streamed_input:
            chunks.append(protocol.tool_input_delta(event.id, json.dumps(event.input)))
        self.emit(*chunks)
        self.emit(available, legacy_only=True)
        self.emit(protocol.tool_approval_request(approval_id, event.id))

    def _make_approval(self, sql: str, verdict: Any) -> tuple[str, str]:
        token = approvals.approval_create(
            workspace_id=self.workspace_id,
            user_id=self.user_id,
            connection_id=self.context.get("connection_id"),
            sql=sql,
            dialect=self.dialect,
            kind=verdict.kind,
            source="chat",
        )
        return token.token, token.expires_at_iso

    # -- the run ---------------------------------------------------------------------------------
    def provider_request(self) -> ChatRequest:
        messages = self.request.get("messages") or []
        query_texts = [
            conversation.last_user_text(messages),
            self.context.get("editor_sql") or "",
            conversation.first_user_text(messages),
        ]
        schema = select_schema(
            self.context.get("schema"),
            query_texts,
            budget_tokens=int(settings.AI_SCHEMA_TOKEN_BUDGET),
        )
        if schema.tables_total:
            self.emit(protocol.data("schema", schema.summary(), transient=True))
        system = prompts.chat_system(
            dialect=self.dialect,
            schema_text=schema.text,
            schema_truncated=schema.truncated,
            editor_sql=self.context.get("editor_sql") or "",
            has_connection=bool(self.context.get("connection_id")),
        )
        return ChatRequest(
            messages=conversation.provider_messages(messages),
            system=system,
            tools=tools.TOOL_SPECS,
            task="chat",
            max_output_tokens=int(settings.AI_CHAT_MAX_OUTPUT_TOKENS),
            cancel=self.stop,
        )

    def run(self, stream_chat: Callable[[ChatRequest], Any] | None = None) -> None:
        stream_chat = stream_chat or get_provider_chain().stream_chat
        state = self.state
        self.emit(protocol.start_step())
        try:
            request = self.provider_request()
            state.model = get_provider_chain().model_for(request) or ""
            state.called_provider = True
            # Closing the iterator early (a cut-off answer) hangs up on the provider at once.
            with closing(stream_chat(request)) as events:  # type: ignore[type-var]  # a generator
                for event in events:
                    self.on_event(event)
                    if self.writer.full:
                        state.error = TOO_LONG
                        state.finish_reason = "length"
                        break
        except ProviderError as error:
            state.error = error.user_message
            state.called_provider = error.code != "not_configured"
            if error.code == "not_configured":
                logger.warning("AI generation %s: no provider configured", self.generation_id)
        except Exception:
            logger.exception("AI generation %s failed", self.generation_id)
            state.error = UNEXPECTED
        self.finish()

    def finish(self) -> None:
        state = self.state
        aborted = self.stop.stopped and state.finish_reason is None and state.error is None
        gone = self.stop.stopped and self.stop.reason == "gone"
        closing = self._close_text() + self._close_reasoning()
        if gone:
            # Someone else ended this stream (a reader gave up on a silent worker): keep what
            # there is, but write nothing more to it.
            aborted = True
            for chunk in closing:
                self.builder.apply(chunk)
        elif closing:
            self.emit(*closing)
        if state.error:
            finish_reason = "error"
        elif aborted:
            finish_reason = "abort"
        else:
            finish_reason = state.finish_reason or "other"
        metadata = {
            "model": state.model,
            "provider": state.provider,
            "finish_reason": finish_reason,
            "input_tokens": state.input_tokens,
            "output_tokens": state.output_tokens,
            "generation_id": self.generation_id,
        }
        saved = self.save(finish_reason, metadata)
        if gone:
            return
        if not saved and state.error is None:
            state.error = NOT_SAVED
        if state.error:
            final = [protocol.error(state.error), protocol.finish("error", metadata)]
            status = streams.FAILED
        elif aborted:
            final = [protocol.abort()]
            status = streams.ABORTED
        else:
            final = [protocol.finish_step(), protocol.finish(finish_reason, metadata)]
            status = streams.DONE
        for chunk in final:
            self.builder.apply(chunk)
        self.writer.close(*final, status=status)

    def save(self, finish_reason: str, metadata: dict[str, Any]) -> bool:
        """Store the message and the usage, clear the chat's active generation; one transaction."""
        state = self.state
        try:
            with worker_db(workspace_id=self.workspace_id, user_id=self.user_id):
                if self.builder.has_new_content() or self.request.get("base_parts"):
                    chat_services.assistant_message_save(
                        workspace_id=self.workspace_id,
                        user_id=self.user_id,
                        chat_id=self.chat_id,
                        message_id=self.message_id,
                        parts=self.builder.parts,
                        metadata=metadata,
                        model=state.model,
                        input_tokens=state.input_tokens,
                        output_tokens=state.output_tokens,
                        finish_reason=finish_reason,
                    )
                if state.called_provider:
                    usage.usage_record(
                        workspace_id=self.workspace_id,
                        user_id=self.user_id,
                        model=state.model,
                        input_tokens=state.input_tokens,
                        output_tokens=state.output_tokens,
                    )
                chat = chat_services.chat_clear_active_stream(
                    workspace_id=self.workspace_id,
                    user_id=self.user_id,
                    chat_id=self.chat_id,
                    generation_id=self.generation_id,
                )
                if chat is not None and not chat.deleted and not chat_selectors.chat_title(chat):
                    enqueue_on_commit(
                        "ai.title_chat",
                        self.workspace_id,
                        self.user_id,
                        str(chat.id),
                        queue=settings.AI_CELERY_QUEUE,
                    )
            return True
        except Exception:
            logger.exception("AI generation %s: saving the answer failed", self.generation_id)
            return False
        finally:
            usage.untrack_generation(user_id=self.user_id, generation_id=self.generation_id)


def generation_run(*, generation_id: str, workspace_id: str, user_id: str, chat_id: str) -> bool:
    """Run a generation the web opened. The task's arguments name the workspace, member and
    chat (the database context comes from them); a stored request that says otherwise is
    refused. False when there was nothing to run (already taken, or given up on before a
    worker got to it)."""
    started = time.monotonic()
    request = streams.generation_claim(generation_id)
    if request is None:
        logger.info("AI generation %s is not queued any more; skipped", generation_id)
        return False
    if (request["workspace_id"], request["user_id"], request["chat_id"]) != (
        str(workspace_id),
        str(user_id),
        str(chat_id),
    ):
        logger.error("AI generation %s does not match its task; refused", generation_id)
        streams.close_generation(generation_id, [protocol.error(UNEXPECTED)], status=streams.FAILED)
        return False
    Generation(generation_id, request).run()
    logger.info("AI generation %s finished in %.2fs", generation_id, time.monotonic() - started)
    return True
