"""scripts/dev (``manage.py dev``) rolls the metrics up once after the demo seed (``demo_rollup``):
the demo clinics then have real, non-zero rows. ``tests/jobs/test_dev.py`` checks the rows that
a real ``manage.py dev`` leaves."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from backend.demo.front_desk import clinic_demo_data_seed
from backend.metrics.models import ClinicDayMetrics
from backend.metrics.rollup import demo_rollup, local_today

pytestmark = pytest.mark.django_db


def test_the_demo_seed_and_the_dev_rollup_leave_non_zero_rows_for_clinica1(clinic1):
    assert clinic_demo_data_seed(clinic1, patients=40) is True
    connection.set_schema_to_public()
    results = demo_rollup()
    today = local_today(clinic1)
    monday = today - dt.timedelta(days=today.weekday())
    assert [result.run.day for result in results] == [
        monday + dt.timedelta(days=n) for n in range((today - monday).days + 1)
    ]
    rows = ClinicDayMetrics.objects.filter(clinic=clinic1, day__gte=monday)
    # A row for each day of the week the clinic existed on: the test clinics are created with
    # the session, so on any day but Monday the earlier days skip them ("not started").
    assert rows.count() == sum(clinic1.pk in result.clinic_ids for result in results)
    assert clinic1.pk in results[-1].clinic_ids
    latest = rows.get(day=today)
    assert latest.patients >= 40
    assert latest.new_patients >= 40  # seeded today
    assert latest.users >= 1
    assert latest.last_activity_at is not None
    assert latest.computed_at <= timezone.now()
    week = rows.aggregate(booked=Sum("appointments_created"))
    assert week["booked"] > 0
