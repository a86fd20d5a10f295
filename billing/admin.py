from __future__ import annotations

from django.contrib import admin

from billing.models import BillingNotice


@admin.register(BillingNotice)
class BillingNoticeAdmin(admin.ModelAdmin[BillingNotice]):
    list_display = ("created_at", "kind", "key", "workspace")
    list_filter = ("kind",)
    search_fields = ("key", "workspace__name", "workspace__id")
    raw_id_fields = ("workspace",)
    readonly_fields = ("workspace", "kind", "key", "created_at")
