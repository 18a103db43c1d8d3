"""The staff side under real concurrency: uvicorn with two worker processes, committed data,
parallel requests on one conversation. The row lock makes one close win, and no reply lands
after it."""

from __future__ import annotations

import concurrent.futures

import pytest
from django.db import connection

from backend.accounts.models import Role, User
from backend.assistant.models import Conversation, ConversationMessage
from backend.audit.models import AuditEvent
from backend.core.tenancy import clinic_context
from tests.conftest import TEST_PASSWORD, http_login, running_uvicorn
from tests.ids import global_id

pytestmark = pytest.mark.slow

HOST = "asistente-paralelo.localhost"
REPLY = """mutation($id: ID!, $text: String!) { replyToAssistantConversation(id: $id, text: $text) {
  __typename ... on OperationInfo { messages { code } } } }"""
CLOSE = """mutation($id: ID!) { closeAssistantConversation(id: $id) {
  __typename ... on OperationInfo { messages { code } } } }"""


def _outcome(body: dict, field: str) -> str:
    payload = body["data"][field]
    if payload["__typename"] == "OperationInfo":
        return ",".join(message["code"] for message in payload["messages"])
    return payload["__typename"]


def test_parallel_closes_and_replies_close_once_and_no_reply_follows_the_close(
    django_db_blocker, committed_clinic
):
    clinic = committed_clinic("asistente-paralelo", plan="professional")
    with django_db_blocker.unblock(), clinic_context(clinic):
        User.objects.create_user(
            email="recepcion@paralelo.pe", password=TEST_PASSWORD, role=Role.RECEPTIONIST
        )
        conversation = Conversation.objects.create(channel="WEB", status="HANDED_OFF")
    gid = global_id("AssistantConversation", conversation.pk, clinic)
    with running_uvicorn(django_db_blocker, workers=2) as server:
        token = http_login(server, HOST, "recepcion@paralelo.pe")["token"]
        calls = [(CLOSE, {"id": gid})] * 6 + [
            (REPLY, {"id": gid, "text": f"Respuesta {n}"}) for n in range(6)
        ]

        def send(call: tuple[str, dict]) -> tuple[int, dict]:
            query, variables = call
            response = server.post(
                HOST, {"query": query, "variables": variables},
                headers={"Authorization": f"Bearer {token}"}, timeout=60,
            )  # fmt: skip
            return response.status_code, response.json()

        with concurrent.futures.ThreadPoolExecutor(max_workers=len(calls)) as pool:
            answers = list(pool.map(send, calls))
    assert {status for status, _ in answers} == {200}
    closes = sorted(_outcome(body, "closeAssistantConversation") for _, body in answers[:6])
    assert closes == ["AssistantConversation"] + ["CONVERSATION_CLOSED"] * 5
    replies = [_outcome(body, "replyToAssistantConversation") for _, body in answers[6:]]
    assert set(replies) <= {"AssistantConversation", "CONVERSATION_CLOSED"}, replies
    with django_db_blocker.unblock(), clinic_context(clinic):
        conversation.refresh_from_db()
        assert conversation.status == "CLOSED"
        assert conversation.closed_at is not None
        staff_messages = ConversationMessage.objects.filter(conversation=conversation)
        assert staff_messages.count() == replies.count("AssistantConversation")
        assert not staff_messages.filter(created_at__gt=conversation.closed_at).exists()
        assert AuditEvent.objects.filter(action="assistant.close").count() == 1
        assert AuditEvent.objects.filter(action="assistant.reply").count() == replies.count(
            "AssistantConversation"
        )
    connection.set_schema_to_public()
