"""Reads of patient messaging that delivery needs (staff-facing lists: see the GraphQL part)."""

from __future__ import annotations

from django.conf import settings

from backend.notifications.models import (
    Channel,
    ContactPreference,
    MessageTemplate,
    MessagingSettings,
)
from backend.patients.models import Patient
from tenants_core.context import current_clinic
from tenants_core.models import MessagingSender


def messaging_settings() -> MessagingSettings:
    """The clinic's switches (the row is seeded by migration; created again if missing)."""
    row, _created = MessagingSettings.objects.get_or_create(pk=1)
    return row


def sender_for(channel: str) -> str:
    """The clinic's own sender on ``channel`` (WhatsApp phone number id or SMS number); "" for
    email, and with the development outbox when the clinic has none."""
    if channel == Channel.EMAIL:
        return ""
    sender = (
        MessagingSender.objects.filter(clinic_id=current_clinic().pk, channel=channel)
        .values_list("external_id", flat=True)
        .first()
    )
    return sender or ""


def sending_channels() -> frozenset[str]:
    """The channels the clinic can send on: email always; WhatsApp and SMS when it has a sender
    for them (every channel with the development outbox). At most one query."""
    if settings.MESSAGING_BACKEND == "outbox":
        return frozenset(Channel.values)
    senders = MessagingSender.objects.filter(clinic_id=current_clinic().pk).values_list(
        "channel", flat=True
    )
    return frozenset({Channel.EMAIL.value, *senders})


def contact_preference(patient_id: int) -> ContactPreference | None:
    return ContactPreference.objects.filter(patient_id=patient_id).first()


def patient_can_receive(
    patient: Patient, channel: str, preference: ContactPreference | None
) -> bool:
    if patient.is_archived:
        return False
    if preference is not None and not preference.allows(channel):
        return False
    return bool(patient.email if channel == Channel.EMAIL else patient.phone)


def template_for(kind: str, channel: str) -> MessageTemplate | None:
    return MessageTemplate.objects.filter(kind=kind, channel=channel).first()
