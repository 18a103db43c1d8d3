"""Compiled reads of professionals and chairs, as the agenda shows them
(graphql_api/core/compiled)."""

from __future__ import annotations

from backend.resources import models
from graphql_api.core.compiled.coverage import (
    Column,
    DateTime,
    EnumName,
    Forward,
    Many,
    NodeId,
    cover,
)
from graphql_api.resources.types import Chair, Professional, TimeOff, Weekday, WorkingHoursRange

cover(
    Professional,
    models.Professional,
    id=NodeId(),
    full_name=Column("full_name"),
    license_number=Column("license_number"),
    specialty=Column("specialty"),
    color=Column("color"),
    is_active=Column("is_active"),
    user=Forward("user"),
    working_hours=Many("working_hours"),
    time_off=Many("time_off"),
)
cover(
    WorkingHoursRange,
    models.WorkingHours,
    weekday=EnumName("weekday", Weekday),
    start_time=Column("start_time"),
    end_time=Column("end_time"),
)
cover(
    TimeOff,
    models.TimeOff,
    id=NodeId(),
    starts_at=DateTime("starts_at"),
    ends_at=DateTime("ends_at"),
    reason=Column("reason"),
)
cover(Chair, models.Chair, id=NodeId(), name=Column("name"), is_active=Column("is_active"))
