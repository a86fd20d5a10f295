from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest

from accounts.models import SignInDevice, User
from accounts.services.account import user_deactivate, verification_link_send


class EmailAddressInline(admin.TabularInline[EmailAddress, User]):
    model = EmailAddress
    extra = 0
    fields = ("email", "verified", "primary")
    readonly_fields = ("email", "verified", "primary")
    can_delete = False


class UserSessionInline(admin.TabularInline[UserSession, User]):
    model = UserSession
    extra = 0
    fields = ("ip", "user_agent", "created_at", "last_seen_at")
    readonly_fields = fields
    can_delete = False
    ordering = ("-last_seen_at",)


class SignInDeviceInline(admin.TabularInline[SignInDevice, User]):
    model = SignInDevice
    extra = 0
    fields = ("user_agent", "last_ip", "first_seen_at", "last_seen_at")
    readonly_fields = fields
    can_delete = False


class UserCreateForm(AdminUserCreationForm[User]):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("email",)


class UserEditForm(UserChangeForm[User]):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


class MfaFilter(admin.SimpleListFilter):
    title = "2FA"
    parameter_name = "mfa"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("on", "Enabled"), ("off", "Disabled")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> QuerySet[User]:
        if self.value() == "on":
            return queryset.filter(has_mfa=True)  # type: ignore[misc]  # annotated in get_queryset
        if self.value() == "off":
            return queryset.filter(has_mfa=False)  # type: ignore[misc]  # annotated in get_queryset
        return queryset


@admin.register(User)
class UserAdmin(DjangoUserAdmin[User]):
    ordering = ("-created_at",)
    list_display = (
        "email",
        "display_name",
        "is_guest",
        "is_active",
        "mfa_enabled",
        "created_at",
        "last_seen_at",
    )
    list_filter = ("is_guest", "is_active", "is_staff", MfaFilter)
    search_fields = ("email", "display_name", "id")
    readonly_fields = ("id", "created_at", "updated_at", "last_login", "last_seen_at")
    fieldsets = (
        (None, {"fields": ("id", "email", "password")}),
        ("Profile", {"fields": ("display_name", "avatar_url", "is_guest")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("created_at", "updated_at", "last_login", "last_seen_at")}),
    )
    add_form = UserCreateForm
    form = UserEditForm
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "usable_password", "password1", "password2"),
            },
        ),
    )
    inlines = [EmailAddressInline, UserSessionInline, SignInDeviceInline]
    actions = ["deactivate", "resend_verification"]

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        return list(self.inlines) if obj is not None else []

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                has_mfa=Exists(
                    Authenticator.objects.filter(
                        user_id=OuterRef("pk"),
                        type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN],
                    )
                )
            )
        )

    @admin.display(boolean=True, description="2FA", ordering="has_mfa")
    def mfa_enabled(self, obj: Any) -> bool:
        return bool(getattr(obj, "has_mfa", False))

    @admin.action(description="Deactivate (end all sessions and tokens)")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        count = 0
        for user in queryset.filter(is_active=True):
            user_deactivate(user=user, request=request)
            count += 1
        self.message_user(request, f"Deactivated {count} user(s).", messages.SUCCESS)

    @admin.action(description="Resend email verification")
    def resend_verification(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        sent = sum(1 for user in queryset if verification_link_send(user=user, request=request))
        self.message_user(request, f"Sent {sent} verification email(s).", messages.SUCCESS)
