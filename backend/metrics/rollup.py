"""The daily per-clinic rollup into ``ClinicDayMetrics`` (public schema).

One clinic and one local day is ONE SQL statement over the clinic's schema (tables named with
``psycopg2.sql.Identifier``, never by formatting a string), upserted on ``(clinic_id, day)``.
Inside a run (``rollup_run``) the same statement also advances the run's cursor, so a clinic's
row and the cursor commit together and a run that crashed resumes after the last clinic done.

Definitions (the clinic's local day is ``[start, end)``, its midnights in its timezone):

- ``users``: accounts active now that joined before ``end``; ``active_users``: distinct users
  with a sign-in (``AuthToken.created_at``) in the day.
- ``patients``: not archived, created before ``end``; ``new_patients``: created in the day.
- ``appointments_created``: ``created_at`` in the day. ``completed`` / ``cancelled`` /
  ``no_show``: the appointment *starts* in the day and has that status now.
  ``no_show_rate`` = no_show ÷ (completed + no_show), null when that is 0.
- ``payments_collected``: PAYMENTs whose ``paid_at`` is in the day, in PEN (``amount_pen``),
  gross; ``refunds``: REFUNDs paid back in the day, apart (net = collected − refunds). Voiding
  a receipt releases its allocations but returns no money, so it changes neither.
- ``receipts_issued``: ``issued_at`` in the day, voided later or not; ``receipts_voided``:
  ``voided_at`` in the day.
- ``storage_bytes``: files created before ``end``; ``messages_*``: notifications whose
  ``sent_at`` is in the day, by channel.
- ``last_activity_at``: the newest audit event or sign-in before ``end``.

Where the schema keeps no history (an account deactivated, a patient archived, a file deleted
after the day), re-computing a past day would see today's state: the row first computed after
the day ended (``computed_at >= end``) is final, and a re-run keeps its ``users``,
``patients``, ``storage_bytes`` and plan snapshot. Everything else is recomputed (a status
changed later, e.g. an appointment marked NO_SHOW the next morning, counts where it belongs).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from psycopg2 import sql

from backend.core.db_backend.connection import tenant_connection
from backend.metrics.models import ClinicDayMetrics, MetricsRollupRun
from tenants_core.models import Clinic

logger = logging.getLogger(__name__)

# Kept from the first row computed after the day ended (the schema has no history for them).
FINAL_ONCE = ("plan_code", "status", "plan_monthly_price", "plan_currency", "users", "patients")
FINAL_ONCE_STORAGE = ("storage_bytes",)
RECOMPUTED = (
    "active_users",
    "new_patients",
    "appointments_created",
    "appointments_completed",
    "appointments_cancelled",
    "appointments_no_show",
    "no_show_rate",
    "payments_collected",
    "refunds",
    "receipts_issued",
    "receipts_voided",
    "messages_sent",
    "messages_whatsapp",
    "messages_sms",
    "messages_email",
    "last_activity_at",
)


def day_bounds(day: dt.date, zone_name: str) -> tuple[dt.datetime, dt.datetime]:
    """The local day's ``[start, end)`` as aware UTC datetimes."""
    zone = ZoneInfo(zone_name or settings.DEFAULT_CLINIC_TIMEZONE)
    start = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def local_today(clinic: Clinic, now: dt.datetime | None = None) -> dt.date:
    zone = ZoneInfo(clinic.timezone or settings.DEFAULT_CLINIC_TIMEZONE)
    return (now or timezone.now()).astimezone(zone).date()


