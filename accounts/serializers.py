"""Input and output serializers of the accounts endpoints. No logic: services decide."""

from __future__ import annotations

from collections.abc import Mapping

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers


class AccountOutput(serializers.Serializer[Mapping[str, object]]):
    id = serializers.UUIDField()
    email = serializers.EmailField(allow_null=True)
    email_verified = serializers.BooleanField()
    display_name = serializers.CharField(allow_blank=True)
    avatar_url = serializers.CharField(allow_blank=True)
    is_guest = serializers.BooleanField()
    has_usable_password = serializers.BooleanField()
    mfa_enabled = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class AccountUpdateInput(serializers.Serializer[dict[str, object]]):
    display_name = serializers.CharField(max_length=150, allow_blank=True, required=False)
    avatar_url = serializers.URLField(
        max_length=500, allow_blank=True, required=False, help_text="https URL, or empty."
    )

    def validate_avatar_url(self, value: str) -> str:
        if value and not value.startswith("https://"):
            raise serializers.ValidationError("Must be an https URL.")
        return value


class AppTokensOutput(serializers.Serializer[Mapping[str, object]]):
    user = AccountOutput()
    session_token = serializers.CharField(
        help_text="X-Session-Token for /_allauth/app/v1/ (reauthenticate, 2FA, sessions, …)."
    )
    access_token = serializers.CharField(help_text="JWT for `Authorization: Bearer`.")
    refresh_token = serializers.CharField(
        help_text="For POST /_allauth/app/v1/tokens/refresh; rotated on every use."
    )
    access_token_expires_in = serializers.IntegerField(help_text="Seconds.")


class GuestUpgradeInput(serializers.Serializer[dict[str, object]]):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class GuestUpgradeStartedOutput(serializers.Serializer[Mapping[str, object]]):
    email = serializers.EmailField()
    code_sent = serializers.BooleanField(
        help_text="Always true: a 6-digit code goes to the address unless it is already taken, "
        "in which case its owner is told instead (no account enumeration)."
    )


class VerificationCodeInput(serializers.Serializer[dict[str, object]]):
    code = serializers.CharField(max_length=32)


class DesktopOAuthStartInput(serializers.Serializer[dict[str, object]]):
    provider = serializers.ChoiceField(choices=["google", "github"])
    code_challenge = serializers.CharField(max_length=128)
    code_challenge_method = serializers.ChoiceField(choices=["S256"], default="S256")
    redirect_to = serializers.CharField(
        max_length=500,
        required=False,
        help_text="Deep link of the app, default `{APP_DEEP_LINK_SCHEME}://auth/callback`.",
    )
    state = serializers.CharField(
        max_length=200, required=False, help_text="Opaque; returned on the deep link."
    )


class DesktopOAuthCompleteInput(serializers.Serializer[dict[str, object]]):
    flow = serializers.CharField(max_length=100)
    error = serializers.CharField(max_length=100, required=False)


class DesktopOAuthTokenInput(serializers.Serializer[dict[str, object]]):
    code = serializers.CharField(max_length=100)
    code_verifier = serializers.CharField(max_length=128)


class PendingFlowOutput(serializers.Serializer[Mapping[str, object]]):
    id = serializers.CharField()
    is_pending = serializers.BooleanField(required=False)
    types = serializers.ListField(child=serializers.CharField(), required=False)


class DesktopOAuthTokenOutput(serializers.Serializer[Mapping[str, object]]):
    status = serializers.ChoiceField(
        choices=["authenticated", "pending"],
        help_text="`pending`: finish the named flow on /_allauth/app/v1/ with the session "
        "token (e.g. POST auth/2fa/authenticate); its response carries the tokens.",
    )
    user = AccountOutput(required=False)
    session_token = serializers.CharField()
    access_token = serializers.CharField(required=False)
    refresh_token = serializers.CharField(required=False)
    access_token_expires_in = serializers.IntegerField(required=False)
    pending_flow = serializers.CharField(required=False)
    flows = PendingFlowOutput(many=True, required=False)


class TotpQrCodeOutput(serializers.Serializer[Mapping[str, object]]):
    totp_url = serializers.CharField(help_text="otpauth://totp/… URI.")
    secret = serializers.CharField(help_text="Base32 secret, for manual entry.")
    qr_code = serializers.CharField(help_text="data:image/svg+xml;base64,… of the otpauth URI.")


class EmailVerifyLinkInput(serializers.Serializer[dict[str, object]]):
    key = serializers.CharField(max_length=500)


class EmailVerifiedOutput(serializers.Serializer[Mapping[str, object]]):
    email = serializers.EmailField()
    verified = serializers.BooleanField()


# A class attribute named `data` would shadow Serializer.data, hence inline_serializer.
DeletionBlockerOutput = inline_serializer(
    "DeletionBlocker",
    {
        "code": serializers.CharField(),
        "message": serializers.CharField(),
        "data": serializers.DictField(required=False),
    },
)


class AccountExportOutput(serializers.Serializer[Mapping[str, object]]):
    exported_at = serializers.DateTimeField()
    user = serializers.DictField()
    email_addresses = serializers.ListField(child=serializers.DictField())
    social_accounts = serializers.ListField(child=serializers.DictField())
    mfa = serializers.ListField(child=serializers.DictField())
    sessions = serializers.ListField(child=serializers.DictField())
    devices = serializers.ListField(child=serializers.DictField())
