"""Working time and free slots. All arithmetic is in UTC; hours are read and slots shown in
the clinic's local time, so days with a DST change come out right (a local range that falls
into a skipped hour shrinks, one in a repeated hour grows)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from django.db.models import Q

from backend.clinic_admin.selectors import OpeningCalendar, opening_calendar
from backend.resources.models import Chair, Professional, TimeOff, WorkingHours
from backend.scheduling.models import INACTIVE_STATUSES, Appointment

Interval = tuple[dt.datetime, dt.datetime]
UTC = dt.UTC


def _local(day: dt.date, time: dt.time, tz: ZoneInfo) -> dt.datetime:
    # Through UTC and back: a wall time that does not exist (spring forward) lands after the
    # gap, as a clock on the wall would show it.
    return dt.datetime.combine(day, time, tzinfo=tz).astimezone(UTC)


def working_intervals(
    professional: Professional,
    day: dt.date,
    tz: ZoneInfo,
    hours: Iterable[WorkingHours] | None = None,
) -> list[Interval]:
    """The professional's working ranges on local ``day``, in UTC."""
    if hours is None:
        hours = WorkingHours.objects.filter(professional=professional, weekday=day.weekday())
    intervals = []
    for rng in hours:
        if rng.weekday != day.weekday():
            continue
        start, end = _local(day, rng.start_time, tz), _local(day, rng.end_time, tz)
        if end > start:
            intervals.append((start, end))
    return _merge(sorted(intervals))


def clinic_open_intervals(
    day: dt.date, tz: ZoneInfo, calendar: OpeningCalendar
) -> list[Interval] | None:
    """When the clinic is open on local ``day``, in UTC: None when it sets no hours (only
    closures apply), [] when it is closed all day."""
    ranges = calendar.open_ranges(day)
    if ranges is None:
        return None
    intervals = [(_local(day, opens, tz), _local(day, closes, tz)) for opens, closes in ranges]
    return _merge(sorted((start, end) for start, end in intervals if end > start))


def intersect(first: list[Interval], second: list[Interval]) -> list[Interval]:
    """The times in both lists of sorted, disjoint intervals."""
    result = []
    i = j = 0
    while i < len(first) and j < len(second):
        start, end = max(first[i][0], second[j][0]), min(first[i][1], second[j][1])
        if start < end:
            result.append((start, end))
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return result


