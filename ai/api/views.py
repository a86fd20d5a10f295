"""The assistant's endpoints under /api/v1/workspaces/{workspace_id}/.

Streams (`chats/{chat_id}/messages`, `chats/{chat_id}/stream`) are DRF views like the others
(authentication, membership and row-level security from WorkspaceScopedApi); their database
work is done, and committed, before the response starts. The body is an async generator
(ai.streams.relay) that reads Redis only, so an open stream costs a coroutine and a Redis
connection, not a thread or a database connection.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from django.db import connection
from django.http import HttpRequest, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from ai import protocol, streams
from ai.api import serializers as s
from ai.guardrails import classify
from ai.services import approvals, chat_stream, oneshot, usage
from core.exceptions import ApplicationError
from workspaces.api.base import WorkspaceScopedApi
from workspaces.models import Role

TAG = ["ai"]

_SSE_RESPONSE = OpenApiResponse(
    response=OpenApiTypes.STR,
    description=(
        "Server-Sent Events in the AI SDK UI message stream protocol v1 "
        "(`x-vercel-ai-ui-message-stream: v1`): `data: {chunk}` lines with `id:` lines, "
        "`: ping` heartbeats, then `data: [DONE]`. See docs/ai.md."
    ),
)


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(response={"$ref": "#/components/schemas/Error"}, description=description)


_PLAN_LIMIT = _error("The plan's monthly AI quota is used up (`plan_limit`).")
_IN_PROGRESS = _error("A reply is still being written in this chat (`reply_in_progress`).")
_PROVIDER = _error("The AI provider failed; the message says why (docs/ai-providers.md).")


def sse_response(body: Any) -> StreamingHttpResponse:
    response = StreamingHttpResponse(body, content_type=protocol.CONTENT_TYPE)
    for key, value in protocol.HEADERS.items():
        response[key] = value
    return response


class _StreamApi(WorkspaceScopedApi):
    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # EventSource asks for `Accept: text/event-stream`; the stream is not a DRF rendering,
        # and errors are JSON whatever the client accepts.
        renderer = JSONRenderer()
        return renderer, renderer.media_type

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        response = super().dispatch(request, *args, **kwargs)  # committed (and enqueued) here
        if isinstance(response, StreamingHttpResponse) and not connection.in_atomic_block:
            # The stream may stay open for minutes: give the database connection back now
            # rather than when the response closes.
            connection.close()
        return response


class ChatMessagesApi(_StreamApi):
    """Send a message (or tool results) and stream the assistant's reply."""

    @extend_schema(
        tags=TAG,
        operation_id="ai_chat_messages_send",
        request=s.AiChatMessagesInput,
        responses={
            (200, "text/event-stream"): _SSE_RESPONSE,
            402: _PLAN_LIMIT,
            409: _IN_PROGRESS,
        },
    )
    def post(self, request: Request, workspace_id: uuid.UUID, chat_id: uuid.UUID) -> Any:
        data = s.AiChatMessagesInput(data=request.data)
        data.is_valid(raise_exception=True)
        body = data.validated_data
        if body.get("id") and body["id"] != str(chat_id):
            raise ApplicationError(
                "Some fields are invalid.",
                code="validation_error",
                fields={"id": ["The chat id in the body differs from the one in the URL."]},
            )
        started = chat_stream.chat_reply_start(
            membership=self.membership,
            chat_id=chat_id,
            messages=body["messages"],
            trigger=body["trigger"],
            message_id=body.get("messageId") or None,
            context=dict(body.get("context") or {}),
        )
        return sse_response(
            streams.relay(started.generation_id, protocol=streams.client_protocol(request.headers))
        )


class ChatStreamApi(_StreamApi):
    """Resume the chat's reply being written: replayed from its first chunk, then live."""

    @extend_schema(
        tags=TAG,
        operation_id="ai_chat_stream_resume",
        parameters=[
            OpenApiParameter(
                "Last-Event-ID",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=False,
                description="Resume after this event (EventSource reconnects).",
            )
        ],
        responses={(200, "text/event-stream"): _SSE_RESPONSE, 204: None},
    )
    def get(self, request: Request, workspace_id: uuid.UUID, chat_id: uuid.UUID) -> Any:
        point = chat_stream.chat_resume_point(
            membership=self.membership,
            chat_id=chat_id,
            last_event_id=request.headers.get("Last-Event-ID"),
        )
        if point is None:
            return Response(status=204)
        return sse_response(
            streams.relay(
                point.generation_id,
                after=point.after,
                protocol=streams.client_protocol(request.headers),
            )
        )


