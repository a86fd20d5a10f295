from django.urls import path

from accounts import apis

app_name = "accounts"

urlpatterns = [
    path("auth/guest", apis.GuestCreateApi.as_view(), name="guest-create"),
    path(
        "auth/desktop/oauth/start", apis.DesktopOAuthStartApi.as_view(), name="desktop-oauth-start"
    ),
    path(
        "auth/desktop/oauth/complete",
        apis.DesktopOAuthCompleteApi.as_view(),
        name="desktop-oauth-complete",
    ),
    path(
        "auth/desktop/oauth/token", apis.DesktopOAuthTokenApi.as_view(), name="desktop-oauth-token"
    ),
    path("auth/email/verify-link", apis.EmailVerifyLinkApi.as_view(), name="email-verify-link"),
    path("account", apis.AccountApi.as_view(), name="account"),
    path("account/export", apis.AccountExportApi.as_view(), name="account-export"),
    path("account/2fa/totp/qr", apis.TotpQrCodeApi.as_view(), name="totp-qr"),
    path("account/guest/upgrade", apis.GuestUpgradeStartApi.as_view(), name="guest-upgrade"),
    path(
        "account/guest/upgrade/verify",
        apis.GuestUpgradeVerifyApi.as_view(),
        name="guest-upgrade-verify",
    ),
]
