"""assistantMessage refuses, with a code and nothing written: the platform's domain, another
clinic's conversation, bad input, and more messages than the rate limits allow."""

from __future__ import annotations

from typing import Any

import pytest
from django_tenants.utils import tenant_context

from backend.assistant.models import AssistantSettings, Conversation, ConversationMessage
from backend.assistant.selectors import assistant_settings_get
from backend.assistant.services import assistant_message_handle
from tests.assistant.conftest import HOST, HOST2, PUBLIC, SEND, Visitor
from tests.conftest import error_code, operation_codes

pytestmark = pytest.mark.django_db


def send(
    client: Any,
    text: Any,
    conversation_id: Any = None,
    host: str = HOST,
    token: str | None = None,
    **headers: Any,
) -> tuple[int, dict[str, Any]]:
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    response = client.post(
        "/graphql",
        data={
            "query": SEND,
            "variables": {"input": {"conversationId": conversation_id, "text": text}},
        },
        content_type="application/json",
        HTTP_HOST=host,
        **headers,
    )
    return response.status_code, response.json()


def counts(clinic: Any) -> tuple[int, int]:
    with tenant_context(clinic):
        return Conversation.objects.count(), ConversationMessage.objects.count()


def test_the_platform_domain_has_no_assistant(client, public_tenant):
    _status, body = send(client, "hola", host=PUBLIC)
    assert error_code(body) == "TENANT_DOMAIN_ONLY"


def test_another_clinics_conversation_is_not_found(client, clinic1, clinic2, desk):
    visitor = Visitor(client)
    visitor.say("hola")
    before = counts(clinic2)
    _, body = send(client, "hola", visitor.conversation_id, host=HOST2)
    assert operation_codes(body["data"]["assistantMessage"]) == ["NOT_FOUND"]
    assert counts(clinic2) == before


def test_a_staff_token_does_not_make_the_assistant_act_as_staff(client, clinic1, desk, admin_token):
    _, body = send(client, "¿cuándo es mi cita?", token=admin_token)
    reply = body["data"]["assistantMessage"]
    assert reply["intent"] == "MY_APPOINTMENTS"
    assert "DNI" in reply["text"]


def test_a_wrong_or_foreign_token_leaves_an_anonymous_visitor(client, clinic2, desk, admin_token):
    # assistantMessage needs no token: a bad one is ignored, as for login, never trusted.
    for token in ("dk_not-a-token", admin_token):
        _, body = send(client, "¿cuándo es mi cita?", token=token, host=HOST2)
        reply = body["data"]["assistantMessage"]
        assert reply["__typename"] == "AssistantReply"
        assert "DNI" in reply["text"]


@pytest.mark.parametrize(
    ("text", "conversation_id", "code"),
    [
        ("", None, "MESSAGE_EMPTY"),
        ("   \n\t ", None, "MESSAGE_EMPTY"),
        ("\u200b\u202e\u2066", None, "MESSAGE_EMPTY"),
        ("a" * 501, None, "MESSAGE_TOO_LONG"),
        ("hola", "not-a-uuid", "NOT_FOUND"),
        ("hola", "6f1c1d1e-0000-4000-8000-000000000000", "NOT_FOUND"),
        ("hola", "1", "NOT_FOUND"),
    ],
)
def test_bad_input_is_coded_and_writes_nothing(client, clinic1, desk, text, conversation_id, code):
    before = counts(clinic1)
    status, body = send(client, text, conversation_id)
    assert status == 200
    assert operation_codes(body["data"]["assistantMessage"]) == [code]
    assert counts(clinic1) == before


def test_a_closed_conversation_asks_for_a_new_one(client, clinic1, desk):
    visitor = Visitor(client)
    visitor.say("hola")
    with tenant_context(clinic1):
        Conversation.objects.filter(public_id=visitor.conversation_id).update(status="CLOSED")
    _, body = send(client, "hola", visitor.conversation_id)
    assert operation_codes(body["data"]["assistantMessage"]) == ["CONVERSATION_CLOSED"]


def test_a_whatsapp_conversation_cannot_be_continued_from_the_web(client, clinic1, desk):
    with tenant_context(clinic1):
        reply = assistant_message_handle(
            conversation_id=None, text="hola", channel="WHATSAPP", phone="+51987000111"
        )
    _, body = send(client, "mis citas", str(reply.conversation.public_id))
    assert operation_codes(body["data"]["assistantMessage"]) == ["NOT_FOUND"]


def test_the_assistant_turned_off_answers_nothing(client, clinic1, desk):
    with tenant_context(clinic1):
        assistant_settings_get()
        AssistantSettings.objects.update(enabled=False)
    before = counts(clinic1)
    _, body = send(client, "hola")
    assert operation_codes(body["data"]["assistantMessage"]) == ["ASSISTANT_DISABLED"]
    assert counts(clinic1) == before


def test_rate_limit_per_conversation(client, clinic1, desk, settings):
    settings.ASSISTANT_RATE_PER_CONVERSATION = 3
    visitor = Visitor(client)
    for _ in range(3):
        visitor.say("hola")
    before = counts(clinic1)
    _, body = send(client, "hola", visitor.conversation_id)
    assert operation_codes(body["data"]["assistantMessage"]) == ["RATE_LIMITED"]
    assert counts(clinic1) == before


def test_rate_limit_per_address_across_new_conversations(client, clinic1, desk, settings):
    settings.ASSISTANT_RATE_PER_IP = 4
    for _ in range(4):
        Visitor(client).say("hola")
    before = counts(clinic1)
    _, body = send(client, "hola")
    assert operation_codes(body["data"]["assistantMessage"]) == ["RATE_LIMITED"]
    assert counts(clinic1) == before
    # Another address is not held back.
    _, body = send(client, "hola", REMOTE_ADDR="203.0.113.9")
    assert body["data"]["assistantMessage"]["__typename"] == "AssistantReply"


def test_rate_limit_per_phone(clinic1, desk, settings):
    from django.core.exceptions import ValidationError

    settings.ASSISTANT_RATE_PER_PHONE = 2
    with tenant_context(clinic1):
        for _ in range(2):
            assistant_message_handle(
                conversation_id=None, text="hola", channel="WHATSAPP", phone="+51987000111"
            )
        with pytest.raises(ValidationError) as refused:
            assistant_message_handle(
                conversation_id=None, text="hola", channel="WHATSAPP", phone="+51987000111"
            )
    assert refused.value.error_dict["text"][0].code == "RATE_LIMITED"