class ChatStopApi(WorkspaceScopedApi):
    """Stop the chat's reply: the worker ends it within a second, keeps what was written and
    sends `abort` to every reader."""

    @extend_schema(
        tags=TAG,
        operation_id="ai_chat_stop",
        request=None,
        responses={202: s.AiStopOutput, 204: None},
    )
    def post(self, request: Request, workspace_id: uuid.UUID, chat_id: uuid.UUID) -> Response:
        generation_id = chat_stream.chat_reply_stop(membership=self.membership, chat_id=chat_id)
        if generation_id is None:
            return Response(status=204)
        return Response(
            s.AiStopOutput({"generation_id": generation_id, "stopping": True}).data, status=202
        )


# --- one-shot ------------------------------------------------------------------------------------
class _TaskApi(WorkspaceScopedApi):
    task: str
    input_class: type[s._TaskInput]
    output_class: type[Any] = s.AiSqlAnswerOutput

    def post(self, request: Request, workspace_id: uuid.UUID) -> Response:
        data = self.input_class(data=request.data)
        data.is_valid(raise_exception=True)
        answer = oneshot.ai_task_run(
            workspace=self.workspace,
            user=request.user,
            task=self.task,
            data=dict(data.validated_data),
        )
        return Response(self.output_class(answer).data)


_View = TypeVar("_View", bound=Callable[..., Any])


def _task_schema(
    operation_id: str,
    request: type[BaseSerializer[Any]],
    response: type[BaseSerializer[Any]] = s.AiSqlAnswerOutput,
) -> Callable[[_View], _View]:
    return extend_schema(
        tags=TAG,
        operation_id=operation_id,
        request=request,
        responses={200: response, 402: _PLAN_LIMIT, 502: _PROVIDER, 503: _PROVIDER, 504: _PROVIDER},
    )


class GenerateSqlApi(_TaskApi):
    """Write SQL for a question (dialect, schema, sample values)."""

    task, input_class = "generate", s.AiGenerateSqlInput

    @_task_schema("ai_generate_sql", s.AiGenerateSqlInput)
    def post(self, request: Request, workspace_id: uuid.UUID) -> Response:
        return super().post(request, workspace_id)


class FixSqlApi(_TaskApi):
    """Fix SQL from the error the database returned."""

    task, input_class = "fix", s.AiFixSqlInput

    @_task_schema("ai_fix_sql", s.AiFixSqlInput)
    def post(self, request: Request, workspace_id: uuid.UUID) -> Response:
        return super().post(request, workspace_id)


class ExplainSqlApi(_TaskApi):
    """Explain SQL (the answer's `sql` is the statement explained, with its verdict)."""

    task, input_class = "explain", s.AiSqlInput

    @_task_schema("ai_explain_sql", s.AiSqlInput)
    def post(self, request: Request, workspace_id: uuid.UUID) -> Response:
        return super().post(request, workspace_id)


class OptimizeSqlApi(_TaskApi):
    """Rewrite SQL to run faster."""

    task, input_class = "optimize", s.AiSqlInput

    @_task_schema("ai_optimize_sql", s.AiSqlInput)
    def post(self, request: Request, workspace_id: uuid.UUID) -> Response:
        return super().post(request, workspace_id)


class EnhancePromptApi(_TaskApi):
    """Rewrite a request to the assistant so it is precise."""

    task, input_class, output_class = "enhance", s.AiEnhancePromptInput, s.AiEnhancedPromptOutput

    @_task_schema("ai_enhance_prompt", s.AiEnhancePromptInput, s.AiEnhancedPromptOutput)
    def post(self, request: Request, workspace_id: uuid.UUID) -> Response:
        return super().post(request, workspace_id)


