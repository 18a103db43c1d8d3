"""Patients' replies: confirm, cancel, opt out ("BAJA"/"STOP", at once, wins over all), or the
staff inbox; each effect audited in the patient's name."""

from __future__ import annotations

import datetime as dt

import pytest

from backend.audit.models import AuditEvent
from backend.notifications.delivery import inbound_message_receive, reply_intent
from backend.notifications.models import ContactPreference, InboxMessage, Notification
from backend.scheduling.models import Appointment
from tests.dates import MONDAY, lima
from tests.factories import PatientFactory
from tests.notifications.delivery_support import (  # noqa: F401 - the fixture
    PHONE,
    desk_fixture,
    notifications_of,
)

pytestmark = pytest.mark.django_db


def send(note: Notification, provider_id: str) -> None:
    Notification.objects.filter(pk=note.pk).update(
        status="SENT", provider_message_id=provider_id, sent_at=note.send_at
    )


@pytest.fixture
def asked(desk):
    """An upcoming appointment whose confirmation request was sent on WhatsApp."""
    appointment = desk.book(lima(MONDAY, 10))
    request, reminder = notifications_of(appointment)
    send(request, "wamid.ask")
    return appointment, request, reminder


@pytest.fixture
def assistant_off(desk):
    """The clinic's assistant switched off: WhatsApp messages no rule understood go to the
    inbox, as before the assistant (with it on they go to it: tests/assistant/whatsapp)."""
    from backend.assistant.models import AssistantSettings

    AssistantSettings.objects.update_or_create(pk=1, defaults={"enabled": False})


def reply(body: str, sender: str = PHONE, **extra) -> object:
    return inbound_message_receive(channel="WHATSAPP", sender=sender, body=body, **extra)


@pytest.mark.parametrize(
    "text", ["1", " Sí ", "si", "SÍ!", "confirmo", "Confirmar.", "ok", "OK 👍", "¡Sí!"]
)
def test_yes_confirms_the_appointment(asked, text):
    appointment, _request, reminder = asked
    outcome = reply(text)
    assert (outcome.action, outcome.appointment_id) == ("confirmed", appointment.pk)
    appointment.refresh_from_db()
    assert appointment.status == "CONFIRMED"
    reminder.refresh_from_db()
    assert reminder.status == "SCHEDULED"  # the reminder still goes
    event = AuditEvent.objects.filter(action="appointment.patient_respond").get()
    assert event.actor_id is None
    assert event.actor_email == f"patient:{appointment.patient_id}"
    assert event.changes["via"] == "whatsapp"


@pytest.mark.parametrize("text", ["2", "No", "cancelar", "CANCELO."])
def test_no_cancels_the_appointment_frees_the_slot_and_records_why(asked, desk, text):
    appointment, _request, reminder = asked
    outcome = reply(text)
    assert outcome.action == "cancelled"
    appointment.refresh_from_db()
    assert appointment.status == "CANCELLED"
    assert appointment.cancellation_reason in {
        "Cancelled by the patient via WhatsApp",
        "Cancelado por el paciente por WhatsApp",
    }
    reminder.refresh_from_db()
    assert reminder.status == "CANCELLED"
    # The slot is free again.
    other = PatientFactory()
    assert desk.book(lima(MONDAY, 10), patient=other).status == "SCHEDULED"


@pytest.mark.parametrize("text", ["BAJA", "baja", "Stop", "STOP por favor", "1 baja"])
def test_baja_or_stop_opts_out_at_once_and_wins(asked, text):
    appointment, _request, reminder = asked
    outcome = reply(text)
    assert outcome.action == "opted_out"
    preference = ContactPreference.objects.get(patient=appointment.patient)
    assert preference.opted_out_at is not None
    assert preference.opt_out_source == "WHATSAPP"
    reminder.refresh_from_db()
    assert reminder.status == "CANCELLED"
    appointment.refresh_from_db()
    assert appointment.status == "SCHEDULED"  # "1 baja" does not confirm
    event = AuditEvent.objects.get(action="notifications.opt_out")
    assert event.actor_email == f"patient:{appointment.patient_id}"


def test_after_opting_out_nothing_is_planned_or_sent(asked, desk):
    reply("BAJA")
    later = desk.book(lima(MONDAY, 15))
    assert notifications_of(later) == []


