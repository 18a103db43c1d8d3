"""Registering and updating patients."""

from __future__ import annotations

from typing import cast

import strawberry
import strawberry_django
from strawberry import relay

from backend.clinical.permissions import ClinicalPermission
from backend.patients import selectors, services
from backend.patients.permissions import PatientPermission
from graphql_api.core.context import Info
from graphql_api.core.ids import decode_id
from graphql_api.core.inputs import input_data
from graphql_api.core.permissions import clinic_permission
from graphql_api.patients.inputs import CreatePatientInput, UpdatePatientInput
from graphql_api.patients.types import Patient


def _patient(global_id: relay.GlobalID, field: str = "id"):
    return selectors.patient_get(patient_id=decode_id(global_id, "Patient", field=field))


@strawberry.type
class Mutation:
    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(PatientPermission.MANAGE_PATIENTS),
        description="Register a patient. Counts against the plan's patient limit.",
    )
    def create_patient(self, info: Info, input: CreatePatientInput) -> Patient:
        return cast(
            Patient,
            services.patient_create(actor=info.context.require_user(), data=input_data(input)),
        )

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(PatientPermission.MANAGE_PATIENTS),
        description="Change a patient's data; fields left out stay as they are.",
    )
    def update_patient(self, info: Info, id: relay.GlobalID, input: UpdatePatientInput) -> Patient:
        return cast(
            Patient,
            services.patient_update(
                actor=info.context.require_user(), patient=_patient(id), data=input_data(input)
            ),
        )

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(PatientPermission.ARCHIVE_PATIENTS),
        description="Archive a patient: kept with its history, no longer counted or listed.",
    )
    def archive_patient(self, info: Info, id: relay.GlobalID) -> Patient:
        return cast(
            Patient,
            services.patient_archive(actor=info.context.require_user(), patient=_patient(id)),
        )

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(ClinicalPermission.WRITE_CLINICAL),
        description="Write the warning that the front desk sees on a patient (one line, at most "
        "300 characters); an empty text clears it. Clinicians only: nothing of the anamnesis "
        "reaches the front desk unless a clinician writes it here.",
    )
    def set_patient_front_desk_alert(
        self, info: Info, patient_id: relay.GlobalID, text: str
    ) -> Patient:
        return cast(
            Patient,
            services.patient_front_desk_alert_set(
                actor=info.context.require_user(),
                patient=_patient(patient_id, "patient_id"),
                text=text,
            ),
        )
