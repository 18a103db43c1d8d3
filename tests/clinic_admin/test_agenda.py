"""The agenda keeps to the clinic's opening hours and closures: no slot offered and nothing
booked or moved while the clinic is closed, whatever the professional's own hours say."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from django_tenants.utils import tenant_context

from backend.accounts.models import Role, User
from backend.clinic_admin import services
from backend.resources.models import Chair, Professional
from backend.scheduling.models import Appointment
from tests.clinic_admin.conftest import ask
from tests.conftest import operation_codes
from tests.dates import MONDAY, lima
from tests.factories import ChairFactory, PatientFactory, ProfessionalFactory, weekly
from tests.ids import global_id

pytestmark = pytest.mark.django_db

WEDNESDAY = MONDAY + dt.timedelta(days=2)
SATURDAY = MONDAY + dt.timedelta(days=5)
SUNDAY = MONDAY + dt.timedelta(days=6)

AVAILABILITY = """query($p: ID!, $date: Date!, $minutes: Int) {
  availability(professionalId: $p, date: $date, durationMinutes: $minutes) { startsAt endsAt } }"""

SCHEDULE = """mutation($input: ScheduleAppointmentInput!) { scheduleAppointment(input: $input) {
  __typename ... on Appointment { id startsAt }
  ... on OperationInfo { messages { code field } } } }"""

RESCHEDULE = """mutation($id: ID!, $input: RescheduleAppointmentInput!) {
  rescheduleAppointment(id: $id, input: $input) { __typename ... on Appointment { startsAt }
  ... on OperationInfo { messages { code field } } } }"""

# "L-V 9:00–13:00 y 15:00–20:00, S 9:00–13:00"
SPLIT_WEEK = [
    *(
        services.Shift(day, dt.time(opens), dt.time(closes))
        for day in range(1, 6)
        for opens, closes in ((9, 13), (15, 20))
    ),
    services.Shift(6, dt.time(9), dt.time(13)),
]


@dataclass
class World:
    professional: Professional
    chair: Chair
    patient: Any
    token: str
    admin: User


@pytest.fixture
def world(clinic1, make_staff, token_for, clinic1_admin) -> World:
    with tenant_context(clinic1):
        professional = ProfessionalFactory(
            full_name="Dra. Ana Soto", license_number="11111", hours=weekly(range(7), (8, 21))
        )
        chair = ChairFactory(name="Sillón 1")
        patient = PatientFactory(document_number="12345678")
        services.opening_hours_set(actor=clinic1_admin, shifts=SPLIT_WEEK)
        services.clinic_closure_add(
            actor=clinic1_admin, starts_on=WEDNESDAY, ends_on=WEDNESDAY, reason="Feriado"
        )
    token = token_for(clinic1, make_staff(clinic1, Role.RECEPTIONIST))
    return World(professional, chair, patient, token, clinic1_admin)


def slots(client, world, day, minutes: int | None = 60) -> list[tuple[str, str]]:
    body = ask(client, AVAILABILITY, world.token, p=global_id("Professional",
               world.professional.pk), date=day.isoformat(), minutes=minutes)  # fmt: skip
    return [(s["startsAt"][11:16], s["endsAt"][11:16]) for s in body["data"]["availability"]]


def booking(world, start, end) -> dict[str, Any]:
    return {
        "input": {
            "patientId": global_id("Patient", world.patient.pk),
            "professionalId": global_id("Professional", world.professional.pk),
            "chairId": global_id("Chair", world.chair.pk),
            "startsAt": start.isoformat(),
            "endsAt": end.isoformat(),
        }
    }


def test_slots_keep_to_the_split_shifts_of_the_clinic(client, world):
    monday = slots(client, world, MONDAY)
    starts = [start for start, _ in monday]
    assert "08:00" not in starts  # the professional works, the clinic is not open yet
    assert not {"12:30", "13:00", "13:30", "14:30"} & set(starts)  # the lunch break
    assert "20:00" not in starts
    assert monday[0] == ("09:00", "10:00")
    assert ("12:00", "13:00") in monday
    assert ("15:00", "16:00") in monday
    assert monday[-1] == ("19:00", "20:00")
    assert all((start >= "09:00" and end <= "13:00") or (start >= "15:00" and end <= "20:00")
               for start, end in monday)  # fmt: skip
    assert slots(client, world, SATURDAY)[-1] == ("12:00", "13:00")
    assert slots(client, world, SUNDAY) == []  # no shift on Sundays: closed


def test_no_slot_on_a_closure_day(client, world):
    assert slots(client, world, WEDNESDAY) == []
    assert slots(client, world, WEDNESDAY + dt.timedelta(days=1))[0] == ("09:00", "10:00")


def test_a_clinic_without_hours_keeps_to_the_professionals_hours_but_not_closures(
    client, clinic1, world
):
    with tenant_context(clinic1):
        services.opening_hours_set(actor=world.admin, shifts=[])
    assert slots(client, world, MONDAY)[0] == ("08:00", "09:00")
    assert slots(client, world, SUNDAY)[-1] == ("20:00", "21:00")
    assert slots(client, world, WEDNESDAY) == []


def test_the_default_slot_length_is_the_clinics_appointment_length(client, clinic1, world):
    assert slots(client, world, MONDAY, minutes=None)[0] == ("09:00", "09:30")
    with tenant_context(clinic1):
        services.clinic_profile_update(
            actor=world.admin, clinic=clinic1, data={"default_appointment_minutes": 45}
        )
    assert slots(client, world, MONDAY, minutes=None)[0] == ("09:00", "09:45")


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (lima(MONDAY, 8), lima(MONDAY, 8, 30)),  # before opening
        (lima(MONDAY, 13, 30), lima(MONDAY, 14)),  # the lunch break
        (lima(MONDAY, 12, 30), lima(MONDAY, 13, 30)),  # across the closing time
        (lima(MONDAY, 19, 30), lima(MONDAY, 20, 30)),  # past the last closing
        (lima(WEDNESDAY, 10), lima(WEDNESDAY, 10, 30)),  # the holiday
        (lima(SUNDAY, 10), lima(SUNDAY, 10, 30)),  # no shift that day
    ],
)
def test_booking_while_the_clinic_is_closed_is_refused_and_writes_nothing(
    client, clinic1, world, start, end
):
    body = ask(client, SCHEDULE, world.token, **booking(world, start, end))
    assert operation_codes(body["data"]["scheduleAppointment"]) == ["CLINIC_CLOSED"]
    with tenant_context(clinic1):
        assert not Appointment.objects.exists()


def test_booking_inside_the_hours_works_and_moving_it_out_is_refused(client, clinic1, world):
    body = ask(client, SCHEDULE, world.token, **booking(world, lima(MONDAY, 15), lima(MONDAY, 16)))
    appointment = body["data"]["scheduleAppointment"]
    assert appointment["__typename"] == "Appointment", body
    for start, end in ((lima(MONDAY, 13), lima(MONDAY, 14)), (lima(WEDNESDAY, 9),
                                                              lima(WEDNESDAY, 10))):  # fmt: skip
        moved = ask(client, RESCHEDULE, world.token, id=appointment["id"],
                    input={"startsAt": start.isoformat(), "endsAt": end.isoformat()})  # fmt: skip
        assert operation_codes(moved["data"]["rescheduleAppointment"]) == ["CLINIC_CLOSED"]
    with tenant_context(clinic1):
        assert Appointment.objects.get().starts_at == lima(MONDAY, 15)
    moved = ask(
        client,
        RESCHEDULE,
        world.token,
        id=appointment["id"],
        input={
            "startsAt": lima(SATURDAY, 12).isoformat(),
            "endsAt": lima(SATURDAY, 13).isoformat(),
        },
    )
    assert moved["data"]["rescheduleAppointment"]["__typename"] == "Appointment"


def test_a_closure_added_later_blocks_that_day_only(client, clinic1, world):
    thursday = MONDAY + dt.timedelta(days=3)
    with tenant_context(clinic1), transaction.atomic():
        services.clinic_closure_add(actor=world.admin, starts_on=thursday, ends_on=thursday)
    assert slots(client, world, thursday) == []
    body = ask(client, SCHEDULE, world.token,
               **booking(world, lima(thursday, 10), lima(thursday, 11)))  # fmt: skip
    assert operation_codes(body["data"]["scheduleAppointment"]) == ["CLINIC_CLOSED"]


def test_availability_costs_the_same_statements_for_few_and_many_shifts_and_closures(
    client, clinic1, world, django_assert_num_queries
):
    slots(client, world, MONDAY)  # warm the routing cache
    with django_assert_num_queries(8):
        few = slots(client, world, MONDAY, minutes=30)
    with tenant_context(clinic1):
        services.opening_hours_set(actor=world.admin, shifts=[
            services.Shift(day, dt.time(hour), dt.time(hour, 45))
            for day in range(1, 8) for hour in range(6, 13)
        ])  # fmt: skip
        for i in range(60):
            day = MONDAY + dt.timedelta(days=7 + i)
            services.clinic_closure_add(actor=world.admin, starts_on=day, ends_on=day)
    with django_assert_num_queries(8):
        many = slots(client, world, MONDAY, minutes=30)
    # 30' slots every 15': 9:00–12:30 and 15:00–19:30; then two in each 45' shift the
    # professional works (8:00 to 12:45).
    assert len(few) == 15 + 19
    assert len(many) == 5 * 2
