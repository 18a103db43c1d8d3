"""The assistant's slot search reads every professional's week at once, and offers exactly
what the agenda's availability offers for each of them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from backend.clinic_admin.models import ClinicClosure
from backend.clinic_admin.selectors import opening_calendar
from backend.resources.models import TimeOff
from backend.scheduling.availability import free_slots, free_slots_by_day
from backend.scheduling.models import Appointment
from tests.dates import LIMA, clinic_today
from tests.factories import ChairFactory, PatientFactory, ProfessionalFactory, weekly

pytestmark = pytest.mark.django_db


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LIMA)


def test_the_batched_search_equals_the_agendas_availability_for_each_professional(
    clinic1, desk, django_assert_max_num_queries
):
    first = clinic_today()
    last = first + dt.timedelta(days=6)
    with tenant_context(clinic1):
        others = [
            ProfessionalFactory(
                full_name="Dr. Luis Paz", hours=weekly(range(5), (9, 13), (15, 19))
            ),
            ProfessionalFactory(full_name="Dra. Eva Ríos", hours=weekly([1, 3, 5], (14, 20))),
        ]
        chair = ChairFactory()
        patient = PatientFactory(document_number="30303030")
        for offset, who in enumerate([desk.professional, *others]):
            day = first + dt.timedelta(days=offset + 1)
            Appointment.objects.create(
                patient=patient, professional=who, chair=chair,
                starts_at=at(day, 15, 10), ends_at=at(day, 16, 5),
            )  # fmt: skip
        TimeOff.objects.create(
            professional=others[0], starts_at=at(first + dt.timedelta(days=2), 9),
            ends_at=at(first + dt.timedelta(days=2), 11, 30), reason="Congreso",
        )  # fmt: skip
        ClinicClosure.objects.create(
            starts_on=first + dt.timedelta(days=4), ends_on=first + dt.timedelta(days=4)
        )
        professionals = [desk.professional, *others]
        now = timezone.now()
        calendar = opening_calendar(since=first, until=last)
        arguments = {"duration": dt.timedelta(minutes=45), "tz": LIMA, "now": now,
                     "step": dt.timedelta(minutes=15)}  # fmt: skip
        with django_assert_max_num_queries(3):
            batched = free_slots_by_day(
                professionals=professionals, first=first, last=last, calendar=calendar,
                **arguments,
            )  # fmt: skip
        offered = 0
        for offset in range(7):
            day = first + dt.timedelta(days=offset)
            for professional in professionals:
                one = free_slots(professional=professional, day=day, calendar=calendar, **arguments)
                assert batched[day][professional.pk] == one, (day, professional)
                offered += len(one)
        assert offered > 50
        assert batched[first + dt.timedelta(days=4)] == {p.pk: [] for p in professionals}