@pytest.mark.usefixtures("assistant_off")
def test_anything_else_goes_to_the_inbox_with_the_patient_and_the_message_it_answers(asked):
    appointment, request, _reminder = asked
    outcome = reply("¿Puedo ir a las 11?", provider_message_id="wamid.in1")
    assert outcome.action == "inbox"
    message = InboxMessage.objects.get(pk=outcome.inbox_message_id)
    assert (message.patient_id, message.in_reply_to_id) == (appointment.patient_id, request.pk)
    assert (message.body, message.sender, message.provider_message_id) == (
        "¿Puedo ir a las 11?", PHONE, "wamid.in1",
    )  # fmt: skip
    assert message.handled_at is None
    appointment.refresh_from_db()
    assert appointment.status == "SCHEDULED"
    audit = AuditEvent.objects.get(action="notifications.inbox_receive")
    assert audit.actor_email == f"patient:{appointment.patient_id}"


@pytest.mark.usefixtures("assistant_off")
def test_an_unknown_sender_goes_to_the_inbox_without_a_patient(asked):
    outcome = reply("1", sender="+51911111111")
    message = InboxMessage.objects.get(pk=outcome.inbox_message_id)
    assert message.patient_id is None
    assert AuditEvent.objects.get(action="notifications.inbox_receive").actor_email == (
        "+51911111111"
    )
    assert reply("BAJA", sender="+51911111111").action == "inbox"  # nobody to opt out
    assert not ContactPreference.objects.exists()


def test_the_sender_is_normalized_to_e164(asked):
    appointment, _request, _reminder = asked
    assert reply("1", sender="51987654321").action == "confirmed"  # WhatsApp drops the "+"
    appointment.refresh_from_db()
    assert appointment.status == "CONFIRMED"


def test_a_quoted_message_picks_its_appointment(asked, desk):
    first, _request, _reminder = asked
    second = desk.book(lima(MONDAY + dt.timedelta(days=1), 10))
    second_request = notifications_of(second)[0]
    send(second_request, "wamid.second")
    # Without a quote the latest sent request wins (the second); quoting the first answers it.
    Notification.objects.filter(pk=second_request.pk).update(sent_at=lima(MONDAY, 12))
    outcome = reply("1", in_reply_to_provider_id="wamid.ask")
    assert outcome.appointment_id == first.pk
    outcome = reply("si")
    assert outcome.appointment_id == second.pk


def test_a_button_payload_answers_like_its_text(asked):
    appointment, _request, _reminder = asked
    outcome = reply("Cancelar cita", button_payload="2")
    assert outcome.action == "cancelled"
    appointment.refresh_from_db()
    assert appointment.status == "CANCELLED"


@pytest.mark.usefixtures("assistant_off")
def test_no_upcoming_appointment_or_a_past_one_goes_to_the_inbox(asked):
    appointment, _request, _reminder = asked
    Appointment.objects.filter(pk=appointment.pk).update(status="CANCELLED")
    outcome = reply("1")
    assert outcome.action == "inbox"
    assert InboxMessage.objects.get(pk=outcome.inbox_message_id).patient_id == (
        appointment.patient_id
    )


@pytest.mark.usefixtures("assistant_off")
def test_an_answer_the_scheduling_service_refuses_goes_to_the_inbox(asked):
    appointment, _request, _reminder = asked
    # Checked in already: the patient can no longer confirm or cancel by message.
    Appointment.objects.filter(pk=appointment.pk).update(status="CHECKED_IN")
    outcome = reply("2")
    assert outcome.action == "inbox"
    appointment.refresh_from_db()
    assert appointment.status == "CHECKED_IN"


def test_an_email_reply_is_matched_by_address(desk):
    desk.patient.phone = ""
    desk.patient.save()
    appointment = desk.book(lima(MONDAY, 10))
    request = notifications_of(appointment)[0]
    Notification.objects.filter(pk=request.pk).update(status="SENT", sent_at=request.send_at)
    outcome = inbound_message_receive(
        channel="EMAIL", sender="  JOSE.Perez@correo.pe ", body="Confirmo"
    )
    assert (outcome.action, outcome.appointment_id) == ("confirmed", appointment.pk)


@pytest.mark.parametrize(
    ("text", "intent"),
    [("1", "confirm"), ("  sí.", "confirm"), ("2", "cancel"), ("no!", "cancel"),
     ("BAJA", "opt_out"), ("no, baja", "opt_out"), ("si pero a las 11", ""), ("", ""),
     # A question that happens to hold the word is for the staff, not an opt-out…
     ("la hinchazón no baja, ¿es normal?", ""), ("el dolor no para, stop no funciona", ""),
     # …while asking for it in so many words is one, however long.
     ("Quiero darme de BAJA de estos mensajes, gracias", "opt_out")],
)  # fmt: skip
def test_reply_intent(text, intent):
    assert reply_intent(text) == intent
