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
  ``messages_metered_month``: the clinic's own quota meter (WhatsApp + SMS) for the day's month.
- ``last_activity_at``: the newest sign-in, or audit event by a staff user, before ``end`` (the
  clinic's own jobs, like the transcripts' retention, audit with no user: not activity).

Where the schema keeps no history (an account deactivated, a patient archived, a file deleted
after the day), re-computing a past day would see today's state: the row first computed after
the day ended (``computed_at >= end``) is final, and a re-run keeps its ``users``,
``patients``, ``storage_bytes``, messages (a resend clears a notification's ``sent_at``) and
plan snapshot. Everything else is recomputed (a status
changed later, e.g. an appointment marked NO_SHOW the next morning, counts where it belongs).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from psycopg2 import sql

from backend.core.dates import local_day_bounds
from backend.core.db_backend.connection import tenant_connection
from backend.metrics.models import ClinicDayMetrics, MetricsRollupRun
from tenants_core.models import Clinic

logger = logging.getLogger(__name__)

# Kept from the first row computed after the day ended (the schema has no history for them).
FINAL_ONCE = (
    "plan_code",
    "status",
    "plan_monthly_price",
    "plan_currency",
    "users",
    "patients",
    # A resend clears a notification's sent_at and a reschedule re-arms it: recomputed later,
    # the day would lose the sends it made.
    "messages_sent",
    "messages_whatsapp",
    "messages_sms",
    "messages_email",
    "messages_metered_month",
)
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
    "last_activity_at",
)


def day_bounds(day: dt.date, zone_name: str) -> tuple[dt.datetime, dt.datetime]:
    """The local day's ``[start, end)`` as aware UTC datetimes."""
    start, end = local_day_bounds(day, day, ZoneInfo(zone_name or settings.DEFAULT_CLINIC_TIMEZONE))
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
            messages_metered_month, last_activity_at, computed_at)
        SELECT %(clinic_id)s, %(day)s, %(plan_code)s, %(status)s, %(price)s, %(plan_currency)s,
            u.users, t.active_users, p.patients, p.new_patients,
            a.created, a.completed, a.cancelled, a.no_show,
            CASE WHEN a.completed + a.no_show > 0
                THEN round(a.no_show::numeric / (a.completed + a.no_show), 4) END,
            pay.collected, pay.refunds, 'PEN',
            r.issued, r.voided, f.storage_bytes,
            n.whatsapp + n.sms + n.email, n.whatsapp, n.sms, n.email, mu.metered,
            nullif(greatest(
                coalesce(t.last_sign_in, '-infinity'), coalesce(e.last_event, '-infinity')
            ), '-infinity'),
            %(now)s
        FROM
            (SELECT count(*) AS users FROM {user}
              WHERE is_active AND date_joined < %(end)s) u,
            (SELECT
                (SELECT count(DISTINCT user_id) FROM {token}
                  WHERE created_at >= %(start)s AND created_at < %(end)s) AS active_users,
                (SELECT max(created_at) FROM {token}
                  WHERE created_at < %(end)s) AS last_sign_in) t,
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
            (SELECT coalesce(sum(whatsapp + sms), 0) AS metered FROM {usage}
              WHERE month = %(month)s) mu,
            (SELECT max(created_at) AS last_event FROM {audit}
              WHERE created_at < %(end)s AND actor_id IS NOT NULL) e
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
        usage=table("notifications.MessageUsage"),
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
        "month": day.replace(day=1),
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
    skipped_not_started: int = 0  # days not begun, or before the clinic existed
    failed: list[int] = field(default_factory=list)  # clinics whose statement failed


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
    """The day's open run (resumed), or a new one. Two rollups of a day started at once (the
    hourly job and ``manage.py metrics_rollup``) share one run: the second to insert meets
    the one-open-run constraint, and takes the other's run. They then do the same clinics
    twice at worst, each upsert giving the same row."""
    try:
        return _open_run_once(day, total, restart=restart)
    except IntegrityError:
        return _open_run_once(day, total, restart=False)


