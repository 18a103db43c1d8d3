"""The model behind ``assistantMessage``: a visitor of the web widget gets the model's reply;
a clinical or urgent message, or a request for a person, never reaches the model; a model
that fails still leaves the visitor with the deterministic answer."""

from __future__ import annotations

from typing import Any

import pytest
from django_tenants.utils import tenant_context

from backend.assistant.models import Conversation, ConversationStatus, HandoffReason
from tests.assistant.conftest import Desk, Visitor
from tests.assistant.llm.fake_llm import FakeLlm, call, calls, text

# The engine calls ``llm_reply`` once the lead applies the wiring of the b16-llm report
# (``Engine._model``); then these pass, strict xfail fails, and the marker goes.


@pytest.fixture
def visitor(client: Any, desk: Desk) -> Visitor:
    return Visitor(client)


def test_the_visitor_reads_the_models_reply(fake_llm: FakeLlm, visitor: Visitor) -> None:
    fake_llm.then(calls(call("clinic_info")), text("Atendemos todos los días de 8:00 a 20:00."))

    reply = visitor.say("¿a qué hora atienden?")

    assert reply["text"] == "Atendemos todos los días de 8:00 a 20:00."
    assert reply["handedOff"] is False
    first = fake_llm.requests()[0]
    assert first["messages"][-1] == {"role": "user", "content": "¿a qué hora atienden?"}


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("se me hinchó la cara", HandoffReason.URGENT),
        ("me duele la muela", HandoffReason.CLINICAL),
        ("quiero hablar con una persona", HandoffReason.REQUESTED),
    ],
)
def test_clinical_urgent_and_human_requests_never_reach_the_model(
    fake_llm: FakeLlm, visitor: Visitor, clinic1: Any, message: str, reason: str
) -> None:
    fake_llm.then(text("Tome un analgésico."))  # what a model must never get to say

    reply = visitor.say(message)

    assert reply["handedOff"] is True
    assert "analgésico" not in reply["text"]
    assert fake_llm.received == []
    with tenant_context(clinic1):
        conversation = Conversation.objects.get(public_id=str(visitor.conversation_id))
    assert conversation.status == ConversationStatus.HANDED_OFF
    assert conversation.handoff_reason == reason


def test_a_model_that_hands_off_hands_off(fake_llm: FakeLlm, visitor: Visitor) -> None:
    fake_llm.then(
        calls(call("hand_off", {"reason": "REQUESTED"})),
        text("Le paso con una persona de recepción."),
    )

    reply = visitor.say("tengo una consulta sobre mi factura")

    assert reply["handedOff"] is True
    assert reply["text"] == "Le paso con una persona de recepción."


def test_a_failing_model_leaves_the_deterministic_answer(
    fake_llm: FakeLlm, visitor: Visitor
) -> None:
    fake_llm.fail_next(503, {"error": {"message": "overloaded", "type": "server_error"}})

    reply = visitor.say("¿a cuánto está la limpieza?")

    assert "80.00" in reply["text"]  # the catalog's price, from the engine's template
    assert len(fake_llm.received) == 1


def test_the_model_sees_this_conversation_only(fake_llm: FakeLlm, client: Any, desk: Desk) -> None:
    fake_llm.then(text("Hola, Rosa."), text("Hola."), text("¿En qué le ayudo?"))
    rosa, other = Visitor(client), Visitor(client)

    rosa.say("hola, soy Rosa Mamani")
    other.say("hola, soy Zacarías, DNI 40404040")
    rosa.say("¿me recuerdas?")

    last = fake_llm.requests()[-1]
    sent = [(m["role"], m["content"]) for m in last["messages"][1:]]
    assert sent == [
        ("user", "hola, soy Rosa Mamani"),
        ("assistant", "Hola, Rosa."),
        ("user", "¿me recuerdas?"),
    ]
    assert "Zacarías" not in str(last)
