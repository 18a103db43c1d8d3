"""Dates relative to today, in the clinic's time zone, so that no test expires.

A booking in the past is refused (``IN_THE_PAST``): a test that books on a fixed date works
until that date and fails ever after. Tests book on ``MONDAY`` instead: the Monday of the week
``WEEKS_AHEAD`` weeks from today, as the wall clock of a clinic in America/Lima (the default
time zone, UTC-5 all year) reads it when the session starts. Weeks ahead, it is never in the
past during a run, whatever the hour or the machine's own time zone.

Expected values are written from these dates with the clinic's offset, never read back from
the code under test: ``lima(MONDAY, 10).isoformat()`` is ``<MONDAY>T10:00:00-05:00``.

Tests that need a daylight-saving change (America/Santiago) take the next one from the time
zone database with ``next_offset_change`` instead of a fixed year.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

LIMA = ZoneInfo("America/Lima")
SANTIAGO = ZoneInfo("America/Santiago")
WEEKS_AHEAD = 4


def clinic_today(tz: dt.tzinfo = LIMA) -> dt.date:
    """Today on the clinic's wall clock."""
    return dt.datetime.now(tz).date()


def monday_ahead(weeks: int = WEEKS_AHEAD, tz: dt.tzinfo = LIMA) -> dt.date:
    """The Monday of the week ``weeks`` weeks after this one, in the clinic's time zone."""
    today = clinic_today(tz)
    return today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=weeks)


MONDAY = monday_ahead()


def lima(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """A wall-clock time in a Lima clinic (``-05:00``)."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LIMA)


def local(day: dt.date, hour: int, minute: int = 0, *, tz: dt.tzinfo = LIMA) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)


@dataclass(frozen=True)
class OffsetChange:
    """A change of a time zone's UTC offset: ``day`` is the first local day on the new offset."""

    day: dt.date
    before: dt.timedelta
    after: dt.timedelta

    @property
    def forward(self) -> bool:
        """Spring forward (the clocks skip an hour), not fall back."""
        return self.after > self.before


def _noon_offset(day: dt.date, tz: dt.tzinfo) -> dt.timedelta:
    offset = dt.datetime.combine(day, dt.time(12), tzinfo=tz).utcoffset()
    assert offset is not None
    return offset


def next_offset_change(
    tz: dt.tzinfo, *, forward: bool, after: dt.date | None = None, within_days: int = 800
) -> OffsetChange:
    """The first change of ``tz``'s offset (forward: spring; else fall back) on a day after
    ``after`` (default: two days from today, so that none of that day is in the past)."""
    day = after or clinic_today(tz) + dt.timedelta(days=2)
    previous = _noon_offset(day, tz)
    for _ in range(within_days):
        day += dt.timedelta(days=1)
        offset = _noon_offset(day, tz)
        if offset != previous:
            change = OffsetChange(day, previous, offset)
            if change.forward == forward:
                return change
        previous = offset
    raise AssertionError(f"{tz} changes no offset ({forward=}) within {within_days} days")


def offset_text(offset: dt.timedelta) -> str:
    """``-03:00`` for three hours behind UTC, as ISO 8601 writes it."""
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def on_the_wire(instant: dt.datetime, tz: dt.tzinfo = LIMA) -> str:
    """How the API writes ``instant`` for a clinic in ``tz`` (or the platform, in Lima): its
    zone's offset, to the second (graphql_api/core/datetimes.py)."""
    return instant.astimezone(tz).replace(microsecond=0).isoformat()
