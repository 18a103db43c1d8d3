"""Patient inputs. In updates, a field left out is not changed."""

from __future__ import annotations

import datetime as dt

import strawberry

from graphql_api.patients.types import DocumentType, Sex

CLINICAL = "Health data: only roles with clinical.write may send it (FORBIDDEN otherwise)."


@strawberry.input(description="A new patient.")
class CreatePatientInput:
    first_name: str
    last_name: str
    document_type: DocumentType
    document_number: str
    birth_date: dt.date | None = None
    sex: Sex | None = None
    phone: str | None = strawberry.field(default=None, description="Any format; default region PE.")
    email: str | None = None
    address: str | None = None
    emergency_contact_name: str | None = None
    emergency_contact_phone: str | None = None
    notes: str | None = None
    allergies: str | None = strawberry.field(default=None, description=CLINICAL)
    medical_alerts: str | None = strawberry.field(default=None, description=CLINICAL)


@strawberry.input(description="Changes to a patient: only the fields given are changed.")
class UpdatePatientInput:
    first_name: str | None = strawberry.UNSET
    last_name: str | None = strawberry.UNSET
    document_type: DocumentType | None = strawberry.UNSET
    document_number: str | None = strawberry.UNSET
    birth_date: dt.date | None = strawberry.UNSET
    sex: Sex | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    address: str | None = strawberry.UNSET
    emergency_contact_name: str | None = strawberry.UNSET
    emergency_contact_phone: str | None = strawberry.UNSET
    notes: str | None = strawberry.UNSET
    allergies: str | None = strawberry.field(default=strawberry.UNSET, description=CLINICAL)
    medical_alerts: str | None = strawberry.field(default=strawberry.UNSET, description=CLINICAL)
