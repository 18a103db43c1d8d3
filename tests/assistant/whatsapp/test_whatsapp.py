"""The assistant on WhatsApp, through the messaging app's inbound path: a patient's question
reaches the assistant (one conversation per number), its reply goes out as a free-form text
to the fake WhatsApp Cloud API; quick replies are numbered and a bare number picks one; an
unknown number is nobody; the reminder's answer words still confirm; a refused message, an
image or the assistant switched off leave the message to the staff's inbox."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from backend.assistant import whatsapp
from backend.assistant.models import (
    AssistantSettings,
    Conversation,
    ConversationMessage,
    ConversationStatus,
)
from backend.notifications import channels, delivery
from backend.notifications.delivery import inbound_message_receive
from backend.notifications.models import InboxMessage, Notification
from backend.scheduling.models import Appointment
from backend.scheduling.services import appointment_schedule
from tenants_core.models import MessagingSender
from tests.factories import PatientFactory
from tests.fakes.fixtures import CLINIC1_WHATSAPP_ID, fake_whatsapp

__all__ = ["fake_whatsapp"]  # a fixture used by name below

pytestmark = pytest.mark.django_db

PHONE = "+51987654321"
STRANGER = "+51911222333"


@pytest.fixture
def clinic(desk, clinic1) -> Any:
    """clinic1 open every day 08:00–20:00 (tests/assistant/conftest.py), a patient whose phone
    is on file; the test runs in clinic1's schema."""
    with tenant_context(clinic1):
        PatientFactory(
            first_name="Rosa", last_name="Quispe", phone=PHONE, document_number="45678912"
        )
        yield clinic1


def write(body: str, sender: str = PHONE, **extra: Any) -> delivery.InboundOutcome:
    return inbound_message_receive(channel="WHATSAPP", sender=sender, body=body, **extra)


def reply_jobs() -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT args FROM public.procrastinate_jobs WHERE task_name = %s ORDER BY id",
            [whatsapp.REPLY_TASK_NAME],
        )
        return [json.loads(r[0]) if isinstance(r[0], str) else r[0] for r in cursor.fetchall()]


def transcript(phone: str = PHONE) -> list[tuple[str, str]]:
    return list(
        ConversationMessage.objects.filter(conversation__phone=phone)
        .order_by("created_at", "id")
        .values_list("author", "text")
    )


def test_a_whatsapp_question_reaches_the_assistant_and_its_reply_goes_to_whatsapp(
    clinic, fake_whatsapp, caplog
):
    caplog.set_level(logging.DEBUG)
    MessagingSender.objects.create(
        clinic=clinic, channel="WHATSAPP", external_id=CLINIC1_WHATSAPP_ID
    )

    outcome = write("¿a qué hora abren?", provider_message_id="wamid.q1")

    assert outcome.action == "assistant"
    assert not InboxMessage.objects.exists()
    conversation = Conversation.objects.get(phone=PHONE)
    assert (conversation.channel, conversation.status) == ("WHATSAPP", "OPEN")
    (asked, answered) = transcript()
    assert asked == ("PATIENT", "¿a qué hora abren?")
    assert answered[0] == "ASSISTANT"
    assert "08:00–20:00" in answered[1]
    (job,) = reply_jobs()
    reply = ConversationMessage.objects.get(pk=job["message_id"])
    assert reply.author == "ASSISTANT"
    assert (job["clinic_id"], job["clinic_schema"]) == (clinic.pk, clinic.schema_name)

    wamid = whatsapp.whatsapp_reply_deliver(message_id=job["message_id"])

    (request,) = fake_whatsapp.received
    assert request.status == 200
    assert request.path == f"/v21.0/{CLINIC1_WHATSAPP_ID}/messages"
    assert request.json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": PHONE,
        "type": "text",
        "text": {"preview_url": False, "body": reply.text},
    }
    assert wamid == request.answer["messages"][0]["id"]
    assert "08:00" not in caplog.text  # no message text in the logs


def test_one_conversation_per_number(clinic):
    write("hola")
    write("¿dónde están?")
    write("hola", sender=STRANGER)
    assert Conversation.objects.filter(phone=PHONE).count() == 1
    assert Conversation.objects.filter(phone=STRANGER).count() == 1
    assert [author for author, _text in transcript()] == ["PATIENT", "ASSISTANT"] * 2


def test_quick_replies_are_numbered_and_a_bare_number_picks_one(clinic):
    write("quiero ver mis citas")  # Rosa writes from her own number: she is verified
    write("quiero sacar una cita mañana en la tarde")
    write("1")  # the first of the times the assistant listed (its own numbering)
    asked = transcript()[-1][1]
    assert asked.endswith("\n\n1. Sí\n2. No")  # a yes/no question, numbered for WhatsApp
    booked_before = Appointment.objects.count()

    write("1")

    assert transcript()[-2] == ("PATIENT", "Sí")  # what the assistant understood
    assert Appointment.objects.count() == booked_before + 1
    appointment = Appointment.objects.latest("id")
    assert appointment.patient.phone == PHONE


