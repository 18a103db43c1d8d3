"""The staff's messaging writes under real concurrency: uvicorn with worker processes,
committed data, parallel requests."""

import concurrent.futures
import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob

from backend.accounts.models import Role, User
from backend.core.tenancy import clinic_context
from backend.notifications.models import Notification, NotificationRule
from backend.patients.models import Patient
from backend.resources.models import Chair, Professional
from backend.scheduling.models import Appointment
from tests.conftest import TEST_PASSWORD, http_login, running_uvicorn
from tests.ids import global_id

pytestmark = pytest.mark.slow

HOST = "mensajes-paralelo.localhost"
RESEND = """mutation($id: ID!) { resendNotification(id: $id) {
  __typename ... on OperationInfo { messages { code } } } }"""
CREATE_RULE = """mutation { createNotificationRule(kind: REMINDER, minutesBefore: 45) {
  __typename ... on OperationInfo { messages { code } } } }"""


def parallel(server, token, query, variables_list):
    def send(variables):
        response = server.post(
            HOST, {"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"}, timeout=60,
        )  # fmt: skip
        return response.status_code, response.json()

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(variables_list)) as pool:
        return list(pool.map(send, variables_list))


def outcome(body, field):
    payload = body["data"][field]
    if payload["__typename"] == "OperationInfo":
        return tuple(message["code"] for message in payload["messages"])
    return payload["__typename"]


def test_parallel_resends_and_rules_give_one_success_each_and_coded_refusals(
    django_db_blocker, committed_clinic
):
    clinic = committed_clinic("mensajes-paralelo", plan="professional")
    with django_db_blocker.unblock(), clinic_context(clinic):
        User.objects.create_user(
            email="recepcion@paralelo.pe", password=TEST_PASSWORD, role=Role.ADMIN
        )
        patient = Patient.objects.create(
            first_name="Ana", last_name="Paz", document_type="DNI", document_number="10000001"
        )
        starts = timezone.now() + dt.timedelta(days=3)
        appointment = Appointment.objects.create(
            patient=patient,
            professional=Professional.objects.create(full_name="Dra. Luz", license_number="1"),
            chair=Chair.objects.create(name="Sillón 1"),
            starts_at=starts,
            ends_at=starts + dt.timedelta(minutes=30),
        )
        notification = Notification.objects.create(
            kind="REMINDER", channel="SMS", status="FAILED", patient=patient,
            appointment=appointment, send_at=timezone.now(), recipient="+51987654321",
            body="Hola Ana", failure_code="PROVIDER_UNAVAILABLE",
        )  # fmt: skip
    try:
        with running_uvicorn(django_db_blocker, workers=2) as server:
            token = http_login(server, HOST, "recepcion@paralelo.pe")["token"]
            resends = parallel(
                server,
                token,
                RESEND,
                [{"id": global_id("Notification", notification.pk, clinic)}] * 8,
            )
            rules = parallel(server, token, CREATE_RULE, [{}] * 8)

        assert {status for status, _ in resends + rules} == {200}
        resent = sorted(map(str, (outcome(b, "resendNotification") for _, b in resends)))
        assert resent == ["('NOT_RESENDABLE',)"] * 7 + ["Notification"]
        created = sorted(map(str, (outcome(b, "createNotificationRule") for _, b in rules)))
        assert created == ["('INVALID_RULE',)"] * 7 + ["NotificationRule"]
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            jobs = ProcrastinateJob.objects.filter(args__clinic_schema=clinic.schema_name)
            assert [job.args["notification_id"] for job in jobs] == [notification.pk]
            with clinic_context(clinic):
                assert NotificationRule.objects.filter(minutes_before=45).count() == 1
                assert Notification.objects.get(pk=notification.pk).status == "SCHEDULED"
    finally:
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            ProcrastinateJob.objects.filter(args__clinic_schema=clinic.schema_name).delete()
