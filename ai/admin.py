from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet, Sum
from django.http import HttpRequest
from django.template.response import TemplateResponse

from ai.models import AiUsage


@admin.register(AiUsage)
class AiUsageAdmin(admin.ModelAdmin[AiUsage]):
    """Read-only: usage is counted by the service. The list shows the filtered totals."""

    list_display = (
        "month",
        "workspace",
        "user",
        "model",
        "requests",
        "input_tokens",
        "output_tokens",
        "updated_at",
    )
    list_filter = ("month", "model")
    search_fields = ("workspace__name", "workspace__id", "user__email", "model")
    date_hierarchy = "month"
    list_select_related = ("workspace", "user")
    ordering = ("-month", "-requests")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        response = super().changelist_view(request, extra_context)
        if isinstance(response, TemplateResponse) and response.context_data:
            changelist = response.context_data.get("cl")
            queryset: QuerySet[AiUsage] | None = getattr(changelist, "queryset", None)
            if queryset is not None:
                totals = queryset.aggregate(
                    requests=Sum("requests"),
                    input_tokens=Sum("input_tokens"),
                    output_tokens=Sum("output_tokens"),
                )
                response.context_data["title"] = (
                    f"AI usage — {totals['requests'] or 0} requests, "
                    f"{totals['input_tokens'] or 0} input and "
                    f"{totals['output_tokens'] or 0} output tokens in this selection"
                )
        return response
