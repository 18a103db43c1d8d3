"""The fixed, seeded data set: one measured clinic with a full day agenda, plus empty clinics
to put 100, 1,000 or 5,000 clinics in the database.

Deterministic: the same seed always gives the same rows, so two runs measure the same data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django_tenants.utils import tenant_context

from backend.accounts.models import Role
from backend.core.tenancy import clinic_context
from backend.patients.models import Patient
from backend.resources.models import Chair, Professional, WorkingHours
from backend.scheduling.models import Appointment, AppointmentStatus
from tenants_core.models import Clinic, PlanCode

ROOT = Path(__file__).resolve().parents[1]
SEED = 20300107
BENCH_SUBDOMAIN = "bench"
EXTRA_PREFIX = "bench-x"
DAY = dt.date(2030, 1, 7)  # a Monday, far from "now" so that nothing moves it
ZONE = ZoneInfo(settings.DEFAULT_CLINIC_TIMEZONE)
PASSWORD = "bench-Pass!w0rd-2030"
RECEPTIONIST_EMAIL = "recepcion@bench.pe"
DENTIST_EMAIL = "dentista@bench.pe"
LEGAL_ID = "20600000005"

FIRST_NAMES = ("José", "María", "Luis", "Ana", "Carlos", "Rosa", "Jorge", "Carmen", "Úrsula")
LAST_NAMES = ("Pérez", "Quispe", "García", "Flores", "Sánchez", "Mamani", "Ñahui", "Cáceres")
STATUSES = (
    AppointmentStatus.SCHEDULED,
    AppointmentStatus.SCHEDULED,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.COMPLETED,
    AppointmentStatus.CANCELLED,
)


@dataclass(frozen=True)
class Shape:
    """How big the measured clinic is."""

    per_day: int = 100  # appointments on the measured day
    days: int = 5  # days with appointments, the measured one in the middle
    professionals: int = 10
    patients: int = 400


def fingerprint(shape: Shape) -> str:
    """Changes whenever the data set would: a migration, this file, or the shape."""
    digest = hashlib.sha256(repr(shape).encode())
    files = sorted(ROOT.glob("backend/*/migrations/*.py")) + sorted(
        ROOT.glob("tenants_core/migrations/*.py")
    )
    for path in [*files, Path(__file__)]:
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def day_window(day: dt.date = DAY) -> tuple[dt.datetime, dt.datetime]:
    """The measured day, in the clinic's local time."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=ZONE)
    return start, start + dt.timedelta(days=1)


def clinic_create(subdomain: str, *, plan: str = PlanCode.BASIC) -> Clinic:
    """A clinic through the real provisioning service (every app, its ADMIN user)."""
    from tenants_core.services import clinic_provision

    return clinic_provision(
        subdomain=subdomain,
        name=subdomain.replace("-", " ").title(),
        legal_id=LEGAL_ID,
        email=f"hola@{subdomain}.pe",
        plan=plan,
        admin_email=f"admin@{subdomain}.pe",
        admin_password=PASSWORD,
    )


def extra_subdomain(index: int) -> str:
    return f"{EXTRA_PREFIX}{index:05d}"


