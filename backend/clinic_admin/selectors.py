"""Reading the clinic's profile, opening hours and closures.

What they show is public on the clinic's domain (the login page shows it), so the selectors
take no actor. ``opening_calendar`` is what the agenda reads: the week and the closures of a
date range in two statements, whatever the number of slots it checks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from backend.clinic_admin.models import PROFILE_PK, ClinicClosure, ClinicProfile, OpeningShift
from backend.core.error_codes import CommonError


def clinic_profile_get() -> ClinicProfile:
    """The clinic's profile (one row, created with the schema)."""
    return ClinicProfile.objects.get(pk=PROFILE_PK)


def opening_shift_list() -> QuerySet[OpeningShift]:
    """The weekly opening hours, by weekday (Monday first) and time."""
    return OpeningShift.objects.order_by("weekday", "opens_at", "id")


def clinic_closure_list(*, since: dt.date, until: dt.date) -> QuerySet[ClinicClosure]:
    """Closures that touch the days ``[since, until]``, in date order."""
    return ClinicClosure.objects.filter(ends_on__gte=since, starts_on__lte=until).order_by(
        "starts_on", "id"
    )


def clinic_closure_get(*, closure_id: int | str) -> ClinicClosure:
    """One closure of this clinic; ``NOT_FOUND`` otherwise."""
    try:
        return ClinicClosure.objects.get(pk=int(closure_id))
    except (ClinicClosure.DoesNotExist, ValueError, TypeError):
        raise ValidationError(_("No such closure."), code=CommonError.NOT_FOUND) from None


@dataclass(frozen=True)
class OpeningCalendar:
    """The clinic's hours over some days. ``restricted`` is False when no shift is
    configured: then only closures limit the agenda (a clinic that has not set its hours
    keeps working as before)."""

    shifts: dict[int, list[tuple[dt.time, dt.time]]]  # ISO weekday → ranges, in time order
    closures: list[tuple[dt.date, dt.date]]

    @property
    def restricted(self) -> bool:
        return bool(self.shifts)

    def is_closed_on(self, day: dt.date) -> bool:
        return any(start <= day <= end for start, end in self.closures)

    def open_ranges(self, day: dt.date) -> list[tuple[dt.time, dt.time]] | None:
        """The local ranges the clinic is open on ``day``: [] when closed all day, None when
        the clinic sets no hours (open whenever its professionals work)."""
        if self.is_closed_on(day):
            return []
        if not self.restricted:
            return None
        return self.shifts.get(day.isoweekday(), [])


def calendar_share_lock() -> None:
    """Hold the clinic's calendar (hours and closures) steady until the transaction ends: a
    booking takes this before it checks the calendar, and every change of the calendar locks
    the same row for update, so neither can act on what the other has not committed."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM clinic_admin_clinicprofile WHERE id = %s FOR SHARE", [PROFILE_PK]
        )


def opening_calendar(*, since: dt.date, until: dt.date) -> OpeningCalendar:
    """The week's shifts and the closures touching ``[since, until]``: two statements."""
    shifts: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for weekday, opens_at, closes_at in opening_shift_list().values_list(
        "weekday", "opens_at", "closes_at"
    ):
        shifts.setdefault(weekday, []).append((opens_at, closes_at))
    closures = list(
        clinic_closure_list(since=since, until=until).values_list("starts_on", "ends_on")
    )
    return OpeningCalendar(shifts=shifts, closures=closures)
