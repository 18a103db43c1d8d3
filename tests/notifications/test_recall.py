"""Recall: "it has been N months since your last <procedure>" for patients without a future
appointment, planned set-based (a constant number of statements) by a periodic job."""

from __future__ import annotations

import calendar
import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.notifications import channels, delivery
from backend.notifications.models import (
    ContactPreference,
    MessagingSettings,
    Notification,
    RecallRule,
)
from backend.treatments.models import PerformedProcedure, Procedure
from tests.dates import LIMA, MONDAY, clinic_today, lima
from tests.factories import PatientFactory
from tests.notifications.delivery_support import desk_fixture, send_jobs  # noqa: F401

pytestmark = pytest.mark.django_db

TODAY = clinic_today(LIMA)
NOW = lima(TODAY, 10)


@pytest.fixture
def cleaning(desk):
    procedure = Procedure.objects.create(
        code="PROF", name="profilaxis", category="PREVENTION", default_price="80.00"
    )
    RecallRule.objects.create(procedure=procedure, months=6)
    return procedure


def performed(desk, patient, procedure, days_ago: int) -> None:
    PerformedProcedure.objects.create(
        patient=patient, procedure=procedure, professional=desk.professional,
        performed_by=desk.actor, price="80.00", performed_at=NOW - dt.timedelta(days=days_ago),
    )  # fmt: skip


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, or that month's last day (Aug 31 + 6 → Feb 28)."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def recalls() -> dict[int, Notification]:
    return {n.patient_id: n for n in Notification.objects.filter(kind="RECALL")}


def test_recall_picks_the_patients_whose_last_procedure_is_due(desk, cleaning):
    due = PatientFactory(first_name="Due", phone="+51911000001")
    email_only = PatientFactory(first_name="Mail", email="mail@correo.pe")
    too_recent = PatientFactory(phone="+51911000002")
    booked = PatientFactory(phone="+51911000003")
    opted_out = PatientFactory(phone="+51911000004")
    archived = PatientFactory(phone="+51911000005", is_archived=True)
    redone = PatientFactory(phone="+51911000006")
    no_contact = PatientFactory()
    for patient in (due, email_only, booked, opted_out, archived, no_contact):
        performed(desk, patient, cleaning, days_ago=213)  # ~7 months
    performed(desk, too_recent, cleaning, days_ago=150)  # ~5 months
    performed(desk, redone, cleaning, days_ago=400)
    performed(desk, redone, cleaning, days_ago=30)  # the last one counts
    desk.book(lima(MONDAY, 10), patient=booked)
    ContactPreference.objects.create(patient=opted_out, opted_out_at=NOW)
    jobs_before = len(send_jobs())

    assert delivery.recall_plan(today=TODAY, now=NOW) == 2

    planned = recalls()
    assert set(planned) == {due.pk, email_only.pk}
    assert (planned[due.pk].channel, planned[email_only.pk].channel) == ("WHATSAPP", "EMAIL")
    last_on = (NOW - dt.timedelta(days=213)).date()
    assert planned[due.pk].recall_due_on == add_months(last_on, 6)
    assert planned[due.pk].send_at == NOW
    assert planned[due.pk].appointment_id is None
    assert sorted(j["args"]["notification_id"] for j in send_jobs()[jobs_before:]) == sorted(
        n.pk for n in planned.values()
    )
    # The next day: the same due date, nothing new.
    assert delivery.recall_plan(today=TODAY + dt.timedelta(days=1), now=NOW) == 0
    assert len(recalls()) == 2


def test_recall_waits_for_quiet_hours_and_respects_the_switches(desk, cleaning):
    patient = PatientFactory(phone="+51911000010")
    performed(desk, patient, cleaning, days_ago=213)
    MessagingSettings.objects.filter(pk=1).update(recall_enabled=False)
    assert delivery.recall_plan(today=TODAY, now=NOW) == 0
    MessagingSettings.objects.filter(pk=1).update(recall_enabled=True)
    RecallRule.objects.update(is_active=False)
    assert delivery.recall_plan(today=TODAY, now=NOW) == 0
    RecallRule.objects.update(is_active=True)

    late = lima(TODAY, 22)
    assert delivery.recall_plan(today=TODAY, now=late) == 1
    assert recalls()[patient.pk].send_at == lima(TODAY + dt.timedelta(days=1), 8)


def test_recall_costs_the_same_statements_for_one_patient_or_many(desk, cleaning):
    def statements() -> tuple[int, int]:
        Notification.objects.filter(kind="RECALL").delete()
        with CaptureQueriesContext(connection) as queries:
            count = delivery.recall_plan(today=TODAY, now=NOW)
        return count, len(queries)

    performed(desk, PatientFactory(phone="+51911000020"), cleaning, days_ago=213)
    one, one_queries = statements()
    for n in range(12):
        performed(desk, PatientFactory(phone=f"+519110001{n:02d}"), cleaning, days_ago=213)
    other = Procedure.objects.create(
        code="END", name="endodoncia", category="ENDODONTICS", default_price="300.00"
    )
    RecallRule.objects.create(procedure=other, months=12)
    performed(desk, PatientFactory(phone="+51911000099"), other, days_ago=400)
    many, many_queries = statements()
    assert (one, many) == (1, 14)
    assert many_queries == one_queries


def test_a_recall_message_names_the_procedure_and_the_months_only(desk, cleaning, monkeypatch):
    sent: list[channels.OutgoingMessage] = []
    monkeypatch.setattr(channels, "send", lambda message: sent.append(message) or "id-r")
    patient = PatientFactory(first_name="Rosa", phone="+51911000030")
    performed(desk, patient, cleaning, days_ago=213)
    delivery.recall_plan(today=TODAY, now=NOW)
    note = recalls()[patient.pk]

    delivery.notification_send(notification_id=note.pk, now=NOW)

    note.refresh_from_db()
    assert note.status == "SENT"
    (message,) = sent
    assert message.body == (
        "Hola Rosa, en Clínica Dental Norte notamos que han pasado 6 meses desde su última "
        "profilaxis. Responda a este mensaje o llámenos para reservar una cita."
    )
    assert message.whatsapp_template_name == "recall_invitation"
    assert message.whatsapp_parameters == ["Rosa", "Clínica Dental Norte", "6", "profilaxis"]


def test_a_recall_is_cancelled_at_sending_if_the_patient_opted_out_since(desk, cleaning):
    patient = PatientFactory(phone="+51911000040")
    performed(desk, patient, cleaning, days_ago=213)
    delivery.recall_plan(today=TODAY, now=NOW)
    ContactPreference.objects.create(patient=patient, opted_out_at=NOW)
    note = recalls()[patient.pk]
    delivery.notification_send(notification_id=note.pk, now=NOW)
    note.refresh_from_db()
    assert (note.status, note.failure_code) == ("SKIPPED", "OPTED_OUT")
