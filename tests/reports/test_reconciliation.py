"""The dashboard's numbers, computed a second way on seeded random clinics: from the
scheduling selectors (``appointment_list``), the billing selectors (``cash_report``,
``patient_statement``, ``patient_balance``), the performed procedures' own rows and the
opening hours as generated. Every figure must agree exactly (Decimals to the cent, counts,
minutes).

The second way counts by *local date* (``starts_at.astimezone(tz).date()``) where the
dashboard filters by a UTC range, so a boundary mistake on either side shows."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from backend.billing.models import PaymentMethod
from backend.billing.selectors import cash_report, patient_balance, patient_statement
from backend.patients.models import Patient
from backend.reports.figures import ratio
from backend.reports.selectors import clinic_dashboard
from backend.scheduling.models import AppointmentStatus
from backend.scheduling.selectors import appointment_list
from backend.treatments.models import PerformedProcedure
from tests.factories import ChairFactory, PatientFactory, ProfessionalFactory
from tests.reports.world import (
    LIMA,
    appointment,
    charge,
    closure,
    hours,
    payment,
    performed,
    procedure,
)

pytestmark = pytest.mark.django_db

FIRST_DAY = dt.date(2026, 1, 1)
DAYS = 60
ZERO = Decimal("0.00")


def _cents(rng: random.Random, low: int, high: int) -> str:
    return str(Decimal(rng.randint(low * 100, high * 100)) / 100)


def _moment(rng: random.Random) -> dt.datetime:
    day = FIRST_DAY + dt.timedelta(days=rng.randrange(DAYS))
    return dt.datetime.combine(day, dt.time(0), tzinfo=LIMA) + dt.timedelta(
        seconds=rng.randrange(86_400)
    )


def _random_clinic(rng: random.Random, user: Any) -> dict[str, Any]:
    shifts: list[tuple[int, str, str]] = []
    for weekday in range(1, 8):
        if rng.random() < 0.8:
            shifts.append(
                (weekday, f"{rng.randint(7, 10):02d}:00", f"{rng.randint(11, 13):02d}:30")
            )
            if rng.random() < 0.5:
                shifts.append((weekday, "15:00", f"{rng.randint(16, 21):02d}:00"))
    hours(*shifts)
    closures = []
    for _ in range(3):
        starts = FIRST_DAY + dt.timedelta(days=rng.randrange(DAYS))
        ends = starts + dt.timedelta(days=rng.randrange(4))
        closure(starts.isoformat(), ends.isoformat())
        closures.append((starts, ends))
    professionals = [ProfessionalFactory() for _ in range(4)]
    chairs = [ChairFactory() for _ in range(3)] + [ChairFactory(is_active=False)]
    patients = [PatientFactory() for _ in range(15)]
    procedures = [procedure(f"R-{i}", f"Procedimiento {i}") for i in range(5)]
    # Half-hour slots, none shared: no two appointments overlap, whatever their status. A
    # fifth of them around local midnight (23:30, 00:00, 00:30), where days are told apart.
    base = dt.datetime.combine(FIRST_DAY, dt.time(0), tzinfo=LIMA)
    edges = [slot for slot in range(DAYS * 48) if slot % 48 in (47, 0, 1)]
    middle = [slot for slot in range(DAYS * 48) if slot % 48 not in (47, 0, 1)]
    for slot in rng.sample(edges, 32) + rng.sample(middle, 128):
        appointment(
            rng.choice(patients), rng.choice(professionals), rng.choice(chairs),
            base + dt.timedelta(minutes=30 * slot), rng.randint(5, 30),
            rng.choice(AppointmentStatus.values),
        )  # fmt: skip
    for _ in range(50):
        performed(
            rng.choice(patients), rng.choice(professionals), rng.choice(procedures),
            _moment(rng), _cents(rng, 0, 900), user,
        )  # fmt: skip
    for _ in range(50):
        charge(rng.choice(patients), _cents(rng, 1, 600), _moment(rng), user)
    for _ in range(45):
        usd = rng.random() < 0.2
        payment(
            rng.choice(patients), _cents(rng, 1, 400), rng.choice(PaymentMethod.values),
            _moment(rng), user, refund=rng.random() < 0.15,
            usd_rate=_cents(rng, 3, 4) if usd else None,
        )  # fmt: skip
    return {"shifts": shifts, "closures": closures, "chairs": chairs}


def _local(moment: dt.datetime) -> dt.date:
    return moment.astimezone(LIMA).date()


def _open_minutes(world: dict[str, Any], date_from: dt.date, date_to: dt.date) -> int:
    """From the shifts as generated (Lima keeps no daylight saving time)."""
    total = 0
    day = date_from
    while day <= date_to:
        if not any(start <= day <= end for start, end in world["closures"]):
            for weekday, opens, closes in world["shifts"]:
                if weekday == day.isoweekday():
                    o, c = dt.time.fromisoformat(opens), dt.time.fromisoformat(closes)
                    total += (c.hour * 60 + c.minute) - (o.hour * 60 + o.minute)
        day += dt.timedelta(days=1)
    return total


def _reconcile(actor: Any, world: dict[str, Any], date_from: dt.date, date_to: dt.date) -> Any:
    d = clinic_dashboard(actor=actor, date_from=date_from, date_to=date_to)
    start, end = d.start, d.end
    # --- appointments, through the agenda's selector ---
    overlapping = list(appointment_list(actor=actor, since=start, until=end))
    starting = [a for a in overlapping if date_from <= _local(a.starts_at) <= date_to]
    by_status = Counter(a.status for a in starting)
    assert {s.status: s.count for s in d.appointments_by_status} == {
        status: by_status.get(status, 0) for status in AppointmentStatus.values
    }
    per_professional: dict[int, Counter[str]] = defaultdict(Counter)
    for a in starting:
        per_professional[a.professional_id][a.status] += 1
    assert {
        a.professional_id: (a.appointments, a.completed, a.no_show, a.no_show_rate)
        for a in d.attendance_by_professional
    } == {
        pk: (
            sum(c.values()),
            c["COMPLETED"],
            c["NO_SHOW"],
            ratio(c["NO_SHOW"], c["COMPLETED"] + c["NO_SHOW"]),
        )
        for pk, c in per_professional.items()
    }
    # --- new and returning patients, through each patient's completed appointments ---
    attended = {a.patient_id for a in starting if a.status == AppointmentStatus.COMPLETED}
    returning = {
        pk
        for pk in attended
        if any(
            _local(a.starts_at) < date_from
            for a in appointment_list(actor=actor, patient_id=pk, statuses=["COMPLETED"])
        )
    }
    assert (d.patients.new, d.patients.returning) == (
        len(attended - returning),
        len(returning),
    )
    # --- production, from the performed procedures' rows ---
    by_professional: dict[int, Decimal] = defaultdict(lambda: ZERO)
    by_procedure: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for p in PerformedProcedure.objects.all():
        if date_from <= _local(p.performed_at) <= date_to:
            by_professional[p.professional_id] += p.price
            by_procedure[p.procedure_id] += p.price
    assert {line.id: line.value.amount for line in d.production_by_professional} == dict(
        by_professional
    )
    assert {line.id: line.value.amount for line in d.production_by_procedure} == dict(by_procedure)
    assert d.production_total == (
        [type(d.collected)(sum(by_professional.values(), ZERO), "PEN")] if by_professional else []
    )
    # --- collections, through the cash report ---
    cash = cash_report(date_from=date_from, date_to=date_to)
    assert {
        m.method: (m.received, m.refunded, m.count) for m in d.collections_by_method if m.count
    } == cash.by_method
    # --- outstanding, through each patient's account statement (and balance, when now) ---
    as_of = d.outstanding.as_of
    balances = []
    for patient in Patient.objects.all():
        moves = [m for m in patient_statement(patient) if m.at < as_of]
        balances.append(moves[-1].balance if moves else ZERO)
        if as_of > timezone.now() - dt.timedelta(minutes=1):
            assert patient_balance(patient).balance == balances[-1]
    assert d.outstanding.receivable.amount == sum((b for b in balances if b > 0), ZERO)
    assert d.outstanding.patients_owing == sum(1 for b in balances if b > 0)
    assert d.outstanding.credit.amount == -sum((b for b in balances if b < 0), ZERO)
    assert d.outstanding.patients_in_credit == sum(1 for b in balances if b < 0)
    # --- chair occupancy, through each chair's agenda and the hours as generated ---
    open_minutes = _open_minutes(world, date_from, date_to)
    expected = {}
    for chair in world["chairs"]:
        if not chair.is_active:
            continue
        seconds = sum(
            (min(a.ends_at, end) - max(a.starts_at, start)).total_seconds()
            for a in appointment_list(actor=actor, chair_id=chair.pk, since=start, until=end)
            if a.status != AppointmentStatus.CANCELLED
        )
        expected[chair.pk] = (open_minutes, int(seconds) // 60)
    assert {c.chair_id: (c.open_minutes, c.booked_minutes) for c in d.chairs} == expected
    return d


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_dashboard_reconciles_with_scheduling_and_billing(clinic1, clinic1_admin, seed):
    rng = random.Random(seed)
    with tenant_context(clinic1):
        world = _random_clinic(rng, clinic1_admin)
        for _ in range(4):
            first = FIRST_DAY + dt.timedelta(days=rng.randrange(-5, DAYS))
            last = first + dt.timedelta(days=rng.randrange(0, 40))
            _reconcile(clinic1_admin, world, first, last)
        # The whole world, and a range that ends today (balances as of now).
        whole = _reconcile(clinic1_admin, world, FIRST_DAY, FIRST_DAY + dt.timedelta(days=DAYS))
    # The world is not empty: every section has something to reconcile.
    assert whole.appointments_total == 160
    assert whole.patients.new > 0
    assert len(whole.production_by_procedure) == 5
    assert sum(m.count for m in whole.collections_by_method) == 45
    assert whole.outstanding.patients_owing > 0
    assert whole.booked_minutes > 0
    assert whole.open_minutes > 0
    with tenant_context(clinic1):
        today = timezone.now().astimezone(LIMA).date()
        _reconcile(clinic1_admin, world, today - dt.timedelta(days=365), today)
