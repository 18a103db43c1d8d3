"""The send job through a real procrastinate worker (a child process on the test database):
a committed booking's confirmation request reaches the development outbox."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

from django.utils import timezone

from backend.accounts.models import Role
from backend.core.tenancy import clinic_context
from backend.jobs.runtime import clinic_job
from backend.notifications import tasks
from backend.notifications.models import MessageUsage, Notification
from tests.conftest import ROOT, child_env
from tests.dates import MONDAY, lima
from tests.factories import StaffFactory
from tests.notifications.delivery_support import make_desk, notifications_of


def test_a_real_worker_sends_a_due_message_to_the_outbox(django_db_blocker, committed_clinic):
    clinic = committed_clinic("envio-worker", plan="basic")
    with django_db_blocker.unblock():
        with clinic_context(clinic):
            actor = StaffFactory(email="recep@worker.pe", role=Role.RECEPTIONIST)
            desk = make_desk(clinic, actor)
            appointment = desk.book(lima(MONDAY, 10), reason="Dolor")
            request, reminder = notifications_of(appointment)
            # Due now, as after a "resend now": its planned job (weeks ahead) stays queued.
            Notification.objects.filter(pk=request.pk).update(
                send_at=timezone.now() - dt.timedelta(seconds=1)
            )
            clinic_job(tasks.send_notification, notification_id=request.pk)
        run = subprocess.run(
            [sys.executable, "manage.py", "procrastinate", "worker", "--one-shot"],
            cwd=ROOT,
            env=child_env(MESSAGING_BACKEND="outbox"),
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert run.returncode == 0, run.stderr[-3000:]
        with clinic_context(clinic):
            request.refresh_from_db()
            reminder.refresh_from_db()
            usage = MessageUsage.objects.get()
    assert request.status == "SENT", (
        request.failure_code,
        request.failure_reason,
        run.stderr[-3000:],
    )
    assert request.provider_message_id.startswith("outbox-")
    assert request.attempts == 1
    assert "Responda 1 para confirmar o 2 para cancelar" in request.body
    assert "Dolor" not in request.body
    assert reminder.status == "SCHEDULED"  # not due: untouched
    assert usage.whatsapp == 1
