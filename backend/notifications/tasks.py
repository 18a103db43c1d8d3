"""Messaging's jobs (procrastinate autodiscovers ``tasks``).

``send_notification`` is registered with ``app.task`` rather than ``clinic_task``, on purpose:
``clinic_task`` runs its body in ONE transaction (``clinic_context``) and cannot pass the job's
context, while sending needs (a) several transactions, so that the ``SENDING`` mark is
committed before the provider is called, and (b) the attempt number, so that the last failed
attempt marks the message ``FAILED``. It keeps ``clinic_task``'s contract otherwise: the same
job arguments (``clinic_id``, ``clinic_schema``, deferred with ``clinic_job``), the same retry
strategy, and a job for a deleted or suspended clinic does nothing and says so."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django_tenants.utils import tenant_context
from procrastinate import JobContext

from backend.core.db_backend.connection import tenant_connection
from backend.core.tenancy import public_context
from backend.jobs.runtime import app, periodic_clinic_task, retry_strategy
from backend.notifications import delivery
from tenants_core.models import Clinic, ClinicStatus

logger = logging.getLogger(__name__)

SEND_TASK_NAME = "notifications.send"


def _active_clinic(clinic_id: int, clinic_schema: str) -> Clinic | None:
    with public_context():
        clinic = (
            Clinic.objects.select_related("plan")
            .filter(pk=clinic_id, schema_name=clinic_schema)
            .first()
        )
    if clinic is None:
        logger.warning("Job %s skipped: clinic %s (%s) no longer exists.", SEND_TASK_NAME,
                       clinic_id, clinic_schema)  # fmt: skip
        return None
    if clinic.status != ClinicStatus.ACTIVE:
        logger.warning("Job %s skipped: clinic %s is suspended.", SEND_TASK_NAME, clinic_schema)
        return None
    return clinic


def is_final_attempt(job_attempts: int) -> bool:
    """``job_attempts``: the runs that failed before this one (procrastinate's
    ``job.attempts``). The retry strategy allows ``JOB_MAX_ATTEMPTS`` runs in all."""
    return job_attempts >= max(settings.JOB_MAX_ATTEMPTS - 1, 0)


@app.task(name=SEND_TASK_NAME, pass_context=True, retry=retry_strategy())
def send_notification(
    context: JobContext, *, clinic_id: int, clinic_schema: str, notification_id: int
) -> None:
    clinic = _active_clinic(clinic_id, clinic_schema)
    if clinic is None:
        return
    attempts_before = context.job.attempts if context.job is not None else 0
    with tenant_context(clinic):
        delivery.notification_send(
            notification_id=notification_id,
            attempt=attempts_before + 1,
            final_attempt=is_final_attempt(attempts_before),
        )


def send_notifications_defer(rows: Iterable[tuple[int, dt.datetime]]) -> list[int]:
    """Defer ``send_notification`` for each (notification id, send_at) of the current clinic,
    in ONE statement, inside the caller's transaction (the outbox)."""
    clinic = tenant_connection().tenant
    if clinic is None or clinic.schema_name == settings.PUBLIC_SCHEMA_NAME:
        raise RuntimeError("send_notifications_defer needs a clinic: call it in clinic_context.")
    jobs: list[Any] = [
        send_notification.configure(schedule_at=send_at).make_new_job(
            clinic_id=clinic.pk, clinic_schema=clinic.schema_name, notification_id=pk
        )
        for pk, send_at in rows
    ]
    if not jobs:
        return []
    deferred = app.job_manager.batch_defer_jobs(jobs)
    return [job.id for job in deferred if job.id is not None]


@periodic_clinic_task(cron="0 14 * * *", name="notifications.recall")  # 09:00 in Lima
def plan_recalls(*, timestamp: int) -> None:
    delivery.recall_plan()
