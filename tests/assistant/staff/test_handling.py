"""The front desk answers the assistant's conversations: reply (taking over one the assistant
still answered), take over, release, close; admins set the assistant up. Each change is
audited without the message's text; each refusal is coded and writes nothing; another
clinic's conversations are never reachable; roles without the permission are refused."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import tenant_context

from backend.accounts.models import Role
from backend.assistant import staff
from backend.assistant.models import AssistantSettings, Conversation, ConversationMessage
from backend.audit.models import AuditEvent
from tests.assistant.staff.support import HOST2, PUBLIC, ask, conversation, gid, state
from tests.conftest import error_code, operation_codes
from tests.factories import PatientFactory
from tests.ids import global_id

pytestmark = pytest.mark.django_db

FIELDS = "status assignedTo { fullName } handoffReason closedAt closedBy { fullName }"
REPLY = f"""mutation($id: ID!, $text: String!) {{ replyToAssistantConversation(id: $id, text: $text) {{
  __typename ... on AssistantConversation {{ {FIELDS} lastMessageAt
    messages {{ author text staff {{ fullName }} }} }}
  ... on OperationInfo {{ messages {{ code field }} }} }} }}"""
TAKE = f"""mutation($id: ID!) {{ takeOverAssistantConversation(id: $id) {{
  __typename ... on AssistantConversation {{ {FIELDS} }}
  ... on OperationInfo {{ messages {{ code field }} }} }} }}"""
RELEASE = f"""mutation($id: ID!) {{ releaseAssistantConversation(id: $id) {{
  __typename ... on AssistantConversation {{ {FIELDS} }}
  ... on OperationInfo {{ messages {{ code field }} }} }} }}"""
CLOSE = f"""mutation($id: ID!) {{ closeAssistantConversation(id: $id) {{
  __typename ... on AssistantConversation {{ {FIELDS} }}
  ... on OperationInfo {{ messages {{ code field }} }} }} }}"""
SETTINGS = "{ assistantSettings { enabled transcriptRetentionDays } }"
UPDATE_SETTINGS = """mutation($enabled: Boolean, $days: Int) {
  updateAssistantSettings(enabled: $enabled, transcriptRetentionDays: $days) {
    __typename ... on AssistantSettings { enabled transcriptRetentionDays }
    ... on OperationInfo { messages { code field } } } }"""


@pytest.fixture
def receptionist(clinic1, make_staff):
    return make_staff(clinic1, Role.RECEPTIONIST, full_name="Rosa Recepción")


@pytest.fixture
def tokens(clinic1, make_staff, token_for, admin_token, receptionist) -> dict[str, str]:
    return {
        "ADMIN": admin_token,
        "RECEPTIONIST": token_for(clinic1, receptionist),
        **{
            role: token_for(clinic1, make_staff(clinic1, role))
            for role in (Role.DENTIST, Role.ASSISTANT)
        },
    }


def _events(clinic, action: str) -> list[AuditEvent]:
    with tenant_context(clinic):
        return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def test_a_reply_to_a_handed_off_conversation_is_stored_takes_it_over_and_is_audited(
    client, clinic1, tokens, receptionist
):
    with tenant_context(clinic1):
        row = conversation(status="HANDED_OFF", handoff_reason="REQUESTED",
                           ago=dt.timedelta(hours=2),
                           messages=[("PATIENT", "quiero hablar con alguien")])  # fmt: skip
    body = ask(client, REPLY, tokens["RECEPTIONIST"], id=gid(row), text="  Hola, soy Rosa.  ")
    result = body["data"]["replyToAssistantConversation"]
    assert result["__typename"] == "AssistantConversation", body
    assert result["status"] == "TAKEN_OVER"
    assert result["assignedTo"] == {"fullName": "Rosa Recepción"}
    assert result["messages"][-1] == {
        "author": "STAFF", "text": "Hola, soy Rosa.", "staff": {"fullName": "Rosa Recepción"},
    }  # fmt: skip
    with tenant_context(clinic1):
        row.refresh_from_db()
        assert (row.status, row.assigned_to_id) == ("TAKEN_OVER", receptionist.pk)
        assert timezone.now() - row.last_message_at < dt.timedelta(minutes=1)
        message = ConversationMessage.objects.get(conversation=row, author="STAFF")
        assert (message.staff_id, message.text, message.ip) == (
            receptionist.pk,
            "Hola, soy Rosa.",
            None,
        )
    [event] = _events(clinic1, "assistant.reply")
    assert (event.actor_id, event.entity_type, event.entity_id) == (
        receptionist.pk, "assistant.conversation", str(row.pk),
    )  # fmt: skip
    assert event.changes["status"] == {"from": "HANDED_OFF", "to": "TAKEN_OVER"}
    assert event.changes["message"] == message.pk
    assert "Rosa" not in str(event.changes)  # the trail keeps no transcript text


def test_a_second_reply_keeps_the_colleague_who_took_it_over(
    client, clinic1, tokens, receptionist, clinic1_admin
):
    with tenant_context(clinic1):
        row = conversation(status="TAKEN_OVER", assigned_to=receptionist)
    result = ask(client, REPLY, tokens["ADMIN"], id=gid(row), text="Le confirmo la cita.")[
        "data"]["replyToAssistantConversation"]  # fmt: skip
    assert result["assignedTo"] == {"fullName": "Rosa Recepción"}
    assert result["messages"][-1]["staff"] == {"fullName": clinic1_admin.full_name}
    [event] = _events(clinic1, "assistant.reply")
    assert "status" not in event.changes


def test_a_whatsapp_reply_is_handed_to_the_messaging_part_in_the_same_transaction(
    client, clinic1, tokens, monkeypatch
):
    sent: list[int] = []
    monkeypatch.setattr(staff, "_whatsapp_sender", lambda: lambda message: sent.append(message.pk))
    with tenant_context(clinic1):
        row = conversation(channel="WHATSAPP", phone="+51987654321", status="HANDED_OFF")
        web = conversation()
    ask(client, REPLY, tokens["ADMIN"], id=gid(row), text="Hola, le escribe la clínica.")
    ask(client, REPLY, tokens["ADMIN"], id=gid(web), text="Hola desde la web.")
    with tenant_context(clinic1):
        message = ConversationMessage.objects.get(conversation=row, author="STAFF")
    assert sent == [message.pk]  # the web reply is not sent anywhere: the widget reads it


def test_take_over_release_and_close_move_the_conversation_with_audit(
    client, clinic1, tokens, receptionist, clinic1_admin
):
    with tenant_context(clinic1):
        row = conversation(status="HANDED_OFF", handoff_reason="MISUNDERSTOOD")
    taken = ask(client, TAKE, tokens["RECEPTIONIST"], id=gid(row))["data"]
    assert taken["takeOverAssistantConversation"]["status"] == "TAKEN_OVER"
    assert taken["takeOverAssistantConversation"]["assignedTo"] == {"fullName": "Rosa Recepción"}
    # Taking over one's own again changes nothing and records nothing.
    ask(client, TAKE, tokens["RECEPTIONIST"], id=gid(row))
    assert len(_events(clinic1, "assistant.take_over")) == 1
    # A colleague takes it over from her.
    moved = ask(client, TAKE, tokens["ADMIN"], id=gid(row))["data"]
    assert moved["takeOverAssistantConversation"]["assignedTo"] == {
        "fullName": clinic1_admin.full_name
    }
    first, second = _events(clinic1, "assistant.take_over")
    assert first.changes["status"] == {"from": "HANDED_OFF", "to": "TAKEN_OVER"}
    assert second.changes["assigned_to"] == {"from": str(receptionist.pk),
                                              "to": str(clinic1_admin.pk)}  # fmt: skip
    released = ask(client, RELEASE, tokens["RECEPTIONIST"], id=gid(row))["data"]
    assert released["releaseAssistantConversation"] == {
        "__typename": "AssistantConversation", "status": "OPEN", "assignedTo": None, "handoffReason": None, "closedAt": None,
        "closedBy": None,
    }  # fmt: skip
    [release] = _events(clinic1, "assistant.release")
    assert release.changes == {"status": {"from": "TAKEN_OVER", "to": "OPEN"}}
    closed = ask(client, CLOSE, tokens["RECEPTIONIST"], id=gid(row))["data"]
    result = closed["closeAssistantConversation"]
    assert (result["status"], result["closedBy"]) == ("CLOSED", {"fullName": "Rosa Recepción"})
    assert result["closedAt"].endswith("-05:00")
    [close] = _events(clinic1, "assistant.close")
    assert close.changes == {"status": {"from": "OPEN", "to": "CLOSED"}}
    with tenant_context(clinic1):
        row.refresh_from_db()
        assert (row.status, row.closed_by_id) == ("CLOSED", receptionist.pk)


@pytest.mark.parametrize("document", [REPLY, TAKE, RELEASE, CLOSE])
def test_a_closed_conversation_refuses_every_change_and_nothing_is_written(
    client, clinic1, tokens, document
):
    with tenant_context(clinic1):
        row = conversation(status="CLOSED", closed_at=timezone.now())
    before = state(clinic1)
    body = ask(client, document, tokens["ADMIN"], id=gid(row), text="¿Sigue ahí?")
    [payload] = body["data"].values()
    assert operation_codes(payload) == ["CONVERSATION_CLOSED"]
    assert state(clinic1) == before


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "MESSAGE_EMPTY"),
        ("   \n\t ", "MESSAGE_EMPTY"),
        ("x" * 2001, "MESSAGE_TOO_LONG"),
        ("Hola\u202eatsiv al", "INVALID_TEXT"),  # a right-to-left override
        ("Hola\x07", "INVALID_TEXT"),
    ],
)
def test_a_bad_reply_is_coded_on_its_field_and_writes_nothing(client, clinic1, tokens, text, code):
    with tenant_context(clinic1):
        row = conversation(status="HANDED_OFF")
    before = state(clinic1)
    body = ask(client, REPLY, tokens["ADMIN"], id=gid(row), text=text)
    payload = body["data"]["replyToAssistantConversation"]
    assert payload["messages"] == [{"code": code, "field": "text"}]
    assert state(clinic1) == before


def test_a_reply_of_2000_characters_on_several_lines_is_accepted(client, clinic1, tokens):
    with tenant_context(clinic1):
        row = conversation()
    text = ("Línea uno.\n\tLínea dos. " + "x" * 2000)[:2000]
    body = ask(client, REPLY, tokens["ADMIN"], id=gid(row), text=text)
    assert body["data"]["replyToAssistantConversation"]["messages"][-1]["text"] == text


def test_another_clinics_conversation_or_another_type_is_not_found_and_unchanged(
    client, clinic1, clinic2, tokens
):
    from tests.accounts.matrix_world import distinct_ids

    with tenant_context(clinic2):
        distinct_ids(clinic2)
        theirs = conversation(status="HANDED_OFF")
    with tenant_context(clinic1):
        patient = PatientFactory()
    before = state(clinic1), state(clinic2)
    for document in (REPLY, TAKE, RELEASE, CLOSE):
        for id_ in (
            gid(theirs),
            global_id("Patient", patient.pk),
            global_id("AssistantConversation", "x"),
        ):
            body = ask(client, document, tokens["ADMIN"], id=id_, text="Hola")
            [payload] = body["data"].values()
            assert operation_codes(payload) == ["NOT_FOUND"], (document, id_, body)
    assert (state(clinic1), state(clinic2)) == before


def test_writes_are_refused_to_roles_without_the_permission_and_change_nothing(
    client, clinic1, tokens
):
    with tenant_context(clinic1):
        row = conversation(status="HANDED_OFF")
    before = state(clinic1)
    calls = [
        (REPLY, {"id": gid(row), "text": "Hola"}, {"ADMIN", "RECEPTIONIST"}),
        (TAKE, {"id": gid(row)}, {"ADMIN", "RECEPTIONIST"}),
        (RELEASE, {"id": gid(row)}, {"ADMIN", "RECEPTIONIST"}),
        (CLOSE, {"id": gid(row)}, {"ADMIN", "RECEPTIONIST"}),
        (UPDATE_SETTINGS, {"enabled": False}, {"ADMIN"}),
    ]
    for document, variables, allowed in calls:
        for role in {"ADMIN", "DENTIST", "ASSISTANT", "RECEPTIONIST"} - allowed:
            body = ask(client, document, tokens[role], **variables)
            assert error_code(body) == "FORBIDDEN", (role, document)
        assert error_code(ask(client, document, None, **variables)) == "UNAUTHENTICATED"
        assert error_code(ask(client, document, "nope", **variables)) == "UNAUTHENTICATED"
        assert error_code(ask(client, document, tokens["ADMIN"], HOST2, **variables)) == (
            "UNAUTHENTICATED"
        )
        assert error_code(ask(client, document, None, PUBLIC, **variables)) == (
            "TENANT_DOMAIN_ONLY"
        )
    assert state(clinic1) == before


# --- settings -------------------------------------------------------------------------------


def test_settings_default_to_on_and_a_year_and_the_admin_changes_them_with_audit(
    client, clinic1, tokens
):
    assert ask(client, SETTINGS, tokens["ADMIN"])["data"]["assistantSettings"] == {
        "enabled": True, "transcriptRetentionDays": 365,
    }  # fmt: skip
    body = ask(client, UPDATE_SETTINGS, tokens["ADMIN"], enabled=False, days=90)
    assert body["data"]["updateAssistantSettings"] == {
        "__typename": "AssistantSettings", "enabled": False, "transcriptRetentionDays": 90,
    }  # fmt: skip
    partial = ask(client, UPDATE_SETTINGS, tokens["ADMIN"], days=30)["data"]
    assert partial["updateAssistantSettings"]["enabled"] is False  # left out: kept
    with tenant_context(clinic1):
        row = AssistantSettings.objects.get()
        assert (row.enabled, row.transcript_retention_days) == (False, 30)
    first, second = _events(clinic1, "assistant.update_settings")
    assert first.changes == {
        "enabled": {"from": "True", "to": "False"},
        "transcript_retention_days": {"from": "365", "to": "90"},
    }
    assert second.changes == {"transcript_retention_days": {"from": "90", "to": "30"}}


@pytest.mark.parametrize("days", [29, 0, -5, 3651, 2_000_000_000])
def test_retention_out_of_range_is_coded_and_changes_nothing(client, clinic1, tokens, days):
    ask(client, SETTINGS, tokens["ADMIN"])  # the row exists, with its defaults
    before = state(clinic1)
    body = ask(client, UPDATE_SETTINGS, tokens["ADMIN"], enabled=False, days=days)
    payload = body["data"]["updateAssistantSettings"]
    assert payload["messages"] == [
        {"code": "INVALID_RETENTION", "field": "transcriptRetentionDays"}
    ]
    assert state(clinic1) == before


def test_two_closes_close_once_because_the_status_is_read_under_the_lock(clinic1, make_staff):
    """The service reads the status under the row's lock: a second close sees CLOSED."""
    user = make_staff(clinic1, Role.RECEPTIONIST)
    with tenant_context(clinic1):
        row = conversation()
        stale = Conversation.objects.get(pk=row.pk)  # read before the first close
        staff.conversation_close(actor=user, conversation=row)
        with pytest.raises(ValidationError) as refused:
            staff.conversation_close(actor=user, conversation=stale)
        assert refused.value.code == "CONVERSATION_CLOSED"
        assert AuditEvent.objects.filter(action="assistant.close").count() == 1
