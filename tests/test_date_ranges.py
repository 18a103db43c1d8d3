"""One check and one reading of local days for every report over a date range
(``backend.core.dates``): the cash report, the clinic dashboard and the platform's metrics
refuse the same ranges with their own ``INVALID_DATE_RANGE`` and read the same bounds."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from backend.billing import selectors as billing
from backend.core.dates import MAX_RANGE_DAYS, date_range_check, local_day_range
from backend.metrics import selectors as metrics
from backend.reports import selectors as reports

LIMA = ZoneInfo("America/Lima")
D = dt.date


def test_a_range_covers_whole_local_days_both_ends_counted():
    start, end = local_day_range(D(2026, 3, 1), D(2026, 3, 31), LIMA, code="X")
    assert start == dt.datetime(2026, 3, 1, 5, 0, tzinfo=dt.UTC)
    assert end == dt.datetime(2026, 4, 1, 5, 0, tzinfo=dt.UTC)
    assert start.tzinfo == LIMA  # shown in the zone it was asked in


@pytest.mark.parametrize(
    ("date_from", "date_to", "field"),
    [
        (D(2026, 3, 2), D(2026, 3, 1), "to"),  # to before from
        (D(2024, 1, 1), D(2025, 1, 1), "to"),  # 367 days, both ends counted
        (D(1999, 12, 31), D(2000, 1, 1), "from"),
        (D(2100, 12, 31), D(2101, 1, 1), "to"),
    ],
    ids=["to-before-from", "367-days", "before-2000", "after-2100"],
)
def test_refused_ranges_carry_the_callers_code_on_the_field(date_from, date_to, field):
    with pytest.raises(ValidationError) as refused:
        date_range_check(date_from, date_to, code="MY_CODE")
    [(name, [error])] = refused.value.error_dict.items()
    assert (name, error.code) == (field, "MY_CODE")


def test_the_longest_range_is_a_leap_year():
    assert MAX_RANGE_DAYS == 366
    date_range_check(D(2024, 1, 1), D(2024, 12, 31), code="X")  # 366 days
    date_range_check(D(2026, 5, 5), D(2026, 5, 5), code="X")  # one day


@pytest.mark.django_db
@pytest.mark.parametrize(
    "call",
    [
        lambda f, t: billing.cash_report(date_from=f, date_to=t, tz=LIMA),
        lambda f, t: metrics.clinic_metrics(subdomain="nobody", date_from=f, date_to=t),
        lambda f, t: metrics.platform_metrics(date_from=f, date_to=t),
    ],
    ids=["cash-report", "clinic-metrics", "platform-metrics"],
)
def test_every_report_refuses_367_days_before_reading_anything(call, django_assert_num_queries):
    with django_assert_num_queries(0), pytest.raises(ValidationError) as refused:
        call(D(2024, 1, 1), D(2025, 1, 1))
    [[error]] = refused.value.error_dict.values()
    assert error.code == "INVALID_DATE_RANGE"


def test_the_dashboard_uses_the_same_check():
    assert reports.local_day_range is local_day_range