def test_a_list_the_assistant_wrote_itself_is_not_numbered_twice():
    text = "These times are free:\n1. lunes 10:00\n2. lunes 11:00\nWhich one suits you?"
    assert whatsapp.whatsapp_text(text, ["lun 10:00", "lun 11:00"]) == text
    assert whatsapp.whatsapp_text("Hola", []) == "Hola"
    assert whatsapp.whatsapp_text("¿Reservo?", ["Sí", "No"]) == "¿Reservo?\n\n1. Sí\n2. No"
    assert len(whatsapp.whatsapp_text("x" * 5000, ["Sí"])) == whatsapp.MAX_TEXT


def test_a_number_out_of_the_list_is_passed_as_written(clinic):
    write("quiero sacar una cita mañana en la tarde")
    write("1")
    write("7")
    assert transcript()[-2] == ("PATIENT", "7")


def test_an_unknown_number_is_not_matched_to_a_patient(clinic):
    PatientFactory(phone="+51911222334")  # one digit off

    write("quiero ver mis citas", sender=STRANGER)

    conversation = Conversation.objects.get(phone=STRANGER)
    assert (conversation.patient_id, conversation.verified_at) == (None, None)
    assert "DNI" in transcript(STRANGER)[-1][1]  # it asks who is writing


def test_the_patient_s_own_number_identifies_them(clinic):
    write("quiero ver mis citas")
    conversation = Conversation.objects.get(phone=PHONE)
    assert conversation.patient is not None
    assert conversation.patient.phone == PHONE
    assert conversation.verified_at is not None


@pytest.fixture
def reminded(clinic, make_staff) -> tuple[Appointment, Notification]:
    """Rosa's appointment the day after tomorrow, its confirmation request sent on WhatsApp."""
    from backend.accounts.models import Role
    from backend.resources.models import Chair, Professional

    staff = make_staff(clinic, Role.RECEPTIONIST)
    patient = PatientFactory._meta.model.objects.get(phone=PHONE)
    starts = (timezone.now() + dt.timedelta(days=2)).replace(
        hour=15, minute=0, second=0, microsecond=0
    )
    appointment = appointment_schedule(
        actor=staff,
        patient=patient,
        professional=Professional.objects.get(),
        chair=Chair.objects.get(),
        starts_at=starts,
        ends_at=starts + dt.timedelta(minutes=30),
    )
    request = Notification.objects.get(appointment=appointment, kind="CONFIRMATION_REQUEST")
    Notification.objects.filter(pk=request.pk).update(
        status="SENT", provider_message_id="wamid.ask", sent_at=timezone.now()
    )
    request.refresh_from_db()
    return appointment, request


def test_the_reminder_s_answer_words_still_confirm_with_the_assistant_on(reminded):
    appointment, _request = reminded
    outcome = write("Sí")
    assert (outcome.action, outcome.appointment_id) == ("confirmed", appointment.pk)
    appointment.refresh_from_db()
    assert appointment.status == "CONFIRMED"
    assert not Conversation.objects.exists()  # the word list answered; no conversation


def test_a_confirmation_in_the_patient_s_own_words_reaches_the_assistant_which_confirms(
    reminded,
):
    appointment, _request = reminded
    outcome = write("sí, ahí estaré", in_reply_to_provider_id="wamid.ask")
    assert outcome.action == "assistant"
    appointment.refresh_from_db()
    assert appointment.status == "CONFIRMED"


def test_a_bare_1_inside_a_conversation_answers_the_conversation_not_the_reminder(reminded):
    appointment, request = reminded
    Notification.objects.filter(pk=request.pk).update(
        sent_at=timezone.now() - dt.timedelta(hours=1)
    )
    write("¿a cuánto está la limpieza?")  # the conversation speaks after the request
    offered = transcript()[-1][1]
    assert "\n\n1. " in offered
    first_option = offered.rsplit("\n\n", 1)[1].splitlines()[0].removeprefix("1. ")

    outcome = write("1")

    assert outcome.action == "assistant"
    assert transcript()[-2] == ("PATIENT", first_option)
    appointment.refresh_from_db()
    assert appointment.status == "SCHEDULED"


def test_a_rate_limited_message_gets_no_reply_and_goes_to_the_inbox(clinic, settings):
    settings.ASSISTANT_RATE_PER_PHONE = 2
    write("hola")
    write("¿dónde están?")
    jobs_before = len(reply_jobs())

    outcome = write("¿y los sábados?", provider_message_id="wamid.many")

    assert outcome.action == "inbox"
    message = InboxMessage.objects.get()
    assert (message.body, message.sender, message.provider_message_id) == (
        "¿y los sábados?", PHONE, "wamid.many",
    )  # fmt: skip
    assert message.patient is not None
    assert message.patient.phone == PHONE
    assert len(reply_jobs()) == jobs_before
    assert len(transcript()) == 4  # nothing of the refused message in the conversation


def test_a_message_too_long_goes_to_the_inbox(clinic, settings):
    settings.ASSISTANT_MAX_MESSAGE_CHARS = 20
    assert write("hola, quisiera saber muchas cosas sobre la clínica").action == "inbox"
    assert not Conversation.objects.exists()
    assert reply_jobs() == []