def _upsert(schema: str) -> sql.Composed:
    """The statement for one clinic: its figures, inserted or updated on (clinic, day)."""

    def table(model: str) -> sql.Identifier:
        return sql.Identifier(schema, apps.get_model(model)._meta.db_table)

    final_set = [
        sql.SQL(
            "{col} = CASE WHEN m.computed_at >= %(end)s THEN m.{col} ELSE EXCLUDED.{col} END"
        ).format(col=sql.Identifier(col))
        for col in (*FINAL_ONCE, *FINAL_ONCE_STORAGE)
    ]
    recomputed_set = [
        sql.SQL("{col} = EXCLUDED.{col}").format(col=sql.Identifier(col)) for col in RECOMPUTED
    ]
    return sql.SQL(
        """
        INSERT INTO {metrics} AS m (
            clinic_id, day, plan_code, status, plan_monthly_price, plan_currency,
            users, active_users, patients, new_patients,
            appointments_created, appointments_completed, appointments_cancelled,
            appointments_no_show, no_show_rate, payments_collected, refunds, currency,
            receipts_issued, receipts_voided, storage_bytes,
            messages_sent, messages_whatsapp, messages_sms, messages_email,
            last_activity_at, computed_at)
        SELECT %(clinic_id)s, %(day)s, %(plan_code)s, %(status)s, %(price)s, %(plan_currency)s,
            u.users, t.active_users, p.patients, p.new_patients,
            a.created, a.completed, a.cancelled, a.no_show,
            CASE WHEN a.completed + a.no_show > 0
                THEN round(a.no_show::numeric / (a.completed + a.no_show), 4) END,
            pay.collected, pay.refunds, 'PEN',
            r.issued, r.voided, f.storage_bytes,
            n.whatsapp + n.sms + n.email, n.whatsapp, n.sms, n.email,
            nullif(greatest(
                coalesce(t.last_sign_in, '-infinity'), coalesce(e.last_event, '-infinity')
            ), '-infinity'),
            %(now)s
        FROM
            (SELECT count(*) AS users FROM {user}
              WHERE is_active AND date_joined < %(end)s) u,
            (SELECT count(DISTINCT user_id) FILTER (WHERE created_at >= %(start)s) AS active_users,
                    max(created_at) AS last_sign_in
               FROM {token} WHERE created_at < %(end)s) t,
            (SELECT count(*) FILTER (WHERE NOT is_archived) AS patients,
                    count(*) FILTER (WHERE created_at >= %(start)s) AS new_patients
               FROM {patient} WHERE created_at < %(end)s) p,
            (SELECT
                (SELECT count(*) FROM {appointment}
                  WHERE created_at >= %(start)s AND created_at < %(end)s) AS created,
                count(*) FILTER (WHERE status = 'COMPLETED') AS completed,
                count(*) FILTER (WHERE status = 'CANCELLED') AS cancelled,
                count(*) FILTER (WHERE status = 'NO_SHOW') AS no_show
               FROM {appointment} WHERE starts_at >= %(start)s AND starts_at < %(end)s) a,
            (SELECT coalesce(sum(amount_pen) FILTER (WHERE kind = 'PAYMENT'), 0) AS collected,
                    coalesce(sum(amount_pen) FILTER (WHERE kind = 'REFUND'), 0) AS refunds
               FROM {payment} WHERE paid_at >= %(start)s AND paid_at < %(end)s) pay,
            (SELECT
                (SELECT count(*) FROM {receipt}
                  WHERE issued_at >= %(start)s AND issued_at < %(end)s) AS issued,
                (SELECT count(*) FROM {receipt}
                  WHERE voided_at >= %(start)s AND voided_at < %(end)s) AS voided) r,
            (SELECT coalesce(sum(size_bytes), 0)::bigint AS storage_bytes FROM {file}
              WHERE created_at < %(end)s) f,
            (SELECT count(*) FILTER (WHERE channel = 'WHATSAPP') AS whatsapp,
                    count(*) FILTER (WHERE channel = 'SMS') AS sms,
                    count(*) FILTER (WHERE channel = 'EMAIL') AS email
               FROM {notification} WHERE sent_at >= %(start)s AND sent_at < %(end)s) n,
            (SELECT max(created_at) AS last_event FROM {audit}
              WHERE created_at < %(end)s) e
        ON CONFLICT (clinic_id, day) DO UPDATE SET {final_set}, {recomputed_set},
            computed_at = EXCLUDED.computed_at
        RETURNING m.clinic_id
        """
    ).format(
        metrics=sql.Identifier("public", ClinicDayMetrics._meta.db_table),
        user=table("accounts.User"),
        token=table("accounts.AuthToken"),
        patient=table("patients.Patient"),
        appointment=table("scheduling.Appointment"),
        payment=table("billing.Payment"),
        receipt=table("billing.Receipt"),
        file=table("files.StoredFile"),
        notification=table("notifications.Notification"),
        audit=table("audit.AuditEvent"),
        final_set=sql.SQL(", ").join(final_set),
        recomputed_set=sql.SQL(", ").join(recomputed_set),
    )


def _in_run(upsert: sql.Composed) -> sql.Composed:
    """The upsert and the run's cursor advance, as one statement (they commit together)."""
    return sql.SQL(
        "WITH done AS ({upsert}) UPDATE {run} SET cursor = %(clinic_id)s, "
        "clinics_done = clinics_done + (SELECT count(*) FROM done) "
        "WHERE id = %(run_id)s AND cursor < %(clinic_id)s"
    ).format(upsert=upsert, run=sql.Identifier("public", MetricsRollupRun._meta.db_table))


def _parameters(clinic: Clinic, day: dt.date, now: dt.datetime) -> dict[str, Any]:
    start, end = day_bounds(day, clinic.timezone)
    return {
        "clinic_id": clinic.pk,
        "day": day,
        "plan_code": clinic.plan.code,
        "status": clinic.status,
        "price": clinic.plan.monthly_price,
        "plan_currency": clinic.plan.currency,
        "start": start,
        "end": end,
        "now": now,
    }


