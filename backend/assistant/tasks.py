"""The assistant's periodic job (procrastinate autodiscovers ``tasks``).

``assistant.purge_transcripts`` (daily, per active clinic, in its schema): deletes the
conversations older than the clinic's retention period (``retention.py``). One run deletes
at most ``MAX_BATCHES`` batches in its one transaction; when more are left it defers another
run of itself, under the same per-clinic lock, so that no transaction grows with the backlog."""

from __future__ import annotations

import logging

from backend.assistant import retention
from backend.core.db_backend.connection import tenant_connection
from backend.jobs.runtime import clinic_job, periodic_clinic_task

logger = logging.getLogger(__name__)

PURGE_TASK_NAME = "assistant.purge_transcripts"


@periodic_clinic_task(cron="30 8 * * *", name=PURGE_TASK_NAME)  # 03:30 in Lima
def purge_transcripts(*, timestamp: int) -> int:
    result = retention.transcripts_purge()
    if result.more:
        clinic = tenant_connection().tenant
        assert clinic is not None  # clinic_task runs this in the clinic's schema
        clinic_job(purge_transcripts, timestamp=timestamp, lock=f"{PURGE_TASK_NAME}:{clinic.pk}")
    logger.info(
        "%s: %d conversations deleted (%d messages)%s.",
        PURGE_TASK_NAME,
        result.conversations,
        result.messages,
        ", more to go" if result.more else "",
    )
    return result.conversations
