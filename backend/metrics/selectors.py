"""Platform reads over the public rollup tables only: a fixed number of SQL statements,
whatever the range or the number of clinics, and never a clinic's schema."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Q, Sum
from django.utils import timezone

from backend.audit.models import AuditEvent
from backend.core.dates import date_range_check, local_day_range
from backend.metrics.errors import MetricsError
from backend.metrics.models import ClinicDayMetrics
from tenants_core.models import Clinic, ClinicStatus
from tenants_core.selectors import clinic_get

INACTIVE_DAYS = 30
NEAREST_LIMITS = 10
INACTIVE_LISTED = 100
MRR_CURRENCY = "USD"


def _days(date_from: dt.date, date_to: dt.date) -> list[dt.date]:
    return [date_from + dt.timedelta(days=n) for n in range((date_to - date_from).days + 1)]


@dataclass(frozen=True)
class DayEntry:
    """One day of a clinic's series: its row, or None when the rollup has not computed it."""

    day: dt.date
    row: ClinicDayMetrics | None


def clinic_metrics(*, subdomain: str, date_from: dt.date, date_to: dt.date) -> list[DayEntry]:
    """The clinic's daily series, one entry per day of the range (two statements)."""
    date_range_check(date_from, date_to, code=MetricsError.INVALID_DATE_RANGE)
    clinic = clinic_get(subdomain=subdomain)
    rows = {
        row.day: row
        for row in ClinicDayMetrics.objects.filter(
            clinic=clinic, day__gte=date_from, day__lte=date_to
        )
    }
    return [DayEntry(day=day, row=rows.get(day)) for day in _days(date_from, date_to)]


@dataclass(frozen=True)
class LimitUsage:
    clinic: Clinic
    users: int
    max_users: int
    patients: int
    max_patients: int
    storage_bytes: int
    max_storage_bytes: int
    messages: int  # WhatsApp + SMS in the month of the clinic's latest row
    max_messages: int
    day: dt.date  # the latest rolled-up day these come from

    @property
    def ratio(self) -> Decimal:
        return max(
            _ratio(self.users, self.max_users),
            _ratio(self.patients, self.max_patients),
            _ratio(self.storage_bytes, self.max_storage_bytes),
            _ratio(self.messages, self.max_messages),
        )


def _ratio(used: int, limit: int) -> Decimal:
    if limit <= 0:
        return Decimal(0)
    return (Decimal(used) / Decimal(limit)).quantize(Decimal("0.0001"))


@dataclass(frozen=True)
class InactiveClinic:
    clinic: Clinic
    last_activity_at: dt.datetime | None


@dataclass(frozen=True)
class PlatformMetricsData:
    date_from: dt.date
    date_to: dt.date
    by_plan: dict[str, int]
    by_status: dict[str, int]
    new_clinics: int
    suspensions: int
    suspended_clinics: int
    churned: int
    mrr: Decimal
    mrr_series: list[tuple[dt.date, Decimal | None]]
    nearest_limits: list[LimitUsage]
    inactive: list[InactiveClinic]
    inactive_count: int


# Each clinic's latest row, among the last LATEST_WINDOW_DAYS days only: the hourly job keeps
# every clinic's rows current, and the page must not read the table's whole history.
LATEST_WINDOW_DAYS = 40

NEAREST_LIMITS_SQL = """
WITH latest AS (
    SELECT DISTINCT ON (m.clinic_id) m.clinic_id, m.day, m.users, m.patients, m.storage_bytes,
           m.messages_metered_month AS messages
      FROM metrics_clinicdaymetrics m
     WHERE m.day >= %(since)s
     ORDER BY m.clinic_id, m.day DESC
), usage AS (
    SELECT c.id, l.day, l.users, l.patients, l.storage_bytes, l.messages,
           coalesce(c.max_users_override, p.max_users) AS max_users,
           coalesce(c.max_patients_override, p.max_patients) AS max_patients,
           p.max_storage_bytes, p.monthly_messages
      FROM latest l
      JOIN tenants_core_clinic c ON c.id = l.clinic_id
      JOIN tenants_core_plan p ON p.id = c.plan_id
     WHERE c.status = 'active'
)
SELECT id, day, users, max_users, patients, max_patients, storage_bytes, max_storage_bytes,
       messages, monthly_messages
  FROM usage
 ORDER BY greatest(
        users::numeric / nullif(max_users, 0), patients::numeric / nullif(max_patients, 0),
        storage_bytes::numeric / nullif(max_storage_bytes, 0),
        messages::numeric / nullif(monthly_messages, 0)) DESC NULLS LAST, id
 LIMIT %(limit)s
"""

