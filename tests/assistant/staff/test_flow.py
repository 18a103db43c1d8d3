"""The whole hand-off, through the web widget's own operations and the staff's: a visitor
asks for a person, the front desk finds the conversation, answers it (the assistant falls
silent), the visitor reads the answer in the transcript; released, the assistant answers
again; closed, the conversation takes no more messages."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from backend.accounts.models import Role
from backend.assistant.models import Conversation
from tests.assistant.conftest import Visitor
from tests.assistant.staff.support import ask
from tests.conftest import graphql

pytestmark = pytest.mark.django_db

LIST = """query($status: [AssistantConversationStatus!]) {
  assistantConversations(status: $status, first: 10) { totalCount edges { node { id status
    handoffReason messages { author text } } } } }"""
TRANSCRIPT = """query($id: ID!) { assistantTranscript(conversationId: $id) {
  status messages { author text } } }"""
REPLY = """mutation($id: ID!, $text: String!) { replyToAssistantConversation(id: $id, text: $text) {
  __typename ... on AssistantConversation { status } } }"""
RELEASE = """mutation($id: ID!) { releaseAssistantConversation(id: $id) {
  __typename ... on AssistantConversation { status } } }"""
CLOSE = """mutation($id: ID!) { closeAssistantConversation(id: $id) {
  __typename ... on AssistantConversation { status } } }"""
SEND = """mutation($input: AssistantMessageInput!) { assistantMessage(input: $input) {
  __typename ... on AssistantReply { text handedOff }
  ... on OperationInfo { messages { code } } } }"""


def test_a_visitor_handed_off_is_answered_by_the_front_desk_then_by_the_assistant_again(
    client, clinic1, desk, make_staff, token_for
):
    token = token_for(clinic1, make_staff(clinic1, Role.RECEPTIONIST, full_name="Rosa Ruiz"))
    visitor = Visitor(client)
    reply = visitor.say("quiero hablar con alguien")
    assert reply["handedOff"] is True
    public_id = visitor.conversation_id

    waiting = ask(client, LIST, token, status=["HANDED_OFF"])["data"]["assistantConversations"]
    assert waiting["totalCount"] == 1
    node = waiting["edges"][0]["node"]
    assert node["handoffReason"] == "REQUESTED"
    assert node["messages"][0] == {"author": "PATIENT", "text": "quiero hablar con alguien"}
    # The staff's ID of the conversation is not the visitor's key.
    assert public_id not in node["id"]

    answered = ask(client, REPLY, token, id=node["id"], text="Hola, soy Rosa. ¿En qué le ayudo?")
    assert answered["data"]["replyToAssistantConversation"]["status"] == "TAKEN_OVER"
    transcript = ask(client, TRANSCRIPT, id=public_id)["data"]["assistantTranscript"]
    assert transcript["status"] == "TAKEN_OVER"
    assert transcript["messages"][-1] == {
        "author": "STAFF", "text": "Hola, soy Rosa. ¿En qué le ayudo?",
    }  # fmt: skip
    assert "Rosa Ruiz" not in str(transcript)

    # While a person answers, the assistant stays silent; the message waits for the staff.
    silent = visitor.say("quiero una limpieza")
    assert (silent["text"], silent["handedOff"]) == ("", True)
    seen = ask(client, TRANSCRIPT, id=public_id)["data"]["assistantTranscript"]["messages"]
    assert seen[-1] == {"author": "PATIENT", "text": "quiero una limpieza"}

    released = ask(client, RELEASE, token, id=node["id"])["data"]
    assert released["releaseAssistantConversation"]["status"] == "OPEN"
    again = visitor.say("hola")
    assert again["handedOff"] is False
    assert again["text"]  # the assistant answers again

    closed = ask(client, CLOSE, token, id=node["id"])["data"]
    assert closed["closeAssistantConversation"]["status"] == "CLOSED"
    _, body = graphql(
        client, SEND, host="clinica1.localhost",
        variables={"input": {"conversationId": public_id, "text": "¿sigue ahí?"}},
    )  # fmt: skip
    assert body["data"]["assistantMessage"]["messages"] == [{"code": "CONVERSATION_CLOSED"}]
    with tenant_context(clinic1):
        assert Conversation.objects.get(public_id=public_id).status == "CLOSED"
