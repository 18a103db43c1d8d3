"""The inbound hook: a WhatsApp message that no reply rule understood goes to the registered
handler (the assistant) instead of the inbox; opt-out and the reminder's answer words keep
winning; SMS and email replies keep going to the inbox; a handler that declines or fails
leaves the message to the staff."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from backend.audit.models import AuditEvent
from backend.notifications import delivery
from backend.notifications.delivery import InboundOutcome, inbound_message_receive
from backend.notifications.models import ContactPreference, InboxMessage, Notification
from tests.dates import MONDAY, lima
from tests.factories import PatientFactory
from tests.notifications.delivery_support import (  # noqa: F401 - the fixture
    EMAIL,
    PHONE,
    desk_fixture,
    notifications_of,
)

pytestmark = pytest.mark.django_db


@dataclass
class FakeHandler:
    """Records each call; answers ``outcome`` (or raises it), after writing what a real
    handler would (an audit event), so that a failure's rollback shows."""

    outcome: Any = field(default_factory=lambda: InboundOutcome("assistant"))
    busy: bool = False  # what its claim answers
    calls: list[dict[str, Any]] = field(default_factory=list)
    claims_asked: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, **kwargs: Any) -> InboundOutcome | None:
        self.calls.append(kwargs)
        AuditEvent.objects.create(action="fake.handled", entity_type="test")
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome

    def claims(self, **kwargs: Any) -> bool:
        self.claims_asked.append(kwargs)
        return self.busy


@pytest.fixture
def handler() -> Iterator[FakeHandler]:
    fake = FakeHandler()
    saved = list(delivery._inbound_handlers)
    delivery._inbound_handlers.clear()  # only this test's handler (the assistant's is not)
    delivery.inbound_handler_register(fake, claims=fake.claims)
    yield fake
    delivery._inbound_handlers[:] = saved


@pytest.fixture
def asked(desk):
    """An upcoming appointment whose confirmation request was sent on WhatsApp."""
    appointment = desk.book(lima(MONDAY, 10))
    request, _reminder = notifications_of(appointment)
    Notification.objects.filter(pk=request.pk).update(
        status="SENT", provider_message_id="wamid.ask", sent_at=request.send_at
    )
    request.refresh_from_db()
    return appointment, request


def whatsapp(body: str, sender: str = PHONE, **extra: Any) -> InboundOutcome:
    return inbound_message_receive(channel="WHATSAPP", sender=sender, body=body, **extra)


def test_a_whatsapp_question_goes_to_the_handler_not_the_inbox(desk, handler):
    now = dt.datetime(2026, 12, 1, 15, tzinfo=dt.UTC)
    outcome = whatsapp("¿a qué hora abren?", provider_message_id="wamid.q1", now=now)

    assert outcome == InboundOutcome("assistant")
    (call,) = handler.calls
    assert call == {
        "channel": "WHATSAPP",
        "sender": PHONE,
        "body": "¿a qué hora abren?",
        "patient": desk.patient,
        "in_reply_to": None,
        "reminder_appointment_id": None,
        "provider_message_id": "wamid.q1",
        "now": now,
    }
    assert not InboxMessage.objects.exists()


def test_the_sender_is_normalised_and_an_unknown_one_is_no_patient(desk, handler):
    whatsapp("hola", sender="51911111111")
    (call,) = handler.calls
    assert (call["sender"], call["patient"]) == ("+51911111111", None)


def test_a_phone_on_file_for_another_clinic_s_patient_is_no_patient_here(desk, handler, clinic2):
    from django_tenants.utils import tenant_context

    with tenant_context(clinic2):
        PatientFactory(phone="+51922222222")
    with tenant_context(desk.clinic):
        whatsapp("hola", sender="+51922222222")
    assert handler.calls[0]["patient"] is None


def test_a_reply_to_a_reminder_that_no_word_list_knows_reaches_the_handler_with_its_appointment(
    asked, handler
):
    appointment, request = asked
    whatsapp("sí, ahí estaré", in_reply_to_provider_id="wamid.ask")

    (call,) = handler.calls
    assert call["in_reply_to"] == request
    assert call["reminder_appointment_id"] == appointment.pk
    appointment.refresh_from_db()
    assert appointment.status == "SCHEDULED"  # the assistant decides, not the word list


