"""The console's periodic job (procrastinate autodiscovers ``tasks``):
``console.sessions_clear`` (daily, on the platform) removes expired console sessions, which
Django never removes by itself (its ``clearsessions`` command does the same by hand)."""

from __future__ import annotations

from django.contrib.sessions.models import Session
from django.utils import timezone

from backend.core.tenancy import public_context
from backend.jobs.runtime import app, platform_task


def expired_sessions_clear() -> int:
    """Delete the console sessions that have expired; how many."""
    with public_context():
        deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted


@app.periodic(cron="17 4 * * *", periodic_id="console.sessions_clear")
@platform_task(name="console.sessions_clear", queueing_lock="console.sessions_clear")
def sessions_clear(timestamp: int) -> int:
    return expired_sessions_clear()
