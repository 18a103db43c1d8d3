"""Uploading, changing and archiving patient documents."""

from __future__ import annotations

from typing import cast

import strawberry
import strawberry_django
from django.conf import settings
from strawberry import relay

from backend.documents import selectors, services
from backend.documents.permissions import DocumentPermission
from backend.patients import selectors as patient_selectors
from graphql_api.core.context import Info
from graphql_api.core.ids import decode_id
from graphql_api.core.inputs import input_data
from graphql_api.core.permissions import clinic_permission
from graphql_api.core.uploads import upload_read
from graphql_api.documents.inputs import UpdatePatientDocumentInput, UploadPatientDocumentInput
from graphql_api.documents.types import PatientDocument

UPLOAD = (DocumentPermission.UPLOAD_CLINICAL, DocumentPermission.UPLOAD_ADMINISTRATIVE)


def _mutation(description: str):
    return strawberry_django.mutation(
        handle_django_errors=True, extensions=clinic_permission(*UPLOAD), description=description
    )


def _document(info: Info, global_id: relay.GlobalID):
    return selectors.document_get(
        actor=info.context.require_user(), document_id=decode_id(global_id, "PatientDocument")
    )


@strawberry.type
class Mutation:
    @_mutation(
        "File a document under a patient (multipart). Its type is read from its content: "
        "JPEG, PNG, WebP, PDF or DICOM; anything else is FILE_TYPE_NOT_ALLOWED. A kind your "
        "role may not upload is FORBIDDEN."
    )
    def upload_patient_document(
        self, info: Info, input: UploadPatientDocumentInput
    ) -> PatientDocument:
        patient = patient_selectors.patient_get(
            patient_id=decode_id(input.patient_id, "Patient", field="patient_id")
        )
        upload = upload_read(input.file, max_bytes=settings.MAX_UPLOAD_BYTES)
        return cast(
            PatientDocument,
            services.document_upload(
                actor=info.context.require_user(),
                patient=patient,
                kind=input.kind.value,
                content=upload.content,
                original_name=upload.name,
                taken_on=input.taken_on,
                teeth=input.teeth,
                note=input.note,
            ),
        )

    @_mutation("Change a document's kind, date, teeth or note.")
    def update_patient_document(
        self, info: Info, id: relay.GlobalID, input: UpdatePatientDocumentInput
    ) -> PatientDocument:
        data = input_data(input)
        if data.get("teeth") is None:
            data.pop("teeth", None)
        if "kind" in data and data["kind"] is None:
            data.pop("kind")
        return cast(
            PatientDocument,
            services.document_update(
                actor=info.context.require_user(), document=_document(info, id), data=data
            ),
        )

    @_mutation("Archive a document: out of the list, never deleted (a health record).")
    def archive_patient_document(self, info: Info, id: relay.GlobalID) -> PatientDocument:
        return cast(
            PatientDocument,
            services.document_archive(
                actor=info.context.require_user(), document=_document(info, id)
            ),
        )

    @_mutation("Bring an archived document back to the patient's list.")
    def unarchive_patient_document(self, info: Info, id: relay.GlobalID) -> PatientDocument:
        return cast(
            PatientDocument,
            services.document_unarchive(
                actor=info.context.require_user(), document=_document(info, id)
            ),
        )
