"""Patient types."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import cast

import strawberry
import strawberry_django
from strawberry import relay

from backend.patients import models
from backend.patients.models import DocumentType, Sex
from backend.patients.selectors import reads_health_data
from graphql_api.accounts.types import StaffMember
from graphql_api.core.context import Info
from graphql_api.core.docstrings import django_type, graphql_type

# The models' choices are the GraphQL enums: one source for their names and values.
strawberry.enum(DocumentType, description="Identity document types accepted in Peru.")
strawberry.enum(Sex, description="The patient's sex.")


@strawberry.enum(description="How to order patients.")
class PatientOrder(Enum):
    LAST_NAME = "LAST_NAME"
    LAST_NAME_DESC = "LAST_NAME_DESC"
    NEWEST = "NEWEST"
    OLDEST = "OLDEST"


@graphql_type
class FrontDeskAlert:
    """What a clinician wants the front desk to know about a patient, in their own words
    ("Requiere profilaxis antibiótica antes de cualquier procedimiento"), with who wrote it
    and when. Every role that reads patients reads it."""

    text: str
    written_by: StaffMember
    written_at: dt.datetime = strawberry.field(description="When, with the clinic's offset.")


@django_type(models.Patient)
class Patient(relay.Node):
    """A patient. What the front desk must check comes first: `hasAlerts` and the
    `frontDeskAlert` that a clinician wrote. Allergies and medical alerts are health data:
    only roles that read clinical records (`clinical.view`) get them, the others get null."""

    @strawberry_django.field(
        only=["allergies", "medical_alerts", "front_desk_alert"],
        description="True when there are allergies, medical alerts or a front-desk alert.",
    )
    def has_alerts(self, root: models.Patient) -> bool:
        return root.has_alerts

    @strawberry_django.field(
        only=["front_desk_alert", "front_desk_alert_by", "front_desk_alert_at"],
        select_related=["front_desk_alert_by"],
        description="The warning a clinician wrote for the front desk; null when there is none.",
    )
    def front_desk_alert(self, root: models.Patient) -> FrontDeskAlert | None:
        written_by, written_at = root.front_desk_alert_by, root.front_desk_alert_at
        # The check constraint patient_front_desk_alert_signed sets all three or none.
        if not root.front_desk_alert or written_by is None or written_at is None:
            return None
        return FrontDeskAlert(
            text=root.front_desk_alert,
            written_by=cast(StaffMember, written_by),
            written_at=written_at,
        )

    @strawberry_django.field(
        only=["allergies"],
        description="Known allergies. Health data: null unless your role has clinical.view.",
    )
    def allergies(self, root: models.Patient, info: Info) -> str | None:
        return root.allergies if reads_health_data(actor=info.context.user) else None

    @strawberry_django.field(
        only=["medical_alerts"],
        description="Conditions the clinical team must know (anticoagulants, pregnancy, heart "
        "disease…). Health data: null unless your role has clinical.view.",
    )
    def medical_alerts(self, root: models.Patient, info: Info) -> str | None:
        return root.medical_alerts if reads_health_data(actor=info.context.user) else None

    first_name: strawberry.auto = strawberry_django.field(description="Given names.")
    last_name: strawberry.auto = strawberry_django.field(description="Surnames.")

    @strawberry_django.field(
        only=["first_name", "last_name"], description="Given names, then surnames."
    )
    def full_name(self, root: models.Patient) -> str:
        return root.full_name

    @strawberry_django.field(only=["document_type"], description="The identity document's type.")
    def document_type(self, root: models.Patient) -> DocumentType:
        return DocumentType(root.document_type)

    document_number: strawberry.auto = strawberry_django.field(
        description="Unique per document type in the clinic."
    )
    birth_date: dt.date | None = strawberry_django.field(description="Null when unknown.")

    @strawberry_django.field(only=["sex"], description="Null when not recorded.")
    def sex(self, root: models.Patient) -> Sex | None:
        return Sex(root.sex) if root.sex else None

    phone: str = strawberry_django.field(description="E.164, e.g. +51987654321; empty if unknown.")
    email: strawberry.auto = strawberry_django.field(description="Lower case; empty if unknown.")
    address: strawberry.auto = strawberry_django.field(description="May be empty.")
    emergency_contact_name: strawberry.auto = strawberry_django.field(
        description="Whom to call in an emergency; may be empty."
    )
    emergency_contact_phone: strawberry.auto = strawberry_django.field(
        description="E.164; empty if unknown."
    )
    notes: strawberry.auto = strawberry_django.field(description="Administrative notes.")
    is_archived: strawberry.auto = strawberry_django.field(
        description="Archived patients are kept but cannot be booked."
    )
    created_at: strawberry.auto = strawberry_django.field(description="When it was registered.")
    updated_at: strawberry.auto = strawberry_django.field(description="Its last change.")