def test_with_the_assistant_off_messages_go_to_the_inbox(clinic):
    AssistantSettings.objects.update_or_create(pk=1, defaults={"enabled": False})
    assert write("¿a qué hora abren?").action == "inbox"
    assert not Conversation.objects.exists()
    assert reply_jobs() == []


def test_an_image_goes_to_the_inbox(clinic):
    assert write("[image]").action == "inbox"
    assert not Conversation.objects.exists()


def test_a_conversation_taken_over_by_staff_stores_the_message_without_an_answer(clinic):
    write("hola")
    Conversation.objects.filter(phone=PHONE).update(status=ConversationStatus.TAKEN_OVER)
    jobs_before = len(reply_jobs())

    assert write("¿me atienden hoy?").action == "assistant"

    assert transcript()[-1] == ("PATIENT", "¿me atienden hoy?")
    assert len(reply_jobs()) == jobs_before


def test_sms_is_not_the_assistant_s(clinic):
    outcome = inbound_message_receive(channel="SMS", sender=PHONE, body="¿a qué hora abren?")
    assert outcome.action == "inbox"
    assert not Conversation.objects.exists()


# --- replies out ------------------------------------------------------------------------------


def _staff_message(clinic, make_staff, text: str = "Hola Rosa, le escribe Ana.") -> Any:
    from backend.accounts.models import Role

    write("hola")
    conversation = Conversation.objects.get(phone=PHONE)
    staff = make_staff(clinic, Role.RECEPTIONIST)
    return ConversationMessage.objects.create(
        conversation=conversation, author="STAFF", staff=staff, text=text
    )


def test_a_staff_reply_is_queued_and_sent_as_written(clinic, make_staff, fake_whatsapp):
    MessagingSender.objects.create(
        clinic=clinic, channel="WHATSAPP", external_id=CLINIC1_WHATSAPP_ID
    )
    message = _staff_message(clinic, make_staff)

    job_id = whatsapp.whatsapp_reply_send(message)

    assert job_id is not None
    assert reply_jobs()[-1]["message_id"] == message.pk
    whatsapp.whatsapp_reply_deliver(message_id=message.pk)
    assert fake_whatsapp.received[-1].json["text"]["body"] == "Hola Rosa, le escribe Ana."
    assert whatsapp.whatsapp_window_open(message.conversation, timezone.now())
    later = timezone.now() + whatsapp.CUSTOMER_SERVICE_WINDOW
    assert not whatsapp.whatsapp_window_open(message.conversation, later)


def test_a_web_conversation_is_not_sent_to_whatsapp(clinic):
    conversation = Conversation.objects.create(channel="WEB")
    message = ConversationMessage.objects.create(
        conversation=conversation, author="ASSISTANT", text="Hola"
    )
    assert whatsapp.whatsapp_reply_send(message) is None
    assert reply_jobs() == []
    assert whatsapp.whatsapp_reply_deliver(message_id=message.pk) is None


def test_an_unreachable_provider_is_retried_then_given_up(clinic, make_staff, monkeypatch, caplog):
    message = _staff_message(clinic, make_staff, "Su cita es a las 10")

    def down(outgoing: channels.OutgoingMessage) -> str:
        raise channels.ProviderUnavailable("WhatsApp answered 503")

    monkeypatch.setattr(channels, "send", down)
    with pytest.raises(channels.ProviderUnavailable):
        whatsapp.whatsapp_reply_deliver(message_id=message.pk, final_attempt=False)
    assert whatsapp.whatsapp_reply_deliver(message_id=message.pk, final_attempt=True) is None
    assert "not sent" in caplog.text
    assert "Su cita" not in caplog.text


def test_a_refused_reply_is_not_retried(clinic, make_staff, fake_whatsapp):
    MessagingSender.objects.create(
        clinic=clinic, channel="WHATSAPP", external_id=CLINIC1_WHATSAPP_ID
    )
    fake_whatsapp.rejected_numbers.add(PHONE)
    message = _staff_message(clinic, make_staff)
    assert whatsapp.whatsapp_reply_deliver(message_id=message.pk, final_attempt=False) is None
    assert [r.status for r in fake_whatsapp.received] == [400]


def test_the_development_outbox_sends_nothing(clinic, make_staff, settings):
    settings.MESSAGING_BACKEND = "outbox"
    message = _staff_message(clinic, make_staff)
    assert whatsapp.whatsapp_reply_deliver(message_id=message.pk).startswith("outbox-")


def test_with_the_assistant_off_a_bare_1_confirms_even_after_a_conversation(reminded):
    appointment, request = reminded
    Notification.objects.filter(pk=request.pk).update(
        sent_at=timezone.now() - dt.timedelta(hours=1)
    )
    write("¿a cuánto está la limpieza?")
    AssistantSettings.objects.update_or_create(pk=1, defaults={"enabled": False})

    assert write("1").action == "confirmed"
    appointment.refresh_from_db()
    assert appointment.status == "CONFIRMED"
