"""Database expressions shared by the domain apps."""

from __future__ import annotations

from django.contrib.postgres.fields import DateTimeRangeField
from django.db.models import Func


class TsTzRange(Func):
    """``tstzrange(start, end)``: a half-open ``[start, end)`` range, so back-to-back
    periods (10:00–10:30 and 10:30–11:00) do not overlap."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()
