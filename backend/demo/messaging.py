"""The demo clinics' patient messaging: their WhatsApp and SMS senders (fake ids, routed like
real ones), their messaging settings, and their patients' contact preferences.

Nothing leaves the machine in development (``MESSAGING_BACKEND=outbox``): the messages land in
the outbox, which staff read through GraphQL (``notifications``)."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils import timezone

from backend.notifications.models import ContactPreference, MessagingSettings
from backend.patients.models import Patient
from tenants_core.models import Clinic, MessagingChannel, MessagingSender

# Every 7th demo patient has turned WhatsApp off (SMS and email still reach them), every 23rd
# has opted out ("BAJA"): the demo shows both without any manual step.
NO_WHATSAPP_EVERY = 7
OPTED_OUT_EVERY = 23


def messaging_senders_ensure(*, clinic: Clinic, whatsapp_phone_id: str, sms_number: str) -> None:
    """The clinic's WhatsApp phone-number id and SMS number (public table; idempotent: an
    existing sender is left as it is)."""
    for channel, external_id, display in (
        (MessagingChannel.WHATSAPP, whatsapp_phone_id, sms_number),
        (MessagingChannel.SMS, sms_number, sms_number),
    ):
        MessagingSender.objects.get_or_create(
            clinic=clinic,
            channel=channel,
            defaults={"external_id": external_id, "display_number": display},
        )


def messaging_settings_ensure() -> MessagingSettings:
    """The clinic's messaging switches (the migration creates them; a demo clinic made before
    that, or whose row was removed, gets them here)."""
    settings_row, _created = MessagingSettings.objects.get_or_create(pk=1)
    return settings_row


def contact_preferences_seed(patients: Sequence[Patient]) -> int:
    """A preference row for each demo patient that has none: most allow every channel, some
    turned WhatsApp off, a few opted out. How many rows were written."""
    messaging_settings_ensure()
    have = set(
        ContactPreference.objects.filter(patient__in=patients).values_list("patient_id", flat=True)
    )
    now = timezone.now()
    rows = []
    for index, patient in enumerate(patients, start=1):
        if patient.pk in have:
            continue
        opted_out = index % OPTED_OUT_EVERY == 0
        rows.append(
            ContactPreference(
                patient=patient,
                whatsapp=index % NO_WHATSAPP_EVERY != 0,
                opted_out_at=now if opted_out else None,
                opt_out_source="demo" if opted_out else "",
            )
        )
    ContactPreference.objects.bulk_create(rows)
    return len(rows)
