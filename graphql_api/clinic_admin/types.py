"""The clinic's profile, opening hours and closures, as anyone on the clinic's domain sees
them (``currentClinic``)."""

from __future__ import annotations

import datetime as dt

import strawberry
import strawberry_django
from strawberry import relay

from backend.clinic_admin import models
from graphql_api.core.docstrings import django_type
from graphql_api.resources.types import Weekday


@django_type(models.ClinicProfile)
class ClinicProfile:
    """How patients find and reach the clinic, and its defaults. Empty text when not set."""

    legal_name: str = strawberry_django.field(description="Razón social.")
    address_line: strawberry.auto
    reference: str = strawberry_django.field(description="How to get there.")
    department: strawberry.auto
    province: strawberry.auto
    district: strawberry.auto
    ubigeo: str = strawberry_django.field(description="INEI ubigeo, 6 digits.")
    phone: str = strawberry_django.field(description="E.164, e.g. +5114211234.")
    whatsapp: str = strawberry_django.field(description="E.164, e.g. +51987654321.")
    email: strawberry.auto
    website: strawberry.auto
    currency: str = strawberry_django.field(description="ISO 4217, e.g. PEN.")
    default_appointment_minutes: int = strawberry_django.field(
        description="The length of a new appointment unless another is chosen."
    )
    description: strawberry.auto
    updated_at: strawberry.auto


@django_type(models.OpeningShift)
class OpeningShift:
    """A range of the clinic's weekly opening hours, in its local time. A day with a break
    has two."""

    @strawberry_django.field(only=["weekday"], description="The day of the week.")
    def weekday(self, root: models.OpeningShift) -> Weekday:
        return Weekday(root.weekday - 1)  # ISO weekday → the enum's Monday = 0

    opens_at: dt.time
    closes_at: dt.time


@django_type(models.ClinicClosure)
class ClinicClosure(relay.Node):
    """Days the clinic is closed (a holiday, a renovation), both included."""

    starts_on: dt.date
    ends_on: dt.date
    reason: strawberry.auto
