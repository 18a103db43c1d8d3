"""The staff read the assistant's conversations through GraphQL: the list (newest activity
first, filtered by status, channel and a search), one conversation with its messages, the
patient as the Patient type shows them, in the clinic's time zone; never the visitor's secret
key nor an IP; the same number of statements for 10 and 1,000 conversations."""

from __future__ import annotations

import datetime as dt

import pytest
from django_tenants.utils import tenant_context

from backend.accounts.models import Role
from graphql_api.schema import schema
from tests.assistant.staff.support import HOST2, PUBLIC, ask, conversation, gid
from tests.conftest import error_code
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

LIST = """query($status: [AssistantConversationStatus!], $channel: [AssistantChannel!],
  $search: String, $first: Int) {
  assistantConversations(status: $status, channel: $channel, search: $search, first: $first) {
    totalCount edges { node { id channel status phone lastMessageAt handoffReason
      assignedTo { fullName } patient { fullName }
      messages { author text intent staff { fullName } createdAt } } } } }"""
ONE = """query($id: ID!) { assistantConversation(id: $id) {
  id channel status phone language verifiedAt handoffReason handedOffAt createdAt lastMessageAt
  closedAt closedBy { fullName } assignedTo { fullName role }
  patient { fullName documentNumber allergies }
  messages { id author text intent staff { fullName } createdAt } } }"""


@pytest.fixture
def tokens(clinic1, make_staff, token_for, admin_token) -> dict[str, str]:
    return {
        "ADMIN": admin_token,
        **{
            role: token_for(clinic1, make_staff(clinic1, role))
            for role in (Role.DENTIST, Role.ASSISTANT, Role.RECEPTIONIST)
        },
    }


def _ids(body) -> list[str]:
    return [edge["node"]["id"] for edge in body["data"]["assistantConversations"]["edges"]]


def test_the_list_shows_newest_activity_first_and_filters_by_status_and_channel(
    client, clinic1, tokens
):
    with tenant_context(clinic1):
        old = conversation(ago=dt.timedelta(days=2), messages=[("PATIENT", "hola")])
        handed = conversation(
            ago=dt.timedelta(hours=1), status="HANDED_OFF", handoff_reason="CLINICAL",
            messages=[("PATIENT", "me duele mucho")],
        )  # fmt: skip
        whatsapp = conversation(
            channel="WHATSAPP", phone="+51987654321", ago=dt.timedelta(minutes=1),
            messages=[("PATIENT", "¿atienden los sábados?"), ("ASSISTANT", "Sí, de 9 a 13.")],
        )  # fmt: skip
    token = tokens["RECEPTIONIST"]
    body = ask(client, LIST, token, first=10)
    data = body["data"]["assistantConversations"]
    assert data["totalCount"] == 3
    assert _ids(body) == [gid(whatsapp), gid(handed), gid(old)]
    first = data["edges"][0]["node"]
    assert (first["channel"], first["status"], first["phone"]) == (
        "WHATSAPP",
        "OPEN",
        "+51987654321",
    )
    assert [(m["author"], m["text"], m["intent"]) for m in first["messages"]] == [
        ("PATIENT", "¿atienden los sábados?", "PRICES"),
        ("ASSISTANT", "Sí, de 9 a 13.", None),
    ]
    assert first["lastMessageAt"].endswith("-05:00")  # Lima, the clinic's zone
    assert data["edges"][1]["node"]["handoffReason"] == "CLINICAL"
    assert _ids(ask(client, LIST, token, status=["HANDED_OFF"], first=10)) == [gid(handed)]
    assert _ids(ask(client, LIST, token, channel=["WEB"], first=10)) == [gid(handed), gid(old)]
    assert _ids(ask(client, LIST, token, status=["OPEN"], channel=["WHATSAPP"], first=10)) == [
        gid(whatsapp)
    ]
    assert _ids(ask(client, LIST, token, status=["CLOSED"], first=10)) == []