def _open_run_once(day: dt.date, total: int, *, restart: bool) -> tuple[MetricsRollupRun, bool]:
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
    failed: list[int] = []
    skipped = 0
    for clinic in chosen:
        if clinic.pk <= run.cursor:
            continue
        start, end = day_bounds(day, clinic.timezone)
        # A day not begun yet, or before the clinic existed, has no row (it would count the
        # clinic's plan in that day's MRR).
        computable = start <= now and clinic.created_at < end
        try:
            with (
                transaction.atomic(),
                tenant_connection().schema_qualified(),
                connection.cursor() as cursor,
            ):
                if computable:
                    parameters = {**_parameters(clinic, day, timezone.now()), "run_id": run.pk}
                    statement = _in_run(_upsert(clinic.schema_name)).as_string(cursor.connection)
                    cursor.execute(statement, parameters)
                else:
                    _advance(cursor, run, clinic)
        except DatabaseError as error:
            # One clinic's failure (its schema being restored, a statement timeout) must not
            # stop the clinics after it, this hour and every hour after: logged, recorded on
            # the run, skipped; the day's next run tries it again.
            logger.exception("Metrics rollup of %s failed for %s.", day, clinic.schema_name)
            _record_failure(run, clinic, error)
            failed.append(clinic.pk)
        else:
            if computable:
                done.append(clinic.pk)
            else:
                skipped += 1
        if callable(after_clinic):
            after_clinic(clinic)
    MetricsRollupRun.objects.filter(pk=run.pk).update(finished_at=timezone.now())
    run.refresh_from_db()
    logger.info(
        "Metrics rollup of %s: %d clinics (%s), %d failed, %d with nothing to compute.",
        day,
        len(done),
        "resumed" if resumed else "new run",
        len(failed),
        skipped,
    )
    return RunResult(
        run=run, clinic_ids=done, resumed=resumed, skipped_not_started=skipped, failed=failed
    )


def _advance(cursor: Any, run: MetricsRollupRun, clinic: Clinic) -> None:
    cursor.execute(
        "UPDATE public.metrics_metricsrolluprun SET cursor = %s WHERE id = %s AND cursor < %s",
        [clinic.pk, run.pk, clinic.pk],
    )


def _record_failure(run: MetricsRollupRun, clinic: Clinic, error: DatabaseError) -> None:
    """The failed clinic on the run, and the cursor past it, in a transaction of its own."""
    failure = {"clinic_id": clinic.pk, "schema": clinic.schema_name, "error": type(error).__name__}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE public.metrics_metricsrolluprun SET cursor = %s,"
            " clinics_failed = clinics_failed + 1, failures = failures || %s::jsonb"
            " WHERE id = %s AND cursor < %s",
            [clinic.pk, json.dumps([failure]), run.pk, clinic.pk],
        )


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


# The hourly job also rolls up the days of the last week that no run finished (the worker was
# down, or a run crashed and its day is no longer today or yesterday).
CATCH_UP_DAYS = 7


def rollup_due(now: dt.datetime | None = None) -> list[RunResult]:
    """Yesterday (final) and today (partial), in each clinic's local time, and the days of
    the last ``CATCH_UP_DAYS`` that no run finished (an unfinished one resumes)."""
    days = set(due_days(now))
    latest = max(days)
    recent = {latest - dt.timedelta(days=n) for n in range(CATCH_UP_DAYS)}
    finished = set(
        MetricsRollupRun.objects.filter(day__in=recent, finished_at__isnull=False).values_list(
            "day", flat=True
        )
    )
    days |= recent - finished
    return [rollup_run(day=day) for day in sorted(days)]


def demo_rollup(now: dt.datetime | None = None) -> list[RunResult]:
    """What ``manage.py dev`` runs after the demo seed: the days its data covers, this week's
    Monday (Lima) to today; the days that have not begun are skipped per clinic."""
    now = now or timezone.now()
    today = now.astimezone(ZoneInfo(settings.DEFAULT_CLINIC_TIMEZONE)).date()
    monday = today - dt.timedelta(days=today.weekday())
    days = [monday + dt.timedelta(days=n) for n in range((today - monday).days + 1)]
    return [rollup_run(day=day, restart=True) for day in days]
