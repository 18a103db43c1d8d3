"""The job helpers every app uses: ``clinic_task``/``clinic_job``, ``job``, and periodic work
fanned out per clinic.

- ``@clinic_task()`` registers a task whose every run happens inside one clinic's schema, in
  one transaction (``clinic_context``). The job carries the clinic's id and schema name; a job
  whose clinic was deleted, or is suspended, does nothing and logs why.
- ``clinic_job(task, **kwargs)`` defers it for the current clinic (or ``clinic=``), through
  Django's connection: inside a transaction, the job is part of it.
- ``@periodic_clinic_task(cron=...)`` runs a clinic task for every active clinic on a cron
  schedule: one periodic job reads the public ``Clinic`` table once and defers one job per
  clinic, in one statement. No schema is scanned to find work.
- Retries: exponential backoff (``JOB_RETRY_WAIT_SECONDS`` × 2ⁿ), ``JOB_MAX_ATTEMPTS`` runs in all;
  after that the job stays ``failed`` in ``procrastinate_jobs``, with its events.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils import timezone
from procrastinate import BaseRetryStrategy, RetryDecision
from procrastinate.contrib.django import app
from procrastinate.jobs import Job
from procrastinate.tasks import Task

from backend.core.db_backend.connection import tenant_connection
from backend.core.tenancy import clinic_context, public_context
from tenants_core.models import Clinic, ClinicStatus

logger = logging.getLogger(__name__)

__all__ = [
    "BackoffRetry",
    "app",
    "clinic_job",
    "clinic_task",
    "job",
    "periodic_clinic_task",
    "platform_task",
    "retry_strategy",
]


@dataclasses.dataclass(frozen=True)
class BackoffRetry(BaseRetryStrategy):
    """Exponential backoff: ``wait_seconds`` × 2ⁿ after the n-th failed run (n from 0), for
    ``max_attempts`` runs in all; then the job is ``failed`` and stays so.

    procrastinate's own ``RetryStrategy(exponential_wait=w)`` waits wⁿ⁺¹ seconds (10 s, 100 s,
    1000 s… for w = 10), which reaches days by the fifth retry: hence this one."""

    max_attempts: int
    wait_seconds: float

    def wait_after(self, attempts: int) -> float:
        """The wait after a run that failed with ``attempts`` earlier runs."""
        return self.wait_seconds * 2**attempts

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if job.attempts + 1 >= self.max_attempts:
            return None
        return RetryDecision(
            retry_at=timezone.now() + dt.timedelta(seconds=self.wait_after(job.attempts))
        )


def retry_strategy() -> BackoffRetry:
    """Exponential backoff: wait, 2×wait, 4×wait… for ``JOB_MAX_ATTEMPTS`` runs in all."""
    return BackoffRetry(
        max_attempts=max(settings.JOB_MAX_ATTEMPTS, 1),
        wait_seconds=settings.JOB_RETRY_WAIT_SECONDS,
    )


def _clinic_for(clinic_id: int, clinic_schema: str) -> Clinic | None:
    with public_context():
        return (
            Clinic.objects.select_related("plan")
            .filter(pk=clinic_id, schema_name=clinic_schema)
            .first()
        )


def clinic_task(
    *, name: str | None = None, queue: str = "default", retry: Any = None, **options: Any
) -> Callable[[Callable[..., Any]], Task[Any, Any, Any]]:
    """Register ``func`` as a task that runs inside one clinic's schema.

    ``func`` takes keyword arguments only (JSON values). Defer it with ``clinic_job``."""

    def decorator(func: Callable[..., Any]) -> Task[Any, Any, Any]:
        task_name = name or f"{func.__module__}.{func.__name__}"

        @functools.wraps(func)
        def run(*, clinic_id: int, clinic_schema: str, **kwargs: Any) -> Any:
            clinic = _clinic_for(clinic_id, clinic_schema)
            if clinic is None:
                logger.warning(
                    "Job %s skipped: clinic %s (%s) no longer exists.",
                    task_name,
                    clinic_id,
                    clinic_schema,
                )
                return None
            if clinic.status != ClinicStatus.ACTIVE:
                logger.warning(
                    "Job %s skipped: clinic %s is suspended.", task_name, clinic.schema_name
                )
                return None
            with clinic_context(clinic):
                return func(**kwargs)

        task = app.task(
            name=task_name,
            queue=queue,
            retry=retry if retry is not None else retry_strategy(),
            **options,
        )(run)
        task.clinic_function = func  # type: ignore[attr-defined,unused-ignore]  # for tests
        return task

    return decorator


def platform_task(
    *, name: str | None = None, queue: str = "default", retry: Any = None, **options: Any
) -> Callable[[Callable[..., Any]], Task[Any, Any, Any]]:
    """Register a platform task (not bound to a clinic), with the same retries as
    ``clinic_task``. Defer it with ``job``."""

    def decorator(func: Callable[..., Any]) -> Task[Any, Any, Any]:
        return app.task(
            name=name or f"{func.__module__}.{func.__name__}",
            queue=queue,
            retry=retry if retry is not None else retry_strategy(),
            **options,
        )(func)

    return decorator


def _schedule(schedule_at: dt.datetime | None, schedule_in: dict[str, int] | None) -> dict:
    options: dict[str, Any] = {}
    if schedule_at is not None:
        options["schedule_at"] = schedule_at
    if schedule_in is not None:
        options["schedule_in"] = schedule_in
    return options


def clinic_job(
    task: Task[Any, Any, Any],
    *,
    clinic: Clinic | None = None,
    schedule_at: dt.datetime | None = None,
    schedule_in: dict[str, int] | None = None,
    lock: str | None = None,
    queueing_lock: str | None = None,
    **kwargs: Any,
) -> int:
    """Defer ``task`` for ``clinic`` (by default the clinic of the current transaction), inside
    the caller's transaction. Returns the job id."""
    clinic = clinic if clinic is not None else tenant_connection().tenant
    if clinic is None or clinic.schema_name == settings.PUBLIC_SCHEMA_NAME:
        raise RuntimeError("clinic_job needs a clinic: call it inside clinic_context.")
    options = _schedule(schedule_at, schedule_in)
    if lock is not None:
        options["lock"] = lock
    if queueing_lock is not None:
        options["queueing_lock"] = queueing_lock
    return task.configure(**options).defer(
        clinic_id=clinic.pk, clinic_schema=clinic.schema_name, **kwargs
    )