# Active clinics older than the cutoff whose latest row (its last_activity_at is the newest
# before that day's end) shows no sign-in or staff action since the cutoff, or none at all.
INACTIVE_SQL = """
SELECT c.id, a.last_activity_at, count(*) OVER () AS total
  FROM tenants_core_clinic c
  LEFT JOIN (SELECT DISTINCT ON (clinic_id) clinic_id, last_activity_at
               FROM metrics_clinicdaymetrics
              WHERE day >= %(since)s
              ORDER BY clinic_id, day DESC) a ON a.clinic_id = c.id
 WHERE c.schema_name <> %(public)s AND c.status = 'active' AND c.created_at < %(cutoff)s
   AND (a.last_activity_at IS NULL OR a.last_activity_at < %(cutoff)s)
 ORDER BY a.last_activity_at NULLS FIRST, c.id
 LIMIT %(limit)s
"""


def platform_metrics(*, date_from: dt.date, date_to: dt.date) -> PlatformMetricsData:
    """The platform's figures (a fixed number of statements, whatever the range)."""
    start, end = local_day_range(
        date_from,
        date_to,
        ZoneInfo(settings.DEFAULT_CLINIC_TIMEZONE),  # the platform's days
        code=MetricsError.INVALID_DATE_RANGE,
    )
    now = timezone.now()
    clinics = Clinic.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
    # 1: every clinic now, with its plan (a few thousand rows at most; the lists need them).
    everyone = {clinic.pk: clinic for clinic in clinics.select_related("plan").order_by("pk")}
    by_plan: dict[str, int] = {}
    by_status: dict[str, int] = {}
    mrr = Decimal("0.00")
    new_clinics = 0
    for clinic in everyone.values():
        by_plan[clinic.plan.code] = by_plan.get(clinic.plan.code, 0) + 1
        by_status[clinic.status] = by_status.get(clinic.status, 0) + 1
        if clinic.status == ClinicStatus.ACTIVE:
            mrr += clinic.plan.monthly_price
        if start <= clinic.created_at < end:
            new_clinics += 1
    # 2: suspensions in the range, from the platform's audit trail (public schema).
    suspension_ids = [
        int(entity_id)
        for entity_id in AuditEvent.objects.filter(
            action="clinic.suspend", created_at__gte=start, created_at__lt=end
        ).values_list("entity_id", flat=True)
        if entity_id.isdigit()
    ]
    suspension_count = len(suspension_ids)
    suspended_ids = set(suspension_ids)
    churned = sum(
        1
        for pk in suspended_ids
        if pk in everyone and everyone[pk].status == ClinicStatus.SUSPENDED
    )
    # 3: MRR by day from the rollup rows (the plan each clinic had that day, active ones).
    mrr_by_day = dict(
        ClinicDayMetrics.objects.filter(day__gte=date_from, day__lte=date_to)
        .order_by()
        .values("day")
        .annotate(mrr=Sum("plan_monthly_price", filter=Q(status=ClinicStatus.ACTIVE), default=0))
        .values_list("day", "mrr")
    )
    mrr_series = [(day, mrr_by_day.get(day)) for day in _days(date_from, date_to)]
    with connection.cursor() as cursor:
        # 4: nearest their limits, from each clinic's latest row.
        since = timezone.localdate(now, ZoneInfo(settings.DEFAULT_CLINIC_TIMEZONE)) - dt.timedelta(
            days=LATEST_WINDOW_DAYS
        )
        cursor.execute(NEAREST_LIMITS_SQL, {"since": since, "limit": NEAREST_LIMITS})
        nearest = [
            LimitUsage(
                clinic=everyone[row[0]],
                day=row[1],
                users=row[2],
                max_users=row[3],
                patients=row[4],
                max_patients=row[5],
                storage_bytes=row[6],
                max_storage_bytes=row[7],
                messages=row[8],
                max_messages=row[9],
            )
            for row in cursor.fetchall()
            if row[0] in everyone
        ]
        # 5: no activity in the last 30 days (or never seen).
        cursor.execute(
            INACTIVE_SQL,
            {
                "since": since,
                "public": settings.PUBLIC_SCHEMA_NAME,
                "cutoff": now - dt.timedelta(days=INACTIVE_DAYS),
                "limit": INACTIVE_LISTED,
            },
        )
        inactive_rows: list[Any] = cursor.fetchall()
    inactive = [
        InactiveClinic(clinic=everyone[row[0]], last_activity_at=row[1])
        for row in inactive_rows
        if row[0] in everyone
    ]
    return PlatformMetricsData(
        date_from=date_from,
        date_to=date_to,
        by_plan=by_plan,
        by_status=by_status,
        new_clinics=new_clinics,
        suspensions=suspension_count,
        suspended_clinics=len(suspended_ids),
        churned=churned,
        mrr=mrr,
        mrr_series=mrr_series,
        nearest_limits=nearest,
        inactive=inactive,
        inactive_count=inactive_rows[0][2] if inactive_rows else 0,
    )
