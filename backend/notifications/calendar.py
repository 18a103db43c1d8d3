"""An appointment as a calendar entry (``.ics``, RFC 5545) attached to the email messages.

Only what the patient needs to find the appointment again: the clinic, when, where, and with
whom. Never the appointment's reason, notes or any clinical detail. The UID is stable per
appointment (clinic schema + appointment id), so a later message about the same appointment
updates the entry the patient already imported instead of adding a second one; a cancelled
appointment is sent with ``STATUS:CANCELLED``."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event

from backend.core.db_backend.connection import tenant_connection
from backend.scheduling.models import Appointment, AppointmentStatus

PRODID = "-//Dental SaaS//Recordatorios de citas//ES"
CONTENT_TYPE = "text/calendar"
FILENAME = "cita.ics"


def appointment_uid(appointment: Appointment) -> str:
    """The same for every message about this appointment, unique across clinics."""
    return f"{tenant_connection().schema_name}-appointment-{appointment.pk}@{settings.BASE_DOMAIN}"


def _sequence(appointment: Appointment) -> int:
    # Calendar clients keep the entry with the highest SEQUENCE: seconds since it was booked
    # grow with every change of the appointment.
    return max(int((appointment.updated_at - appointment.created_at).total_seconds()), 0)


def appointment_ics(
    appointment: Appointment,
    *,
    clinic_name: str | None = None,
    address: str = "",
    now: dt.datetime | None = None,
) -> bytes:
    """The ``.ics`` bytes of ``appointment`` (call inside its clinic's context).

    ``clinic_name`` defaults to the current clinic's name; ``address`` becomes LOCATION.
    METHOD is PUBLISH: the clinic publishes the event, the patient imports it (no organizer
    or attendee addresses, no RSVP)."""
    clinic = tenant_connection().tenant
    name = clinic_name if clinic_name is not None else getattr(clinic, "name", "")
    stamp = (now or timezone.now()).astimezone(dt.UTC)

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")

    event = Event()
    event.add("uid", appointment_uid(appointment))
    event.add("dtstamp", stamp)
    event.add("dtstart", appointment.starts_at.astimezone(dt.UTC))
    event.add("dtend", appointment.ends_at.astimezone(dt.UTC))
    event.add("summary", f"Cita en {name}".strip())
    if address:
        event.add("location", address)
    professional = getattr(appointment.professional, "full_name", "")
    if professional:
        event.add("description", f"Con {professional}.")
    event.add("sequence", _sequence(appointment))
    if appointment.status == AppointmentStatus.CANCELLED or not appointment.is_active:
        event.add("status", "CANCELLED")
    elif appointment.status == AppointmentStatus.SCHEDULED:
        event.add("status", "TENTATIVE")
    else:
        event.add("status", "CONFIRMED")
    event.add("transp", "OPAQUE")
    calendar.add_component(event)
    return calendar.to_ical()
