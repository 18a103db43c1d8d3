"""Platform jobs: the upkeep of the queue itself (procrastinate autodiscovers ``tasks``)."""

from __future__ import annotations

import logging

from django.conf import settings

from backend.jobs.runtime import app

logger = logging.getLogger(__name__)


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
