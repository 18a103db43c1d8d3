"""The clinic dashboard's types. Money is ``Money`` (an exact amount with its currency);
rates are fractions (0.25 is 25%), null where there is nothing to divide by."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry
from strawberry import relay

from backend.billing.models import PaymentMethod
from backend.reports import figures
from backend.scheduling.models import AppointmentStatus
from graphql_api.core.docstrings import graphql_type
from graphql_api.core.money import Money


def money(value: figures.Money) -> Money:
    return Money(amount=value.amount, currency=value.currency)


def rate(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def global_id(type_name: str, pk: int) -> relay.GlobalID:
    return relay.GlobalID(type_name=type_name, node_id=str(pk))


@graphql_type
class AppointmentStatusCount:
    """How many appointments starting in the range are in a status."""

    status: AppointmentStatus
    count: int


@graphql_type
class ProfessionalAttendance:
    """A professional's appointments starting in the range."""

    professional_id: relay.GlobalID
    professional_name: str
    appointments: int = strawberry.field(description="In every status.")
    completed: int
    no_show: int
    no_show_rate: float | None = strawberry.field(
        description="noShow ÷ (completed + noShow), to four places; null when both are 0."
    )


@graphql_type
class ProfessionalProduction:
    """The value of the procedures a professional performed in the range, in one currency."""

    professional_id: relay.GlobalID
    professional_name: str
    value: Money
    count: int


@graphql_type
class ProcedureProduction:
    """The value of one procedure performed in the range, in one currency."""

    procedure_id: relay.GlobalID
    code: str
    name: str
    value: Money
    count: int


@graphql_type
class PatientCounts:
    """Patients with a COMPLETED appointment starting in the range: new (none completed
    before the range) or returning."""

    new: int
    returning: int
    attended: int


@graphql_type
class MethodCollection:
    """Payments and refunds of one method dated in the range (PEN)."""

    method: PaymentMethod
    received: Money
    refunded: Money
    net: Money
    count: int = strawberry.field(description="Payments and refunds.")


@graphql_type
class OutstandingBalances:
    """Every patient's balance (charges − payments + refunds) as of ``asOf``: the end of
    the range, or now if the range ends later."""

    as_of: dt.datetime
    receivable: Money = strawberry.field(description="What patients owe: positive balances.")
    patients_owing: int
    credit: Money = strawberry.field(description="What the clinic holds for patients.")
    patients_in_credit: int


@graphql_type
class ChairOccupancy:
    """An active chair: minutes booked (appointments not cancelled, within the range) over
    minutes open (the clinic's hours, less its closures)."""

    chair_id: relay.GlobalID
    name: str
    open_minutes: int
    booked_minutes: int
    occupancy: float | None = strawberry.field(
        description="bookedMinutes ÷ openMinutes, to four places; null when never open."
    )


@graphql_type
class ClinicDashboard:
    """How the clinic did over its local days ``from`` to ``to`` (inclusive), from
    ``start`` to ``end``."""

    date_from: dt.date = strawberry.field(name="from")
    date_to: dt.date = strawberry.field(name="to")
    start: dt.datetime
    end: dt.datetime
    appointments_total: int
    appointments_by_status: list[AppointmentStatusCount] = strawberry.field(
        description="Every status, zeros included."
    )
    attendance_by_professional: list[ProfessionalAttendance]
    production_total: list[Money] = strawberry.field(
        description="The price of the procedures performed in the range (before the IGV billing "
        "adds when prices exclude tax), billed or not; one per currency."
    )
    production_by_professional: list[ProfessionalProduction]
    production_by_procedure: list[ProcedureProduction]
    patients: PatientCounts
    collections_by_method: list[MethodCollection] = strawberry.field(
        description="Every method, zeros included."
    )
    collected: Money = strawberry.field(description="Received less refunded, every method.")
    outstanding: OutstandingBalances
    chairs: list[ChairOccupancy]
    open_minutes: int
    booked_minutes: int
    occupancy: float | None = strawberry.field(
        description="Of every active chair: bookedMinutes ÷ openMinutes; null when never open."
    )


def dashboard_type(d: figures.Dashboard) -> ClinicDashboard:
    pen = figures.PEN
    return ClinicDashboard(
        date_from=d.date_from,
        date_to=d.date_to,
        start=d.start,
        end=d.end,
        appointments_total=d.appointments_total,
        appointments_by_status=[
            AppointmentStatusCount(status=AppointmentStatus(s.status), count=s.count)
            for s in d.appointments_by_status
        ],
        attendance_by_professional=[
            ProfessionalAttendance(
                professional_id=global_id("Professional", a.professional_id),
                professional_name=a.name,
                appointments=a.appointments,
                completed=a.completed,
                no_show=a.no_show,
                no_show_rate=rate(a.no_show_rate),
            )
            for a in d.attendance_by_professional
        ],
        production_total=[money(m) for m in d.production_total],
        production_by_professional=[
            ProfessionalProduction(
                professional_id=global_id("Professional", line.id),
                professional_name=line.name,
                value=money(line.value),
                count=line.count,
            )
            for line in d.production_by_professional
        ],
        production_by_procedure=[
            ProcedureProduction(
                procedure_id=global_id("Procedure", line.id),
                code=line.code,
                name=line.name,
                value=money(line.value),
                count=line.count,
            )
            for line in d.production_by_procedure
        ],
        patients=PatientCounts(
            new=d.patients.new, returning=d.patients.returning, attended=d.patients.attended
        ),
        collections_by_method=[
            MethodCollection(
                method=PaymentMethod(m.method),
                received=Money(amount=m.received, currency=pen),
                refunded=Money(amount=m.refunded, currency=pen),
                net=Money(amount=m.net, currency=pen),
                count=m.count,
            )
            for m in d.collections_by_method
        ],
        collected=money(d.collected),
        outstanding=OutstandingBalances(
            as_of=d.outstanding.as_of,
            receivable=money(d.outstanding.receivable),
            patients_owing=d.outstanding.patients_owing,
            credit=money(d.outstanding.credit),
            patients_in_credit=d.outstanding.patients_in_credit,
        ),
        chairs=[
            ChairOccupancy(
                chair_id=global_id("Chair", c.chair_id),
                name=c.name,
                open_minutes=c.open_minutes,
                booked_minutes=c.booked_minutes,
                occupancy=rate(c.occupancy),
            )
            for c in d.chairs
        ],
        open_minutes=d.open_minutes,
        booked_minutes=d.booked_minutes,
        occupancy=rate(d.occupancy),
    )
