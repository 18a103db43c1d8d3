"""The dashboard's numbers on a small hand-built clinic, each section exact: local-day
boundaries (23:30 in Lima is that day), clipping to the range, a closure, a chair nobody
booked, a clinic without hours; the statements it takes, the same for a day and a year."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from backend.accounts.models import Role
from backend.clinic_admin.models import OpeningShift
from backend.core.error_codes import Forbidden
from backend.reports.figures import Money
from backend.reports.selectors import clinic_dashboard
from tests.factories import ChairFactory, PatientFactory, ProfessionalFactory
from tests.reports.world import (
    appointment,
    charge,
    closure,
    hours,
    lima,
    payment,
    performed,
    procedure,
)

pytestmark = pytest.mark.django_db

MON, TUE, WED = "2026-03-02", "2026-03-03", "2026-03-04"


@pytest.fixture
def world(clinic1: Any, clinic1_admin: Any) -> dict[str, Any]:
    """Two local days, Monday 2 and Tuesday 3 March 2026 (closed), of clinica1."""
    with tenant_context(clinic1):
        user = clinic1_admin
        ana = ProfessionalFactory(full_name="Ana")
        bruno = ProfessionalFactory(full_name="Bruno")
        carla = ProfessionalFactory(full_name="Carla")
        chair_a = ChairFactory(name="A")
        chair_b = ChairFactory(name="B")  # nobody books it
        ChairFactory(name="C", is_active=False)  # not counted
        x, y, z, w = (PatientFactory(first_name=n) for n in "XYZW")
        hours((1, "09:00", "13:00"), (1, "14:00", "18:00"), (2, "09:00", "13:00"))
        closure(TUE, TUE)
        # In the range.
        appointment(x, ana, chair_a, lima(MON, "09:00"), 60, "COMPLETED")
        appointment(y, ana, chair_a, lima(TUE, "23:30"), 60, "NO_SHOW")  # 30 min in range
        appointment(z, bruno, chair_a, lima(MON, "10:00"), 30, "CANCELLED")
        appointment(z, bruno, chair_a, lima(MON, "11:00"), 45, "COMPLETED")
        appointment(y, bruno, chair_a, lima(MON, "12:00"), 30, "SCHEDULED")
        appointment(w, carla, chair_a, lima(MON, "15:00"), 30, "CONFIRMED")
        # Outside: Sunday 23:00 in Lima is Monday 04:00 UTC; Wednesday 00:30 in Lima.
        appointment(y, ana, chair_a, lima("2026-03-01", "23:00"), 30, "COMPLETED")
        appointment(w, ana, chair_a, lima(WED, "00:30"), 30, "COMPLETED")
        appointment(x, ana, chair_a, lima("2026-02-10", "10:00"), 30, "COMPLETED")
        resin, extraction = procedure("T-RES", "Resina"), procedure("T-EXO", "Exodoncia")
        performed(x, ana, resin, lima(MON, "10:00"), "150.00", user)
        performed(z, bruno, resin, lima(TUE, "23:45"), "120.50", user)
        performed(z, bruno, extraction, lima(MON, "11:30"), "80.00", user)
        performed(x, ana, extraction, lima(WED, "00:15"), "999.00", user)  # outside
        charge(x, "150.00", lima(MON, "10:05"), user)
        charge(z, "80.00", lima(MON, "11:35"), user)
        charge(z, "40.00", lima(WED, "01:00"), user)  # after the range ends
        charge(y, "30.00", lima("2026-02-10", "10:30"), user)
        payment(x, "100.00", "CASH", lima(MON, "10:10"), user)
        payment(z, "50.00", "YAPE", lima(TUE, "23:30"), user)
        payment(x, "20.00", "CASH", lima(TUE, "12:00"), user, refund=True)
        payment(x, "70.00", "CARD", lima(WED, "00:10"), user)  # outside
        payment(y, "10.00", "TRANSFER", lima(MON, "16:00"), user, usd_rate="3.7500")
        return {
            "user": user,
            "ids": {"ana": ana.pk, "bruno": bruno.pk, "carla": carla.pk},
            "chairs": (chair_a.pk, chair_b.pk),
        }


def _dashboard(clinic: Any, user: Any, date_from: str = MON, date_to: str = TUE) -> Any:
    with tenant_context(clinic):
        return clinic_dashboard(
            actor=user,
            date_from=dt.date.fromisoformat(date_from),
            date_to=dt.date.fromisoformat(date_to),
        )


def test_every_section_is_exact(clinic1, world):
    d = _dashboard(clinic1, world["user"])
    assert (d.start, d.end) == (lima(MON, "00:00"), lima(WED, "00:00"))
    assert {s.status: s.count for s in d.appointments_by_status} == {
        "SCHEDULED": 1, "CONFIRMED": 1, "CHECKED_IN": 0, "IN_PROGRESS": 0,
        "COMPLETED": 2, "CANCELLED": 1, "NO_SHOW": 1,
    }  # fmt: skip
    assert d.appointments_total == 6
    ids = world["ids"]
    assert [
        (a.professional_id, a.appointments, a.completed, a.no_show, a.no_show_rate)
        for a in d.attendance_by_professional
    ] == [
        (ids["ana"], 2, 1, 1, Decimal("0.5000")),
        (ids["bruno"], 3, 1, 0, Decimal("0.0000")),
        (ids["carla"], 1, 0, 0, None),
    ]
    assert [(p.name, p.value, p.count) for p in d.production_by_professional] == [
        ("Bruno", Money(Decimal("200.50"), "PEN"), 2),
        ("Ana", Money(Decimal("150.00"), "PEN"), 1),
    ]
    assert [(p.code, p.value, p.count) for p in d.production_by_procedure] == [
        ("T-RES", Money(Decimal("270.50"), "PEN"), 2),
        ("T-EXO", Money(Decimal("80.00"), "PEN"), 1),
    ]
    assert d.production_total == [Money(Decimal("350.50"), "PEN")]
    assert (d.patients.new, d.patients.returning, d.patients.attended) == (1, 1, 2)
    assert {
        m.method: (m.received, m.refunded, m.net, m.count) for m in d.collections_by_method
    } == {
        "CASH": (Decimal("100.00"), Decimal("20.00"), Decimal("80.00"), 2),
        "CARD": (0, 0, 0, 0),
        "TRANSFER": (Decimal("37.50"), 0, Decimal("37.50"), 1),
        "YAPE": (Decimal("50.00"), 0, Decimal("50.00"), 1),
        "PLIN": (0, 0, 0, 0),
    }
    assert d.collected == Money(Decimal("167.50"), "PEN")
    # As of Wednesday 00:00 in Lima: X 150 − 100 + 20, Z 80 − 50 owe; Y 30 − 37.50 is credit.
    assert d.outstanding.as_of == lima(WED, "00:00")
    assert d.outstanding.receivable == Money(Decimal("100.00"), "PEN")
    assert d.outstanding.patients_owing == 2
    assert d.outstanding.credit == Money(Decimal("7.50"), "PEN")
    assert d.outstanding.patients_in_credit == 1


def test_chair_occupancy_with_a_closure_and_an_unbooked_chair(clinic1, world):
    d = _dashboard(clinic1, world["user"])
    chair_a, chair_b = world["chairs"]
    # Monday is open 8 hours; Tuesday is closed. A: 60 + 30 (clipped at midnight) + 45 + 30
    # + 30 booked; the cancelled appointment holds nothing; the inactive chair is not listed.
    assert [(c.chair_id, c.open_minutes, c.booked_minutes, c.occupancy) for c in d.chairs] == [
        (chair_a, 480, 195, Decimal("0.4063")),
        (chair_b, 480, 0, Decimal("0.0000")),
    ]
    assert (d.open_minutes, d.booked_minutes, d.occupancy) == (960, 195, Decimal("0.2031"))
    # The closed Tuesday alone: booked time, but no open time to measure it against.
    tuesday = _dashboard(clinic1, world["user"], TUE, TUE)
    assert [(c.open_minutes, c.booked_minutes, c.occupancy) for c in tuesday.chairs] == [
        (0, 30, None),
        (0, 0, None),
    ]
    assert tuesday.occupancy is None


def test_a_clinic_without_hours_has_no_occupancy(clinic1, world):
    with tenant_context(clinic1):
        OpeningShift.objects.all().delete()
    d = _dashboard(clinic1, world["user"])
    assert {c.open_minutes for c in d.chairs} == {0}
    assert d.chairs[0].booked_minutes == 195
    assert d.occupancy is None


def test_a_local_day_is_the_clinics_day(clinic1, world):
    # Tuesday 23:30 in Lima is Wednesday 04:30 UTC: Tuesday's, not Wednesday's.
    tuesday = _dashboard(clinic1, world["user"], TUE, TUE)
    assert {s.status: s.count for s in tuesday.appointments_by_status}["NO_SHOW"] == 1
    wednesday = _dashboard(clinic1, world["user"], WED, WED)
    assert {s.status: s.count for s in wednesday.appointments_by_status}["NO_SHOW"] == 0
    assert {s.status: s.count for s in wednesday.appointments_by_status}["COMPLETED"] == 1


def _statements(clinic: Any, user: Any, date_from: str, date_to: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        _dashboard(clinic, user, date_from, date_to)
    return len(queries)


def test_statements_are_the_same_for_a_day_and_a_year(clinic1, world):
    one_day = _statements(clinic1, world["user"], MON, MON)
    a_year = _statements(clinic1, world["user"], "2025-03-03", TUE)  # 366 days
    assert one_day == a_year == 10


def test_statements_do_not_grow_with_the_rows(clinic1, world):
    before = _statements(clinic1, world["user"], "2026-04-01", "2026-04-30")
    with tenant_context(clinic1):
        chair, professional = ChairFactory(), ProfessionalFactory()
        patients = [PatientFactory() for _ in range(20)]
        start = lima("2026-04-01", "08:00")
        for i in range(600):
            appointment(
                patients[i % 20], professional, chair,
                start + dt.timedelta(minutes=30 * i), 30, "COMPLETED",
            )  # fmt: skip
    after = _statements(clinic1, world["user"], "2026-04-01", "2026-04-30")
    assert before == after == 10


@pytest.mark.parametrize(
    ("date_from", "date_to"),
    [
        (TUE, MON),  # ends before it starts
        ("2025-03-02", TUE),  # 367 days
        ("1999-12-31", "2000-01-01"),
        ("2100-12-31", "2101-01-01"),
    ],
)
def test_a_bad_range_is_refused_with_a_code(clinic1, world, date_from, date_to):
    with pytest.raises(ValidationError) as refused:
        _dashboard(clinic1, world["user"], date_from, date_to)
    [[error]] = refused.value.error_dict.values()
    assert error.code == "INVALID_DATE_RANGE"


@pytest.mark.parametrize("role", [Role.DENTIST, Role.ASSISTANT, Role.RECEPTIONIST])
def test_only_admins_read_it_even_without_graphql(clinic1, make_staff, role):
    with pytest.raises(Forbidden):
        _dashboard(clinic1, make_staff(clinic1, role))