@transaction.atomic
def clinic_day_rollup(*, clinic: Clinic, day: dt.date) -> ClinicDayMetrics:
    """Compute (or recompute) one clinic's row for its local ``day``: one statement."""
    # Every table is named with its schema: no search_path to set (one statement, not two).
    with tenant_connection().schema_qualified(), connection.cursor() as cursor:
        statement = _upsert(clinic.schema_name).as_string(cursor.connection)
        cursor.execute(statement, _parameters(clinic, day, timezone.now()))
    return ClinicDayMetrics.objects.get(clinic=clinic, day=day)


@dataclass
class RunResult:
    run: MetricsRollupRun
    clinic_ids: list[int]  # the clinics this call rolled up, in order
    resumed: bool
    skipped_not_started: int = 0


def _clinics(clinics: Iterable[Clinic] | None) -> list[Clinic]:
    queryset = (
        Clinic.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
        .select_related("plan")
        .order_by("pk")
    )
    if clinics is not None:
        queryset = queryset.filter(pk__in=[clinic.pk for clinic in clinics])
    return list(queryset)


def _open_run(day: dt.date, total: int, *, restart: bool) -> tuple[MetricsRollupRun, bool]:
    with transaction.atomic():
        open_runs = MetricsRollupRun.objects.select_for_update().filter(
            day=day, finished_at__isnull=True, abandoned=False
        )
        if restart:
            open_runs.update(abandoned=True)
        else:
            run = open_runs.first()
            if run is not None:
                return run, True
        run = MetricsRollupRun.objects.create(
            day=day, started_at=timezone.now(), clinics_total=total
        )
        return run, False


def rollup_run(
    *,
    day: dt.date,
    clinics: Iterable[Clinic] | None = None,
    restart: bool = False,
    after_clinic: object = None,
) -> RunResult:
    """Roll up every clinic (active and suspended, never ``public``), or ``clinics``, for the
    local ``day``, in clinic-id order; resume after the cursor of an unfinished run of the same
    day (``restart=True`` abandons it and starts again). A clinic whose local ``day`` has not
    begun yet is skipped. ``after_clinic`` (tests, benchmarks) is called after each clinic."""
    chosen = _clinics(clinics)
    run, resumed = _open_run(day, len(chosen), restart=restart)
    now = timezone.now()
    done: list[int] = []
    skipped = 0
    for clinic in chosen:
        if clinic.pk <= run.cursor:
            continue
        start, _end = day_bounds(day, clinic.timezone)
        with (
            transaction.atomic(),
            tenant_connection().schema_qualified(),
            connection.cursor() as cursor,
        ):
            if start > now:
                skipped += 1
                cursor.execute(
                    "UPDATE public.metrics_metricsrolluprun SET cursor = %s"
                    " WHERE id = %s AND cursor < %s",
                    [clinic.pk, run.pk, clinic.pk],
                )
            else:
                parameters = {**_parameters(clinic, day, timezone.now()), "run_id": run.pk}
                statement = _in_run(_upsert(clinic.schema_name)).as_string(cursor.connection)
                cursor.execute(statement, parameters)
                done.append(clinic.pk)
        if callable(after_clinic):
            after_clinic(clinic)
    MetricsRollupRun.objects.filter(pk=run.pk).update(finished_at=timezone.now())
    run.refresh_from_db()
    logger.info(
        "Metrics rollup of %s: %d clinics (%s), %d not started yet.",
        day,
        len(done),
        "resumed" if resumed else "new run",
        skipped,
    )
    return RunResult(run=run, clinic_ids=done, resumed=resumed, skipped_not_started=skipped)


def due_days(now: dt.datetime | None = None) -> list[dt.date]:
    """The local "today" and "yesterday" of every clinic's timezone (usually two days)."""
    now = now or timezone.now()
    zones = set(
        Clinic.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).values_list(
            "timezone", flat=True
        )
    ) or {settings.DEFAULT_CLINIC_TIMEZONE}
    days: set[dt.date] = set()
    for zone in zones:
        today = now.astimezone(ZoneInfo(zone or settings.DEFAULT_CLINIC_TIMEZONE)).date()
        days.update({today, today - dt.timedelta(days=1)})
    return sorted(days)


def rollup_due(now: dt.datetime | None = None) -> list[RunResult]:
    """Yesterday (final) and today (partial), in each clinic's local time."""
    return [rollup_run(day=day) for day in due_days(now)]


def demo_rollup(now: dt.datetime | None = None) -> list[RunResult]:
    """What ``manage.py dev`` runs after the demo seed: the days its data covers, this week's
    Monday (Lima) to today; the days that have not begun are skipped per clinic."""
    now = now or timezone.now()
    today = now.astimezone(ZoneInfo(settings.DEFAULT_CLINIC_TIMEZONE)).date()
    monday = today - dt.timedelta(days=today.weekday())
    days = [monday + dt.timedelta(days=n) for n in range((today - monday).days + 1)]
    return [rollup_run(day=day, restart=True) for day in days]
