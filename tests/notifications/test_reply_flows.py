"""Issue 15's "done when", end to end over real HTTP: a patient's WhatsApp reply, correctly
signed, confirms the appointment; "BAJA" stops every message to that patient; a forged
signature does nothing. uvicorn serves the webhook; the clinic's data is committed."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import pytest
from django.utils import timezone

from backend.core.tenancy import clinic_context, public_context
from backend.notifications.delivery import notification_send
from backend.notifications.models import (
    ContactPreference,
    InboxMessage,
    Notification,
    NotificationKind,
    NotificationStatus,
)
from backend.patients.models import Patient
from backend.scheduling.models import Appointment, AppointmentStatus
from backend.scheduling.services import appointment_schedule
from tenants_core.models import MessagingSender
from tests.conftest import running_uvicorn
from tests.factories import ChairFactory, ProfessionalFactory, weekly

APP_SECRET = "test-app-secret-for-webhooks"
PHONE_NUMBER_ID = "109876543210001"
PATIENT_PHONE = "+51987650001"


def _signed(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


def _inbound(text: str, *, context_id: str = "") -> bytes:
    message: dict[str, Any] = {
        "from": PATIENT_PHONE.removeprefix("+"),
        "id": f"wamid.{uuid.uuid4().hex}",
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": text},
    }
    if context_id:
        message["context"] = {"from": "51900000000", "id": context_id}
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA-1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "51900000000",
                                "phone_number_id": PHONE_NUMBER_ID,
                            },
                            "contacts": [
                                {"profile": {"name": "Paciente"}, "wa_id": message["from"]}
                            ],
                            "messages": [message],
                        },
                    }
                ],
            }
        ],
    }
    return json.dumps(payload).encode()


@pytest.fixture
def world(django_db_blocker, committed_clinic) -> dict[str, Any]:
    """A committed clinic with its WhatsApp number, a patient with a phone, and an appointment
    in three days whose confirmation request went out on WhatsApp (development outbox)."""
    clinic = committed_clinic("respuestas", plan="professional")
    with django_db_blocker.unblock():
        with public_context():
            MessagingSender.objects.create(
                clinic=clinic, channel="WHATSAPP", external_id=PHONE_NUMBER_ID
            )
        with clinic_context(clinic):
            from backend.accounts.models import User

            admin = User.objects.get(email="admin@respuestas.pe")
            patient = Patient.objects.create(
                first_name="Rosa",
                last_name="Quispe",
                document_type="DNI",
                document_number="45678912",
                phone=PATIENT_PHONE,
            )
            professional = ProfessionalFactory(hours=weekly(range(7), (7, 20)))
            chair = ChairFactory()
            starts = (timezone.now() + dt.timedelta(days=3)).replace(
                hour=15, minute=0, second=0, microsecond=0
            )
            appointment = appointment_schedule(
                actor=admin,
                patient=patient,
                professional=professional,
                chair=chair,
                starts_at=starts,
                ends_at=starts + dt.timedelta(minutes=30),
            )
            confirmation = Notification.objects.get(
                appointment=appointment, kind=NotificationKind.CONFIRMATION_REQUEST
            )
            assert confirmation.channel == "WHATSAPP"
            Notification.objects.filter(pk=confirmation.pk).update(send_at=timezone.now())
        # The job's body, as a worker runs it (the outbox backend: nothing leaves the machine).
        with clinic_context(clinic):
            notification_send(notification_id=confirmation.pk)
        with clinic_context(clinic):
            confirmation.refresh_from_db()
            assert confirmation.status == NotificationStatus.SENT, confirmation.failure_reason
            assert "Rosa" in confirmation.body
            assert "Responda 1" in confirmation.body
    return {"clinic": clinic, "patient": patient, "appointment": appointment,
            "confirmation": confirmation}  # fmt: skip


def _server(django_db_blocker):
    return running_uvicorn(
        django_db_blocker,
        env={"WHATSAPP_APP_SECRET": APP_SECRET, "MESSAGING_BACKEND": "outbox"},
    )


def _post(server, body: bytes, headers: dict[str, str]):
    return server.request("POST", "/webhooks/whatsapp", "localhost", content=body, headers=headers)


def test_a_signed_reply_1_confirms_and_baja_stops_every_message(django_db_blocker, world):
    clinic, appointment = world["clinic"], world["appointment"]
    with _server(django_db_blocker) as server:
        body = _inbound("1", context_id=world["confirmation"].provider_message_id)
        response = _post(server, body, _signed(body))
        assert response.status_code == 200, response.text
        with django_db_blocker.unblock(), clinic_context(clinic):
            assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.CONFIRMED

        # The same event again (a provider retry or a replay): handled once, nothing new.
        again = _post(server, body, _signed(body))
        assert again.status_code == 200

        body = _inbound("BAJA")
        response = _post(server, body, _signed(body))
        assert response.status_code == 200, response.text
    with django_db_blocker.unblock(), clinic_context(clinic):
        preference = ContactPreference.objects.get(patient=world["patient"])
        assert preference.opted_out_at is not None
        pending = Notification.objects.filter(
            patient=world["patient"],
            status__in=[NotificationStatus.SCHEDULED, NotificationStatus.HELD],
        )
        assert not pending.exists()  # the 3-hour reminder was cancelled at once
        assert Notification.objects.filter(
            patient=world["patient"],
            status=NotificationStatus.CANCELLED,
            kind=NotificationKind.REMINDER,
        ).exists()


def test_a_forged_signature_changes_nothing(django_db_blocker, world):
    clinic, appointment = world["clinic"], world["appointment"]
    with _server(django_db_blocker) as server:
        body = _inbound("1")
        forged = _signed(body, secret="not-the-app-secret")
        assert _post(server, body, forged).status_code == 403
        assert _post(server, body, {"Content-Type": "application/json"}).status_code == 403
    with django_db_blocker.unblock(), clinic_context(clinic):
        assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.SCHEDULED
        assert not InboxMessage.objects.exists()


def test_an_unrecognised_reply_lands_in_the_inbox(django_db_blocker, world):
    """With the clinic's assistant switched off (on, it answers: tests/assistant/whatsapp)."""
    from backend.assistant.models import AssistantSettings

    clinic = world["clinic"]
    with django_db_blocker.unblock(), clinic_context(clinic):
        AssistantSettings.objects.update_or_create(pk=1, defaults={"enabled": False})
    with _server(django_db_blocker) as server:
        body = _inbound("¿Puedo llevar a mi hijo también?")
        assert _post(server, body, _signed(body)).status_code == 200
    with django_db_blocker.unblock(), clinic_context(clinic):
        message = InboxMessage.objects.get()
        assert message.patient_id == world["patient"].pk
        assert "hijo" in message.body
        assert (
            Appointment.objects.get(pk=world["appointment"].pk).status
            == AppointmentStatus.SCHEDULED
        )
