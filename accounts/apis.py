"""Our accounts endpoints under /api/v1/ (allauth's own live under /_allauth/).

Thin: parse input, call one service or selector, serialize the output.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import serializers as s
from accounts.internal.headless import AppAuthResult, caller_session
from accounts.selectors import user_export, user_profile
from accounts.services.account import (
    account_delete,
    profile_update,
    require_recent_reauthentication,
    verification_link_confirm,
)
from accounts.services.desktop_oauth import (
    desktop_oauth_complete,
    desktop_oauth_start,
    desktop_oauth_token,
)
from accounts.services.guests import (
    guest_create,
    guest_upgrade_start,
    guest_upgrade_verify,
)
from accounts.services.mfa import totp_setup_qr_code
from accounts.services.ratelimits import rate_limit


def _tokens(user: Any, result: AppAuthResult) -> dict[str, Any]:
    return {
        "user": user_profile(user),
        "session_token": result.session_token,
        "access_token": result.access_token,
        "refresh_token": result.refresh_token,
        "access_token_expires_in": settings.HEADLESS_JWT_ACCESS_TOKEN_EXPIRES_IN,
    }


class GuestCreateApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    @extend_schema(
        operation_id="auth_guest_create",
        tags=["auth"],
        summary="Create a guest account and sign it in (app client tokens)",
        request=None,
        responses={201: s.AppTokensOutput},
    )
    def post(self, request: Request) -> Response:
        user, result = guest_create(request=request._request)
        return Response(s.AppTokensOutput(_tokens(user, result)).data, status=201)


class GuestUpgradeStartApi(APIView):
    @extend_schema(
        operation_id="account_guest_upgrade",
        tags=["account"],
        summary="Guest: add email and password; a 6-digit code is emailed",
        request=s.GuestUpgradeInput,
        responses={
            202: s.GuestUpgradeStartedOutput,
            409: OpenApiResponse(description="Not a guest."),
        },
    )
    def post(self, request: Request) -> Response:
        data = s.GuestUpgradeInput(data=request.data)
        data.is_valid(raise_exception=True)
        with caller_session(request) as req:
            guest_upgrade_start(request=req, user=request.user, **data.validated_data)
        out = {"email": data.validated_data["email"], "code_sent": True}
        return Response(s.GuestUpgradeStartedOutput(out).data, status=202)


class GuestUpgradeVerifyApi(APIView):
    @extend_schema(
        operation_id="account_guest_upgrade_verify",
        tags=["account"],
        summary="Guest: verify the emailed code; the same user becomes a full account",
        request=s.VerificationCodeInput,
        responses={200: s.AccountOutput, 409: OpenApiResponse(description="Nothing pending.")},
    )
    def post(self, request: Request) -> Response:
        data = s.VerificationCodeInput(data=request.data)
        data.is_valid(raise_exception=True)
        with caller_session(request) as req:
            user = guest_upgrade_verify(request=req, user=request.user, **data.validated_data)
        return Response(s.AccountOutput(user_profile(user)).data)


class DesktopOAuthStartApi(APIView):
    permission_classes = [AllowAny]
    # The system browser's cookie session (GET only, so no CSRF concern).
    authentication_classes = [SessionAuthentication]

    @extend_schema(
        operation_id="auth_desktop_oauth_start",
        tags=["auth"],
        summary="Desktop: open in the system browser to sign in with Google or GitHub",
        parameters=[s.DesktopOAuthStartInput],
        responses={302: OpenApiResponse(description="To the provider's consent page.")},
    )
    def get(self, request: Request) -> HttpResponse:
        data = s.DesktopOAuthStartInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        _limit(request, "desktop_oauth_start")
        return desktop_oauth_start(
            request=request._request,
            provider_id=values["provider"],
            code_challenge=values["code_challenge"],
            code_challenge_method=values["code_challenge_method"],
            redirect_to=values.get("redirect_to"),
            state=values.get("state"),
        )


class DesktopOAuthCompleteApi(APIView):
    permission_classes = [AllowAny]
    # The system browser's cookie session (GET only, so no CSRF concern).
    authentication_classes = [SessionAuthentication]

    @extend_schema(
        operation_id="auth_desktop_oauth_complete",
        tags=["auth"],
        summary="Desktop: where the provider sign-in returns (browser only)",
        parameters=[s.DesktopOAuthCompleteInput],
        responses={
            302: OpenApiResponse(
                description="To `{APP_DEEP_LINK_SCHEME}://auth/callback?code=…&state=…` "
                "(or `?error=…`)."
            )
        },
    )
    def get(self, request: Request) -> HttpResponse:
        data = s.DesktopOAuthCompleteInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        return desktop_oauth_complete(
            request=request._request,
            flow_id=data.validated_data["flow"],
            error=data.validated_data.get("error"),
        )


class DesktopOAuthTokenApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    @extend_schema(
        operation_id="auth_desktop_oauth_token",
        tags=["auth"],
        summary="Desktop: exchange the handoff code and PKCE verifier for tokens",
        request=s.DesktopOAuthTokenInput,
        responses={200: s.DesktopOAuthTokenOutput},
    )
    def post(self, request: Request) -> Response:
        data = s.DesktopOAuthTokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        _limit(request, "desktop_oauth_token")
        result = desktop_oauth_token(request=request._request, **data.validated_data)
        auth = result.auth
        out: dict[str, Any]
        if auth.is_authenticated and result.user is not None:
            out = {"status": "authenticated", **_tokens(result.user, auth)}
        else:
            out = {
                "status": "pending",
                "session_token": auth.session_token,
                "pending_flow": auth.pending_flow,
                "flows": auth.flows,
            }
        return Response(s.DesktopOAuthTokenOutput(out).data)


class AccountApi(APIView):
    @extend_schema(
        operation_id="account_get",
        tags=["account"],
        summary="My account",
        responses={200: s.AccountOutput},
    )
    def get(self, request: Request) -> Response:
        return Response(s.AccountOutput(user_profile(request.user)).data)

    @extend_schema(
        operation_id="account_update",
        tags=["account"],
        summary="Update my profile",
        request=s.AccountUpdateInput,
        responses={200: s.AccountOutput},
    )
    def patch(self, request: Request) -> Response:
        data = s.AccountUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = profile_update(user=request.user, data=data.validated_data)
        return Response(s.AccountOutput(user_profile(user)).data)

    @extend_schema(
        operation_id="account_delete",
        tags=["account"],
        summary="Delete my account (requires recent reauthentication)",
        responses={
            204: None,
            401: OpenApiResponse(
                description="`reauthentication_required`: reauthenticate (allauth "
                "`POST /_allauth/{client}/v1/auth/reauthenticate` or `auth/2fa/reauthenticate`) "
                "and repeat; `flows` lists the ways."
            ),
            409: OpenApiResponse(
                response=s.DeletionBlockerOutput,
                description="`account_deletion_blocked`: `blockers` says what to do first.",
            ),
        },
    )
    def delete(self, request: Request) -> Response:
        with caller_session(request) as req:
            require_recent_reauthentication(request=req)
            account_delete(user=request.user, request=req)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AccountExportApi(APIView):
    @extend_schema(
        operation_id="account_export",
        tags=["account"],
        summary="Export my data as JSON",
        responses={200: s.AccountExportOutput},
    )
    def get(self, request: Request) -> Response:
        response = Response(user_export(request.user))
        response["Content-Disposition"] = 'attachment; filename="account-export.json"'
        return response


class TotpQrCodeApi(APIView):
    @extend_schema(
        operation_id="account_totp_qr_code",
        tags=["account"],
        summary="QR code of the TOTP secret being set up",
        description=(
            "The same secret allauth's `GET /_allauth/{client}/v1/account/authenticators/totp` "
            "returns while TOTP is not yet active (it lives in the caller's session); activate "
            "with `POST` there and a code from the authenticator app."
        ),
        responses={200: s.TotpQrCodeOutput, 409: OpenApiResponse(description="Already active.")},
    )
    def get(self, request: Request) -> Response:
        with caller_session(request) as req:
            data = totp_setup_qr_code(request=req, user=request.user)
        return Response(s.TotpQrCodeOutput(data).data)


class EmailVerifyLinkApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    @extend_schema(
        operation_id="auth_email_verify_link",
        tags=["auth"],
        summary="Verify an email address with the key of a verification link (web app)",
        request=s.EmailVerifyLinkInput,
        responses={200: s.EmailVerifiedOutput},
    )
    def post(self, request: Request) -> Response:
        data = s.EmailVerifyLinkInput(data=request.data)
        data.is_valid(raise_exception=True)
        _limit(request, "confirm_email_link")
        address = verification_link_confirm(request=request._request, **data.validated_data)
        return Response(s.EmailVerifiedOutput({"email": address.email, "verified": True}).data)


def _limit(request: Request, action: str) -> None:
    rate_limit(request._request, action)
