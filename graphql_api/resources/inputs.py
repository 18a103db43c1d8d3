"""Inputs for professionals and chairs."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry import relay

from graphql_api.resources.types import Weekday


@strawberry.input(description="A weekly range in the clinic's local time, e.g. MONDAY 09:00–13:00.")
class WorkingHoursInput:
    weekday: Weekday
    start_time: dt.time
    end_time: dt.time


@strawberry.input(description="A new professional (a dentist the agenda books).")
class CreateProfessionalInput:
    full_name: str
    license_number: str
    specialty: str = ""
    color: str = "#3B82F6"
    user_id: relay.GlobalID | None = strawberry.field(
        default=None, description="A staff user with the DENTIST role."
    )
    working_hours: list[WorkingHoursInput] = strawberry.field(default_factory=list)


@strawberry.input(description="Only the fields given change; workingHours replaces the week.")
class UpdateProfessionalInput:
    full_name: str | None = strawberry.UNSET
    license_number: str | None = strawberry.UNSET
    specialty: str | None = strawberry.UNSET
    color: str | None = strawberry.UNSET
    user_id: relay.GlobalID | None = strawberry.UNSET
    working_hours: list[WorkingHoursInput] | None = strawberry.UNSET


@strawberry.input(description="A period when a professional takes no appointments.")
class TimeOffInput:
    professional_id: relay.GlobalID
    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: str = ""
