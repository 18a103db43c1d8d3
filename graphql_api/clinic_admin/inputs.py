"""Inputs of the clinic's profile, opening hours and closures."""

from __future__ import annotations

import datetime as dt

import strawberry

from graphql_api.resources.types import Weekday


@strawberry.input(description="Only the fields given change; an empty text clears a field.")
class UpdateClinicProfileInput:
    name: str | None = strawberry.field(default=strawberry.UNSET, description="Trade name.")
    timezone: str | None = strawberry.field(
        default=strawberry.UNSET, description="IANA time zone, e.g. America/Lima."
    )
    legal_name: str | None = strawberry.UNSET
    address_line: str | None = strawberry.UNSET
    reference: str | None = strawberry.UNSET
    department: str | None = strawberry.UNSET
    province: str | None = strawberry.UNSET
    district: str | None = strawberry.UNSET
    ubigeo: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    whatsapp: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    website: str | None = strawberry.UNSET
    currency: str | None = strawberry.UNSET
    default_appointment_minutes: int | None = strawberry.UNSET
    description: str | None = strawberry.UNSET


@strawberry.input(description="A weekly opening range in the clinic's local time.")
class OpeningShiftInput:
    weekday: Weekday
    opens_at: dt.time
    closes_at: dt.time


@strawberry.input(description="The whole week: it replaces the opening hours there are.")
class SetOpeningHoursInput:
    shifts: list[OpeningShiftInput]


@strawberry.input(description="Days the clinic is closed, both included.")
class ClinicClosureInput:
    starts_on: dt.date
    ends_on: dt.date
    reason: str = ""
