"""The one-time code the assistant asks for travels through the messaging channels: with the
development outbox a developer reads it in the notification's body and verifies with it; the
WhatsApp sender whose number is not on file verifies the same way."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from backend.assistant.models import Conversation
from backend.assistant.services import assistant_message_handle
from backend.notifications import delivery
from backend.notifications.delivery import inbound_message_receive
from backend.notifications.models import Notification
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

PHONE = "+51987654321"


@pytest.fixture
def patient(desk, clinic1, settings) -> Any:
    settings.MESSAGING_BACKEND = "outbox"
    with tenant_context(clinic1):
        yield PatientFactory(
            first_name="Rosa", last_name="Quispe", phone=PHONE, email="rosa@correo.pe",
            document_number="45678912",
        )  # fmt: skip


def _code_from_the_outbox() -> str:
    note = Notification.objects.filter(kind="VERIFICATION_CODE").latest("id")
    delivery.notification_send(notification_id=note.pk, now=timezone.now())
    note.refresh_from_db()
    assert note.status == "SENT"
    assert note.provider_message_id.startswith("outbox-")
    return re.search(r"\b(\d{6})\b", note.body)[1]  # type: ignore[index]


def test_on_the_web_the_code_from_the_outbox_verifies_the_patient(patient):
    reply = assistant_message_handle(conversation_id=None, text="quiero ver mis citas")
    conversation_id = str(reply.conversation.public_id)
    assistant_message_handle(conversation_id=conversation_id, text="45678912")
    note = Notification.objects.get(kind="VERIFICATION_CODE")
    assert (note.patient_id, note.channel, note.recipient) == (patient.pk, "WHATSAPP", PHONE)

    assistant_message_handle(conversation_id=conversation_id, text=_code_from_the_outbox())

    conversation = Conversation.objects.get(public_id=conversation_id)
    assert conversation.patient_id == patient.pk
    assert conversation.verified_at is not None


def test_a_wrong_code_verifies_nobody(patient):
    reply = assistant_message_handle(conversation_id=None, text="quiero ver mis citas")
    conversation_id = str(reply.conversation.public_id)
    assistant_message_handle(conversation_id=conversation_id, text="45678912")
    code = _code_from_the_outbox()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    assistant_message_handle(conversation_id=conversation_id, text=wrong)

    assert Conversation.objects.get(public_id=conversation_id).verified_at is None


def test_an_unknown_whatsapp_number_verifies_with_the_code_sent_to_the_phone_on_file(patient):
    stranger = "+51911222333"  # Rosa writing from a friend's phone
    inbound_message_receive(channel="WHATSAPP", sender=stranger, body="quiero ver mis citas")
    inbound_message_receive(channel="WHATSAPP", sender=stranger, body="45678912")
    note = Notification.objects.get(kind="VERIFICATION_CODE")
    assert note.recipient == PHONE  # to the number on file, never to the sender

    inbound_message_receive(channel="WHATSAPP", sender=stranger, body=_code_from_the_outbox())

    conversation = Conversation.objects.get(phone=stranger)
    assert conversation.patient_id == patient.pk
    assert conversation.verified_at is not None
