"""The data the differential tests read: two clinics with staff of every role, professionals
(one inactive, one linked to a user, with hours and time off), chairs, patients whose names and
alerts hold what Python and PostgreSQL could disagree on (accents, ñ, Unicode spaces, empty
values), and appointments over several days in every status, some at odd seconds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django_tenants.utils import tenant_context

from backend.accounts.models import Role
from backend.patients.models import Patient
from backend.resources.models import TimeOff
from backend.scheduling.models import Appointment, AppointmentStatus
from tests.dates import MONDAY, lima
from tests.factories import ChairFactory, PatientFactory, ProfessionalFactory, StaffFactory, weekly
from tests.graphql_api.compiled.world_billing import build_billing
from tests.graphql_api.compiled.world_chart import build_chart
from tests.ids import global_id

ROLES = (Role.ADMIN, Role.DENTIST, Role.ASSISTANT, Role.RECEPTIONIST)

# (first name, last name, allergies, medical alerts, front-desk alert)
PEOPLE = [
    ("José", "Pérez", "", "", ""),
    ("María José", "Quispe Mamani", "penicilina", "", ""),
    ("Ñusta", "Huamán", "\u00a0", "", ""),  # a no-break space only: no alert
    ("Ana", "O'Connor", "", "\u2003\t", ""),  # an em space and a tab: no alert
    ("Luis", "Vega", "", "anticoagulantes", ""),
    ("Zoë", "Ávila", "", "", "Requiere profilaxis"),
    ("Renée", "Ríos", "  látex  ", "embarazo", ""),
    ("Iñigo", "Sánchez", "\u3000", "\u200a", "\u2028"),
    ("Chen", "Li", "", "", ""),
    ("Emma", "D\u2019Souza", "", "", ""),
]


@dataclass
class World:
    clinic: Any
    other_clinic: Any
    host: str
    tokens: dict[str, str]  # by role
    other_clinic_token: str
    ids: dict[str, list[str]] = field(default_factory=dict)  # by type: global IDs
    other_ids: dict[str, list[str]] = field(default_factory=dict)  # clinica2's
    days: list[dt.date] = field(default_factory=list)
    search_words: list[str] = field(default_factory=list)


def build_world(clinic1: Any, clinic2: Any, token_for: Any) -> World:
    tokens = {}
    with tenant_context(clinic1):
        users = {role: StaffFactory(role=role, email=f"{role.lower()}@w.pe") for role in ROLES}
        hours = weekly(range(6), (8, 13), (14, 20))
        linked = ProfessionalFactory(
            full_name="Dra. Ana Soto", user=users[Role.DENTIST], hours=hours, specialty="Endo"
        )
        other = ProfessionalFactory(full_name="Dr. Luis Vega", hours=hours, color="#FF0000")
        ProfessionalFactory(full_name="Dr. Inactivo", is_active=False)
        TimeOff.objects.create(
            professional=other,
            starts_at=lima(MONDAY + dt.timedelta(days=20), 8),
            ends_at=lima(MONDAY + dt.timedelta(days=21), 8),
            reason="Congreso",
        )
        # Before 1908 Lima kept its mean solar time: an offset with seconds (-05:08:12).
        TimeOff.objects.create(
            professional=other,
            starts_at=dt.datetime(1905, 3, 1, 12, 0, 7, tzinfo=dt.UTC),
            ends_at=dt.datetime(1905, 3, 2, 12, 0, 7, tzinfo=dt.UTC),
            reason="Histórico",
        )
        chairs = [ChairFactory(name=f"Sillón {n}") for n in (1, 2, 3)]
        patients = []
        for index, (first, last, allergies, alerts, desk) in enumerate(PEOPLE * 2):
            patients.append(
                PatientFactory(
                    first_name=first,
                    last_name=last if index < len(PEOPLE) else f"{last} Segundo",
                    allergies=allergies,
                    medical_alerts=alerts,
                    front_desk_alert=desk,
                    front_desk_alert_by=users[Role.DENTIST] if desk else None,
                    front_desk_alert_at=lima(MONDAY, 7) if desk else None,
                    sex=["", "FEMALE", "MALE"][index % 3],
                    birth_date=None if index % 4 == 0 else dt.date(1950 + index, 1 + index % 12, 3),
                    email="" if index % 2 else f"p{index}@correo.pe",
                    is_archived=index % 7 == 6,
                )
            )
        statuses = list(AppointmentStatus)
        appointments = []
        for day in range(3):
            for slot in range(12):
                start = lima(MONDAY + dt.timedelta(days=day), 8) + dt.timedelta(minutes=30 * slot)
                if slot == 5:  # odd seconds and microseconds: truncated, never rounded
                    start += dt.timedelta(seconds=59, microseconds=999_999)
                professional = linked if slot % 2 else other
                status = statuses[(day * 12 + slot) % len(statuses)]
                appointments.append(
                    Appointment.objects.create(
                        patient=patients[(day * 12 + slot) % len(patients)],
                        professional=professional,
                        chair=chairs[slot % 3],
                        starts_at=start,
                        ends_at=start + dt.timedelta(minutes=25),
                        status=status,
                        reason=["Control", "Limpieza", "Dolor de muela 🦷", ""][slot % 4],
                        notes="" if slot % 3 else "Llega tarde\nsiempre",
                        cancellation_reason="No puede" if status == "CANCELLED" else "",
                    )
                )
    for role, user in users.items():
        tokens[role] = token_for(clinic1, user)
    with tenant_context(clinic2):
        stranger = StaffFactory(role=Role.ADMIN, email="admin@otra.pe")
        other_patient = PatientFactory(first_name="José", last_name="Pérez Otra")
        other_professional = ProfessionalFactory(full_name="Dra. Otra")
        other_chair = ChairFactory(name="Sillón Otro")
        other_appointment = Appointment.objects.create(
            patient=other_patient,
            professional=other_professional,
            chair=other_chair,
            starts_at=lima(MONDAY, 9),
            ends_at=lima(MONDAY, 10),
        )
    world = World(
        clinic=clinic1,
        other_clinic=clinic2,
        host=f"{clinic1.subdomain}.localhost",
        tokens=tokens,
        other_clinic_token=token_for(clinic2, stranger),
        days=[MONDAY + dt.timedelta(days=d) for d in range(-1, 4)],
        search_words=[
            "jose",
            "PÉR",
            "maria jose",
            "ñusta",
            "quispe mam",
            "70000",
            "zz",
            " ",
            "o'c",
        ],
    )
    world.ids = {
        "Appointment": [global_id("Appointment", a.pk, clinic1) for a in appointments],
        "Patient": [global_id("Patient", p.pk, clinic1) for p in patients],
        "Professional": [global_id("Professional", p.pk, clinic1) for p in (linked, other)],
        "Chair": [global_id("Chair", c.pk, clinic1) for c in chairs],
    }
    world.other_ids = {
        "Appointment": [global_id("Appointment", other_appointment.pk, clinic2)],
        "Patient": [global_id("Patient", other_patient.pk, clinic2)],
        "Professional": [global_id("Professional", other_professional.pk, clinic2)],
        "Chair": [global_id("Chair", other_chair.pk, clinic2)],
    }
    assert Patient  # the model module is imported for the factories' side
    build_billing(world)
    build_chart(world)
    return world