def test_search_matches_the_patient_the_number_and_the_messages_ignoring_accents(
    client, clinic1, tokens
):
    with tenant_context(clinic1):
        jose = PatientFactory(first_name="José", last_name="Pérez", document_number="41234567")
        by_patient = conversation(patient=jose, messages=[("PATIENT", "hola")])
        by_phone = conversation(channel="WHATSAPP", phone="+51911222333",
                                messages=[("PATIENT", "buenas")])  # fmt: skip
        by_text = conversation(messages=[("PATIENT", "¿A cuánto está la limpieza?")])
    token = tokens["ADMIN"]

    def found(search: str) -> set[str]:
        return set(_ids(ask(client, LIST, token, search=search, first=10)))

    assert found("jose perez") == {gid(by_patient)}
    assert found("4123") == {gid(by_patient)}
    assert found("911222") == {gid(by_phone)}
    assert found("+51911") == {gid(by_phone)}
    assert found("LIMPIEZA cuanto") == {gid(by_text)}
    assert found("limpieza jose") == set()  # every word must match


def test_one_conversation_shows_its_messages_staff_and_patient_in_clinic_time(
    client, clinic1, tokens, make_staff
):
    clinic1_admin = make_staff(clinic1, Role.ADMIN, full_name="Alba Admin")
    with tenant_context(clinic1):
        patient = PatientFactory(first_name="Ana", last_name="Díaz", allergies="Penicilina")
        row = conversation(
            patient=patient, status="TAKEN_OVER", assigned_to=clinic1_admin,
            handoff_reason="REQUESTED", handed_off_at=dt.datetime(2026, 3, 1, 15, tzinfo=dt.UTC),
            messages=[("PATIENT", "quiero hablar con alguien"), ("ASSISTANT", "Un momento."),
                      ("STAFF", "Hola Ana, le atiende Recepción.")],
        )  # fmt: skip
        row.messages.filter(author="STAFF").update(staff=clinic1_admin)
    data = ask(client, ONE, tokens["RECEPTIONIST"], id=gid(row))["data"]["assistantConversation"]
    assert data["status"] == "TAKEN_OVER"
    assert data["handoffReason"] == "REQUESTED"
    assert data["handedOffAt"] == "2026-03-01T10:00:00-05:00"
    assert data["assignedTo"] == {"fullName": "Alba Admin", "role": "ADMIN"}
    # The Patient type's own rules: the front desk does not read health data.
    assert data["patient"] == {"fullName": "Ana Díaz", "documentNumber": patient.document_number,
                               "allergies": None}  # fmt: skip
    assert [(m["author"], m["staff"]) for m in data["messages"]] == [
        ("PATIENT", None),
        ("ASSISTANT", None),
        ("STAFF", {"fullName": "Alba Admin"}),
    ]
    assert all(m["createdAt"].endswith("-05:00") for m in data["messages"])
    admin = ask(client, ONE, tokens["ADMIN"], id=gid(row))["data"]["assistantConversation"]
    assert admin["patient"]["allergies"] == "Penicilina"


def test_staff_never_see_the_visitors_key_nor_an_ip():
    types = schema._schema.type_map
    for name in ("AssistantConversation", "AssistantConversationMessage"):
        fields = {field.lower() for field in types[name].fields}  # type: ignore[attr-defined]
        assert not fields & {"publicid", "conversationid", "ip", "state"}, (name, fields)


def test_a_bad_filter_or_page_is_coded(client, clinic1, tokens):
    bad = ask(client, LIST, tokens["ADMIN"], status=["NOPE"], first=10)
    assert error_code(bad) == "GRAPHQL_VALIDATION_FAILED"
    assert error_code(ask(client, LIST, tokens["ADMIN"], first=-1)) == "INVALID_PAGINATION"


@pytest.mark.parametrize("rows", [10, 1000])
def test_the_list_costs_the_same_statements_for_10_and_1000_conversations(
    client, clinic1, tokens, clinic1_admin, django_assert_num_queries, rows
):
    from backend.assistant.models import Conversation, ConversationMessage

    with tenant_context(clinic1):
        patients = [PatientFactory() for _ in range(3)]
        now = dt.datetime.now(dt.UTC)
        conversations = Conversation.objects.bulk_create(
            Conversation(
                channel="WEB", status="TAKEN_OVER" if i % 2 else "OPEN",
                patient=patients[i % 3], assigned_to=clinic1_admin if i % 2 else None,
                last_message_at=now - dt.timedelta(minutes=i),
            )
            for i in range(rows)
        )  # fmt: skip
        ConversationMessage.objects.bulk_create(
            ConversationMessage(
                conversation=c, author=author, text="hola",
                staff=clinic1_admin if author == "STAFF" else None,
            )
            for c in conversations
            for author in ("PATIENT", "ASSISTANT", "STAFF")
        )  # fmt: skip
    ask(client, "{ assistantSettings { enabled } }", tokens["ADMIN"])  # warm the routing
    # the token (1) + SET to the clinic (1) + the page with its count, patients and staff (1)
    # + the page's messages with their staff (1)
    with django_assert_num_queries(4):
        body = ask(client, LIST, tokens["ADMIN"], first=100)
    data = body["data"]["assistantConversations"]
    assert data["totalCount"] == rows
    assert len(data["edges"]) == min(rows, 100)
    assert all(len(edge["node"]["messages"]) == 3 for edge in data["edges"])


