"""The web widget reads its own conversation through ``assistantTranscript``: on the clinic's
domain, without a token, by the conversationId it holds. It sees the staff's replies after a
hand-off, but never which staff member wrote them, nor the intents; an unknown, malformed,
other clinic's or WhatsApp conversation id is NOT_FOUND, all alike."""

from __future__ import annotations

import uuid

import pytest
from django_tenants.utils import tenant_context

from tests.assistant.staff.support import HOST2, PUBLIC, ask, conversation
from tests.conftest import error_code

pytestmark = pytest.mark.django_db

TRANSCRIPT = """query($id: ID!) { assistantTranscript(conversationId: $id) {
  conversationId status messages { author text createdAt } } }"""


def test_the_visitor_reads_the_staff_reply_after_a_hand_off_without_a_token(
    client, clinic1, make_staff
):
    clinic1_admin = make_staff(clinic1, "RECEPTIONIST", full_name="Rosa Recepción")
    with tenant_context(clinic1):
        row = conversation(
            status="TAKEN_OVER", assigned_to=clinic1_admin,
            messages=[("PATIENT", "quiero hablar con alguien"),
                      ("ASSISTANT", "Le comunico con una persona."),
                      ("STAFF", "Hola, le atiende la recepción.")],
        )  # fmt: skip
        row.messages.filter(author="STAFF").update(staff=clinic1_admin)
    body = ask(client, TRANSCRIPT, id=str(row.public_id))
    data = body["data"]["assistantTranscript"]
    assert data["conversationId"] == str(row.public_id)
    assert data["status"] == "TAKEN_OVER"
    assert [(m["author"], m["text"]) for m in data["messages"]] == [
        ("PATIENT", "quiero hablar con alguien"),
        ("ASSISTANT", "Le comunico con una persona."),
        ("STAFF", "Hola, le atiende la recepción."),
    ]
    assert all(m["createdAt"].endswith("-05:00") for m in data["messages"])
    assert clinic1_admin.full_name not in str(body)
    assert clinic1_admin.email not in str(body)


def test_the_transcript_type_has_no_staff_member_intent_or_ip(client, clinic1):
    from graphql_api.schema import schema

    types = schema._schema.type_map
    fields = set(types["AssistantTranscriptMessage"].fields)  # type: ignore[attr-defined]
    assert fields == {"author", "text", "createdAt"}
    assert set(types["AssistantTranscript"].fields) == {  # type: ignore[attr-defined]
        "conversationId", "status", "messages",
    }  # fmt: skip


def test_unknown_malformed_whatsapp_and_other_clinics_ids_are_all_not_found(
    client, clinic1, clinic2
):
    with tenant_context(clinic2):
        theirs = conversation(messages=[("PATIENT", "Otraclinica hola")])
    with tenant_context(clinic1):
        whatsapp = conversation(channel="WHATSAPP", phone="+51987654321",
                                messages=[("PATIENT", "hola")])  # fmt: skip
    for id_ in (str(uuid.uuid4()), "not-a-uuid", "", "1", str(whatsapp.public_id),
                str(theirs.public_id), "x" * 500):  # fmt: skip
        body = ask(client, TRANSCRIPT, id=id_)
        assert error_code(body) == "NOT_FOUND", (id_, body)
        assert body["data"] is None
        assert "Otraclinica" not in str(body)


def test_the_transcript_is_a_clinic_field_and_ignores_tokens(client, clinic1, admin_token):
    with tenant_context(clinic1):
        row = conversation(messages=[("PATIENT", "hola")])
    assert error_code(ask(client, TRANSCRIPT, None, PUBLIC, id=str(row.public_id))) == (
        "TENANT_DOMAIN_ONLY"
    )
    # Another clinic's domain does not know it.
    assert error_code(ask(client, TRANSCRIPT, None, HOST2, id=str(row.public_id))) == ("NOT_FOUND")
    with_token = ask(client, TRANSCRIPT, admin_token, id=str(row.public_id))
    messages = with_token["data"]["assistantTranscript"]["messages"]
    assert [(m["author"], m["text"]) for m in messages] == [("PATIENT", "hola")]