@transaction.atomic
def agenda_seed(clinic: Clinic, *, shape: Shape = Shape(), seed: int = SEED) -> None:
    """Patients, professionals, chairs and ``shape.days`` days of appointments: each day
    ``shape.per_day`` of them, one chair per professional so that none overlap."""
    rng = random.Random(seed)
    with tenant_context(clinic):
        professionals = Professional.objects.bulk_create(
            Professional(
                full_name=f"Dr. {rng.choice(FIRST_NAMES)} {LAST_NAMES[i % 8]} {i}",
                license_number=f"{10000 + i}",
            )
            for i in range(shape.professionals)
        )
        chairs = Chair.objects.bulk_create(
            Chair(name=f"Sillón {i + 1}") for i in range(shape.professionals)
        )
        # A clinician (the clinic's admin) warned the front desk about a few patients.
        clinician = get_user_model().objects.filter(role=Role.ADMIN).order_by("pk").first()
        warned_at = dt.datetime.combine(DAY - dt.timedelta(days=30), dt.time(9), ZONE)
        patients = Patient.objects.bulk_create(
            Patient(
                first_name=rng.choice(FIRST_NAMES),
                last_name=f"{rng.choice(LAST_NAMES)} {rng.choice(LAST_NAMES)}",
                document_type="DNI",
                document_number=f"{40_000_000 + i}",
                allergies="Penicilina" if rng.random() < 0.12 else "",
                medical_alerts="Hipertensión arterial" if rng.random() < 0.10 else "",
                **(
                    {
                        "front_desk_alert": "Avisar al doctor antes de cualquier procedimiento",
                        "front_desk_alert_by": clinician,
                        "front_desk_alert_at": warned_at,
                    }
                    if clinician is not None and i % 13 == 5
                    else {}
                ),
            )
            for i in range(shape.patients)
        )
        slots = -(-shape.per_day // shape.professionals)  # ceiling
        minutes = min(45, (10 * 60) // max(slots, 1))
        appointments = []
        for offset in range(-(shape.days // 2), shape.days - shape.days // 2):
            start_of_day = dt.datetime.combine(DAY + dt.timedelta(days=offset), dt.time(8), ZONE)
            for n in range(shape.per_day):
                which, slot = n % shape.professionals, n // shape.professionals
                starts = start_of_day + dt.timedelta(minutes=slot * minutes)
                appointments.append(
                    Appointment(
                        patient=rng.choice(patients),
                        professional=professionals[which],
                        chair=chairs[which],
                        starts_at=starts,
                        ends_at=starts + dt.timedelta(minutes=minutes),
                        status=rng.choice(STATUSES),
                        reason="Control",
                    )
                )
        Appointment.objects.bulk_create(appointments)


def bench_clinic_build(shape: Shape) -> Clinic:
    """The measured clinic: agenda, staff, and a few clinical charts."""
    from backend.demo.clinical import clinic_clinical_demo_seed

    clinic = clinic_create(BENCH_SUBDOMAIN, plan=PlanCode.ENTERPRISE)
    agenda_seed(clinic, shape=shape)
    with clinic_context(clinic):
        users = get_user_model().objects
        users.create_user(
            email=RECEPTIONIST_EMAIL,
            password=PASSWORD,
            role=Role.RECEPTIONIST,
            full_name="Recepción Bench",
        )
        dentist = users.create_user(
            email=DENTIST_EMAIL, password=PASSWORD, role=Role.DENTIST, full_name="Dentista Bench"
        )
        first_professional = Professional.objects.order_by("pk").values("pk")[:1]
        Professional.objects.filter(pk__in=first_professional).update(user=dentist)
    clinic_clinical_demo_seed(clinic, patients_with_records=3)
    return clinic


def front_desk_seed(
    *, seed: int, document_base: int, phone_prefix: str, license_base: int, count: int = 10
) -> None:
    """In the current clinic: ``count`` professionals working 7:00–21:00 every day, as many
    chairs, and 400 patients with DNI, phone and email (the messaging and assistant
    benchmarks' clinic). ``document_base``, ``phone_prefix`` and ``license_base`` keep each
    benchmark's rows apart."""
    rng = random.Random(seed)
    professionals = Professional.objects.bulk_create(
        Professional(full_name=f"Dr. Bench {i}", license_number=f"{license_base + i}")
        for i in range(count)
    )
    WorkingHours.objects.bulk_create(
        WorkingHours(
            professional=professional, weekday=weekday, start_time=dt.time(7),
            end_time=dt.time(21),
        )
        for professional in professionals
        for weekday in range(7)
    )  # fmt: skip
    Chair.objects.bulk_create(Chair(name=f"Sillón {i + 1}") for i in range(count))
    Patient.objects.bulk_create(
        Patient(
            first_name=rng.choice(FIRST_NAMES),
            last_name=rng.choice(LAST_NAMES),
            document_type="DNI",
            document_number=f"{document_base + i}",
            phone=f"{phone_prefix}{i:07d}",
            email=f"paciente{i}@example.pe",
        )
        for i in range(400)
    )
