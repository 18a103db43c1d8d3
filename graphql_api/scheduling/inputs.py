"""Scheduling inputs. Times are ISO 8601 with an offset."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry import relay


@strawberry.input(description="A booking.")
class ScheduleAppointmentInput:
    patient_id: relay.GlobalID = strawberry.field(description="A Patient's ID.")
    professional_id: relay.GlobalID = strawberry.field(description="A Professional's ID.")
    chair_id: relay.GlobalID = strawberry.field(description="A Chair's ID.")
    starts_at: dt.datetime = strawberry.field(description="Start, with its UTC offset.")
    ends_at: dt.datetime = strawberry.field(description="End (exclusive), with its UTC offset.")
    reason: str = strawberry.field(default="", description="Why the patient comes.")
    notes: str = strawberry.field(default="", description="Front-desk notes.")


@strawberry.input(description="A new time, and optionally another professional or chair.")
class RescheduleAppointmentInput:
    starts_at: dt.datetime = strawberry.field(description="New start, with its UTC offset.")
    ends_at: dt.datetime = strawberry.field(description="New end (exclusive), with its offset.")
    professional_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Another Professional's ID; null keeps the current one."
    )
    chair_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Another Chair's ID; null keeps the current one."
    )
