"""Patient types."""

from __future__ import annotations

import datetime as dt
from enum import Enum

import strawberry
import strawberry_django
from strawberry import relay

from backend.patients import models
from graphql_api.typing_helpers import django_type


@strawberry.enum(description="Identity document types accepted in Peru.")
class DocumentType(Enum):
    DNI = "DNI"
    CE = "CE"
    PASSPORT = "PASSPORT"


@strawberry.enum
class Sex(Enum):
    FEMALE = "FEMALE"
    MALE = "MALE"
    OTHER = "OTHER"


@strawberry.enum(description="How to order patients.")
class PatientOrder(Enum):
    LAST_NAME = "LAST_NAME"
    LAST_NAME_DESC = "LAST_NAME_DESC"
    NEWEST = "NEWEST"
    OLDEST = "OLDEST"


@django_type(models.Patient)
class Patient(relay.Node):
    """A patient. Allergies and medical alerts come first: the front desk must see them."""

    allergies: str = strawberry_django.field(description="Known allergies. Check before any act.")
    medical_alerts: str = strawberry_django.field(
        description="Conditions the team must know (anticoagulants, pregnancy, heart disease…)."
    )

    @strawberry_django.field(
        only=["allergies", "medical_alerts"], description="True when there are allergies or alerts."
    )
    def has_alerts(self, root: models.Patient) -> bool:
        return bool(root.allergies.strip() or root.medical_alerts.strip())

    first_name: strawberry.auto
    last_name: strawberry.auto

    @strawberry_django.field(only=["first_name", "last_name"])
    def full_name(self, root: models.Patient) -> str:
        return root.full_name

    @strawberry_django.field(only=["document_type"])
    def document_type(self, root: models.Patient) -> DocumentType:
        return DocumentType(root.document_type)

    document_number: strawberry.auto
    birth_date: dt.date | None

    @strawberry_django.field(only=["sex"])
    def sex(self, root: models.Patient) -> Sex | None:
        return Sex(root.sex) if root.sex else None

    phone: str = strawberry_django.field(description="E.164, e.g. +51987654321; empty if unknown.")
    email: strawberry.auto
    address: strawberry.auto
    emergency_contact_name: strawberry.auto
    emergency_contact_phone: strawberry.auto
    notes: strawberry.auto
    is_archived: strawberry.auto
    created_at: strawberry.auto
    updated_at: strawberry.auto
