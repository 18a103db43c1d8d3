"""The appointment's ``.ics``: one entry per appointment that later messages update, in UTC,
with nothing clinical in it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from icalendar import Calendar

from backend.core.tenancy import clinic_context
from backend.notifications.calendar import appointment_ics
from backend.scheduling.models import Appointment, AppointmentStatus
from tests.factories import ChairFactory, PatientFactory, ProfessionalFactory


def _appointment(start: dt.datetime, **fields: Any) -> Appointment:
    return Appointment.objects.create(
        patient=PatientFactory(),
        professional=ProfessionalFactory(full_name="Dr. Quispe"),
        chair=ChairFactory(),
        starts_at=start,
        ends_at=start + dt.timedelta(minutes=30),
        **fields,
    )


def _event(ics: bytes) -> Any:
    calendar = Calendar.from_ical(ics)
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(calendar["VERSION"]) == "2.0"
    (event,) = calendar.walk("VEVENT")
    return event


def test_uid_is_stable_per_appointment_and_sequence_grows(clinic1: Any) -> None:
    start = dt.datetime(2026, 12, 4, 14, 0, tzinfo=dt.UTC)
    with clinic_context(clinic1):
        first, other = _appointment(start), _appointment(start + dt.timedelta(hours=2))
        before = _event(appointment_ics(first))
        first.starts_at += dt.timedelta(days=1)
        first.ends_at += dt.timedelta(days=1)
        first.updated_at = first.created_at + dt.timedelta(minutes=5)
        after = _event(appointment_ics(first))
        unrelated = _event(appointment_ics(other))

    assert str(before["UID"]) == str(after["UID"]) != str(unrelated["UID"])
    assert after.decoded("DTSTART") == dt.datetime(2026, 12, 5, 14, 0, tzinfo=dt.UTC)
    assert int(after["SEQUENCE"]) > int(before["SEQUENCE"])
    assert str(before["STATUS"]) == "TENTATIVE"
    assert str(before["DESCRIPTION"]) == "Con Dr. Quispe."


def test_cancelled_appointment_cancels_the_entry(clinic1: Any) -> None:
    with clinic_context(clinic1):
        appointment = _appointment(
            dt.datetime(2026, 12, 4, 16, 0, tzinfo=dt.UTC),
            status=AppointmentStatus.CANCELLED,
            cancellation_reason="Dolor intenso, cambia de clínica",
        )
        ics = appointment_ics(appointment, clinic_name="Sonrisas")

    event = _event(ics)
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["SUMMARY"]) == "Cita en Sonrisas"
    assert b"Dolor" not in ics
    assert "LOCATION" not in event
