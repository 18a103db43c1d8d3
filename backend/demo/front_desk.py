"""Realistic demo data for a clinic: its profile, opening hours and a holiday; patients with
Spanish names, phones, emails and their contact preferences, professionals with their hours,
chairs and a week of appointments.
Idempotent: a clinic that already has patients is left alone. Deterministic: the same clinic
always gets the same data.

The week's appointments still to come are booked through ``appointment_schedule`` (by the
clinic's receptionist), so their reminders are planned like any booking's; those already
under way or past are seed rows, written in bulk."""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from backend.accounts.models import Role, User
from backend.demo.messaging import contact_preferences_seed
from backend.demo.profile import clinic_profile_seed
from backend.patients.models import Patient
from backend.resources.models import Chair, Professional, WorkingHours
from backend.scheduling.availability import working_intervals
from backend.scheduling.models import Appointment, AppointmentStatus
from backend.scheduling.services import appointment_change_status, appointment_schedule
from tenants_core.context import current_timezone
from tenants_core.models import Clinic

FIRST_NAMES = (
    "José", "María", "Luis", "Ana", "Carlos", "Rosa", "Jorge", "Carmen", "Miguel", "Lucía",
    "Juan", "Sofía", "Pedro", "Valeria", "Andrés", "Camila", "Ricardo", "Gabriela", "Diego",
    "Fernanda", "Raúl", "Patricia", "Víctor", "Milagros", "César", "Ximena", "Óscar", "Ángela",
    "Martín", "Inés", "Héctor", "Rocío", "Iván", "Natalia", "Renzo", "Úrsula",
)  # fmt: skip
LAST_NAMES = (
    "Pérez", "Quispe", "García", "Rodríguez", "Flores", "Sánchez", "Mamani", "Rojas", "Huamán",
    "Chávez", "Ramírez", "Torres", "Vargas", "Castillo", "Mendoza", "Gutiérrez", "Díaz",
    "Ñahui", "Cáceres", "Espinoza", "Salazar", "Núñez", "Paredes", "Villanueva", "Córdova",
    "Zúñiga", "Ramos", "Aguilar", "León", "Medina",
)  # fmt: skip
ALLERGIES = ("Penicilina", "Látex", "Ibuprofeno", "Lidocaína con epinefrina")
ALERTS = ("Hipertensión arterial", "Diabetes tipo 2", "Toma anticoagulantes", "Gestante")
REASONS = (
    "Control", "Profilaxis", "Dolor en molar", "Evaluación de ortodoncia", "Resina",
    "Endodoncia (2.ª sesión)", "Extracción", "Blanqueamiento", "Urgencia",
)  # fmt: skip


@dataclass(frozen=True)
class DemoProfessional:
    full_name: str
    license_number: str
    specialty: str
    color: str
    saturday: bool


PROFESSIONALS = (
    DemoProfessional("Dra. Ana Soto Rivas", "21457", "Odontología general", "#3B82F6", True),
    DemoProfessional("Dr. Luis Vega Paredes", "18392", "Endodoncia", "#10B981", False),
    DemoProfessional("Dra. Carmen Ríos Huamán", "25110", "Ortodoncia", "#F59E0B", True),
    DemoProfessional("Dr. Jorge Salas Núñez", "16874", "Cirugía bucal", "#EF4444", False),
)
CHAIRS = ("Sillón 1", "Sillón 2", "Sillón 3")


def _dni(rng: random.Random, used: set[str]) -> str:
    while True:
        number = f"{rng.randint(10_000_000, 79_999_999)}"
        if number not in used:
            used.add(number)
            return number


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _email(first: str, last: str, index: int) -> str:
    """At example.com (reserved by RFC 2606): a demo message can never reach a real inbox."""
    return f"{_ascii(first)}.{_ascii(last.split()[0])}{index}@example.com"


def _patients(rng: random.Random, count: int) -> list[Patient]:
    used: set[str] = set()
    today = timezone.localdate()
    patients = []
    for index in range(count):
        first = rng.choice(FIRST_NAMES)
        last = f"{rng.choice(LAST_NAMES)} {rng.choice(LAST_NAMES)}"
        patients.append(
            Patient(
                first_name=first,
                last_name=last,
                document_type="DNI",
                document_number=_dni(rng, used),
                birth_date=today - dt.timedelta(days=rng.randint(5 * 365, 85 * 365)),
                sex=rng.choice(["FEMALE", "MALE"]),
                phone=f"+519{rng.randint(10_000_000, 99_999_999)}",
                email=_email(first, last, index + 1),
                allergies=rng.choice(ALLERGIES) if rng.random() < 0.12 else "",
                medical_alerts=rng.choice(ALERTS) if rng.random() < 0.10 else "",
            )
        )
    return Patient.objects.bulk_create(patients)


def _professionals(dentist: User | None) -> list[Professional]:
    people = []
    for index, demo in enumerate(PROFESSIONALS):
        person = Professional.objects.create(
            full_name=demo.full_name,
            license_number=demo.license_number,
            specialty=demo.specialty,
            color=demo.color,
            user=dentist if index == 0 else None,
        )
        hours = []
        # Inside the clinic's hours (backend.demo.profile): bookings never meet CLINIC_CLOSED.
        for weekday in range(5):
            hours += [(weekday, dt.time(9), dt.time(13)), (weekday, dt.time(15), dt.time(19))]
        if demo.saturday:
            hours.append((5, dt.time(9), dt.time(13)))
        WorkingHours.objects.bulk_create(
            WorkingHours(professional=person, weekday=w, start_time=s, end_time=e)
            for w, s, e in hours
        )
        people.append(person)
    return people


