"""Types of the platform metrics: a clinic's daily series and the platform's figures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry

from backend.metrics import selectors
from graphql_api.core.big_int import BigInt
from graphql_api.core.docstrings import graphql_type
from graphql_api.core.money import Money
from tenants_core.models import ClinicStatus, PlanCode


@graphql_type
class ClinicDayMetrics:
    """One clinic's figures for one of its local days, from the rollup. Every figure is null
    on a day the rollup has not computed (``computedAt`` null). Outcome counts (completed,
    cancelled, no-show) are of the appointments *starting* that day, by their status now."""

    day: dt.date
    plan: PlanCode | None = strawberry.field(description="The plan the clinic had that day.")
    status: ClinicStatus | None = strawberry.field(description="Its status that day.")
    plan_monthly_price: Money | None = strawberry.field(description="The plan's price, a month.")
    users: int | None = strawberry.field(description="Active staff accounts at the day's end.")
    active_users: int | None = strawberry.field(description="Distinct staff who signed in.")
    patients: int | None = strawberry.field(description="Patients not archived at the day's end.")
    new_patients: int | None
    appointments_created: int | None = strawberry.field(description="Booked that day.")
    appointments_completed: int | None
    appointments_cancelled: int | None
    appointments_no_show: int | None
    no_show_rate: Decimal | None = strawberry.field(
        description="no-show ÷ (completed + no-show), 4 decimals; null when both are 0."
    )
    payments_collected: Money | None = strawberry.field(
        description="Payments received that day, gross (PEN; payments in another currency at "
        "their recorded rate)."
    )
    refunds: Money | None = strawberry.field(description="Refunds paid back that day (PEN).")
    receipts_issued: int | None
    receipts_voided: int | None
    storage_bytes: BigInt | None = strawberry.field(description="Stored bytes at the day's end.")
    messages_sent: int | None = strawberry.field(description="Messages sent, every channel.")
    messages_whatsapp: int | None
    messages_sms: int | None
    messages_email: int | None
    last_activity_at: dt.datetime | None = strawberry.field(
        description="Newest audit event or sign-in up to the day's end."
    )
    computed_at: dt.datetime | None

    @classmethod
    def from_entry(cls, entry: selectors.DayEntry) -> ClinicDayMetrics:
        row = entry.row
        if row is None:
            return cls(day=entry.day, **dict.fromkeys(_FIGURES + _TYPED))
        return cls(
            day=entry.day,
            plan=PlanCode(row.plan_code),
            status=ClinicStatus(row.status),
            plan_monthly_price=Money(amount=row.plan_monthly_price, currency=row.plan_currency),
            payments_collected=Money(amount=row.payments_collected, currency=row.currency),
            refunds=Money(amount=row.refunds, currency=row.currency),
            **{name: getattr(row, name) for name in _FIGURES},
        )


# The figures copied as they are from the row; the others are typed above.
_TYPED = ("plan", "status", "plan_monthly_price", "payments_collected", "refunds")
_FIGURES = tuple(name for name in ClinicDayMetrics.__annotations__ if name not in {"day", *_TYPED})


@graphql_type
class PlanCount:
    """How many clinics have this plan."""

    plan: PlanCode
    count: int


@graphql_type
class StatusCount:
    """How many clinics have this status."""

    status: ClinicStatus
    count: int


@graphql_type
class MrrDay:
    """Monthly recurring revenue on one day: the monthly prices of the clinics active that
    day, from the rollup rows; null on a day the rollup has not computed."""

    day: dt.date
    amount: Money | None


@graphql_type
class MetricsClinic:
    """A clinic as the platform's lists name it."""

    subdomain: str
    name: str
    plan: PlanCode
    status: ClinicStatus


