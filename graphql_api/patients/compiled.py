"""Compiled reads of patients (graphql_api/core/compiled): the patient list and search, and one
patient. Each declaration computes what the field's resolver in ``types.py`` answers."""

from __future__ import annotations

from typing import Any

from backend.patients import models, selectors
from backend.patients.models import DocumentType, Sex
from graphql_api.core.compiled.coverage import (
    AnyNotBlank,
    Column,
    Concat,
    DateTime,
    EnumName,
    Gated,
    NodeId,
    cover,
    cover_connection,
    cover_single,
)
from graphql_api.core.ids import decode_id
from graphql_api.patients.types import Patient


def _reads_health_data(user: Any) -> bool:
    return selectors.reads_health_data(actor=user)


cover(
    Patient,
    models.Patient,
    id=NodeId(),
    has_alerts=AnyNotBlank(["allergies", "medical_alerts", "front_desk_alert"]),
    allergies=Gated(Column("allergies"), _reads_health_data, "health_data"),
    medical_alerts=Gated(Column("medical_alerts"), _reads_health_data, "health_data"),
    first_name=Column("first_name"),
    last_name=Column("last_name"),
    full_name=Concat(["first_name", "last_name"]),
    document_type=EnumName("document_type", DocumentType),
    document_number=Column("document_number"),
    birth_date=Column("birth_date"),
    sex=EnumName("sex", Sex, blank_is_null=True),
    phone=Column("phone"),
    email=Column("email"),
    address=Column("address"),
    emergency_contact_name=Column("emergency_contact_name"),
    emergency_contact_phone=Column("emergency_contact_phone"),
    notes=Column("notes"),
    is_archived=Column("is_archived"),
    created_at=DateTime("created_at"),
    updated_at=DateTime("updated_at"),
)

cover_connection("patients", arguments=("search", "include_archived", "order_by"))
cover_single(
    "patient",
    lambda info, id: selectors.patient_rows(patient_id=decode_id(id, "Patient")),
    arguments=("id",),
)
