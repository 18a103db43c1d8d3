"""A patient writing from the phone on file (WhatsApp) lists, confirms, reschedules and cancels
their own appointments, and never anyone else's."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from backend.assistant.models import Conversation
from backend.assistant.services import assistant_message_handle
from backend.assistant.tools import ToolRefused, ToolSession, tool_run
from backend.audit.models import AuditEvent
from backend.scheduling.models import Appointment, AppointmentStatus
from tests.dates import LIMA, clinic_today
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

PHONE = "+51987000111"
IN_THREE_DAYS = clinic_today() + dt.timedelta(days=3)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LIMA)


class Phone:
    """A patient's WhatsApp: every message goes to the one open conversation of the number."""

    def __init__(self, clinic: Any, phone: str = PHONE) -> None:
        self.clinic, self.phone = clinic, phone

    def say(self, text: str) -> Any:
        with tenant_context(self.clinic):
            return assistant_message_handle(
                conversation_id=None, text=text, channel="WHATSAPP", phone=self.phone
            )


@pytest.fixture
def rosa(clinic1, desk) -> Any:
    """Rosa (phone on file) with an appointment in three days at 10:00; Juan, another
    patient, with one at 11:00."""
    with tenant_context(clinic1):
        rosa = PatientFactory(document_number="40404040", first_name="Rosa", phone=PHONE)
        juan = PatientFactory(document_number="50505050", first_name="Juan", phone="+51999888777")
        mine = Appointment.objects.create(
            patient=rosa, professional=desk.professional, chair=desk.chair,
            starts_at=at(IN_THREE_DAYS, 10), ends_at=at(IN_THREE_DAYS, 10, 30),
        )  # fmt: skip
        theirs = Appointment.objects.create(
            patient=juan, professional=desk.professional, chair=desk.chair,
            starts_at=at(IN_THREE_DAYS, 11), ends_at=at(IN_THREE_DAYS, 11, 30),
        )  # fmt: skip
    return {"patient": rosa, "mine": mine, "theirs": theirs, "juan": juan}


def test_the_number_on_file_lists_only_its_patients_appointments(clinic1, rosa):
    reply = Phone(clinic1).say("¿cuándo es mi cita?")
    assert reply.intent == "MY_APPOINTMENTS"
    assert "10:00" in reply.text
    assert "11:00" not in reply.text
    with tenant_context(clinic1):
        conversation = Conversation.objects.get(phone=PHONE)
        assert conversation.patient == rosa["patient"]
        assert AuditEvent.objects.filter(
            action="assistant.verify", entity_id=str(conversation.pk)
        ).exists()


def test_an_unknown_number_must_verify_first(clinic1, rosa):
    reply = Phone(clinic1, "+51900000000").say("quiero cancelar mi cita")
    assert "DNI" in reply.text
    assert "10:00" not in reply.text


def test_cancel_asks_then_cancels_as_the_patient(clinic1, rosa):
    phone = Phone(clinic1)
    question = phone.say("ya no puedo ir, quiero cancelar mi cita")
    assert question.intent == "CANCEL"
    assert "10:00" in question.text
    assert question.quick_replies == ["Sí", "No"]
    done = phone.say("sí")
    assert "cancelada" in done.text
    with tenant_context(clinic1):
        mine = Appointment.objects.get(pk=rosa["mine"].pk)
        assert mine.status == AppointmentStatus.CANCELLED
        assert Appointment.objects.get(pk=rosa["theirs"].pk).status == AppointmentStatus.SCHEDULED
        event = AuditEvent.objects.get(action="appointment.patient_respond", entity_id=str(mine.pk))
        assert event.actor_email == f"patient:{rosa['patient'].pk}"
        assert event.changes["via"] == "assistant"


def test_saying_no_changes_nothing(clinic1, rosa):
    phone = Phone(clinic1)
    phone.say("quiero cancelar mi cita")
    assert "no cambié nada" in phone.say("no").text
    with tenant_context(clinic1):
        assert Appointment.objects.get(pk=rosa["mine"].pk).status == AppointmentStatus.SCHEDULED


def test_a_reminder_answer_confirms(clinic1, rosa):
    reply = Phone(clinic1).say("confirmo mi cita")
    assert reply.intent == "CONFIRM"
    assert "confirmada" in reply.text
    with tenant_context(clinic1):
        assert Appointment.objects.get(pk=rosa["mine"].pk).status == AppointmentStatus.CONFIRMED


