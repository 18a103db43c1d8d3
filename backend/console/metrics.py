"""The platform metrics in the console: the rollup's rows and runs (read-only: only the rollup
writes them), and the platform's figures on the console's front page."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import admin
from django.utils import timezone

from backend.console.readonly import ReadOnlyAdmin
from backend.metrics import selectors
from backend.metrics.models import ClinicDayMetrics, MetricsRollupRun
from tenants_core.models import ClinicStatus, PlanCode

# The front page's window: the last 30 days, the platform's (America/Lima) days.
SUMMARY_DAYS = 30


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
    site.register(ClinicDayMetrics, ClinicDayMetricsAdmin)
    site.register(MetricsRollupRun, MetricsRollupRunAdmin)


def platform_summary(now: dt.datetime | None = None) -> dict[str, Any]:
    """The figures ``platformMetrics`` gives for the last ``SUMMARY_DAYS`` days, for the
    console's front page (public tables only, a few statements)."""
    zone = ZoneInfo(settings.DEFAULT_CLINIC_TIMEZONE)  # the platform's days, as platformMetrics
    today = timezone.localdate(now or timezone.now(), zone)
    data = selectors.platform_metrics(
        date_from=today - dt.timedelta(days=SUMMARY_DAYS - 1), date_to=today
    )
    return {
        "days": SUMMARY_DAYS,
        "metrics": data,
        "currency": selectors.MRR_CURRENCY,
        # Shown by their (translated) names, not their codes.
        "by_plan": [(PlanCode(code).label, n) for code, n in sorted(data.by_plan.items())],
        "by_status": [(ClinicStatus(code).label, n) for code, n in sorted(data.by_status.items())],
    }