def _merge(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in intervals:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def busy_intervals(
    *, professional: Professional, chair: Chair | None, start: dt.datetime, end: dt.datetime,
    exclude_appointment_id: int | None = None,
) -> list[Interval]:  # fmt: skip
    """Active appointments of the professional (or the chair) and the professional's time
    off that touch ``[start, end)``."""
    who = Q(professional=professional)
    if chair is not None:
        who |= Q(chair=chair)
    active = Appointment.objects.filter(who, starts_at__lt=end, ends_at__gt=start).exclude(
        status__in=INACTIVE_STATUSES
    )
    if exclude_appointment_id is not None:
        active = active.exclude(pk=exclude_appointment_id)
    appointments = active.values_list("starts_at", "ends_at")
    time_off = TimeOff.objects.filter(
        professional=professional, starts_at__lt=end, ends_at__gt=start
    ).values_list("starts_at", "ends_at")
    return sorted([*appointments, *time_off])


def subtract(free: list[Interval], busy: list[Interval]) -> list[Interval]:
    """``free`` minus ``busy``, both sorted."""
    result = []
    for start, end in free:
        cursor = start
        for busy_start, busy_end in busy:
            if busy_end <= cursor or busy_start >= end:
                continue
            if busy_start > cursor:
                result.append((cursor, busy_start))
            cursor = max(cursor, busy_end)
        if cursor < end:
            result.append((cursor, end))
    return result


def free_slots(
    *,
    professional: Professional,
    day: dt.date,
    duration: dt.timedelta,
    tz: ZoneInfo,
    chair: Chair | None = None,
    now: dt.datetime,
    step: dt.timedelta,
    calendar: OpeningCalendar | None = None,
) -> list[Interval]:
    """Slots of ``duration`` on local ``day`` that fit in working hours and in the clinic's
    opening hours (``calendar``, read for ``day`` when not given), avoid closures,
    appointments and time off, and are not in the past. Each free stretch offers its first
    minute, then every ``step`` on the clock (10:10 after an appointment, then 10:15…)."""
    if calendar is None:
        calendar = opening_calendar(since=day, until=day)
    clinic_open = clinic_open_intervals(day, tz, calendar)
    if clinic_open == []:
        return []
    working = working_intervals(professional, day, tz)
    if clinic_open is not None:
        working = intersect(working, clinic_open)
    if not working:
        return []
    busy = busy_intervals(
        professional=professional, chair=chair, start=working[0][0], end=working[-1][1]
    )
    return _slots_in(working, busy, duration=duration, now=now, step=step)


def _slots_in(
    working: list[Interval],
    busy: list[Interval],
    *,
    duration: dt.timedelta,
    now: dt.datetime,
    step: dt.timedelta,
) -> list[Interval]:
    slots = []
    for start, end in subtract(working, busy):
        cursor = start
        while cursor + duration <= end:
            if cursor >= now:
                slots.append((cursor, cursor + duration))
            cursor = _next_on_grid(cursor, step)
    return slots


def free_slots_by_day(
    *,
    professionals: list[Professional],
    first: dt.date,
    last: dt.date,
    duration: dt.timedelta,
    tz: ZoneInfo,
    now: dt.datetime,
    step: dt.timedelta,
    calendar: OpeningCalendar,
) -> dict[dt.date, dict[int, list[Interval]]]:
    """What ``free_slots`` gives (no chair) for each of ``professionals`` on each day from
    ``first`` to ``last``, read in three statements whatever their number: day → professional
    id → slots."""
    ids = [professional.pk for professional in professionals]
    since, until = (
        _local(first, dt.time(0), tz),
        _local(last + dt.timedelta(days=1), dt.time(0), tz),
    )
    hours: dict[int, list[WorkingHours]] = {pk: [] for pk in ids}
    for row in WorkingHours.objects.filter(professional_id__in=ids):
        hours[row.professional_id].append(row)
    taken: dict[int, list[Interval]] = {pk: [] for pk in ids}
    appointments = (
        Appointment.objects.filter(professional_id__in=ids, starts_at__lt=until, ends_at__gt=since)
        .exclude(status__in=INACTIVE_STATUSES)
        .values_list("professional_id", "starts_at", "ends_at")
    )
    time_off = TimeOff.objects.filter(
        professional_id__in=ids, starts_at__lt=until, ends_at__gt=since
    ).values_list("professional_id", "starts_at", "ends_at")
    for pk, start, end in [*appointments, *time_off]:
        taken[pk].append((start, end))
    result: dict[dt.date, dict[int, list[Interval]]] = {}
    day = first
    while day <= last:
        clinic_open = clinic_open_intervals(day, tz, calendar)
        result[day] = {}
        for professional in professionals:
            if clinic_open == []:
                result[day][professional.pk] = []
                continue
            working = working_intervals(professional, day, tz, hours=hours[professional.pk])
            if clinic_open is not None:
                working = intersect(working, clinic_open)
            busy = sorted(
                (start, end)
                for start, end in taken[professional.pk]
                if working and start < working[-1][1] and end > working[0][0]
            )
            result[day][professional.pk] = (
                _slots_in(working, busy, duration=duration, now=now, step=step) if working else []
            )
        day += dt.timedelta(days=1)
    return result


def _next_on_grid(moment: dt.datetime, step: dt.timedelta) -> dt.datetime:
    """The next multiple of ``step`` after ``moment`` (UTC-aligned: every real time zone's
    offset is a multiple of 15 minutes, so the grid is the same on the local clock)."""
    seconds = int(step.total_seconds())
    offset = int(moment.timestamp()) % seconds
    return moment + dt.timedelta(seconds=seconds - offset)


def within_working_hours(
    professional: Professional, starts_at: dt.datetime, ends_at: dt.datetime, tz: ZoneInfo
) -> bool:
    """Whether ``[starts_at, ends_at)`` fits in one working range and no time off."""
    day = starts_at.astimezone(tz).date()
    fits = any(
        start <= starts_at and ends_at <= end
        for start, end in working_intervals(professional, day, tz)
    )
    if not fits:
        return False
    return not TimeOff.objects.filter(
        professional=professional, starts_at__lt=ends_at, ends_at__gt=starts_at
    ).exists()


def clinic_open_between(starts_at: dt.datetime, ends_at: dt.datetime, tz: ZoneInfo) -> bool:
    """Whether the clinic is open for all of ``[starts_at, ends_at)``: on no closure day, and
    inside one of its opening ranges (when it sets any). Two statements."""
    first_day = starts_at.astimezone(tz).date()
    last_day = (ends_at - dt.timedelta(microseconds=1)).astimezone(tz).date()
    calendar = opening_calendar(since=first_day, until=last_day)
    day = first_day
    while day <= last_day:
        if calendar.is_closed_on(day):
            return False
        day += dt.timedelta(days=1)
    clinic_open = clinic_open_intervals(first_day, tz, calendar)
    return clinic_open is None or any(
        start <= starts_at and ends_at <= end for start, end in clinic_open
    )