def test_reschedule_offers_free_times_and_moves_the_appointment(clinic1, rosa):
    phone = Phone(clinic1)
    phone.say("quiero cambiar mi cita")
    offer = phone.say("pasado mañana en la tarde")
    assert offer.intent == "RESCHEDULE"
    assert offer.quick_replies
    question = phone.say("2")
    assert question.quick_replies == ["Sí", "No"]
    done = phone.say("sí")
    assert "ahora es el" in done.text
    with tenant_context(clinic1):
        moved = Appointment.objects.get(pk=rosa["mine"].pk)
        local = moved.starts_at.astimezone(LIMA)
        assert local.date() == clinic_today() + dt.timedelta(days=2)
        assert 13 <= local.hour < 19
        assert f"{local:%H:%M}" in offer.quick_replies[1]
        assert AuditEvent.objects.filter(
            action="appointment.reschedule",
            entity_id=str(moved.pk),
            actor_email__startswith=f"patient:{rosa['patient'].pk}",
        ).exists()


def _session(clinic, conversation: Conversation) -> ToolSession:
    from django.utils import timezone

    return ToolSession(conversation=conversation, now=timezone.now())


@pytest.mark.parametrize("tool", ["cancel_appointment", "confirm_appointment"])
def test_a_tool_call_for_another_patients_appointment_is_refused(clinic1, rosa, tool):
    Phone(clinic1).say("mis citas")
    with tenant_context(clinic1):
        conversation = Conversation.objects.get(phone=PHONE)
        session = _session(clinic1, conversation)
        with pytest.raises(ToolRefused) as refused:
            tool_run(session, tool, {"appointment": f"appointment:{rosa['theirs'].pk}"})
        assert refused.value.code == "NOT_FOUND"
        assert Appointment.objects.get(pk=rosa["theirs"].pk).status == AppointmentStatus.SCHEDULED


def test_an_anonymous_visitor_has_no_appointments_to_act_on(clinic1, rosa):
    with tenant_context(clinic1):
        conversation = Conversation.objects.create(channel="WEB")
        session = _session(clinic1, conversation)
        for name, arguments in [
            ("my_appointments", {}),
            ("cancel_appointment", {"appointment": f"appointment:{rosa['mine'].pk}"}),
            ("reschedule_appointment", {"appointment": f"appointment:{rosa['mine'].pk}",
                                        "slot": "slot:1:1:30"}),
        ]:  # fmt: skip
            with pytest.raises(ToolRefused) as refused:
                tool_run(session, name, arguments)
            assert refused.value.code in {"NOT_VERIFIED", "BAD_ARGUMENT"}
        assert Appointment.objects.get(pk=rosa["mine"].pk).status == AppointmentStatus.SCHEDULED


def test_a_forged_slot_books_nothing(clinic1, rosa, desk):
    with tenant_context(clinic1):
        conversation = Conversation.objects.create(channel="WEB")
        session = _session(clinic1, conversation)
        taken = int(rosa["theirs"].starts_at.timestamp())
        outside = int(at(IN_THREE_DAYS, 23).timestamp())
        for ref in (f"slot:{desk.professional.pk}:{taken}:30",
                    f"slot:{desk.professional.pk}:{outside}:30",
                    "slot:x:y:z", "appointment:1", f"slot:{desk.professional.pk}:{taken}:9999"):  # fmt: skip
            with pytest.raises(ToolRefused):
                tool_run(session, "book", {"slot": ref, "first_name": "A", "last_name": "B",
                                           "dni": "12345678", "phone": "987654321"})  # fmt: skip
        assert Appointment.objects.count() == 2


def test_a_verification_lapses_after_a_while(clinic1, rosa, settings):
    phone = Phone(clinic1)
    phone.say("mis citas")
    with tenant_context(clinic1):
        conversation = Conversation.objects.get(phone=PHONE)
        Conversation.objects.filter(pk=conversation.pk).update(
            verified_at=conversation.verified_at - dt.timedelta(minutes=31)
        )
        conversation.refresh_from_db()
        assert _session(clinic1, conversation).verified_patient is None


def test_a_patients_phone_gets_at_most_five_codes_an_hour_whoever_asks(clinic1, rosa):
    from backend.notifications.models import Notification

    with tenant_context(clinic1):
        for _ in range(7):  # seven visitors, each in a conversation of their own
            reply = assistant_message_handle(conversation_id=None, text="quiero cancelar mi cita")
            answer = assistant_message_handle(
                conversation_id=str(reply.conversation.public_id), text="40404040"
            )
            assert "código de 6 dígitos" in answer.text  # the same answer every time
        assert Notification.objects.filter(kind="VERIFICATION_CODE").count() == 5
