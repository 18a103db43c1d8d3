"""Issue 15's "done when", end to end over real processes: a receptionist books an
appointment for tomorrow through GraphQL on uvicorn; a worker (``manage.py worker --burst``)
sends what is due; the confirmation request is in the development outbox, visible through
GraphQL (``notifications``), with a link that opens the patient's page.

Nothing is done by hand between the booking and the query: the booking's transaction plans
the message and defers its job (the outbox), the worker sends it."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.utils import timezone

from backend.accounts.models import Role, User
from backend.core.tenancy import clinic_context
from backend.demo.messaging import messaging_senders_ensure
from backend.notifications.models import MessagingSettings
from backend.patients.models import Patient
from backend.resources.models import Chair, Professional, WorkingHours
from tenants_core.schema_names import schema_name_for
from tests.conftest import ROOT, TEST_PASSWORD, child_env, http_login, running_uvicorn
from tests.dates import LIMA, clinic_today, lima
from tests.ids import global_id

pytestmark = pytest.mark.slow

SUBDOMAIN = "hecho-cuando"
HOST = f"{SUBDOMAIN}.localhost"
SCHEDULE = """
mutation($input: ScheduleAppointmentInput!) {
  scheduleAppointment(input: $input) {
    __typename
    ... on Appointment { id status }
    ... on OperationInfo { messages { code message } }
  }
}
"""
NOTIFICATIONS = """
query($appointment: ID!) {
  notifications(filters: {appointmentId: $appointment}) {
    edges { node { kind channel status recipient body sendAt sentAt } }
  }
}
"""


def _clinic_ready(committed_clinic: Any, django_db_blocker: Any) -> dict[str, Any]:
    clinic = committed_clinic(SUBDOMAIN, plan="professional")
    with django_db_blocker.unblock():
        messaging_senders_ensure(  # as the demo clinics have them
            clinic=clinic, whatsapp_phone_id="109000000000099", sms_number="+5117000099"
        )
    with django_db_blocker.unblock(), clinic_context(clinic):
        User.objects.create_user(
            email=f"recepcion@{HOST}", password=TEST_PASSWORD, role=Role.RECEPTIONIST
        )
        professional = Professional.objects.create(
            full_name="Dra. Elena Paz", license_number="4242"
        )
        for weekday in range(7):
            WorkingHours.objects.create(
                professional=professional, weekday=weekday, start_time=dt.time(8),
                end_time=dt.time(18),
            )  # fmt: skip
        chair = Chair.objects.create(name="Sillón A")
        patient = Patient.objects.create(
            first_name="Teresa", last_name="Condori", document_type="DNI",
            document_number="45678912", phone="+51987654321", email="teresa@example.com",
        )  # fmt: skip
        # Quiet hours, one minute long and twelve hours away: whenever the suite runs, the
        # confirmation request is due at once, not at 08:00 tomorrow.
        quiet = (timezone.now().astimezone(LIMA) + dt.timedelta(hours=12)).time()
        quiet_end = dt.datetime.combine(dt.date(2000, 1, 1), quiet) + dt.timedelta(minutes=1)
        MessagingSettings.objects.filter(pk=1).update(
            quiet_start=quiet.replace(second=0, microsecond=0),
            quiet_end=quiet_end.time().replace(second=0, microsecond=0),
        )
    return {
        "patientId": global_id("Patient", patient.pk, clinic),
        "professionalId": global_id("Professional", professional.pk, clinic),
        "chairId": global_id("Chair", chair.pk, clinic),
    }


@pytest.fixture
def no_jobs_left(django_db_blocker: Any) -> Any:
    """The clinic's jobs a failed run left queued are removed: no later worker of the suite
    runs them (they would be skipped anyway once the clinic is dropped)."""
    yield
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        connection.set_schema_to_public()
        cursor.execute(
            "DELETE FROM procrastinate_jobs WHERE status = 'todo' AND args->>'clinic_schema' = %s",
            [schema_name_for(SUBDOMAIN)],
        )


def _worker_burst(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Part A's ``manage.py worker --burst``: every queue, what is due, then exit."""
    return subprocess.run(
        [sys.executable, "manage.py", "worker", "--burst", "--no-periodic"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip


def test_booking_for_tomorrow_puts_a_confirmation_in_the_outbox_visible_through_graphql(
    committed_clinic, django_db_blocker, no_jobs_left
):
    ids = _clinic_ready(committed_clinic, django_db_blocker)
    tomorrow = clinic_today() + dt.timedelta(days=1)
    starts_at = lima(tomorrow, 10)

    with running_uvicorn(django_db_blocker) as server:
        token = http_login(server, HOST, f"recepcion@{HOST}")["token"]
        auth = {"Authorization": f"Bearer {token}"}
        booked = server.post(
            HOST,
            {"query": SCHEDULE, "variables": {"input": {
                **ids, "startsAt": starts_at.isoformat(),
                "endsAt": (starts_at + dt.timedelta(minutes=30)).isoformat(),
            }}},
            headers=auth,
        ).json()["data"]["scheduleAppointment"]  # fmt: skip
        assert booked["__typename"] == "Appointment", booked

        with django_db_blocker.unblock():
            env = child_env(
                MESSAGING_BACKEND="outbox",
                PUBLIC_BASE_URL=f"http://localhost:{server.port}",
                JOB_POLL_SECONDS="0.2",
            )
        worker = _worker_burst(env)
        assert worker.returncode == 0, worker.stdout[-3000:] + worker.stderr[-3000:]

        answer = server.post(
            HOST, {"query": NOTIFICATIONS, "variables": {"appointment": booked["id"]}},
            headers=auth,
        ).json()  # fmt: skip
        assert "errors" not in answer, answer
        nodes = [edge["node"] for edge in answer["data"]["notifications"]["edges"]]
        confirmations = [n for n in nodes if n["kind"] == "CONFIRMATION_REQUEST"]
        assert len(confirmations) == 1, nodes
        message = confirmations[0]
        assert message["channel"] == "WHATSAPP"  # the first channel the patient can receive
        assert message["status"] == "SENT", message  # the development outbox kept it
        assert message["recipient"] == "+51987654321"
        assert dt.datetime.fromisoformat(message["sendAt"]) <= timezone.now()
        assert "Teresa" in message["body"]
        assert "10:00" in message["body"]
        assert "Dra. Elena Paz" in message["body"]
        assert "Condori" not in message["body"]

        link = re.search(r"https?://\S+/c/\S+", message["body"])
        assert link, message["body"]
        url = urlsplit(link.group(0).rstrip(".,)"))
        assert url.netloc == f"{HOST}:{server.port}"
        page = server.request("GET", url.path, HOST)
        assert page.status_code == 200
        assert "Confirmar cita" in page.text
        assert "Hola, Teresa" in page.text
