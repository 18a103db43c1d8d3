"""Writing clinical records."""

from __future__ import annotations

from typing import cast

import strawberry
import strawberry_django
from strawberry import relay

from backend.clinical import selectors, services
from backend.clinical.permissions import ClinicalPermission
from backend.patients import selectors as patient_selectors
from backend.scheduling import selectors as scheduling_selectors
from graphql_api.clinical.inputs import (
    ClinicalNoteInput,
    FindingInput,
    MedicalHistoryInput,
    UpdateClinicalNoteInput,
)
from graphql_api.clinical.types import (
    ClinicalNote,
    Finding,
    FindingState,
    MedicalHistory,
    NoteAddendum,
)
from graphql_api.core.context import Info
from graphql_api.core.ids import decode_id
from graphql_api.core.inputs import input_data
from graphql_api.core.permissions import clinic_permission

WRITE = ClinicalPermission.WRITE_CLINICAL
FINDINGS = ClinicalPermission.RECORD_FINDINGS
SIGN = ClinicalPermission.SIGN_NOTES


def _patient(global_id: relay.GlobalID):
    return patient_selectors.patient_get(
        patient_id=decode_id(global_id, "Patient", field="patient_id")
    )


def _note(info: Info, global_id: relay.GlobalID):
    return selectors.note_get(
        actor=info.context.require_user(), note_id=decode_id(global_id, "ClinicalNote")
    )


def _finding(info: Info, global_id: relay.GlobalID):
    return selectors.finding_get(
        actor=info.context.require_user(), finding_id=decode_id(global_id, "Finding")
    )


def _mutation(permission: ClinicalPermission, description: str):
    return strawberry_django.mutation(
        handle_django_errors=True, extensions=clinic_permission(permission), description=description
    )


@strawberry.type
class Mutation:
    @_mutation(WRITE, "Record a new version of the anamnesis.")
    def record_medical_history(
        self, info: Info, patient_id: relay.GlobalID, input: MedicalHistoryInput
    ) -> MedicalHistory:
        data = input_data(input)
        data["conditions"] = [c.value for c in input.conditions]
        return cast(
            MedicalHistory,
            services.medical_history_record(
                actor=info.context.require_user(), patient=_patient(patient_id), data=data
            ),
        )

    @_mutation(WRITE, "Start a draft note for a visit.")
    def create_clinical_note(self, info: Info, input: ClinicalNoteInput) -> ClinicalNote:
        appointment = (
            scheduling_selectors.appointment_get(
                actor=info.context.require_user(),
                appointment_id=decode_id(
                    input.appointment_id, "Appointment", field="appointment_id"
                ),
            )
            if input.appointment_id
            else None
        )
        data = {field: getattr(input, field) for field in services.SOAP}
        return cast(
            ClinicalNote,
            services.note_create(
                actor=info.context.require_user(),
                patient=_patient(input.patient_id),
                appointment=appointment,
                data=data,
            ),
        )

    @_mutation(WRITE, "Change a draft note. A signed note answers NOTE_SIGNED.")
    def update_clinical_note(
        self, info: Info, id: relay.GlobalID, input: UpdateClinicalNoteInput
    ) -> ClinicalNote:
        return cast(
            ClinicalNote,
            services.note_update(
                actor=info.context.require_user(), note=_note(info, id), data=input_data(input)
            ),
        )

    @_mutation(SIGN, "Sign a note: its author (a dentist) or an admin. It never changes again.")
    def sign_clinical_note(self, info: Info, id: relay.GlobalID) -> ClinicalNote:
        return cast(
            ClinicalNote,
            services.note_sign(actor=info.context.require_user(), note=_note(info, id)),
        )

    @_mutation(WRITE, "Add a signed, timestamped addendum to a signed note.")
    def add_note_addendum(self, info: Info, note_id: relay.GlobalID, text: str) -> NoteAddendum:
        note = selectors.note_get(
            actor=info.context.require_user(),
            note_id=decode_id(note_id, "ClinicalNote", field="note_id"),
        )
        return cast(
            NoteAddendum,
            services.addendum_add(actor=info.context.require_user(), note=note, text=text),
        )

    @_mutation(FINDINGS, "Record a finding on the odontogram.")
    def record_finding(self, info: Info, input: FindingInput) -> Finding:
        return cast(
            Finding,
            services.finding_record(
                actor=info.context.require_user(),
                patient=_patient(input.patient_id),
                tooth=input.tooth,
                condition=input.condition.value,
                state=input.state.value,
                surfaces=input.surfaces,
                material=input.material.value if input.material else None,
                notes=input.notes,
            ),
        )

    @_mutation(FINDINGS, "Change a finding's state (the history keeps the old entry).")
    def change_finding_state(
        self,
        info: Info,
        id: relay.GlobalID,
        state: FindingState,
    ) -> Finding:
        return cast(
            "Finding",
            services.finding_change_state(
                actor=info.context.require_user(), finding=_finding(info, id), state=state.value
            ),
        )

    @_mutation(FINDINGS, "Take a finding off the chart (the history keeps it).")
    def remove_finding(self, info: Info, id: relay.GlobalID, reason: str = "") -> Finding:
        return cast(
            "Finding",
            services.finding_remove(
                actor=info.context.require_user(), finding=_finding(info, id), reason=reason
            ),
        )
