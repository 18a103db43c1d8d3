"""The clinic dashboard: how the clinic did over a range of its local days.

Every section is aggregated in PostgreSQL, so the number of statements is the same for a
day and for a year, for ten appointments and for a million (ten in all). The definitions,
which the tests reconcile with the scheduling and billing selectors:

- **Range**: the clinic's local days ``date_from`` to ``date_to``, both included, at most
  366 (``backend.core.dates``): ``[start, end)`` from ``date_from`` 00:00 to the day after
  ``date_to`` 00:00, local time (an appointment at 23:30 in Lima is that day's, not the
  next UTC day's).
- **Appointments**: those that *start* in the range, by status (every status, zeros
  included). The no-show rate of a professional is ``no_show ÷ (completed + no_show)``,
  None when both are 0.
- **Production**: the price of the procedures *performed* in the range
  (``PerformedProcedure.price``, the price recorded when the procedure was done, before the
  IGV that billing adds when the clinic's prices exclude tax), by professional and by
  procedure, per currency. It is clinical work done, billed or not: ``cash_report``'s
  ``by_professional`` is another figure (the charges created in the range, taxes included).
- **Patients**: a patient is *attended* in the range when an appointment of theirs that
  starts in it is COMPLETED. Attended patients with no earlier completed appointment are
  *new*; those with one are *returning*. (Not by ``created_at``: a patient registered last
  year who first comes today is new to the chair, and one imported with their history is
  not.)
- **Collections**: payments and refunds whose ``paid_at`` is in the range, by method, in
  PEN (``amount_pen``, as the cash report counts them). A voided receipt does not undo a
  payment (its money becomes the patient's credit); only a refund does, so net = received −
  refunded.
- **Outstanding balances**: as of the end of the range (or now, if that is later than now):
  each patient's ``charges − payments + refunds`` up to then, as ``patient_balance`` and the
  account statement compute it. ``receivable`` sums the positive balances (patients owing);
  ``credit`` the negative ones (what the clinic holds for patients).
- **Chair occupancy**: booked minutes ÷ open minutes, per active chair and overall. Open
  minutes are the clinic's opening hours on each day of the range that is not a closure
  (the same for every active chair); booked minutes are the parts inside the range of the
  appointments on that chair that are not CANCELLED (a NO_SHOW held the chair). A clinic that
  has set no opening hours has no open minutes: its occupancy is None. Booked minutes are not
  clipped to the opening hours, so occupancy can pass 1 when a closure was added over days
  already booked (the bookings outside the hours show rather than vanish).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import (
    Count,
    Exists,
    OuterRef,
    QuerySet,
    Sum,
)
from django.utils import timezone

from backend.accounts.models import User
from backend.accounts.roles import role_has_permission
from backend.billing.models import PEN, Charge, Payment, PaymentKind, PaymentMethod
from backend.clinic_admin.selectors import opening_calendar
from backend.core.dates import local_day_range
from backend.core.error_codes import Forbidden
from backend.patients.models import Patient
from backend.reports.errors import ReportError
from backend.reports.figures import (
    ZERO,
    ChairOccupancy,
    Dashboard,
    MethodCollection,
    Money,
    Outstanding,
    PatientCounts,
    ProductionLine,
    ProfessionalAttendance,
    StatusCount,
)
from backend.reports.permissions import ReportPermission
from backend.resources.models import Chair
from backend.scheduling.models import Appointment, AppointmentStatus
from backend.treatments.models import PerformedProcedure
from tenants_core.context import current_timezone


def clinic_dashboard(*, actor: User, date_from: dt.date, date_to: dt.date) -> Dashboard:
    """The clinic's dashboard for its local days ``date_from`` to ``date_to`` (inclusive);
    see the module's docstring for what each number means. Only roles holding
    ``reports.dashboard`` (``Forbidden`` otherwise)."""
    if not role_has_permission(actor.role, ReportPermission.VIEW_DASHBOARD):
        raise Forbidden
    tz = current_timezone()
    start, end = local_day_range(date_from, date_to, tz, code=ReportError.INVALID_DATE_RANGE)
    by_status, attendance = _appointments(start, end)
    return Dashboard(
        date_from=date_from,
        date_to=date_to,
        start=start,
        end=end,
        appointments_by_status=by_status,
        attendance_by_professional=attendance,
        production_by_professional=_production_by_professional(start, end),
        production_by_procedure=_production_by_procedure(start, end),
        patients=_patients(start, end),
        collections_by_method=_collections(start, end),
        outstanding=_outstanding(min(end, timezone.now())),
        chairs=_chairs(date_from, date_to, start, end, tz),
    )


# --- the sections: one statement each, but occupancy (four) ------------------------------


def _appointments(
    start: dt.datetime, end: dt.datetime
) -> tuple[list[StatusCount], list[ProfessionalAttendance]]:
    rows = (
        Appointment.objects.filter(starts_at__gte=start, starts_at__lt=end)
        .values("professional_id", "professional__full_name", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    statuses: dict[str, int] = dict.fromkeys(AppointmentStatus.values, 0)
    people: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    names: dict[int, str] = {}
    for row in rows:
        statuses[row["status"]] += row["n"]
        people[row["professional_id"]][row["status"]] += row["n"]
        names[row["professional_id"]] = row["professional__full_name"]
    attendance = [
        ProfessionalAttendance(
            professional_id=pk,
            name=names[pk],
            appointments=sum(counts.values()),
            completed=counts[AppointmentStatus.COMPLETED],
            no_show=counts[AppointmentStatus.NO_SHOW],
        )
        for pk, counts in people.items()
    ]
    attendance.sort(key=lambda a: (a.name, a.professional_id))
    return [StatusCount(status, n) for status, n in statuses.items()], attendance


def _performed(start: dt.datetime, end: dt.datetime) -> QuerySet[PerformedProcedure]:
    return PerformedProcedure.objects.filter(performed_at__gte=start, performed_at__lt=end)


def _production_by_professional(start: dt.datetime, end: dt.datetime) -> list[ProductionLine]:
    rows = (
        _performed(start, end)
        .values("professional_id", "professional__full_name", "currency")
        .annotate(total=Sum("price"), n=Count("id"))
        .order_by("-total", "professional__full_name", "professional_id", "currency")
    )
    return [
        ProductionLine(
            id=row["professional_id"],
            name=row["professional__full_name"],
            code="",
            value=Money(row["total"], row["currency"]),
            count=row["n"],
        )
        for row in rows
    ]


def _production_by_procedure(start: dt.datetime, end: dt.datetime) -> list[ProductionLine]:
    rows = (
        _performed(start, end)
        .values("procedure_id", "procedure__code", "procedure__name", "currency")
        .annotate(total=Sum("price"), n=Count("id"))
        .order_by("-total", "procedure__code", "procedure_id", "currency")
    )
    return [
        ProductionLine(
            id=row["procedure_id"],
            name=row["procedure__name"],
            code=row["procedure__code"],
            value=Money(row["total"], row["currency"]),
            count=row["n"],
        )
        for row in rows
    ]


def _patients(start: dt.datetime, end: dt.datetime) -> PatientCounts:
    completed = Appointment.objects.filter(
        patient_id=OuterRef("pk"), status=AppointmentStatus.COMPLETED
    )
    earlier = Exists(completed.filter(starts_at__lt=start))
    counts = Patient.objects.filter(
        Exists(completed.filter(starts_at__gte=start, starts_at__lt=end))
    ).aggregate(new=Count("pk", filter=~earlier), returning=Count("pk", filter=earlier))
    return PatientCounts(new=counts["new"], returning=counts["returning"])


def _collections(start: dt.datetime, end: dt.datetime) -> list[MethodCollection]:
    rows = (
        Payment.objects.filter(paid_at__gte=start, paid_at__lt=end)
        .values("method", "kind")
        .annotate(total=Sum("amount_pen"), n=Count("id"))
        .order_by()
    )
    sums: dict[str, list] = {method: [ZERO, ZERO, 0] for method in PaymentMethod.values}
    for row in rows:
        totals = sums.setdefault(row["method"], [ZERO, ZERO, 0])
        totals[0 if row["kind"] == PaymentKind.PAYMENT else 1] += row["total"]
        totals[2] += row["n"]
    return [
        MethodCollection(method=method, received=received, refunded=refunded, count=n)
        for method, (received, refunded, n) in sums.items()
    ]


def _outstanding(as_of: dt.datetime) -> Outstanding:
    """Each patient's balance from one pass over charges and payments, grouped (a correlated
    sum per patient took ten times as long on 2,000 patients)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT COALESCE(SUM(balance) FILTER (WHERE balance > 0), 0),
                       COUNT(*) FILTER (WHERE balance > 0),
                       COALESCE(-SUM(balance) FILTER (WHERE balance < 0), 0),
                       COUNT(*) FILTER (WHERE balance < 0)
                  FROM (SELECT patient_id, SUM(amount) AS balance
                          FROM (SELECT patient_id, amount
                                  FROM {Charge._meta.db_table} WHERE created_at < %s
                                UNION ALL
                                SELECT patient_id,
                                       CASE WHEN kind = %s THEN -amount_pen ELSE amount_pen END
                                  FROM {Payment._meta.db_table} WHERE paid_at < %s) AS movement
                         GROUP BY patient_id) AS account""",  # noqa: S608 (our table names)
            [as_of, PaymentKind.PAYMENT, as_of],
        )
        receivable, owing, credit, in_credit = cursor.fetchone()
    return Outstanding(
        as_of=as_of,
        receivable=Money(Decimal(receivable).quantize(ZERO), PEN),
        patients_owing=owing,
        credit=Money(Decimal(credit).quantize(ZERO), PEN),
        patients_in_credit=in_credit,
    )


def open_seconds(date_from: dt.date, date_to: dt.date, tz: ZoneInfo) -> int:
    """The seconds the clinic is open over the days, by its hours and closures (two
    statements); 0 when it has set no hours. Each shift is measured in UTC, so a day on
    which the clocks change counts the time that really passed."""
    calendar = opening_calendar(since=date_from, until=date_to)
    total = 0
    day = date_from
    while day <= date_to:
        for opens_at, closes_at in calendar.open_ranges(day) or ():
            opens = dt.datetime.combine(day, opens_at, tzinfo=tz).astimezone(dt.UTC)
            closes = dt.datetime.combine(day, closes_at, tzinfo=tz).astimezone(dt.UTC)
            total += int((closes - opens).total_seconds())
        day += dt.timedelta(days=1)
    return total


def _booked_seconds(start: dt.datetime, end: dt.datetime) -> dict[int, int]:
    table = Appointment._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT chair_id,
                       SUM(EXTRACT(EPOCH FROM LEAST(ends_at, %s) - GREATEST(starts_at, %s)))
                  FROM {table}
                 WHERE status <> %s AND starts_at < %s AND ends_at > %s
                 GROUP BY chair_id""",  # noqa: S608 (the table name is ours)
            [end, start, AppointmentStatus.CANCELLED, end, start],
        )
        return {chair_id: int(seconds) for chair_id, seconds in cursor.fetchall()}


def _chairs(
    date_from: dt.date, date_to: dt.date, start: dt.datetime, end: dt.datetime, tz: ZoneInfo
) -> list[ChairOccupancy]:
    chairs = list(
        Chair.objects.filter(is_active=True).order_by("name", "id").values_list("pk", "name")
    )
    open_minutes = open_seconds(date_from, date_to, tz) // 60
    booked = _booked_seconds(start, end)
    return [
        ChairOccupancy(
            chair_id=pk,
            name=name,
            open_minutes=open_minutes,
            booked_minutes=booked.get(pk, 0) // 60,
        )
        for pk, name in chairs
    ]
