"""Rows for the dashboard's tests, written straight to the selected clinic's schema (the
tests are about reading them, not about the services that write them)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from backend.accounts.models import User
from backend.billing.models import Charge, Payment, PaymentKind
from backend.clinic_admin.models import ClinicClosure, OpeningShift
from backend.patients.models import Patient
from backend.resources.models import Chair, Professional
from backend.scheduling.models import Appointment
from backend.treatments.models import PerformedProcedure, Procedure

LIMA = ZoneInfo("America/Lima")


def lima(day: str, hh_mm: str) -> dt.datetime:
    """``lima("2026-03-02", "23:30")``: an aware datetime at that Lima wall-clock time."""
    return dt.datetime.fromisoformat(f"{day}T{hh_mm}").replace(tzinfo=LIMA)


def appointment(
    patient: Patient,
    professional: Professional,
    chair: Chair,
    starts: dt.datetime,
    minutes: int,
    status: str,
) -> Appointment:
    return Appointment.objects.create(
        patient=patient,
        professional=professional,
        chair=chair,
        starts_at=starts,
        ends_at=starts + dt.timedelta(minutes=minutes),
        status=status,
    )


def procedure(code: str, name: str) -> Procedure:
    return Procedure.objects.create(
        code=code, name=name, category="RESTORATIVE", default_price=Decimal("100.00")
    )


def performed(
    patient: Patient,
    professional: Professional,
    proc: Procedure,
    at: dt.datetime,
    price: str,
    user: User,
) -> PerformedProcedure:
    return PerformedProcedure.objects.create(
        patient=patient,
        procedure=proc,
        professional=professional,
        performed_by=user,
        performed_at=at,
        price=Decimal(price),
    )


def charge(patient: Patient, amount: str, at: dt.datetime, user: User) -> Charge:
    value = Decimal(amount)
    return Charge.objects.create(
        patient=patient,
        concept="Tratamiento",
        unit_price=value,
        amount=value,
        created_by=user,
        created_at=at,
    )


def payment(
    patient: Patient,
    amount: str,
    method: str,
    at: dt.datetime,
    user: User,
    *,
    refund: bool = False,
    usd_rate: str | None = None,
) -> Payment:
    value = Decimal(amount)
    rate = Decimal(usd_rate or "1.0000")
    return Payment.objects.create(
        patient=patient,
        kind=PaymentKind.REFUND if refund else PaymentKind.PAYMENT,
        amount=value,
        currency="USD" if usd_rate else "PEN",
        exchange_rate=rate,
        amount_pen=(value * rate).quantize(Decimal("0.01")),
        method=method,
        paid_at=at,
        reason="Devolución" if refund else "",
        received_by=user,
    )


def hours(*shifts: tuple[int, str, str]) -> None:
    """Opening shifts: (ISO weekday, "09:00", "13:00")."""
    for weekday, opens, closes in shifts:
        OpeningShift.objects.create(
            weekday=weekday,
            opens_at=dt.time.fromisoformat(opens),
            closes_at=dt.time.fromisoformat(closes),
        )


def closure(starts_on: str, ends_on: str) -> ClinicClosure:
    return ClinicClosure.objects.create(
        starts_on=dt.date.fromisoformat(starts_on), ends_on=dt.date.fromisoformat(ends_on)
    )
