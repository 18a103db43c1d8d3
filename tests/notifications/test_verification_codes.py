"""One-time codes through the messaging channels: planned at once on the patient's best
channel (whatever the reminders' opt-out), sent by the usual job, readable in the development
outbox, masked in the stored message once sent live (the fakes of WhatsApp, the SMS provider
and a real SMTP server), never logged, never resent."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from urllib.parse import parse_qs

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from backend.audit.models import AuditEvent
from backend.notifications import channels, codes, delivery
from backend.notifications.channels import ProviderUnavailable
from backend.notifications.codes import masked_destination, verification_code_send
from backend.notifications.models import (
    ContactPreference,
    MessageTemplate,
    MessageUsage,
    MessagingSettings,
    Notification,
)
from backend.notifications.services import message_template_update, notification_resend
from tenants_core.context import current_timezone
from tenants_core.models import MessagingSender
from tests.fakes.fixtures import (
    CLINIC1_SMS,
    CLINIC1_WHATSAPP_ID,
    fake_sms,
    fake_whatsapp,
    smtp_server,
)
from tests.notifications.delivery_support import (  # noqa: F401 - the fixture
    EMAIL,
    PHONE,
    desk_fixture,
    send_jobs,
)

__all__ = ["fake_sms", "fake_whatsapp", "smtp_server"]  # fixtures used by name below

pytestmark = pytest.mark.django_db

CODE = "482913"


def send_now(note: Notification, now: dt.datetime | None = None) -> Notification:
    delivery.notification_send(notification_id=note.pk, now=now or timezone.now())
    note.refresh_from_db()
    return note


def sender(clinic: Any, channel: str, external_id: str) -> None:
    MessagingSender.objects.create(clinic=clinic, channel=channel, external_id=external_id)


# --- planning ----------------------------------------------------------------------------


def test_a_code_is_planned_now_on_whatsapp_with_its_send_job_deferred(desk):
    now = timezone.now()
    note = verification_code_send(patient=desk.patient, code=CODE, now=now)

    assert note is not None
    assert (note.kind, note.channel, note.status) == ("VERIFICATION_CODE", "WHATSAPP", "SCHEDULED")
    assert (note.patient_id, note.appointment_id, note.recipient) == (desk.patient.pk, None, PHONE)
    assert note.send_at == now
    (job,) = send_jobs([note.pk])
    assert job["status"] == "todo"
    assert job["scheduled_at"] == now
    event = AuditEvent.objects.get(action="notifications.verification_code_send")
    assert event.changes == {"patient_id": desk.patient.pk, "channel": "WHATSAPP"}
    assert CODE not in str(event.changes)


def test_the_code_is_read_in_the_development_outbox(desk, settings):
    settings.MESSAGING_BACKEND = "outbox"
    note = send_now(verification_code_send(patient=desk.patient, code=CODE))

    assert note.status == "SENT"
    assert note.provider_message_id.startswith("outbox-")
    assert note.body == f"{CODE} es su código de verificación. Por su seguridad, no lo comparta."
    assert note.one_time_code == ""  # the body is where a developer reads it


def test_a_patient_who_opted_out_of_reminders_still_gets_the_code_they_asked_for(desk, settings):
    settings.MESSAGING_BACKEND = "outbox"
    ContactPreference.objects.create(
        patient=desk.patient, opted_out_at=timezone.now(), opt_out_source="WHATSAPP"
    )
    MessagingSettings.objects.filter(pk=1).update(enabled=False)  # no reminders at all

    note = send_now(verification_code_send(patient=desk.patient, code=CODE))

    assert note.status == "SENT"
    assert CODE in note.body


def test_a_channel_the_patient_declined_comes_after_the_ones_they_accept(desk):
    ContactPreference.objects.create(patient=desk.patient, whatsapp=False)
    assert verification_code_send(patient=desk.patient, code=CODE).channel == "SMS"
    ContactPreference.objects.filter(patient=desk.patient).update(sms=False)
    assert verification_code_send(patient=desk.patient, code=CODE).channel == "EMAIL"
    ContactPreference.objects.filter(patient=desk.patient).update(email=False)
    # Every channel declined: the patient asked for this code, the clinic's first one goes.
    assert verification_code_send(patient=desk.patient, code=CODE).channel == "WHATSAPP"


def test_without_a_phone_the_code_goes_by_email(desk):
    desk.patient.phone = ""
    desk.patient.save()
    note = verification_code_send(patient=desk.patient, code=CODE)
    assert (note.channel, note.recipient) == ("EMAIL", EMAIL)


def test_the_clinic_s_channel_order_is_followed(desk):
    MessagingSettings.objects.filter(pk=1).update(channel_order=["SMS", "WHATSAPP"])
    assert verification_code_send(patient=desk.patient, code=CODE).channel == "SMS"
    desk.patient.phone = ""
    desk.patient.save()
    # Email is not in the clinic's order for reminders, but a code still reaches the patient.
    assert verification_code_send(patient=desk.patient, code=CODE).channel == "EMAIL"


def test_with_the_message_quota_used_up_the_code_goes_by_email(desk):
    month = timezone.now().astimezone(current_timezone()).date().replace(day=1)
    MessageUsage.objects.create(month=month, whatsapp=desk.clinic.max_monthly_messages)
    assert verification_code_send(patient=desk.patient, code=CODE).channel == "EMAIL"


def test_a_patient_without_phone_or_email_gets_nothing(desk):
    desk.patient.phone, desk.patient.email = "", ""
    desk.patient.save()
    assert verification_code_send(patient=desk.patient, code=CODE) is None
    assert not Notification.objects.filter(kind="VERIFICATION_CODE").exists()
    assert send_jobs() == []


def test_an_archived_patient_gets_nothing(desk):
    desk.patient.is_archived = True
    desk.patient.save()
    assert verification_code_send(patient=desk.patient, code=CODE) is None


@pytest.mark.parametrize("bad", ["", "12", "1234567890123", "12 34", "12\n34"])
def test_a_malformed_code_is_refused(desk, bad):
    with pytest.raises(ValueError, match="4 to 12"):
        verification_code_send(patient=desk.patient, code=bad)
    assert not Notification.objects.filter(kind="VERIFICATION_CODE").exists()


# --- live: the code goes out, the stored message keeps no trace of it -------------------------


def test_live_whatsapp_sends_the_authentication_template_and_masks_the_stored_body(
    desk, fake_whatsapp, caplog
):
    caplog.set_level(logging.DEBUG)
    sender(desk.clinic, "WHATSAPP", CLINIC1_WHATSAPP_ID)
    fake_whatsapp.templates["verification_code"] = 1  # approved, one body parameter

    note = send_now(verification_code_send(patient=desk.patient, code=CODE))

    (request,) = fake_whatsapp.received
    assert request.status == 200
    assert request.json["to"] == PHONE
    assert request.json["template"] == {
        "name": "verification_code",
        "language": {"code": "es"},
        "components": [
            {"type": "body", "parameters": [{"type": "text", "text": CODE}]},
            {
                "type": "button",
                "sub_type": "url",
                "index": "0",
                "parameters": [{"type": "text", "text": CODE}],
            },
        ],
    }
    assert note.status == "SENT"
    assert note.provider_message_id == request.answer["messages"][0]["id"]
    assert note.body == "•••••• es su código de verificación. Por su seguridad, no lo comparta."
    assert note.one_time_code == ""
    assert CODE not in caplog.text
    stored = Notification.objects.filter(pk=note.pk).values().get()
    assert all(CODE not in str(value) for value in stored.values())


def test_live_sms_carries_the_code_and_the_stored_body_is_masked(desk, fake_sms):
    sender(desk.clinic, "SMS", CLINIC1_SMS)  # no WhatsApp sender: SMS comes first

    note = send_now(verification_code_send(patient=desk.patient, code=CODE))

    (request,) = fake_sms.received
    form = parse_qs(request.body.decode())
    assert (form["To"], form["From"]) == ([PHONE], [CLINIC1_SMS])
    assert f"su código de verificación es {CODE}." in form["Body"][0]
    assert (note.channel, note.status) == ("SMS", "SENT")
    assert CODE not in note.body
    assert "su código de verificación es ••••••." in note.body


def test_live_email_carries_the_code_and_the_stored_body_is_masked(desk, smtp_server):
    desk.patient.phone = ""
    desk.patient.save()

    note = send_now(verification_code_send(patient=desk.patient, code=CODE))

    (mail,) = smtp_server.messages
    assert mail.recipients == [EMAIL]
    assert mail.message["Subject"].strip() == "Su código de verificación de Clínica Dental Norte"
    text = mail.message.get_body(preferencelist=("plain",)).get_content()
    assert f"Su código de verificación es {CODE}." in text
    assert (note.channel, note.status) == ("EMAIL", "SENT")
    assert CODE not in note.body
    assert "Su código de verificación es ••••••." in note.body
    assert note.one_time_code == ""


def test_a_code_the_provider_refuses_fails_masked_and_is_not_sent_elsewhere(desk, fake_whatsapp):
    sender(desk.clinic, "WHATSAPP", CLINIC1_WHATSAPP_ID)
    fake_whatsapp.templates["verification_code"] = 1
    fake_whatsapp.rejected_numbers.add(PHONE)

    note = send_now(verification_code_send(patient=desk.patient, code=CODE))

    assert (note.status, note.failure_code) == ("FAILED", "131030")
    assert CODE not in note.body
    assert note.one_time_code == ""
    assert Notification.objects.filter(kind="VERIFICATION_CODE").count() == 1


def test_an_outage_keeps_the_code_for_the_retry_but_not_in_the_body(desk, settings, monkeypatch):
    settings.MESSAGING_BACKEND = "live"
    sender(desk.clinic, "WHATSAPP", CLINIC1_WHATSAPP_ID)
    sent: list[channels.OutgoingMessage] = []

    def down(message: channels.OutgoingMessage) -> str:
        sent.append(message)
        raise ProviderUnavailable("WhatsApp answered 503")

    monkeypatch.setattr(channels, "send", down)
    note = verification_code_send(patient=desk.patient, code=CODE)
    with pytest.raises(ProviderUnavailable):
        delivery.notification_send(notification_id=note.pk, final_attempt=False)
    note.refresh_from_db()
    assert (note.status, note.one_time_code) == ("SCHEDULED", CODE)
    assert CODE not in note.body

    monkeypatch.setattr(channels, "send", lambda message: sent.append(message) or "wamid.ok")
    note = send_now(note)
    assert [message.whatsapp_parameters for message in sent] == [[CODE], [CODE]]
    assert [message.whatsapp_button_code for message in sent] == [CODE, CODE]
    assert (note.status, note.one_time_code) == ("SENT", "")
    assert CODE not in note.body


def test_a_code_that_waited_too_long_is_not_sent(desk, monkeypatch):
    sent: list[channels.OutgoingMessage] = []
    monkeypatch.setattr(channels, "send", lambda message: sent.append(message) or "id")
    note = verification_code_send(patient=desk.patient, code=CODE)

    note = send_now(note, now=note.created_at + delivery.CODE_MAX_AGE + dt.timedelta(seconds=1))

    assert sent == []
    assert (note.status, note.one_time_code) == ("CANCELLED", "")


def test_a_code_is_never_resent(desk, settings, make_staff):
    from backend.accounts.models import Role

    settings.MESSAGING_BACKEND = "outbox"
    note = send_now(verification_code_send(patient=desk.patient, code=CODE))
    admin = make_staff(desk.clinic, Role.ADMIN)
    with pytest.raises(ValidationError) as refused:
        notification_resend(actor=admin, notification=note)
    assert refused.value.code == "NOT_RESENDABLE"
    note.refresh_from_db()
    assert note.status == "SENT"


# --- templates ---------------------------------------------------------------------------------


def test_every_clinic_starts_with_the_code_templates(desk):
    templates = {
        (t.channel, t.whatsapp_template_name)
        for t in MessageTemplate.objects.filter(kind="VERIFICATION_CODE")
    }
    assert templates == {("WHATSAPP", "verification_code"), ("SMS", ""), ("EMAIL", "")}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("Su código es {codigo}", "UNKNOWN_PLACEHOLDER"),
        ("Cita {date}: {code}", "UNKNOWN_PLACEHOLDER"),  # no appointment behind a code
        ("Hola {patient_first_name}, le escribimos de {clinic_name}.", "INVALID_TEMPLATE"),
    ],
)
def test_a_code_template_must_carry_the_code_and_nothing_else(desk, body, code):
    before = MessageTemplate.objects.get(kind="VERIFICATION_CODE", channel="SMS").body
    with pytest.raises(ValidationError) as refused:
        message_template_update(
            actor=desk.actor, kind="VERIFICATION_CODE", channel="SMS", body=body
        )
    assert refused.value.error_dict["body"][0].code == code
    assert MessageTemplate.objects.get(kind="VERIFICATION_CODE", channel="SMS").body == before


# --- where the code went ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "recipient", "shown"),
    [
        ("WHATSAPP", "+51987654678", "+51 9•• ••• 678"),
        ("SMS", "+51987654678", "+51 9•• ••• 678"),
        ("SMS", "+12025550123", "+1 2 ••• ••• 123"),
        ("EMAIL", "ana.torres@gmail.com", "a•••@gmail.com"),
        ("EMAIL", "x@correo.pe", "x•••@correo.pe"),
    ],
)
def test_masked_destination_shows_enough_to_recognise_and_no_more(channel, recipient, shown):
    note = Notification(kind="VERIFICATION_CODE", channel=channel, recipient=recipient)
    assert masked_destination(note) == shown


def test_masked_destination_of_a_planned_code(desk):
    note = verification_code_send(patient=desk.patient, code=CODE)
    assert masked_destination(note) == "+51 9•• ••• 321"
    assert codes.mask_phone("not a phone") == "•••"


def test_the_preview_of_a_code_template_shows_a_sample_code(desk):
    from backend.notifications.services import message_template_preview

    subject, body = message_template_preview(
        clinic=desk.clinic, kind="VERIFICATION_CODE", subject="", body="Su código: {code}"
    )
    assert (subject, body) == ("", "Su código: 482913")
