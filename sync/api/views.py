"""Sync endpoints under /api/v1/workspaces/{workspace_id}/sync/ (docs/sync.md).

Unlike other workspace endpoints these manage their own transactions: a push retries its
transaction on transient failures, and a pull reads from one REPEATABLE READ snapshot, which
must be chosen before the transaction's first statement.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from core.exceptions import ApplicationError, NotFound, ServiceUnavailable
from core.tenancy import set_db_context
from sync import selectors
from sync.api import schema, serializers
from sync.api.pagination import SyncListPagination
from sync.services.collect import device_forget
from sync.services.common import is_transient, run_bound
from sync.services.deliveries import record_secret_deliveries
from sync.services.push import register_client, sync_push
from sync.services.resolve import RESOLUTIONS, conflict_resolve
from workspaces.api.base import WorkspaceScopedApi
from workspaces.models import Role
from workspaces.secrets import Channel, Principal, may_receive_secrets

PROTOCOL_HEADER = "X-Sync-Protocol"
SUPPORTED_PROTOCOLS = ("1",)


def protocol_error(version: str | None) -> ApplicationError:
    return ApplicationError(
        f"Sync protocol {version or '(none)'} is not supported; send {PROTOCOL_HEADER}: 1.",
        code="unsupported_protocol",
        status=426,
        extra={"supported_protocols": [int(v) for v in SUPPORTED_PROTOCOLS]},
    )


def bad_request(message: str, field: str | None = None) -> ApplicationError:
    return ApplicationError(
        message, code="invalid_request", status=400, fields={field: [message]} if field else None
    )


def parse_client_id(value: Any) -> str:
    if not isinstance(value, str) or not 8 <= len(value) <= 64:
        raise bad_request("client_id is required: a string of 8 to 64 characters.", "client_id")
    return value


class _RateThrottle(SimpleRateThrottle):
    setting = ""

    def get_rate(self) -> str:
        return str(getattr(settings, self.setting))

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class PushThrottle(_RateThrottle):
    scope = "sync_push"
    setting = "SYNC_PUSH_RATE"


class PullThrottle(_RateThrottle):
    scope = "sync_pull"
    setting = "SYNC_PULL_RATE"


class SyncApi(WorkspaceScopedApi):
    """Base of the sync endpoints: protocol check (426), authentication, rate limit, the
    workspace and role check of WorkspaceScopedApi; transactions are opened by the handlers
    (`bound()`), not around the whole request."""

    read_role = Role.VIEWER
    write_role = Role.VIEWER  # viewers' pushes are rejected per mutation, not per request

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return APIView.dispatch(self, request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        version = request.headers.get(PROTOCOL_HEADER)
        if version not in SUPPORTED_PROTOCOLS:
            raise protocol_error(version)
        with transaction.atomic():
            super().initial(request, *args, **kwargs)

    @contextmanager
    def bound(self) -> Iterator[None]:
        """A transaction bound to the workspace and caller for row-level security."""
        try:
            with transaction.atomic():
                set_db_context(workspace_id=self.workspace.pk, user_id=self.request.user.pk)
                yield
        except DatabaseError as exc:
            if is_transient(exc):
                raise ServiceUnavailable(
                    "The database is unavailable; retry shortly.",
                    headers={"Retry-After": str(settings.SYNC_RETRY_AFTER_SECONDS)},
                ) from exc
            raise


class SyncPushApi(SyncApi):
    throttle_classes = [PushThrottle]

    @extend_schema(
        tags=["sync"],
        operation_id="sync_push",
        parameters=[schema.PROTOCOL],
        request=schema.PushRequestSchema,
        responses=schema.PushResponseSchema,
    )
    def post(self, request: Request, workspace_id: uuid.UUID) -> Response:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if max(declared, len(request.body)) > settings.SYNC_MAX_PUSH_BYTES:
            raise ApplicationError(
                f"A push may carry at most {settings.SYNC_MAX_PUSH_BYTES} bytes.",
                code="request_too_large",
                status=413,
                extra={"limit_bytes": settings.SYNC_MAX_PUSH_BYTES},
            )
        body = serializers.parse_push(request.data)
        outcome = sync_push(
            workspace=self.workspace,
            user=request.user,
            role=self.membership.role,
            client_id=body.client_id,
            device=body.device,
            mutations=body.mutations,
        )
        if outcome.expected_mutation_id is not None:
            raise ApplicationError(
                f"Mutation {outcome.expected_mutation_id} is missing: send mutations in order "
                "without gaps.",
                code="mutation_gap",
                status=409,
                extra={
                    "expected_mutation_id": outcome.expected_mutation_id,
                    "last_mutation_id": outcome.last_mutation_id,
                    "results": outcome.results,
                },
            )
        return Response(
            {
                "results": outcome.results,
                "last_mutation_id": outcome.last_mutation_id,
                "version": outcome.version,
            }
        )


class SyncPullApi(SyncApi):
    throttle_classes = [PullThrottle]

    @extend_schema(
        tags=["sync"],
        operation_id="sync_pull",
        parameters=[
            schema.PROTOCOL,
            OpenApiParameter("client_id", str, required=True),
            OpenApiParameter("cursor", str, description="Opaque; omit for a first sync."),
            OpenApiParameter("limit", int, description="1-1,000 (default 500)."),
        ],
        responses=schema.PullResponseSchema,
    )
    def get(self, request: Request, workspace_id: uuid.UUID) -> Response:
        client_id = parse_client_id(request.query_params.get("client_id"))
        limit = serializers.parse_limit(request.query_params.get("limit"))
        cursor = request.query_params.get("cursor") or None
        user: Any = request.user

        def touch() -> None:
            client = register_client(
                workspace=self.workspace, user=user, client_id=client_id, device=None, lock=False
            )
            type(client).objects.filter(pk=client.pk).update(last_pull_at=_now(), updated_at=_now())

        run_bound(touch, workspace_id=self.workspace.pk, user_id=user.pk, what="pull")
        outermost = not connection.in_atomic_block
        try:
            with transaction.atomic():
                selectors.set_repeatable_read(outermost=outermost)
                set_db_context(workspace_id=self.workspace.pk, user_id=user.pk)
                page = selectors.sync_pull(
                    workspace=self.workspace,
                    user=user,
                    role=self.membership.role,
                    client_id=client_id,
                    cursor=cursor,
                    limit=limit,
                )
        except DatabaseError as exc:
            if is_transient(exc):
                raise ServiceUnavailable(
                    "The database is unavailable; retry shortly.",
                    headers={"Retry-After": str(settings.SYNC_RETRY_AFTER_SECONDS)},
                ) from exc
            raise
        if page.deliveries:
            # Recorded before the page is answered: no secret reaches a device unrecorded.
            run_bound(
                lambda: record_secret_deliveries(
                    workspace_id=self.workspace.pk,
                    user_id=user.pk,
                    client_id=client_id,
                    deliveries=page.deliveries,
                ),
                workspace_id=self.workspace.pk,
                user_id=user.pk,
                what="pull",
            )
        return Response(
            {
                "changes": page.changes,
                "cursor": page.cursor,
                "has_more": page.has_more,
                "reset": page.reset,
                "last_mutation_id": page.last_mutation_id,
            }
        )


class SyncConflictListApi(SyncApi):
    @extend_schema(
        tags=["sync"],
        operation_id="sync_conflicts_list",
        parameters=[
            schema.PROTOCOL,
            OpenApiParameter("status", str, enum=["open", "resolved", "all"]),
        ],
        responses=schema.ConflictPageSchema,
    )
    def get(self, request: Request, workspace_id: uuid.UUID) -> Response:
        status = request.query_params.get("status", "open")
        if status not in selectors.CONFLICT_STATUSES:
            raise bad_request("status must be open, resolved or all.", "status")
        paginator = SyncListPagination()
        with self.bound():
            records = selectors.conflict_list(workspace=self.workspace, status=status)
            page = paginator.paginate_queryset(records, request, view=self)
            include_secrets = may_receive_secrets(
                Principal.of(self.membership), Channel.CONFLICT_LIST, workspace=self.workspace
            )
            data = [
                serializers.conflict_out(c, include_secrets=include_secrets) for c in page or []
            ]
        return paginator.get_paginated_response(data)


class SyncConflictResolveApi(SyncApi):
    write_role = Role.MEMBER

    @extend_schema(
        tags=["sync"],
        operation_id="sync_conflicts_resolve",
        parameters=[schema.PROTOCOL],
        request=schema.ResolveRequestSchema,
        responses=schema.ConflictSchema,
    )
    def post(self, request: Request, workspace_id: uuid.UUID, conflict_id: uuid.UUID) -> Response:
        body = serializers.parse_resolve(request.data, RESOLUTIONS)
        conflict = conflict_resolve(
            workspace=self.workspace,
            user=request.user,
            role=self.membership.role,
            conflict_id=conflict_id,
            resolution=body.resolution,
            fields=body.fields,
            expected_version=body.expected_version,
            request=request,
        )
        include_secrets = may_receive_secrets(
            Principal.of(self.membership), Channel.CONFLICT_LIST, workspace=self.workspace
        )
        with self.bound():
            data = serializers.conflict_out(conflict, include_secrets=include_secrets)
        return Response(data)


class SyncDeviceListApi(SyncApi):
    @extend_schema(
        tags=["sync"],
        operation_id="sync_devices_list",
        parameters=[schema.PROTOCOL],
        responses=schema.DevicePageSchema,
    )
    def get(self, request: Request, workspace_id: uuid.UUID) -> Response:
        paginator = SyncListPagination()
        with self.bound():
            devices = selectors.device_list(workspace=self.workspace, user=request.user)
            page = paginator.paginate_queryset(devices, request, view=self)
            data = [serializers.device_out(d) for d in page or []]
        return paginator.get_paginated_response(data)


class SyncDeviceDetailApi(SyncApi):
    @extend_schema(
        tags=["sync"],
        operation_id="sync_devices_forget",
        parameters=[schema.PROTOCOL],
        responses={204: None},
    )
    def delete(self, request: Request, workspace_id: uuid.UUID, client_id: str) -> Response:
        with self.bound():
            found = device_forget(workspace=self.workspace, user=request.user, client_id=client_id)
        if not found:
            raise NotFound("Device not found.")
        return Response(status=204)


def _now() -> Any:
    from django.utils import timezone

    return timezone.now()


class SecretHoldersApi(WorkspaceScopedApi):
    """Which devices (and which REST callers) received a connection's secrets: admins and up.
    Not part of the sync protocol (no X-Sync-Protocol header): an admin's question."""

    read_role = Role.ADMIN

    @extend_schema(
        tags=["connections"],
        operation_id="connections_secret_holders",
        description=(
            "Every device the delivery ledger names as having received this connection's "
            "secrets through sync pull (first delivery of each secret version), whether the "
            "device is still registered and whether it holds the current version, plus the "
            "audited REST deliveries (reveal, export with secrets). Owners and admins. See "
            'docs/security.md, "Who holds this secret".'
        ),
        responses=schema.SecretHoldersSchema,
    )
    def get(self, request: Request, workspace_id: uuid.UUID, connection_id: uuid.UUID) -> Response:
        holders = selectors.secret_holders(
            workspace=self.workspace, entity="connection", row_id=connection_id
        )
        if holders is None:
            raise NotFound("Connection not found.")
        response = Response(serializers.holders_out(holders))
        response["Cache-Control"] = "no-store"
        return response
