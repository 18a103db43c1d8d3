"""End to end over real HTTP: a patient's signed WhatsApp message reaches uvicorn's webhook,
the assistant answers it in the clinic's schema, the reply's send job is queued in the same
transaction, and the job's body sends it to the fake WhatsApp Cloud API. A replayed webhook
answers nothing twice. The clinic's data is committed (uvicorn runs in another process)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from backend.assistant import whatsapp
from backend.assistant.models import Conversation, ConversationMessage
from backend.core.tenancy import clinic_context, public_context
from backend.notifications.models import InboxMessage
from backend.patients.models import Patient
from tenants_core.models import MessagingSender
from tests.conftest import running_uvicorn
from tests.fakes.fixtures import fake_whatsapp

__all__ = ["fake_whatsapp"]  # a fixture used by name below

APP_SECRET = "test-app-secret-for-the-assistant"
PATIENT_PHONE = "+51987650077"
PHONE_NUMBER_ID = "109876543210077"  # this test's clinic's own WhatsApp number


def _inbound(text: str) -> bytes:
    message = {
        "from": PATIENT_PHONE.removeprefix("+"),
        "id": f"wamid.{uuid.uuid4().hex}",
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": text},
    }
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "51900000000", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": "Paciente"}, "wa_id": message["from"]}],
        "messages": [message],
    }
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA-1", "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(payload).encode()


def _signed(body: bytes) -> dict[str, str]:
    digest = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


def _reply_jobs(clinic: Any) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT args FROM public.procrastinate_jobs WHERE task_name = %s ORDER BY id",
            [whatsapp.REPLY_TASK_NAME],
        )
        rows = [json.loads(r[0]) if isinstance(r[0], str) else r[0] for r in cursor.fetchall()]
    return [row["message_id"] for row in rows if row["clinic_schema"] == clinic.schema_name]


@pytest.fixture
def world(django_db_blocker, committed_clinic) -> Any:
    """A committed clinic with its own WhatsApp number, and a patient whose phone is on
    file."""
    clinic = committed_clinic("asistentewa", plan="professional")
    with django_db_blocker.unblock():
        with public_context():
            MessagingSender.objects.create(
                clinic=clinic, channel="WHATSAPP", external_id=PHONE_NUMBER_ID
            )
        with clinic_context(clinic):
            Patient.objects.create(
                first_name="Lucía", last_name="Mamani", document_type="DNI",
                document_number="41234567", phone=PATIENT_PHONE,
            )  # fmt: skip
    return clinic


def test_a_signed_whatsapp_question_is_answered_on_whatsapp(
    django_db_blocker, world, fake_whatsapp
):
    clinic = world
    fake_whatsapp.phone_number_ids.add(PHONE_NUMBER_ID)
    env = {"WHATSAPP_APP_SECRET": APP_SECRET, "MESSAGING_BACKEND": "outbox"}
    body = _inbound("¿a qué hora abren?")
    with running_uvicorn(django_db_blocker, env=env) as server:
        response = server.request(
            "POST", "/webhooks/whatsapp", "localhost", content=body, headers=_signed(body)
        )
        assert response.status_code == 200, response.text
        assert response.json()["handled"] == 1
        again = server.request(
            "POST", "/webhooks/whatsapp", "localhost", content=body, headers=_signed(body)
        )
        assert again.json()["duplicates"] == 1

    with django_db_blocker.unblock():
        (message_id,) = _reply_jobs(clinic)
        with clinic_context(clinic):
            conversation = Conversation.objects.get(phone=PATIENT_PHONE)
            authors = list(conversation.messages.order_by("id").values_list("author", flat=True))
            assert authors == ["PATIENT", "ASSISTANT"]  # the replay answered nothing
            assert not InboxMessage.objects.exists()
            reply = ConversationMessage.objects.get(pk=message_id)
            assert reply.author == "ASSISTANT"
        # The job's body, as a worker runs it (in the clinic's schema, outside a transaction).
        with tenant_context(clinic):
            wamid = whatsapp.whatsapp_reply_deliver(message_id=message_id)

    (sent,) = fake_whatsapp.received
    assert sent.json["to"] == PATIENT_PHONE
    assert sent.json["type"] == "text"
    assert sent.json["text"]["body"] == reply.text
    assert wamid == sent.answer["messages"][0]["id"]
