"""Appointments and free slots. Times come in the clinic's local offset (ISO 8601)."""

from __future__ import annotations

import datetime as dt

import strawberry
import strawberry_django
from strawberry import relay

from backend.scheduling import models
from backend.scheduling.models import AppointmentStatus
from graphql_api.core.docstrings import django_type, graphql_type
from graphql_api.patients.types import Patient
from graphql_api.resources.types import Chair, Professional

# The model's choices are the GraphQL enum: one source for its name and values.
strawberry.enum(
    AppointmentStatus,
    description="SCHEDULED → CONFIRMED → CHECKED_IN → IN_PROGRESS → COMPLETED, "
    "or CANCELLED / NO_SHOW.",
)


@django_type(models.Appointment)
class Appointment(relay.Node):
    """A patient booked with a professional in a chair."""

    patient: Patient = strawberry_django.field(description="Who is seen.")
    professional: Professional = strawberry_django.field(description="Who treats.")
    chair: Chair = strawberry_django.field(description="Where.")

    starts_at: dt.datetime = strawberry_django.field(description="Start, with the clinic's offset.")

    ends_at: dt.datetime = strawberry_django.field(description="End (exclusive), clinic offset.")

    @strawberry_django.field(only=["status"], description="Where the visit stands.")
    def status(self, root: models.Appointment) -> AppointmentStatus:
        return AppointmentStatus(root.status)

    reason: strawberry.auto = strawberry_django.field(description="Why the patient comes.")
    notes: strawberry.auto = strawberry_django.field(description="Front-desk notes; may be empty.")
    cancellation_reason: strawberry.auto = strawberry_django.field(
        description="Why it was cancelled; empty unless CANCELLED."
    )
    created_at: strawberry.auto = strawberry_django.field(description="When it was booked.")


@graphql_type
class Slot:
    """A free period that can be booked, in the clinic's local time."""

    starts_at: dt.datetime = strawberry.field(description="Start, with the clinic's offset.")
    ends_at: dt.datetime = strawberry.field(description="End (exclusive), clinic offset.")
