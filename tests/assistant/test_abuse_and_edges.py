"""What a review of the assistant found, pinned: abuse by anonymous visitors, answers that would
tell a DNI on file from one that is not, and conversation paths that once crashed or lost
their way."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from backend.assistant.models import Conversation, ConversationStatus, HandoffReason
from backend.assistant.services import assistant_message_handle
from backend.assistant.tools import ToolRefused, ToolSession, tool_run
from backend.audit.models import AuditEvent
from backend.patients.models import Patient
from backend.scheduling.models import Appointment, AppointmentStatus
from tests.assistant.conftest import Visitor
from tests.dates import LIMA, clinic_today
from tests.factories import ChairFactory, PatientFactory, ProfessionalFactory, weekly

pytestmark = pytest.mark.django_db

PHONE = "+51987000111"
IN_THREE_DAYS = clinic_today() + dt.timedelta(days=3)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LIMA)


def web(text: str, conversation: Any = None, ip: str | None = "203.0.113.5") -> Any:
    return assistant_message_handle(
        conversation_id=str(conversation.public_id) if conversation else None, text=text, ip=ip
    )


def whatsapp(text: str, phone: str = PHONE) -> Any:
    return assistant_message_handle(
        conversation_id=None, text=text, channel="WHATSAPP", phone=phone
    )


def book_new(dni: str, ip: str = "203.0.113.5", phone: str = "987654321") -> Any:
    reply = web("quiero una cita mañana en la tarde", ip=ip)
    for text in ("1", dni, "Lucía Ramos", phone):
        reply = web(text, reply.conversation, ip=ip)
    return web("sí", reply.conversation, ip=ip)


def test_an_anonymous_conversation_books_once(clinic1, desk):
    with tenant_context(clinic1):
        done = book_new("11111111")
        assert done.text.startswith("¡Listo!")
        again = web("quiero otra cita mañana en la tarde", done.conversation)
        for text in ("1", "22222222", "Pedro Salas", "912345678"):
            again = web(text, again.conversation)
        refused = web("sí", again.conversation)
        assert refused.handed_off is True
        assert Patient.objects.filter(document_number="22222222").count() == 0
        assert Appointment.objects.count() == 1


def test_an_address_books_as_new_patients_three_times_a_day(clinic1, desk):
    with tenant_context(clinic1):
        for n in range(3):
            assert book_new(f"3333333{n}").text.startswith("¡Listo!")
        fourth = book_new("44444444")
        assert fourth.handed_off is True
        assert not Patient.objects.filter(document_number="44444444").exists()
        assert book_new("55555555", ip="198.51.100.20").text.startswith("¡Listo!")


def test_a_booking_refused_after_registering_leaves_nothing_dangling(clinic1, desk):
    with tenant_context(clinic1):
        other = ProfessionalFactory(full_name="Dr. Zeta", hours=weekly(range(7), (8, 20)))
        reply = web("quiero una cita mañana en la tarde")
        for text in ("1", "61616161", "Lucía Ramos", "987654321"):
            reply = web(text, reply.conversation)
        slot = reply.conversation.state["slot"]
        _, professional_id, start, minutes = slot.split(":")
        starts = dt.datetime.fromtimestamp(int(start), tz=dt.UTC)
        # The only chair goes to another professional at that very time.
        Appointment.objects.create(
            patient=PatientFactory(document_number="62626262"),
            professional=other if int(professional_id) != other.pk else desk.professional,
            chair=desk.chair, starts_at=starts, ends_at=starts + dt.timedelta(minutes=int(minutes)),
        )  # fmt: skip
        answer = web("sí", reply.conversation)
        assert "acaba de ocuparse" in answer.text or answer.text.startswith("No tengo")
        connection.check_constraints()  # no conversation points at a rolled-back patient
        assert not Patient.objects.filter(document_number="61616161").exists()
        assert Conversation.objects.get(pk=reply.conversation.pk).patient_id is None


def test_a_wrong_code_answers_alike_whether_the_dni_is_on_file_or_not(clinic1, desk):
    with tenant_context(clinic1):
        PatientFactory(document_number="40404040", phone=PHONE)
        answers = []
        for dni in ("40404040", "49494949"):
            reply = web("quiero ver mis citas")
            sent = web(dni, reply.conversation)
            answers.append((sent.text, web("000000", reply.conversation).text))
        assert answers[0] == answers[1]


def test_an_identity_mismatch_is_audited(clinic1, desk):
    with tenant_context(clinic1):
        PatientFactory(document_number="40404040", phone="+51911111111")
        done = book_new("40404040")
        assert done.handed_off is True
        assert AuditEvent.objects.filter(
            action="assistant.identity_mismatch", entity_id=str(done.conversation.pk)
        ).exists()


def test_misunderstanding_inside_a_flow_hands_off_after_three(clinic1, desk):
    with tenant_context(clinic1):
        reply = web("quiero cancelar mi cita")
        replies = [web("xqzw blorf", reply.conversation) for _ in range(3)]
        assert [r.handed_off for r in replies] == [False, False, True]
        conversation = Conversation.objects.get(pk=reply.conversation.pk)
        assert conversation.handoff_reason == HandoffReason.MISUNDERSTOOD


def test_urgent_symptoms_after_a_hand_off_still_get_the_phone(clinic1, desk):
    with tenant_context(clinic1):
        reply = web("quiero hablar con una persona")
        urgent = web("se me hinchó la cara y no puedo respirar", reply.conversation)
        assert "+5114441234" in urgent.text
        assert "emergencia" in urgent.text
        conversation = Conversation.objects.get(pk=reply.conversation.pk)
        assert (conversation.status, conversation.handoff_reason) == (
            ConversationStatus.HANDED_OFF, HandoffReason.URGENT,
        )  # fmt: skip


@pytest.fixture
def rosa(clinic1, desk) -> Any:
    with tenant_context(clinic1):
        rosa = PatientFactory(document_number="40404040", first_name="Rosa", phone=PHONE)
        long_one = Appointment.objects.create(
            patient=rosa, professional=desk.professional, chair=desk.chair,
            starts_at=at(IN_THREE_DAYS, 10), ends_at=at(IN_THREE_DAYS, 11, 30),
        )  # fmt: skip
        second = Appointment.objects.create(
            patient=rosa, professional=desk.professional, chair=desk.chair,
            starts_at=at(IN_THREE_DAYS, 15), ends_at=at(IN_THREE_DAYS, 15, 30),
        )  # fmt: skip
    return {"patient": rosa, "long": long_one, "second": second}


def test_choosing_an_appointment_by_a_date_never_crashes(clinic1, rosa):
    with tenant_context(clinic1):
        asked = whatsapp("quiero cancelar mi cita")
        assert "¿Cuál de tus citas?" in asked.text
        whatsapp("la del sábado")
        whatsapp("5")
        assert Appointment.objects.filter(status=AppointmentStatus.CANCELLED).count() == 0


def test_rescheduling_keeps_the_length_and_the_professional(clinic1, rosa, desk):
    with tenant_context(clinic1):
        ProfessionalFactory(full_name="Dr. Otro", hours=weekly(range(7), (8, 20)))
        ChairFactory()
        whatsapp("quiero cambiar mi cita")
        whatsapp("1")
        offer = whatsapp("pasado mañana en la tarde")
        assert "Dr. Otro" not in offer.text
        whatsapp("1")
        assert "ahora es el" in whatsapp("sí").text
        moved = Appointment.objects.get(pk=rosa["long"].pk)
        assert moved.ends_at - moved.starts_at == dt.timedelta(minutes=90)
        assert moved.professional == desk.professional


def test_a_forged_slot_of_another_length_books_nothing(clinic1, desk):
    with tenant_context(clinic1):
        conversation = Conversation.objects.create(channel="WEB")
        from django.utils import timezone

        session = ToolSession(conversation=conversation, now=timezone.now())
        start = int(at(clinic_today() + dt.timedelta(days=2), 9).timestamp())
        with pytest.raises(ToolRefused) as refused:
            tool_run(session, "book", {
                "slot": f"slot:{desk.professional.pk}:{start}:480", "first_name": "A",
                "last_name": "B", "dni": "12345678", "phone": "987654321",
            })  # fmt: skip
        assert refused.value.code == "BAD_ARGUMENT"
        assert not Appointment.objects.exists()


@pytest.mark.parametrize("text", ["quiero una cita el 31/12/9999", "cita el 9999-12-31"])
def test_a_date_far_away_is_answered_not_crashed(clinic1, desk, text):
    with tenant_context(clinic1):
        reply = web(text)
        assert reply.text


def test_a_bare_yes_asks_before_confirming(clinic1, rosa):
    with tenant_context(clinic1):
        whatsapp("¿tienen estacionamiento?")
        asked = whatsapp("sí")
        assert Appointment.objects.get(pk=rosa["long"].pk).status == AppointmentStatus.SCHEDULED
        if asked.intent == "CONFIRM":
            assert asked.quick_replies == ["Sí", "No"]
            whatsapp("sí")
            assert Appointment.objects.get(pk=rosa["long"].pk).status == AppointmentStatus.CONFIRMED


def test_english_dates_read_in_english(client, desk):
    reply = Visitor(client, language="en").say("book an appointment for tomorrow afternoon")
    tomorrow = clinic_today() + dt.timedelta(days=1)
    assert f"{tomorrow:%A}, {tomorrow:%B} {tomorrow.day}" in reply["text"]