def job(
    task: Task[Any, Any, Any],
    *,
    schedule_at: dt.datetime | None = None,
    schedule_in: dict[str, int] | None = None,
    **kwargs: Any,
) -> int:
    """Defer a platform task (not bound to a clinic) inside the caller's transaction."""
    return task.configure(**_schedule(schedule_at, schedule_in)).defer(**kwargs)


def active_clinics() -> list[tuple[int, str]]:
    """(id, schema) of every active clinic: one read of the public table."""
    with public_context():
        return list(
            Clinic.objects.filter(status=ClinicStatus.ACTIVE)
            .exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
            .order_by("pk")
            .values_list("pk", "schema_name")
        )


def periodic_clinic_task(
    *, cron: str, name: str, queue: str = "default"
) -> Callable[[Callable[..., Any]], Task[Any, Any, Any]]:
    """Run ``func(timestamp=…)`` in every active clinic on ``cron`` (UTC).

    The periodic job defers one clinic job per active clinic, all in one statement; each runs
    in its clinic's schema, at most one at a time per clinic (a procrastinate lock)."""

    def decorator(func: Callable[..., Any]) -> Task[Any, Any, Any]:
        per_clinic = clinic_task(name=name, queue=queue)(func)

        @app.periodic(cron=cron, periodic_id=name)
        @app.task(name=f"{name}.fan_out", queue=queue, queueing_lock=f"{name}.fan_out")
        def fan_out(timestamp: int) -> int:
            clinics = active_clinics()
            if clinics:
                deferrer = per_clinic.configure()
                jobs = [
                    deferrer.make_new_job(
                        clinic_id=pk, clinic_schema=schema, timestamp=timestamp
                    ).evolve(lock=f"{name}:{pk}")
                    for pk, schema in clinics
                ]
                app.job_manager.batch_defer_jobs(jobs=jobs)  # one INSERT for all clinics
            logger.info("%s: deferred for %d clinics.", name, len(clinics))
            return len(clinics)

        per_clinic.fan_out = fan_out  # type: ignore[attr-defined]
        return per_clinic

    return decorator
