"""Platform jobs (procrastinate autodiscovers ``tasks``): the upkeep of the queue itself, and
the whole-database backup."""

from __future__ import annotations

import logging

from django.conf import settings

from backend.jobs.runtime import app, platform_task
from tenants_core import database_backup

logger = logging.getLogger(__name__)

DATABASE_BACKUP_TASK = "platform.database_backup"


@app.periodic(cron="* * * * *", periodic_id="jobs.retry_stalled")
@app.task(name="jobs.retry_stalled", queueing_lock="jobs.retry_stalled", pass_context=False)
async def retry_stalled_jobs(timestamp: int) -> int:
    """Run again the jobs of workers that died mid-job (no heartbeat for
    ``JOB_STALLED_SECONDS``): jobs are delivered at least once."""
    stalled = list(
        await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=settings.JOB_STALLED_SECONDS)
    )
    for stalled_job in stalled:
        logger.warning("Job %s (%s) stalled; retrying it.", stalled_job.id, stalled_job.task_name)
        await app.job_manager.retry_job(stalled_job)
    return len(stalled)


class DatabaseBackupFailed(Exception):
    """The job's failure: it stays ``failed`` in the queue (``dental_jobs{status="failed"}``)."""


# queueing_lock: at most one waiting; lock: never two running at once (and the lock file in
# BACKUP_DIR/database keeps a manage.py run apart too). No retries: a retry would dump again,
# and a few of them would push the older backups out of retention; the next run copies what
# this one could not.
@platform_task(
    name=DATABASE_BACKUP_TASK,
    queueing_lock=DATABASE_BACKUP_TASK,
    lock=DATABASE_BACKUP_TASK,
    retry=False,
)
def database_backup_job(timestamp: int) -> str:
    """Daily (``DATABASE_BACKUP_CRON``): ``manage.py backup_database``, as a job."""
    try:
        run = database_backup.database_backup_run()
    except database_backup.DatabaseBackupError as error:
        raise DatabaseBackupFailed(f"no database backup was made: {error}") from None
    if run.problems:
        raise DatabaseBackupFailed(
            f"database backup {run.backup.id} made, but: " + "; ".join(run.problems)
        )
    return str(run.backup.id)


if settings.DATABASE_BACKUP_CRON != "off":
    app.periodic(cron=settings.DATABASE_BACKUP_CRON, periodic_id=DATABASE_BACKUP_TASK)(
        database_backup_job
    )
