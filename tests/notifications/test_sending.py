"""Sending: the job body locks its row, re-checks consent and the appointment, renders the
clinic's template and hands the message to ``channels.send`` (the development outbox; provider
faults by replacing ``channels.send``)."""

from __future__ import annotations

import datetime as dt
import types

import pytest

from backend.notifications import channels, delivery, tasks
from backend.notifications.models import ContactPreference, MessageUsage, Notification
from backend.scheduling.services import appointment_change_status
from tests.dates import MONDAY, lima
from tests.notifications.delivery_support import (  # noqa: F401 - the fixture
    PHONE,
    desk_fixture,
    notifications_of,
    send_jobs,
)

pytestmark = pytest.mark.django_db


def due_confirmation(desk, **booking):
    appointment = desk.book(lima(MONDAY, 10, 30), **booking)
    confirmation = notifications_of(appointment)[0]
    assert confirmation.kind == "CONFIRMATION_REQUEST"
    return appointment, confirmation


def month_usage(moment: dt.datetime) -> MessageUsage | None:
    return MessageUsage.objects.filter(month=moment.date().replace(day=1)).first()


class Recorder:
    def __init__(self, outcome=None):
        self.sent: list[channels.OutgoingMessage] = []
        self.outcome = outcome

    def __call__(self, message: channels.OutgoingMessage) -> str:
        self.sent.append(message)
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return f"wamid.{len(self.sent)}"


@pytest.fixture
def provider(monkeypatch):
    def install(outcome=None) -> Recorder:
        recorder = Recorder(outcome)
        monkeypatch.setattr(channels, "send", recorder)
        return recorder

    return install


def test_a_due_message_is_rendered_sent_and_counted(desk, provider):
    recorder = provider()
    _appointment, note = due_confirmation(desk, reason="Dolor muela 36", notes="Pulpitis aguda")

    delivery.notification_send(notification_id=note.pk, now=note.send_at)

    note.refresh_from_db()
    assert (note.status, note.attempts, note.provider_message_id) == ("SENT", 1, "wamid.1")
    assert note.sent_at is not None
    assert note.recipient == PHONE
    (message,) = recorder.sent
    weekday = ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"]
    months = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
              "septiembre", "octubre", "noviembre", "diciembre"]  # fmt: skip
    spanish = f"{weekday[MONDAY.weekday()]} {MONDAY.day} de {months[MONDAY.month - 1]}"
    assert message.body == note.body
    assert "Hola José, le escribimos de Clínica Dental Norte." in message.body
    assert f"el {spanish} a las 10:30 con Dra. Ana Soto" in message.body
    assert "/c/" in message.body
    assert "clinica1." in message.body
    for secret in ("Dolor", "muela", "Pulpitis"):
        assert secret not in message.body
        assert secret not in " ".join(message.whatsapp_parameters)
    assert message.whatsapp_template_name == "appointment_confirmation"
    assert message.whatsapp_parameters[:5] == [
        "José", "Clínica Dental Norte", spanish, "10:30", "Dra. Ana Soto",
    ]  # fmt: skip
    assert message.recipient == PHONE
    assert message.channel == "WHATSAPP"
    usage = month_usage(note.send_at.astimezone(lima(MONDAY, 0).tzinfo))
    assert usage is not None
    assert (usage.whatsapp, usage.sms) == (1, 0)


def test_messages_carry_the_clinic_s_address_and_phone_from_its_profile(desk, provider):
    from backend.clinic_admin.models import ClinicProfile

    ClinicProfile.objects.filter(pk=1).update(
        address_line="Av. Larco 123", district="Miraflores", province="Lima", phone="+5112345678"
    )
    recorder = provider()
    desk.patient.phone = ""  # the email confirmation names the address
    desk.patient.save()
    _appointment, note = due_confirmation(desk)

    delivery.notification_send(notification_id=note.pk, now=note.send_at)

    (message,) = recorder.sent
    assert message.channel == "EMAIL"
    assert "\nAv. Larco 123, Miraflores, Lima\n" in message.body


