"""Professionals and chairs."""

from __future__ import annotations

import datetime as dt
from enum import Enum

import strawberry
import strawberry_django
from strawberry import relay

from backend.resources import models
from graphql_api.accounts.types import StaffMember
from graphql_api.core.docstrings import django_type


@strawberry.enum(description="A day of the week, MONDAY first.")
class Weekday(Enum):
    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6


@django_type(models.WorkingHours)
class WorkingHoursRange:
    """A range of weekly hours, in the clinic's local time."""

    @strawberry_django.field(only=["weekday"])
    def weekday(self, root: models.WorkingHours) -> Weekday:
        return Weekday(root.weekday)

    start_time: dt.time
    end_time: dt.time


@django_type(models.TimeOff)
class TimeOff(relay.Node):
    """A period when the professional cannot be booked."""

    starts_at: strawberry.auto
    ends_at: strawberry.auto
    reason: strawberry.auto


@django_type(models.Professional)
class Professional(relay.Node):
    """Who treats: a dentist or specialist with a weekly schedule."""

    full_name: strawberry.auto = strawberry_django.field(description="Name shown on the agenda.")
    license_number: str = strawberry_django.field(description="COP license number.")
    specialty: strawberry.auto = strawberry_django.field(description="Free text; may be empty.")
    color: str = strawberry_django.field(description="Calendar colour, #RRGGBB.")
    is_active: strawberry.auto = strawberry_django.field(
        description="False once deactivated: it takes no new appointments."
    )
    user: StaffMember | None = strawberry_django.field(
        description="The linked DENTIST user, if any."
    )
    working_hours: list[WorkingHoursRange] = strawberry_django.field(
        description="The weekly hours when it can be booked."
    )
    time_off: list[TimeOff] = strawberry_django.field(description="Periods it cannot be booked.")


@django_type(models.Chair)
class Chair(relay.Node):
    """A dental chair (operatory, “sillón”)."""

    name: strawberry.auto = strawberry_django.field(description="Unique in the clinic.")
    is_active: strawberry.auto = strawberry_django.field(
        description="False once deactivated: it takes no new appointments."
    )
