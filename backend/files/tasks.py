"""The files app's periodic jobs (procrastinate autodiscovers ``tasks``): the orphan sweeps of
``backend.files.cleanup``.

- ``files.orphans`` (hourly, per active clinic, in its schema): objects under the clinic's
  prefix that no row names, older than ``FILE_ORPHAN_GRACE_SECONDS``;
- ``files.departed_clinics`` (hourly, on the platform): the prefixes of schemas that no
  clinic has any more.
"""

from __future__ import annotations

from backend.core.tenancy import public_context
from backend.files import cleanup
from backend.jobs.runtime import app, periodic_clinic_task, platform_task


@periodic_clinic_task(cron="23 * * * *", name="files.orphans")
def sweep_orphans(*, timestamp: int) -> int:
    return len(cleanup.orphans_remove())


@app.periodic(cron="47 * * * *", periodic_id="files.departed_clinics")
@platform_task(name="files.departed_clinics", queueing_lock="files.departed_clinics")
def sweep_departed_clinics(timestamp: int) -> int:
    with public_context():
        return len(cleanup.departed_clinics_sweep())