def test_an_email_gets_a_subject_and_no_leftover_address_line(desk, provider):
    recorder = provider()
    desk.patient.phone = ""
    desk.patient.save()
    _appointment, note = due_confirmation(desk)
    assert note.channel == "EMAIL"

    delivery.notification_send(notification_id=note.pk, now=note.send_at)

    (message,) = recorder.sent
    assert message.subject == "Confirme su cita en Clínica Dental Norte"
    assert "{" not in message.body
    assert "Dirección" not in message.body
    assert "\n\n\n" not in message.body
    assert "  " not in message.body
    note.refresh_from_db()
    assert note.status == "SENT"
    usage = MessageUsage.objects.get()
    assert (usage.email, usage.whatsapp + usage.sms) == (1, 0)


def test_nothing_happens_before_the_send_time_or_after_another_outcome(desk, provider):
    recorder = provider()
    _appointment, note = due_confirmation(desk)

    delivery.notification_send(notification_id=note.pk, now=note.send_at - dt.timedelta(seconds=1))
    Notification.objects.filter(pk=note.pk).update(status="CANCELLED")
    delivery.notification_send(notification_id=note.pk, now=note.send_at)
    delivery.notification_send(notification_id=987654321, now=note.send_at)  # gone

    assert recorder.sent == []
    note.refresh_from_db()
    assert (note.status, note.attempts) == ("CANCELLED", 0)


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ("opt_out", "SKIPPED", "OPTED_OUT"),
        ("channel_off", "SKIPPED", "OPTED_OUT"),
        ("no_phone", "SKIPPED", "NO_CONTACT"),
        ("cancelled", "CANCELLED", ""),
    ],
)
def test_consent_contact_and_the_appointment_are_checked_again_at_sending(
    desk, provider, change, status, code
):
    recorder = provider()
    appointment, note = due_confirmation(desk)
    if change == "opt_out":
        ContactPreference.objects.create(
            patient=desk.patient, opted_out_at=note.send_at, opt_out_source="staff"
        )
    elif change == "channel_off":
        ContactPreference.objects.create(patient=desk.patient, whatsapp=False)
    elif change == "no_phone":
        desk.patient.phone = ""
        desk.patient.save()
    else:  # cancelled behind the planner's back (the hook would have cancelled the row)
        type(appointment).objects.filter(pk=appointment.pk).update(status="CANCELLED")

    delivery.notification_send(notification_id=note.pk, now=note.send_at)

    note.refresh_from_db()
    assert (note.status, note.failure_code) == (status, code)
    assert recorder.sent == []
    assert MessageUsage.objects.filter(whatsapp__gt=0).count() == 0


def test_a_rejected_message_fails_at_once_and_falls_back_to_the_next_channel(desk, provider):
    provider(channels.ProviderRejected("131026", "Message undeliverable: not a WhatsApp user"))
    _appointment, note = due_confirmation(desk)
    jobs_before = len(send_jobs())

    delivery.notification_send(notification_id=note.pk, now=note.send_at)

    note.refresh_from_db()
    assert (note.status, note.failure_code) == ("FAILED", "131026")
    assert note.failure_reason == "Message undeliverable: not a WhatsApp user"
    fallback = Notification.objects.get(appointment=note.appointment, rule=note.rule, channel="SMS")
    assert (fallback.status, fallback.send_at) == ("SCHEDULED", note.send_at)
    assert [j["args"]["notification_id"] for j in send_jobs()[jobs_before:]] == [fallback.pk]
    assert MessageUsage.objects.get().whatsapp == 0  # the reservation is given back


