"""Billing's reads where they live, called without GraphQL: the cash report counts the
clinic's local days unless told otherwise. Checked: with the clinic's zone chosen by the
``cashReport`` resolver only (the selector taking ``tz`` as a required argument, as before),
this test went red."""

from __future__ import annotations

import datetime as dt

import pytest
from django_tenants.utils import tenant_context

from backend.billing import selectors
from backend.billing.models import Payment
from tests.dates import LIMA, monday_ahead

pytestmark = pytest.mark.django_db

LAST_MONDAY = monday_ahead(-1)


def test_the_cash_report_counts_the_clinics_local_days(clinic1, patient, receptionist):
    # 23:30 on Monday in Lima is already Tuesday in UTC.
    late_monday = dt.datetime.combine(LAST_MONDAY, dt.time(23, 30), tzinfo=LIMA)
    with tenant_context(clinic1):
        Payment.objects.create(
            patient=patient, amount="10.00", amount_pen="10.00", method="CASH",
            paid_at=late_monday, received_by=receptionist,
        )  # fmt: skip
        monday = selectors.cash_report(date_from=LAST_MONDAY, date_to=LAST_MONDAY)
        tuesday = LAST_MONDAY + dt.timedelta(days=1)
        next_day = selectors.cash_report(date_from=tuesday, date_to=tuesday)
    assert clinic1.timezone == "America/Lima"
    assert set(monday.by_method) == {"CASH"}
    assert monday.start == dt.datetime.combine(LAST_MONDAY, dt.time(0), tzinfo=LIMA)
    assert next_day.by_method == {}
