"""The live channels against local fakes of the providers and a real SMTP server: the
requests they send are the ones the providers document, and each kind of failure becomes
``ProviderRejected`` (for good) or ``ProviderUnavailable`` (retry)."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any
from urllib.parse import parse_qs

import pytest
from icalendar import Calendar

from backend.core.tenancy import clinic_context
from backend.notifications import channels
from backend.notifications.channels import OutgoingMessage, ProviderRejected, ProviderUnavailable
from backend.scheduling.models import Appointment
from devtools.processes import free_port
from tenants_core.models import MessagingSender
from tests.factories import ChairFactory, PatientFactory, ProfessionalFactory
from tests.fakes.fixtures import (
    CLINIC1_SMS,
    CLINIC1_WHATSAPP_ID,
    PUBLIC_BASE_URL,
    SMS_ACCOUNT_SID,
    SMS_AUTH_TOKEN,
    WHATSAPP_TOKEN,
    fake_sms,
    fake_whatsapp,
    smtp_server,
)

__all__ = ["fake_sms", "fake_whatsapp", "smtp_server"]  # fixtures used by name below

PATIENT_PHONE = "+51987654321"
PARAMS = ["José", "jueves 3 de diciembre", "10:30", "Dra. Rivas"]


def template_message(**overrides: Any) -> OutgoingMessage:
    fields: dict[str, Any] = {
        "channel": "WHATSAPP",
        "recipient": PATIENT_PHONE,
        "body": "Hola José, le recordamos su cita…",
        "sender": CLINIC1_WHATSAPP_ID,
        "whatsapp_template_name": "recordatorio_cita",
        "whatsapp_parameters": PARAMS,
    }
    return OutgoingMessage(**{**fields, **overrides})


def sms_message(**overrides: Any) -> OutgoingMessage:
    fields: dict[str, Any] = {
        "channel": "SMS",
        "recipient": PATIENT_PHONE,
        "body": "Clínica Dental Norte: su cita es el jueves 3 de diciembre, 10:30.",
        "sender": CLINIC1_SMS,
    }
    return OutgoingMessage(**{**fields, **overrides})


# --- WhatsApp ---------------------------------------------------------------------------


def test_whatsapp_template_is_posted_as_meta_documents(fake_whatsapp: Any) -> None:
    wamid = channels.send(template_message())

    (request,) = fake_whatsapp.received
    assert request.status == 200
    assert request.path == f"/v21.0/{CLINIC1_WHATSAPP_ID}/messages"
    assert request.headers["authorization"] == f"Bearer {WHATSAPP_TOKEN}"
    assert request.headers["content-type"].startswith("application/json")
    assert request.json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": PATIENT_PHONE,
        "type": "template",
        "template": {
            "name": "recordatorio_cita",
            "language": {"code": "es"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": p} for p in PARAMS]}
            ],
        },
    }
    assert wamid == request.answer["messages"][0]["id"]
    assert wamid.startswith("wamid.")


def test_whatsapp_free_text_reply_is_a_text_message(fake_whatsapp: Any) -> None:
    channels.send(template_message(whatsapp_template_name="", body="Gracias, lo esperamos."))

    (request,) = fake_whatsapp.accepted()
    assert request.json["type"] == "text"
    assert request.json["text"] == {"preview_url": False, "body": "Gracias, lo esperamos."}
    assert "template" not in request.json


def test_whatsapp_sender_is_the_clinics_own_number(
    fake_whatsapp: Any, clinic1: Any, clinic2: Any
) -> None:
    MessagingSender.objects.create(clinic=clinic1, channel="WHATSAPP", external_id=CLINIC1_WHATSAPP_ID)  # fmt: skip

    with clinic_context(clinic1):
        channels.send(template_message(sender=""))
    with clinic_context(clinic2), pytest.raises(ProviderRejected) as refused:
        channels.send(template_message(sender=""))

    assert [r.path for r in fake_whatsapp.received] == [f"/v21.0/{CLINIC1_WHATSAPP_ID}/messages"]
    assert refused.value.code == "NO_SENDER"


def test_whatsapp_refused_number_fails_for_good_with_metas_code(fake_whatsapp: Any) -> None:
    fake_whatsapp.rejected_numbers.add("+51900000000")

    with pytest.raises(ProviderRejected) as refused:
        channels.send(template_message(recipient="+51900000000"))

    assert refused.value.code == "131030"
    assert "not in allowed list" in refused.value.reason


def test_whatsapp_unknown_template_and_wrong_parameter_count_are_rejected(
    fake_whatsapp: Any,
) -> None:
    with pytest.raises(ProviderRejected) as unknown:
        channels.send(template_message(whatsapp_template_name="no_aprobada"))
    with pytest.raises(ProviderRejected) as count:
        channels.send(template_message(whatsapp_parameters=PARAMS[:2]))

    assert (unknown.value.code, count.value.code) == ("132001", "132000")
    assert [r.status for r in fake_whatsapp.received] == [404, 400]


@pytest.mark.parametrize("status", [500, 503, 429])
def test_whatsapp_server_errors_and_throttling_are_retried(fake_whatsapp: Any, status: int) -> None:
    fake_whatsapp.fail_next(status, {"error": {"message": "Service unavailable", "code": 2}})

    with pytest.raises(ProviderUnavailable):
        channels.send(template_message())
    # the retry goes through
    assert channels.send(template_message()).startswith("wamid.")


def test_whatsapp_timeout_is_unavailable(fake_whatsapp: Any, settings: Any) -> None:
    settings.MESSAGING_TIMEOUT_SECONDS = 0.3
    fake_whatsapp.fail_next(200, {"messages": [{"id": "wamid.late"}]}, delay=1.5)

    with pytest.raises(ProviderUnavailable, match="timed out"):
        channels.send(template_message())


def test_whatsapp_unreachable_and_expired_token_are_unavailable(
    fake_whatsapp: Any, settings: Any
) -> None:
    settings.WHATSAPP_ACCESS_TOKEN = "expired"
    with pytest.raises(ProviderUnavailable, match="401"):
        channels.send(template_message())
    assert fake_whatsapp.received[-1].answer["error"]["code"] == 190

    settings.WHATSAPP_ACCESS_TOKEN = WHATSAPP_TOKEN
    settings.WHATSAPP_API_BASE_URL = f"http://127.0.0.1:{free_port()}/v21.0"  # nobody listens
    with pytest.raises(ProviderUnavailable, match="unreachable"):
        channels.send(template_message())


def test_outbox_backend_sends_nothing(fake_whatsapp: Any, settings: Any) -> None:
    settings.MESSAGING_BACKEND = "outbox"

    assert channels.send(template_message()).startswith("outbox-")
    assert fake_whatsapp.received == []


# --- SMS --------------------------------------------------------------------------------


def test_sms_is_posted_as_twilio_documents(fake_sms: Any) -> None:
    sid = channels.send(sms_message())

    (request,) = fake_sms.received
    assert request.status == 201
    assert request.path == f"/2010-04-01/Accounts/{SMS_ACCOUNT_SID}/Messages.json"
    basic = base64.b64encode(f"{SMS_ACCOUNT_SID}:{SMS_AUTH_TOKEN}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {basic}"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.body.decode()) == {
        "To": [PATIENT_PHONE],
        "From": [CLINIC1_SMS],
        "Body": ["Clínica Dental Norte: su cita es el jueves 3 de diciembre, 10:30."],
        "StatusCallback": [f"{PUBLIC_BASE_URL}/webhooks/sms/status"],
    }
    assert sid == request.answer["sid"]
    assert sid.startswith("SM")
    assert len(sid) == 34


def test_sms_invalid_number_fails_for_good_with_twilios_code(fake_sms: Any) -> None:
    with pytest.raises(ProviderRejected) as refused:
        channels.send(sms_message(recipient="987654321"))

    assert refused.value.code == "21211"
    assert "not a valid phone number" in refused.value.reason


def test_sms_from_a_number_not_of_the_account_is_rejected(fake_sms: Any) -> None:
    with pytest.raises(ProviderRejected) as refused:
        channels.send(sms_message(sender="+15005550999"))

    assert refused.value.code == "21606"


def test_sms_clinic_without_a_number_is_no_sender(fake_sms: Any, clinic2: Any) -> None:
    with clinic_context(clinic2), pytest.raises(ProviderRejected) as refused:
        channels.send(sms_message(sender=""))

    assert refused.value.code == "NO_SENDER"
    assert fake_sms.received == []


def test_sms_server_error_and_timeout_are_unavailable(fake_sms: Any, settings: Any) -> None:
    fake_sms.fail_next(500, {"code": 20500, "message": "Internal Server Error", "status": 500})
    with pytest.raises(ProviderUnavailable, match="500"):
        channels.send(sms_message())

    settings.MESSAGING_TIMEOUT_SECONDS = 0.3
    fake_sms.fail_next(201, {"sid": "SMlate"}, delay=1.5)
    with pytest.raises(ProviderUnavailable, match="timed out"):
        channels.send(sms_message())


def test_sms_wrong_credentials_are_not_a_bad_number(fake_sms: Any, settings: Any) -> None:
    settings.SMS_AUTH_TOKEN = "rotated"

    with pytest.raises(ProviderUnavailable, match="20003"):
        channels.send(sms_message())


# --- email ------------------------------------------------------------------------------


@pytest.fixture
def appointment(clinic1: Any) -> Appointment:
    with clinic_context(clinic1):
        start = dt.datetime(2026, 12, 3, 15, 30, tzinfo=dt.UTC)  # 10:30 in Lima
        return Appointment.objects.create(
            patient=PatientFactory(first_name="Ana", email="ana@example.pe"),
            professional=ProfessionalFactory(full_name="Dra. Rivas"),
            chair=ChairFactory(),
            starts_at=start,
            ends_at=start + dt.timedelta(minutes=45),
            reason="Endodoncia pieza 36",
            notes="Alergia a la penicilina",
        )


def test_email_reaches_a_real_smtp_server_with_the_ics(
    smtp_server: Any, clinic1: Any, appointment: Appointment
) -> None:
    with clinic_context(clinic1):
        ics = channels.calendar.appointment_ics(appointment, address="Av. Larco 123, Miraflores")
        message_id = channels.send(
            OutgoingMessage(
                channel="EMAIL",
                recipient="ana@example.pe",
                subject="Confirme su cita en Clínica Dental Norte",
                body="Hola Ana, su cita es el jueves 3 de diciembre, 10:30.",
                ics=ics,
                reference="notification-7",
            )
        )

    (mail,) = smtp_server.messages
    assert mail.recipients == ["ana@example.pe"]
    message = mail.message
    assert message["Subject"] == "Confirme su cita en Clínica Dental Norte"
    assert message["To"] == "ana@example.pe"
    assert message["From"] == "no-reply@localhost"
    assert message["Message-ID"] == message_id
    assert message["X-Message-Reference"] == "notification-7"
    text = message.get_body(preferencelist=("plain",))
    assert text.get_content().strip() == "Hola Ana, su cita es el jueves 3 de diciembre, 10:30."
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_filename() == "cita.ics"
    raw = attachment.get_content()
    event = Calendar.from_ical(raw).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == "Cita en Clínica Dental Norte"
    assert str(event["LOCATION"]) == "Av. Larco 123, Miraflores"
    assert event.decoded("DTSTART") == dt.datetime(2026, 12, 3, 15, 30, tzinfo=dt.UTC)
    assert event.decoded("DTEND") == dt.datetime(2026, 12, 3, 16, 15, tzinfo=dt.UTC)
    assert "DTSTART:20261203T153000Z" in raw.replace("\r\n", "\n")
    assert str(event["UID"]) == f"{clinic1.schema_name}-appointment-{appointment.pk}@localhost"
    for clinical in ("Endodoncia", "36", "penicilina"):
        assert clinical not in raw.replace(str(appointment.pk), "")


def test_email_refused_recipient_fails_for_good(smtp_server: Any) -> None:
    smtp_server.handler.refused.add("nadie@example.pe")

    with pytest.raises(ProviderRejected) as refused:
        channels.send(OutgoingMessage(channel="EMAIL", recipient="nadie@example.pe", body="x"))

    assert refused.value.code == "SMTP_550"
    assert smtp_server.messages == []


def test_email_server_down_is_unavailable(smtp_server: Any, settings: Any) -> None:
    settings.EMAIL_PORT = free_port()  # nobody listens

    with pytest.raises(ProviderUnavailable):
        channels.send(OutgoingMessage(channel="EMAIL", recipient="ana@example.pe", body="x"))