def test_an_unquoted_reply_reaches_the_handler_with_the_pending_request_s_appointment(
    asked, handler
):
    appointment, _request = asked
    whatsapp("confirmo mi cita de mañana")
    assert handler.calls[0]["reminder_appointment_id"] == appointment.pk


def test_the_reminder_s_answer_words_still_confirm_without_the_handler(asked, handler):
    appointment, _request = asked
    outcome = whatsapp("Sí")
    assert (outcome.action, outcome.appointment_id) == ("confirmed", appointment.pk)
    assert handler.calls == []
    appointment.refresh_from_db()
    assert appointment.status == "CONFIRMED"
    # The handler was asked whether its conversation spoke after the request went out.
    (asked_claim,) = handler.claims_asked
    assert asked_claim["sender"] == PHONE
    assert asked_claim["since"] == _request.sent_at


def test_a_bare_1_answers_a_conversation_that_spoke_after_the_request(asked, handler):
    """The assistant offered numbered options after the confirmation request went out: "1"
    picks the first option, it does not confirm the older appointment."""
    appointment, _request = asked
    handler.busy = True
    outcome = whatsapp("1")
    assert outcome.action == "assistant"
    assert handler.calls[0]["reminder_appointment_id"] == appointment.pk
    appointment.refresh_from_db()
    assert appointment.status == "SCHEDULED"


def test_quoting_the_request_confirms_even_in_a_conversation(asked, handler):
    appointment, _request = asked
    handler.busy = True
    outcome = whatsapp("1", in_reply_to_provider_id="wamid.ask")
    assert outcome.action == "confirmed"
    assert handler.calls == []
    appointment.refresh_from_db()
    assert appointment.status == "CONFIRMED"


@pytest.mark.parametrize("text", ["BAJA", "STOP", "quiero darme de baja"])
def test_opting_out_still_wins_over_the_handler(asked, handler, text):
    appointment, _request = asked
    handler.busy = True
    assert whatsapp(text).action == "opted_out"
    assert handler.calls == []
    assert ContactPreference.objects.get(patient=appointment.patient).opted_out_at is not None


def test_a_handler_that_declines_leaves_the_message_to_the_inbox(desk, handler):
    handler.outcome = None
    outcome = whatsapp("¿a qué hora abren?")
    assert outcome.action == "inbox"
    message = InboxMessage.objects.get(pk=outcome.inbox_message_id)
    assert (message.body, message.patient_id) == ("¿a qué hora abren?", desk.patient.pk)
    assert len(handler.calls) == 1


def test_a_handler_that_fails_leaves_nothing_half_written_and_the_inbox_keeps_the_message(
    desk, handler
):
    handler.outcome = RuntimeError("a bug in the assistant")
    outcome = whatsapp("me duele mucho la muela")
    assert outcome.action == "inbox"
    assert InboxMessage.objects.get().body == "me duele mucho la muela"
    assert not AuditEvent.objects.filter(action="fake.handled").exists()  # rolled back


def test_sms_and_email_replies_keep_going_to_the_inbox(desk, handler):
    sms = inbound_message_receive(channel="SMS", sender=PHONE, body="¿a qué hora abren?")
    mail = inbound_message_receive(channel="EMAIL", sender=EMAIL, body="¿a qué hora abren?")
    assert (sms.action, mail.action) == ("inbox", "inbox")
    assert handler.calls == []
    assert InboxMessage.objects.count() == 2


def test_without_a_handler_whatsapp_goes_to_the_inbox_as_before(desk):
    saved = list(delivery._inbound_handlers)
    delivery._inbound_handlers.clear()
    try:
        assert whatsapp("¿a qué hora abren?").action == "inbox"
    finally:
        delivery._inbound_handlers[:] = saved


def test_registering_the_same_handler_twice_calls_it_once(desk, handler):
    delivery.inbound_handler_register(handler, claims=handler.claims)
    whatsapp("hola")
    assert len(handler.calls) == 1