class _Calendar:
    """Which chair is taken when, while the demo week is drawn."""

    def __init__(self) -> None:
        self.taken: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {}

    def free_chair(
        self, rng: random.Random, chairs: list[Chair], start: dt.datetime, end: dt.datetime
    ) -> Chair | None:
        for chair in rng.sample(chairs, len(chairs)):
            if all(end <= s or start >= e for s, e in self.taken.get(chair.pk, [])):
                self.taken.setdefault(chair.pk, []).append((start, end))
                return chair
        return None


def _status(rng: random.Random, end: dt.datetime, now: dt.datetime) -> str:
    if end <= now:
        return rng.choice([AppointmentStatus.COMPLETED] * 8 + [AppointmentStatus.NO_SHOW])
    return rng.choice([AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED])


def _day_of(
    rng: random.Random,
    professional: Professional,
    day: dt.date,
    calendar: _Calendar,
    chairs: list[Chair],
    patients: list[Patient],
) -> list[Appointment]:
    """Fill about 60% of the professional's hours on ``day``, without double bookings."""
    now = timezone.now()
    booked = []
    for start_range, end_range in working_intervals(professional, day, current_timezone()):
        cursor = start_range
        while cursor < end_range:
            end = cursor + dt.timedelta(minutes=rng.choice([30, 30, 45, 60]))
            if end > end_range:
                break
            chair = calendar.free_chair(rng, chairs, cursor, end) if rng.random() < 0.6 else None
            if chair is None:
                cursor += dt.timedelta(minutes=15)
                continue
            booked.append(
                Appointment(
                    patient=rng.choice(patients),
                    professional=professional,
                    chair=chair,
                    starts_at=cursor,
                    ends_at=end,
                    status=_status(rng, end, now),
                    reason=rng.choice(REASONS),
                )
            )
            cursor = end
    return booked


def _week_of_appointments(
    rng: random.Random,
    professionals: list[Professional],
    chairs: list[Chair],
    patients: list[Patient],
    booker: User | None,
) -> int:
    """This week, Monday to Sunday: the past part done, the rest booked (through the
    service when there is a receptionist or an admin to book it)."""
    today = timezone.localdate()
    monday = today - dt.timedelta(days=today.weekday())
    calendar = _Calendar()
    appointments = [
        appointment
        for offset in range(7)
        for professional in professionals
        for appointment in _day_of(
            rng, professional, monday + dt.timedelta(days=offset), calendar, chairs, patients
        )
    ]
    now = timezone.now()
    seed_rows: list[Appointment] = []
    upcoming: list[Appointment] = []
    for appointment in appointments:
        to_book = booker is not None and appointment.starts_at > now
        (upcoming if to_book else seed_rows).append(appointment)
    Appointment.objects.bulk_create(seed_rows)
    if booker is not None:
        for drawn in upcoming:
            _book(drawn, booker, now)
    return len(appointments)


def _book(drawn: Appointment, booker: User, now: dt.datetime) -> Appointment:
    """Book a drawn appointment as the front desk would: the scheduling hooks (reminders)
    run, and the booking is audited as the receptionist's."""
    appointment = appointment_schedule(
        actor=booker,
        patient=drawn.patient,
        professional=drawn.professional,
        chair=drawn.chair,
        starts_at=drawn.starts_at,
        ends_at=drawn.ends_at,
        reason=drawn.reason,
        now=now,
    )
    if drawn.status == AppointmentStatus.CONFIRMED:
        appointment = appointment_change_status(
            actor=booker, appointment=appointment, status=AppointmentStatus.CONFIRMED
        )
    return appointment


def _admin() -> User | None:
    return User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk").first()


def _booker() -> User | None:
    """The clinic's receptionist, else its first admin: who books the demo week."""
    for role in (Role.RECEPTIONIST, Role.ADMIN):
        user = User.objects.filter(role=role, is_active=True).order_by("pk").first()
        if user is not None:
            return user
    return None


@transaction.atomic
def clinic_demo_data_seed(clinic: Clinic, *, patients: int) -> bool:
    """Seed ``clinic`` unless it already has patients. ``patients`` must fit the plan."""
    with tenant_context(clinic):
        if Patient.objects.exists():
            return False
        rng = random.Random(f"demo:{clinic.subdomain}")
        people = _patients(rng, min(patients, clinic.max_patients))
        contact_preferences_seed(people)
        dentist = (
            User.objects.filter(role=Role.DENTIST, professional__isnull=True).order_by("pk").first()
        )
        today = timezone.localdate()
        week_ends = today + dt.timedelta(days=6 - today.weekday())
        clinic_profile_seed(clinic, actor=_admin(), week_ends=week_ends)
        professionals = _professionals(dentist)
        chairs = [Chair.objects.create(name=name) for name in CHAIRS]
        _week_of_appointments(rng, professionals, chairs, people, _booker())
        return True
