"""The hourly metrics rollup (procrastinate autodiscovers ``tasks``)."""

from __future__ import annotations

import datetime as dt

from backend.jobs.runtime import app, platform_task
from backend.metrics.rollup import rollup_due

ROLLUP_TASK = "metrics.rollup"


# queueing_lock: at most one waiting; lock: never two running at once (a slow run and the next
# tick's). A run that crashed is resumed by the next one from its cursor.
@app.periodic(cron="7 * * * *", periodic_id=ROLLUP_TASK)
@platform_task(name=ROLLUP_TASK, queueing_lock=ROLLUP_TASK, lock=ROLLUP_TASK)
def metrics_rollup(*, timestamp: int) -> int:
    """Every hour: each clinic's local yesterday (final) and today (partial so far)."""
    now = dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)
    return sum(len(result.clinic_ids) for result in rollup_due(now))
