"""Clinical inputs."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry import relay

from graphql_api.clinical.types import Condition, FindingCondition, FindingState, Material


@strawberry.input(description="A new version of the anamnesis (the whole of it).")
class MedicalHistoryInput:
    conditions: list[Condition] = strawberry.field(default_factory=list)
    conditions_notes: str = ""
    medications: str = ""
    allergies: str = ""
    is_pregnant: bool | None = None
    is_smoker: bool = False
    takes_anticoagulants: bool = False
    last_dental_visit: dt.date | None = None


@strawberry.input(description="A draft visit note (SOAP).")
class ClinicalNoteInput:
    patient_id: relay.GlobalID
    appointment_id: relay.GlobalID | None = None
    subjective: str = ""
    objective: str = ""
    assessment: str = ""
    plan: str = ""


@strawberry.input(description="Changes to a draft note; fields left out stay.")
class UpdateClinicalNoteInput:
    subjective: str | None = strawberry.UNSET
    objective: str | None = strawberry.UNSET
    assessment: str | None = strawberry.UNSET
    plan: str | None = strawberry.UNSET


@strawberry.input(description="A finding on a tooth (FDI) and, for caries or fillings, surfaces.")
class FindingInput:
    patient_id: relay.GlobalID
    tooth: int
    condition: FindingCondition
    state: FindingState = strawberry.field(default_factory=lambda: FindingState("EXISTING"))
    surfaces: list[str] = strawberry.field(
        default_factory=list, description="M, D, O (posterior) or I (anterior), V (or B), L or P."
    )
    material: Material | None = None
    notes: str = ""