@pytest.mark.parametrize("count", [3, 60])
def test_one_conversation_costs_the_same_statements_for_3_and_60_messages(
    client, clinic1, tokens, make_staff, django_assert_num_queries, count
):
    colleagues = [make_staff(clinic1, Role.RECEPTIONIST) for _ in range(3)]
    with tenant_context(clinic1):
        row = conversation(patient=PatientFactory(), messages=[("STAFF", "hola")] * count)
        for index, message in enumerate(row.messages.order_by("pk")):
            message.staff = colleagues[index % 3]
            message.save()
    ask(client, "{ assistantSettings { enabled } }", tokens["ADMIN"])  # warm the routing
    with django_assert_num_queries(5):
        body = ask(client, ONE, tokens["ADMIN"], id=gid(row))
    messages = body["data"]["assistantConversation"]["messages"]
    assert len(messages) == count
    assert {m["staff"]["fullName"] for m in messages} == {c.full_name for c in colleagues[:count]}


def test_another_clinics_conversation_is_not_found_and_its_list_is_not_ours(
    client, clinic1, clinic2, tokens
):
    from tests.accounts.matrix_world import distinct_ids

    with tenant_context(clinic2):
        distinct_ids(clinic2)
        theirs = conversation(messages=[("PATIENT", "Otraclinica hola")])
    body = ask(client, ONE, tokens["ADMIN"], id=gid(theirs))
    assert error_code(body) == "NOT_FOUND"
    assert body["data"] is None
    data = ask(client, LIST, tokens["ADMIN"], first=10)["data"]["assistantConversations"]
    assert data["totalCount"] == 0
    # An ID of another type names nothing either.
    with tenant_context(clinic1):
        patient = PatientFactory()
    from tests.ids import global_id

    assert error_code(ask(client, ONE, tokens["ADMIN"], id=global_id("Patient", patient.pk))) == (
        "NOT_FOUND"
    )
    assert error_code(ask(client, ONE, tokens["ADMIN"], id="not-an-id")) in (
        "NOT_FOUND", "INVALID_ID", "GRAPHQL_VALIDATION_FAILED",
    )  # fmt: skip


READS = {
    "assistantConversations": (LIST, {"first": 5}, {"ADMIN", "RECEPTIONIST"}),
    "assistantConversation": (ONE, {"id": "placeholder"}, {"ADMIN", "RECEPTIONIST"}),
    "assistantSettings": ("{ assistantSettings { enabled transcriptRetentionDays } }", {},
                          {"ADMIN"}),
}  # fmt: skip


@pytest.mark.parametrize("operation", sorted(READS))
def test_reads_follow_the_permission_matrix_and_need_a_clinic_token(
    client, clinic1, tokens, operation
):
    document, variables, allowed = READS[operation]
    if "id" in variables:
        with tenant_context(clinic1):
            variables = {"id": gid(conversation(messages=[("PATIENT", "hola")]))}
    for role, token in tokens.items():
        body = ask(client, document, token, **variables)
        if role in allowed:
            assert error_code(body) is None, (role, body)
        else:
            assert error_code(body) == "FORBIDDEN", (role, body)
            assert body["data"] is None
    assert error_code(ask(client, document, None, **variables)) == "UNAUTHENTICATED"
    assert error_code(ask(client, document, "not-a-token", **variables)) == "UNAUTHENTICATED"
    # clinica1's admin token on clinica2's domain is no token there
    assert error_code(ask(client, document, tokens["ADMIN"], HOST2, **variables)) == (
        "UNAUTHENTICATED"
    )
    assert error_code(ask(client, document, None, PUBLIC, **variables)) == "TENANT_DOMAIN_ONLY"
