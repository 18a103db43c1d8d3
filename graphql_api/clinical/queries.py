"""Reading clinical records. Every read of a clinical note is audited."""

from __future__ import annotations

import datetime as dt
from itertools import groupby
from typing import cast

import strawberry
import strawberry_django
from strawberry import relay

from backend.clinical import selectors, services
from backend.clinical.permissions import ClinicalPermission
from backend.patients import selectors as patient_selectors
from graphql_api.clinical.types import (
    ClinicalNote,
    Finding,
    MedicalHistory,
    Odontogram,
    ToothChart,
)
from graphql_api.core.context import Info
from graphql_api.core.ids import decode_id
from graphql_api.core.pagination import ListConnection
from graphql_api.core.permissions import clinic_permission

VIEW = ClinicalPermission.VIEW_CLINICAL


def _patient_id(global_id: relay.GlobalID) -> int:
    """The patient's key, after checking the patient exists in this clinic."""
    patient = patient_selectors.patient_get(
        patient_id=decode_id(global_id, "Patient", field="patient_id")
    )
    return patient.pk


@strawberry.type
class Query:
    @strawberry_django.field(
        extensions=clinic_permission(VIEW), description="The current anamnesis, if any."
    )
    def medical_history(self, info: Info, patient_id: relay.GlobalID) -> MedicalHistory | None:
        return cast(
            "MedicalHistory | None",
            selectors.medical_history_versions(
                actor=info.context.require_user(), patient_id=_patient_id(patient_id)
            ).first(),
        )

    @strawberry_django.field(
        extensions=clinic_permission(VIEW), description="Every version of the anamnesis."
    )
    def medical_history_versions(
        self, info: Info, patient_id: relay.GlobalID
    ) -> list[MedicalHistory]:
        return cast(
            "list[MedicalHistory]",
            selectors.medical_history_versions(
                actor=info.context.require_user(), patient_id=_patient_id(patient_id)
            ),
        )

    @strawberry_django.field(extensions=clinic_permission(VIEW), description="One note (audited).")
    def clinical_note(self, info: Info, id: relay.GlobalID) -> ClinicalNote:
        user = info.context.require_user()
        note = selectors.note_get(actor=user, note_id=decode_id(id, "ClinicalNote"))
        services.note_reads_record(actor=user, notes=[note])
        return cast(ClinicalNote, note)

    @strawberry.field(
        extensions=clinic_permission(VIEW),
        description="A patient's notes, newest first. Each note returned is an audited read.",
    )
    def clinical_notes(
        self,
        info: Info,
        patient_id: relay.GlobalID,
        first: int | None = None,
        after: str | None = None,
    ) -> ListConnection[ClinicalNote]:
        user = info.context.require_user()
        notes = (
            selectors.note_list(actor=user, patient_id=_patient_id(patient_id))
            .select_related(
                "patient",
                "author",
                "signed_by",
                "appointment__patient",
                "appointment__professional",
                "appointment__chair",
            )
            .prefetch_related("addenda__author")
        )
        connection = ListConnection[ClinicalNote].resolve_connection(
            notes, info=info, first=first, after=after
        )
        services.note_reads_record(actor=user, notes=[edge.node for edge in connection.edges])
        return connection

    @strawberry.field(
        extensions=clinic_permission(VIEW),
        description="The whole chart in one request, now or as it was at `at`.",
    )
    def odontogram(
        self, info: Info, patient_id: relay.GlobalID, at: dt.datetime | None = None
    ) -> Odontogram:
        findings = selectors.odontogram_findings(
            actor=info.context.require_user(), patient_id=_patient_id(patient_id), at=at
        ).select_related("recorded_by")
        teeth = [
            ToothChart(tooth=tooth, findings=cast(list[Finding], list(group)))
            for tooth, group in groupby(findings, key=lambda finding: finding.tooth)
        ]
        return Odontogram(at=at, teeth=teeth)