@graphql_type
class ClinicLimitUsage:
    """A clinic's use of its effective limits (its overrides, else its plan's), from its latest
    rolled-up day; messages are the WhatsApp and SMS its quota counted in that day's month."""

    clinic: MetricsClinic
    day: dt.date
    users: int
    max_users: int
    patients: int
    max_patients: int
    storage_bytes: BigInt
    max_storage_bytes: BigInt
    messages: int
    max_messages: int
    ratio: Decimal = strawberry.field(description="The highest usage ÷ limit of the four.")


@graphql_type
class InactiveClinic:
    """An active clinic, older than 30 days, with no sign-in and no action by its staff in the
    last 30 days (``lastActivityAt`` null: none in the rollup's last 40 days)."""

    clinic: MetricsClinic
    last_activity_at: dt.datetime | None


@graphql_type
class PlatformMetrics:
    """The platform's figures for a range of days (America/Lima), from public tables only.

    ``suspensions`` counts suspend actions in the range; ``churned`` the clinics suspended in
    the range that are still suspended now; MRR (USD) counts active clinics only."""

    date_from: dt.date = strawberry.field(name="from")
    date_to: dt.date = strawberry.field(name="to")
    clinics_by_plan: list[PlanCount] = strawberry.field(description="Every clinic now.")
    clinics_by_status: list[StatusCount] = strawberry.field(description="Every clinic now.")
    new_clinics: int = strawberry.field(description="Clinics created in the range.")
    suspensions: int = strawberry.field(description="Suspensions in the range.")
    suspended_clinics: int = strawberry.field(description="Distinct clinics suspended in range.")
    churned_clinics: int = strawberry.field(
        description="Clinics suspended in the range and still suspended."
    )
    mrr: Money = strawberry.field(description="Monthly recurring revenue now.")
    mrr_series: list[MrrDay]
    nearest_limits: list[ClinicLimitUsage] = strawberry.field(description="The top 10.")
    inactive_clinics: list[InactiveClinic] = strawberry.field(description="At most 100.")
    inactive_count: int = strawberry.field(description="All active clinics inactive for 30 days.")


def metrics_clinic(clinic: object) -> MetricsClinic:
    return MetricsClinic(
        subdomain=clinic.subdomain,  # type: ignore[attr-defined]
        name=clinic.name,  # type: ignore[attr-defined]
        plan=PlanCode(clinic.plan.code),  # type: ignore[attr-defined]
        status=ClinicStatus(clinic.status),  # type: ignore[attr-defined]
    )


def platform_metrics_from(data: selectors.PlatformMetricsData) -> PlatformMetrics:
    return PlatformMetrics(
        date_from=data.date_from,
        date_to=data.date_to,
        clinics_by_plan=[
            PlanCount(plan=PlanCode(k), count=v) for k, v in sorted(data.by_plan.items())
        ],
        clinics_by_status=[
            StatusCount(status=ClinicStatus(k), count=v) for k, v in sorted(data.by_status.items())
        ],
        new_clinics=data.new_clinics,
        suspensions=data.suspensions,
        suspended_clinics=data.suspended_clinics,
        churned_clinics=data.churned,
        mrr=Money(amount=data.mrr, currency=selectors.MRR_CURRENCY),
        mrr_series=[
            MrrDay(
                day=day,
                amount=None
                if amount is None
                else Money(amount=amount, currency=selectors.MRR_CURRENCY),
            )
            for day, amount in data.mrr_series
        ],
        nearest_limits=[
            ClinicLimitUsage(
                clinic=metrics_clinic(usage.clinic),
                day=usage.day,
                users=usage.users,
                max_users=usage.max_users,
                patients=usage.patients,
                max_patients=usage.max_patients,
                storage_bytes=BigInt(usage.storage_bytes),
                max_storage_bytes=BigInt(usage.max_storage_bytes),
                messages=usage.messages,
                max_messages=usage.max_messages,
                ratio=usage.ratio,
            )
            for usage in data.nearest_limits
        ],
        inactive_clinics=[
            InactiveClinic(
                clinic=metrics_clinic(item.clinic), last_activity_at=item.last_activity_at
            )
            for item in data.inactive
        ],
        inactive_count=data.inactive_count,
    )
