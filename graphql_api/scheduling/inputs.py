"""Scheduling inputs. Times are ISO 8601 with an offset."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry import relay


@strawberry.input(description="A booking.")
class ScheduleAppointmentInput:
    patient_id: relay.GlobalID
    professional_id: relay.GlobalID
    chair_id: relay.GlobalID
    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: str = ""
    notes: str = ""


@strawberry.input(description="A new time, and optionally another professional or chair.")
class RescheduleAppointmentInput:
    starts_at: dt.datetime
    ends_at: dt.datetime
    professional_id: relay.GlobalID | None = None
    chair_id: relay.GlobalID | None = None