def test_an_unreachable_provider_is_retried_then_fails_visibly(desk, provider):
    provider(channels.ProviderUnavailable("503 from graph.facebook.com"))
    _appointment, note = due_confirmation(desk)

    with pytest.raises(channels.ProviderUnavailable):
        delivery.notification_send(
            notification_id=note.pk, now=note.send_at, attempt=1, final_attempt=False
        )
    note.refresh_from_db()
    assert (note.status, note.attempts, note.failure_code) == (
        "SCHEDULED", 1, "PROVIDER_UNAVAILABLE",
    )  # fmt: skip

    delivery.notification_send(
        notification_id=note.pk, now=note.send_at, attempt=2, final_attempt=True
    )
    note.refresh_from_db()
    assert (note.status, note.attempts, note.failure_code) == ("FAILED", 2, "PROVIDER_UNAVAILABLE")
    assert "503" in note.failure_reason
    assert MessageUsage.objects.get().whatsapp == 0


def test_a_message_found_sending_is_not_sent_again(desk, provider):
    """A worker died between the provider call and recording it: the retry must not send a
    second copy; the row says the outcome is unknown."""
    recorder = provider()
    _appointment, note = due_confirmation(desk)
    Notification.objects.filter(pk=note.pk).update(status="SENDING", attempts=1)

    delivery.notification_send(notification_id=note.pk, now=note.send_at)

    assert recorder.sent == []
    note.refresh_from_db()
    assert (note.status, note.failure_code) == ("FAILED", "PROVIDER_UNAVAILABLE")
    assert note.failure_reason == delivery.UNKNOWN_OUTCOME_REASON


def test_the_sending_mark_is_what_the_provider_call_sees(desk, monkeypatch):
    """Step 1 (SENDING, quota reserved) is done before the provider is called."""
    _appointment, note = due_confirmation(desk)
    seen = {}

    def look(message):
        row = Notification.objects.get(pk=note.pk)
        seen["status"], seen["body"] = row.status, row.body
        seen["usage"] = MessageUsage.objects.get().whatsapp
        return "wamid.x"

    monkeypatch.setattr(channels, "send", look)
    delivery.notification_send(notification_id=note.pk, now=note.send_at)
    assert seen["status"] == "SENDING"
    assert seen["body"].startswith("Hola José")
    assert seen["usage"] == 1


def _job_context(attempts: int):
    return types.SimpleNamespace(job=types.SimpleNamespace(attempts=attempts))


def test_the_job_passes_the_attempt_number_and_fails_on_the_last_one(desk, provider, settings):
    settings.JOB_MAX_ATTEMPTS = 3
    provider(channels.ProviderUnavailable("timeout"))
    _appointment, note = due_confirmation(desk)
    Notification.objects.filter(pk=note.pk).update(send_at=note.send_at - dt.timedelta(days=30))
    args = {"clinic_id": desk.clinic.pk, "clinic_schema": desk.clinic.schema_name}

    for attempts_before in (0, 1):
        with pytest.raises(channels.ProviderUnavailable):
            tasks.send_notification(_job_context(attempts_before), notification_id=note.pk, **args)
    tasks.send_notification(_job_context(2), notification_id=note.pk, **args)

    note.refresh_from_db()
    assert (note.status, note.attempts, note.failure_code) == ("FAILED", 3, "PROVIDER_UNAVAILABLE")
    assert [tasks.is_final_attempt(n) for n in range(4)] == [False, False, True, True]


def test_the_job_of_a_suspended_or_unknown_clinic_does_nothing(desk, provider):
    recorder = provider()
    _appointment, note = due_confirmation(desk)
    tasks.send_notification(
        _job_context(0),
        clinic_id=desk.clinic.pk,
        clinic_schema="clinic_that_is_not",
        notification_id=note.pk,
    )
    assert recorder.sent == []
    note.refresh_from_db()
    assert note.status == "SCHEDULED"


def test_a_confirmed_appointment_no_longer_gets_its_confirmation_request(desk, provider):
    recorder = provider()
    appointment, note = due_confirmation(desk)
    appointment_change_status(actor=desk.actor, appointment=appointment, status="CONFIRMED")
    delivery.notification_send(notification_id=note.pk, now=note.send_at)
    assert recorder.sent == []
    note.refresh_from_db()
    assert note.status == "CANCELLED"
