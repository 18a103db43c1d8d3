"""One-time codes through the messaging channels (the assistant's identity check).

The assistant makes the code and keeps its hash; this app only carries it to the patient: a
``VERIFICATION_CODE`` notification, planned now on the patient's best reachable channel and
sent by the usual job (deferred inside the caller's transaction). The code lives on the row
(``one_time_code``) only until the message has gone; with ``MESSAGING_BACKEND = "live"`` the
stored body is masked once sent, so that no staff member can read a patient's code. With the
development outbox the body keeps it: that is where a developer reads it. It is never
logged."""

from __future__ import annotations

import datetime as dt
import re

import phonenumbers
from django.db import transaction
from django.utils import timezone

from backend.audit.services import audit_record
from backend.notifications import selectors, tasks
from backend.notifications.models import (
    DEFAULT_CHANNEL_ORDER,
    METERED_CHANNELS,
    Channel,
    MessageUsage,
    Notification,
    NotificationKind,
)
from backend.patients.models import Patient
from tenants_core.context import current_clinic, current_timezone

MASK = "•"
_CODE = re.compile(r"^[0-9A-Za-z]{4,12}$")


def _quota_used_up(now: dt.datetime) -> bool:
    month = now.astimezone(current_timezone()).date().replace(day=1)
    usage = MessageUsage.objects.filter(month=month).first()
    return usage is not None and usage.metered >= current_clinic().max_monthly_messages


def code_channel(patient: Patient, now: dt.datetime) -> str | None:
    """Where a code for ``patient`` goes: the clinic's channel order (then any channel it
    left out), among the channels it can send on and the patient has a contact for; channels
    the patient agreed to come first, but one they declined is still used when it is the only
    way (they asked for this code; the opt-out is about reminders); WhatsApp and SMS go last
    when the plan's message quota is used up. None: no phone, no email (or archived)."""
    if patient.is_archived:
        return None
    available = selectors.sending_channels()
    order = list(selectors.messaging_settings().channel_order)
    order += [channel for channel in DEFAULT_CHANNEL_ORDER if channel not in order]
    reachable = [
        channel
        for channel in order
        if channel in available and (patient.email if channel == Channel.EMAIL else patient.phone)
    ]
    if not reachable:
        return None
    preference = selectors.contact_preference(patient.pk)
    quota_used_up = any(channel in METERED_CHANNELS for channel in reachable) and _quota_used_up(
        now
    )

    def rank(channel: str) -> tuple[bool, bool]:
        declined = preference is not None and not bool(getattr(preference, channel.lower()))
        return (quota_used_up and channel in METERED_CHANNELS, declined)

    return sorted(reachable, key=rank)[0]  # sorted() is stable: the order breaks ties


@transaction.atomic
def verification_code_send(
    *, patient: Patient, code: str, now: dt.datetime | None = None
) -> Notification | None:
    """Send ``code`` to ``patient`` now, on the channel ``code_channel`` picks; the planned
    notification (its send job deferred in this transaction), or None when the patient
    cannot be reached. Audited without the code."""
    if not _CODE.match(code):
        raise ValueError("A one-time code is 4 to 12 letters or digits.")
    now = now or timezone.now()
    channel = code_channel(patient, now)
    if channel is None:
        return None
    notification = Notification.objects.create(
        kind=NotificationKind.VERIFICATION_CODE,
        channel=channel,
        patient=patient,
        send_at=now,
        recipient=patient.email if channel == Channel.EMAIL else patient.phone,
        one_time_code=code,
        created_at=now,
        updated_at=now,
    )
    tasks.send_notifications_defer([(notification.pk, now)])
    audit_record(
        actor=None,
        actor_email="assistant",
        action="notifications.verification_code_send",
        entity=notification,
        changes={"patient_id": patient.pk, "channel": channel},
    )
    return notification


def masked_destination(notification: Notification) -> str:
    """Where a message went, for the patient to recognise and nobody else to learn:
    "+51 9•• ••• 678", "a•••@gmail.com"."""
    recipient = notification.recipient or ""
    if notification.channel == Channel.EMAIL:
        return mask_email(recipient)
    return mask_phone(recipient)


def mask_email(address: str) -> str:
    local, at, domain = address.partition("@")
    if not at:
        return MASK * 3
    return f"{local[:1]}{MASK * 3}@{domain}"


def mask_phone(phone: str) -> str:
    """The country code, the first digit and the last three, in groups of three."""
    try:
        number = phonenumbers.parse(phone if phone.startswith("+") else f"+{phone}", None)
    except phonenumbers.NumberParseException:
        digits = re.sub(r"\D", "", phone)
        return f"{MASK * max(len(digits) - 3, 3)}{digits[-3:]}" if digits else MASK * 3
    national = phonenumbers.national_significant_number(number)
    if len(national) < 5:
        shown = MASK * len(national)
    else:
        shown = national[0] + MASK * (len(national) - 4) + national[-3:]
    groups = [shown[max(i - 3, 0) : i] for i in range(len(shown), 0, -3)][::-1]
    return f"+{number.country_code} {' '.join(groups)}"
