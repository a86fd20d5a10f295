from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class ApiRootApi(APIView):
    """Service identity: lets a client check it speaks to this API and which version."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    @extend_schema(
        operation_id="api_root",
        responses=inline_serializer(
            "ApiRoot",
            {
                "service": serializers.CharField(),
                "api_version": serializers.CharField(),
                "release": serializers.CharField(),
                "sync_protocol": serializers.IntegerField(),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        return Response(
            {
                "service": "dbworkbench-cloud",
                "api_version": "v1",
                "release": settings.RELEASE,
                "sync_protocol": 1,
            }
        )
