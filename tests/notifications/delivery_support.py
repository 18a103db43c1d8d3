"""Shared set-up of the delivery tests (planning, sending, replies, recall, quota): a
clinic's agenda, a booking through the real scheduling service, the jobs it deferred."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from backend.accounts.models import Role, User
from backend.notifications.models import Notification
from backend.patients.models import Patient
from backend.resources.models import Chair, Professional
from backend.scheduling.models import Appointment
from backend.scheduling.services import appointment_schedule
from tests.factories import ChairFactory, PatientFactory, ProfessionalFactory, weekly

PHONE = "+51987654321"
EMAIL = "jose.perez@correo.pe"


@dataclass
class Desk:
    clinic: Any
    actor: User
    professional: Professional
    chair: Chair
    patient: Patient

    def book(
        self,
        starts_at: dt.datetime,
        *,
        minutes: int = 30,
        patient: Patient | None = None,
        **kw: Any,
    ) -> Appointment:
        return appointment_schedule(
            actor=self.actor,
            patient=patient or self.patient,
            professional=self.professional,
            chair=self.chair,
            starts_at=starts_at,
            ends_at=starts_at + dt.timedelta(minutes=minutes),
            **kw,
        )


def make_desk(clinic: Any, actor: User) -> Desk:
    professional = ProfessionalFactory(full_name="Dra. Ana Soto", hours=weekly(range(7), (7, 20)))
    return Desk(
        clinic=clinic,
        actor=actor,
        professional=professional,
        chair=ChairFactory(),
        patient=PatientFactory(first_name="José", phone=PHONE, email=EMAIL),
    )


@pytest.fixture(name="desk")
def desk_fixture(clinic1: Any, make_staff: Any) -> Any:
    """clinic1 (Lima, professional plan), a receptionist, a professional working every day
    07:00–20:00, a chair and a patient with a phone and an email; the test runs in clinic1's
    schema."""
    receptionist = make_staff(clinic1, Role.RECEPTIONIST)
    with tenant_context(clinic1):
        yield make_desk(clinic1, receptionist)


def notifications_of(appointment: Appointment) -> list[Notification]:
    return list(Notification.objects.filter(appointment=appointment).order_by("send_at", "id"))


def send_jobs(notification_ids: list[int] | None = None) -> list[dict[str, Any]]:
    """The send jobs in procrastinate's queue (public table), oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, args, scheduled_at, status FROM public.procrastinate_jobs"
            " WHERE task_name = 'notifications.send' ORDER BY id"
        )
        rows = [
            {
                "id": r[0],
                "args": json.loads(r[1]) if isinstance(r[1], str) else r[1],
                "scheduled_at": r[2],
                "status": r[3],
            }
            for r in cursor.fetchall()
        ]
    if notification_ids is not None:
        rows = [r for r in rows if r["args"]["notification_id"] in notification_ids]
    return rows
