"""Read-only admin of the rollup rows. Not registered on ``admin.site``: the platform console
builds its own site and calls ``register(site)``."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from backend.metrics.models import ClinicDayMetrics, MetricsRollupRun


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows only the rollup writes: nothing is added, changed or deleted by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ClinicDayMetricsAdmin(ReadOnlyAdmin):
    list_display = (
        "clinic", "day", "plan_code", "status", "users", "active_users", "patients",
        "appointments_created", "appointments_completed", "no_show_rate",
        "payments_collected", "messages_sent", "storage_bytes", "last_activity_at",
        "computed_at",
    )  # fmt: skip
    list_filter = ("day", "plan_code", "status")
    search_fields = ("clinic__subdomain", "clinic__name")
    date_hierarchy = "day"
    list_select_related = ("clinic",)
    ordering = ("-day", "clinic__subdomain")


class MetricsRollupRunAdmin(ReadOnlyAdmin):
    list_display = (
        "day", "started_at", "finished_at", "clinics_done", "clinics_total", "cursor", "abandoned",
    )  # fmt: skip
    list_filter = ("abandoned",)
    date_hierarchy = "day"


def register(site: admin.AdminSite) -> None:
    """Register the read-only metrics admins on ``site`` (the platform console's)."""
    site.register(ClinicDayMetrics, ClinicDayMetricsAdmin)
    site.register(MetricsRollupRun, MetricsRollupRunAdmin)
