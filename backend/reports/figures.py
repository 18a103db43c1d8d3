"""What the clinic dashboard reports (``selectors.clinic_dashboard``): plain values, money
with its currency, rates as fractions to four places."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from backend.billing.models import PEN

ZERO = Decimal("0.00")
RATE = Decimal("0.0001")


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class StatusCount:
    status: str
    count: int


def ratio(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    """``part ÷ whole`` to four places (half up); None when ``whole`` is 0."""
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(RATE, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class ProfessionalAttendance:
    professional_id: int
    name: str
    appointments: int  # every status
    completed: int
    no_show: int

    @property
    def no_show_rate(self) -> Decimal | None:
        return ratio(self.no_show, self.completed + self.no_show)


@dataclass(frozen=True)
class ProductionLine:
    """Performed procedures of one professional (or of one procedure) in one currency."""

    id: int
    name: str
    code: str  # the procedure's code; "" for a professional
    value: Money
    count: int


@dataclass(frozen=True)
class PatientCounts:
    new: int
    returning: int

    @property
    def attended(self) -> int:
        return self.new + self.returning


@dataclass(frozen=True)
class MethodCollection:
    method: str
    received: Decimal
    refunded: Decimal
    count: int  # payments and refunds

    @property
    def net(self) -> Decimal:
        return self.received - self.refunded


@dataclass(frozen=True)
class Outstanding:
    as_of: dt.datetime
    receivable: Money  # the sum of positive balances
    patients_owing: int
    credit: Money  # the sum of negative balances, as a positive amount
    patients_in_credit: int


@dataclass(frozen=True)
class ChairOccupancy:
    chair_id: int
    name: str
    open_minutes: int
    booked_minutes: int

    @property
    def occupancy(self) -> Decimal | None:
        return ratio(self.booked_minutes, self.open_minutes)


@dataclass(frozen=True)
class Dashboard:
    date_from: dt.date
    date_to: dt.date
    start: dt.datetime
    end: dt.datetime
    appointments_by_status: list[StatusCount]
    attendance_by_professional: list[ProfessionalAttendance]
    production_by_professional: list[ProductionLine]
    production_by_procedure: list[ProductionLine]
    patients: PatientCounts
    collections_by_method: list[MethodCollection]
    outstanding: Outstanding
    chairs: list[ChairOccupancy]

    @property
    def appointments_total(self) -> int:
        return sum(row.count for row in self.appointments_by_status)

    @property
    def production_total(self) -> list[Money]:
        """Per currency, in currency order."""
        totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for line in self.production_by_professional:
            totals[line.value.currency] += line.value.amount
        return [Money(amount, currency) for currency, amount in sorted(totals.items())]

    @property
    def collected(self) -> Money:
        return Money(sum((m.net for m in self.collections_by_method), ZERO), PEN)

    @property
    def open_minutes(self) -> int:
        return sum(chair.open_minutes for chair in self.chairs)

    @property
    def booked_minutes(self) -> int:
        return sum(chair.booked_minutes for chair in self.chairs)

    @property
    def occupancy(self) -> Decimal | None:
        return ratio(self.booked_minutes, self.open_minutes)
