"""Date ranges that reports read: one check and one reading of a local day, for every domain.

A report over ``[date_from, date_to]`` covers whole local days: from ``date_from`` 00:00 to
``date_to + 1`` 00:00 in the clinic's (or platform's) zone, both ends counted. A range is
refused with the caller's ``INVALID_DATE_RANGE`` code when a date is outside 2000–2100, when
``to`` is before ``from``, or when it covers more than ``MAX_RANGE_DAYS`` days (a leap year).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from backend.core.errors import field_error

EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2100, 12, 31)
MAX_RANGE_DAYS = 366


def date_range_check(date_from: dt.date, date_to: dt.date, *, code: str) -> None:
    """Refuse the range (``field_error`` on ``from`` or ``to`` with ``code``) unless both
    dates are in 2000–2100, ``to`` is not before ``from`` and it covers at most
    ``MAX_RANGE_DAYS`` days, both ends counted."""
    for name, day in (("from", date_from), ("to", date_to)):
        if not EARLIEST <= day <= LATEST:
            raise field_error(name, _("Dates between 2000 and 2100."), code)
    if date_to < date_from or (date_to - date_from).days + 1 > MAX_RANGE_DAYS:
        raise field_error(
            "to",
            _("A range of up to %(days)d days, ending after it starts.") % {"days": MAX_RANGE_DAYS},
            code,
        )


def local_day_bounds(
    date_from: dt.date, date_to: dt.date, tz: ZoneInfo
) -> tuple[dt.datetime, dt.datetime]:
    """``[date_from 00:00, date_to + 1 00:00)``, aware datetimes in ``tz``."""
    start = dt.datetime.combine(date_from, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    return start, end


def local_day_range(
    date_from: dt.date, date_to: dt.date, tz: ZoneInfo, *, code: str
) -> tuple[dt.datetime, dt.datetime]:
    """The checked range's bounds (``date_range_check``, then ``local_day_bounds``)."""
    date_range_check(date_from, date_to, code=code)
    return local_day_bounds(date_from, date_to, tz)