# --- guardrail and approvals ----------------------------------------------------------------------
class GuardrailApi(WorkspaceScopedApi):
    """The guardrail's verdict on any SQL (no provider involved; viewers may ask too)."""

    write_role = Role.VIEWER

    @extend_schema(
        tags=TAG,
        operation_id="ai_guardrail",
        request=s.AiGuardrailInput,
        responses=s.AiGuardrailVerdictOutput,
    )
    def post(self, request: Request, workspace_id: uuid.UUID) -> Response:
        data = s.AiGuardrailInput(data=request.data)
        data.is_valid(raise_exception=True)
        body = data.validated_data
        verdict = classify(body["sql"], body["dialect"], max_rows=body.get("max_rows"))
        return Response(s.AiGuardrailVerdictOutput(verdict.to_dict()).data)


class ApprovalCreateApi(WorkspaceScopedApi):
    """An approval token for SQL that needs the user's confirmation (writes, or any SQL when
    the workspace approves all AI SQL). Read-only SQL otherwise gets `required: false`."""

    @extend_schema(
        tags=TAG,
        operation_id="ai_approvals_create",
        request=s.AiApprovalCreateInput,
        responses={201: s.AiApprovalCreateOutput, 200: s.AiApprovalCreateOutput},
    )
    def post(self, request: Request, workspace_id: uuid.UUID) -> Response:
        data = s.AiApprovalCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        body = data.validated_data
        verdict = classify(body["sql"], body["dialect"])
        answer: dict[str, Any] = {
            "required": approvals.needs_approval(
                verdict, approve_all=self.workspace.ai_approve_all_sql
            ),
            "token": None,
            "expires_at": None,
            "sql": body["sql"],
            "sql_sha256": approvals.sql_sha256(body["sql"]),
            "guardrail": verdict.to_dict(),
        }
        if not answer["required"]:
            return Response(s.AiApprovalCreateOutput(answer).data)
        token = approvals.approval_create(
            workspace_id=self.workspace.pk,
            user_id=request.user.pk,
            connection_id=body.get("connection_id"),
            sql=body["sql"],
            dialect=body["dialect"],
            kind=verdict.kind,
        )
        answer.update(token=token.token, expires_at=token.expires_at)
        return Response(s.AiApprovalCreateOutput(answer).data, status=201)


class ApprovalApproveApi(WorkspaceScopedApi):
    """Approve: consumes the token, writes an audit event and returns the exact SQL to run."""

    @extend_schema(
        tags=TAG,
        operation_id="ai_approvals_approve",
        request=s.AiApprovalApproveInput,
        responses={
            200: s.AiApprovalApproveOutput,
            403: _error("The token is bound to another statement, connection or member."),
            410: _error("The token expired or was used."),
        },
    )
    def post(self, request: Request, workspace_id: uuid.UUID, token: str) -> Response:
        data = s.AiApprovalApproveInput(data=request.data)
        data.is_valid(raise_exception=True)
        body = data.validated_data
        approved = approvals.approval_approve(
            workspace_id=self.workspace.pk,
            user=request.user,
            token=token,
            sql=body["sql"],
            connection_id=body.get("connection_id"),
            request=request,
        )
        return Response(s.AiApprovalApproveOutput(approved).data)


class UsageApi(WorkspaceScopedApi):
    """The workspace's AI usage in a month against its plan; owners and admins also see it per
    member."""

    @extend_schema(
        tags=TAG,
        operation_id="ai_usage",
        parameters=[
            OpenApiParameter(
                "month", OpenApiTypes.STR, description="YYYY-MM (UTC); the current month if absent."
            )
        ],
        responses=s.AiUsageOutput,
    )
    def get(self, request: Request, workspace_id: uuid.UUID) -> Response:
        raw = request.query_params.get("month")
        month = usage.month_start()
        if raw:
            try:
                year, number = (int(part) for part in raw.split("-", 1))
                month = date(year, number, 1)
            except ValueError:
                raise ApplicationError(
                    "Some fields are invalid.",
                    code="validation_error",
                    fields={"month": ["Use YYYY-MM."]},
                ) from None
        summary = usage.usage_summary(
            workspace=self.workspace,
            month=month,
            by_user=self.membership.role in (Role.OWNER, Role.ADMIN),
        )
        return Response(s.AiUsageOutput(summary).data)
