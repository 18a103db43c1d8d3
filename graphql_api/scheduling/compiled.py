"""Compiled reads of the agenda (graphql_api/core/compiled): appointments with their patient,
professional and chair, and one appointment."""

from __future__ import annotations

from backend.scheduling import models, selectors
from backend.scheduling.models import AppointmentStatus
from graphql_api.core.compiled.coverage import (
    Column,
    DateTime,
    EnumName,
    Forward,
    NodeId,
    cover,
    cover_connection,
    cover_single,
)
from graphql_api.core.ids import decode_id
from graphql_api.scheduling.types import Appointment

cover(
    Appointment,
    models.Appointment,
    id=NodeId(),
    patient=Forward("patient"),
    professional=Forward("professional"),
    chair=Forward("chair"),
    starts_at=DateTime("starts_at"),
    ends_at=DateTime("ends_at"),
    status=EnumName("status", AppointmentStatus),
    reason=Column("reason"),
    notes=Column("notes"),
    cancellation_reason=Column("cancellation_reason"),
    created_at=DateTime("created_at"),
)

cover_connection(
    "appointments",
    arguments=("from_", "to", "professional_id", "chair_id", "patient_id", "status"),
)
cover_single(
    "appointment",
    lambda info, id: selectors.appointment_rows(
        actor=info.context.require_user(), appointment_id=decode_id(id, "Appointment")
    ),
    arguments=("id",),
)
