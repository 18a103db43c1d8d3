"""Clinical types: anamnesis, notes, the odontogram."""

from __future__ import annotations

import datetime as dt

import strawberry
import strawberry_django
from strawberry import relay

from backend.clinical import models
from backend.clinical.models import Condition, FindingCondition, FindingState, Material, NoteStatus
from graphql_api.accounts.types import StaffMember
from graphql_api.core.docstrings import django_type, graphql_type
from graphql_api.patients.types import Patient
from graphql_api.scheduling.types import Appointment

# The models' choices are the GraphQL enums: one source for their names and values.
strawberry.enum(Condition, description="Systemic conditions.")
strawberry.enum(FindingCondition, description="What a finding on a tooth is.")
strawberry.enum(Material, description="The material of a restoration or prosthesis.")
strawberry.enum(FindingState, description="EXISTING in the mouth, or PLANNED by a treatment.")
strawberry.enum(NoteStatus, description="DRAFT (editable by its author) or SIGNED (final).")


@django_type(models.MedicalHistory)
class MedicalHistory(relay.Node):
    """One version of the anamnesis."""

    version: strawberry.auto

    @strawberry_django.field(only=["conditions"])
    def conditions(self, root: models.MedicalHistory) -> list[Condition]:
        return [Condition(code) for code in root.conditions]

    conditions_notes: strawberry.auto
    medications: strawberry.auto
    allergies: strawberry.auto
    is_pregnant: bool | None
    is_smoker: strawberry.auto
    takes_anticoagulants: strawberry.auto
    last_dental_visit: dt.date | None
    recorded_by: StaffMember
    recorded_at: strawberry.auto


@django_type(models.NoteAddendum)
class NoteAddendum(relay.Node):
    """A signed correction or complement to a signed note."""

    author: StaffMember
    text: strawberry.auto
    signed_at: strawberry.auto


@django_type(models.ClinicalNote)
class ClinicalNote(relay.Node):
    """A visit note (SOAP). Signed notes never change; corrections are addenda."""

    patient: Patient
    appointment: Appointment | None
    author: StaffMember
    subjective: strawberry.auto
    objective: strawberry.auto
    assessment: strawberry.auto
    plan: strawberry.auto

    @strawberry_django.field(only=["status"])
    def status(self, root: models.ClinicalNote) -> NoteStatus:
        return NoteStatus(root.status)

    signed_by: StaffMember | None
    signed_at: dt.datetime | None
    created_at: strawberry.auto
    updated_at: strawberry.auto
    addenda: list[NoteAddendum]


@django_type(models.Finding)
class Finding(relay.Node):
    """An entry of the odontogram: a condition of a tooth (and surfaces)."""

    tooth: int = strawberry_django.field(description="FDI notation.")
    surfaces: list[str]

    @strawberry_django.field(only=["condition"])
    def condition(self, root: models.Finding) -> FindingCondition:
        return FindingCondition(root.condition)

    @strawberry_django.field(only=["material"])
    def material(self, root: models.Finding) -> Material | None:
        return Material(root.material) if root.material else None

    @strawberry_django.field(only=["state"])
    def state(self, root: models.Finding) -> FindingState:
        return FindingState(root.state)

    notes: strawberry.auto
    recorded_by: StaffMember
    recorded_at: strawberry.auto
    resolved_at: dt.datetime | None


@graphql_type
class ToothChart:
    """One tooth and its findings."""

    tooth: int
    findings: list[Finding]


@graphql_type
class Odontogram:
    """A patient's chart, now or as it was at ``at``."""

    at: dt.datetime | None
    teeth: list[ToothChart]
