from __future__ import annotations

import uuid

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from billing import selectors, services
from billing.api.serializers import (
    BillingOverviewOutput,
    CheckoutCreateInput,
    PortalCreateInput,
    SessionOutput,
)
from workspaces.api.base import WorkspaceScopedApi
from workspaces.models import Role

TAG = ["billing"]


class BillingApi(WorkspaceScopedApi):
    """Billing is for owners and admins only; members and viewers get 403, outsiders 404."""

    read_role = Role.ADMIN
    write_role = Role.ADMIN


class BillingOverviewApi(BillingApi):
    @extend_schema(tags=TAG, operation_id="billing_read", responses=BillingOverviewOutput)
    def get(self, request: Request, workspace_id: uuid.UUID) -> Response:
        overview = selectors.billing_overview(workspace=self.workspace)
        return Response(BillingOverviewOutput(overview).data)


class CheckoutCreateApi(BillingApi):
    @extend_schema(
        tags=TAG,
        operation_id="billing_checkout_create",
        request=CheckoutCreateInput,
        responses={201: SessionOutput},
    )
    def post(self, request: Request, workspace_id: uuid.UUID) -> Response:
        data = CheckoutCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        session = services.checkout_session_create(
            membership=self.membership, **data.validated_data
        )
        return Response(SessionOutput(session).data, status=201)


class PortalCreateApi(BillingApi):
    @extend_schema(
        tags=TAG,
        operation_id="billing_portal_create",
        request=PortalCreateInput,
        responses={201: SessionOutput},
    )
    def post(self, request: Request, workspace_id: uuid.UUID) -> Response:
        data = PortalCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        session = services.portal_session_create(
            membership=self.membership, return_to=data.validated_data.get("return_url")
        )
        return Response(SessionOutput(session).data, status=201)
