"""Test-only views that raise each kind of error through the real middleware and handlers."""

from __future__ import annotations

from django.urls import include, path
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from core.exceptions import ApplicationError, Conflict


class _Input(serializers.Serializer):
    name = serializers.CharField(max_length=5)
    port = serializers.IntegerField(min_value=1, max_value=65535)


class EchoApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    def post(self, request: Request) -> Response:
        data = _Input(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(data.validated_data)


class PrivateApi(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class ConflictApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    def post(self, request: Request) -> Response:
        raise Conflict("The row changed.", code="stale_version", extra={"current_version": 7})


class PaymentApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    def get(self, request: Request) -> Response:
        raise ApplicationError("Limit reached.", code="plan_limit", status=402)


class _TightThrottle(AnonRateThrottle):
    rate = "2/minute"
    scope = "test-tight"


class ThrottledApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []
    throttle_classes = [_TightThrottle]

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class BoomApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    def get(self, request: Request) -> Response:
        password = "hunter2-secret"  # noqa: F841 - must not leak into the response
        raise RuntimeError("postgres://admin:hunter2-secret@db/prod exploded")


urlpatterns = [
    path("api/v1/test/echo", EchoApi.as_view()),
    path("api/v1/test/private", PrivateApi.as_view()),
    path("api/v1/test/conflict", ConflictApi.as_view()),
    path("api/v1/test/payment", PaymentApi.as_view()),
    path("api/v1/test/throttled", ThrottledApi.as_view()),
    path("api/v1/test/boom", BoomApi.as_view()),
    path("", include("config.urls")),
]

handler400 = "core.api.exceptions.handler400"
handler403 = "core.api.exceptions.handler403"
handler404 = "core.api.exceptions.handler404"
handler500 = "core.api.exceptions.handler500"
