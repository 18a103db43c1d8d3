"""Listing a patient's documents: only the kinds the user's role may read."""

from __future__ import annotations

from collections.abc import Iterable

import strawberry
import strawberry_django
from strawberry import relay

from backend.documents import selectors
from backend.documents.models import PatientDocument as PatientDocumentModel
from backend.documents.permissions import DocumentPermission
from backend.patients import selectors as patient_selectors
from graphql_api.core.context import Info
from graphql_api.core.ids import decode_id
from graphql_api.core.pagination import ListConnection
from graphql_api.core.permissions import clinic_permission
from graphql_api.documents.types import DocumentKind, PatientDocument


@strawberry.type
class Query:
    @strawberry_django.connection(
        ListConnection[PatientDocument],
        extensions=clinic_permission(
            DocumentPermission.VIEW_CLINICAL, DocumentPermission.VIEW_ADMINISTRATIVE
        ),
        description="A patient's documents, newest first: only the kinds your role may read "
        "(the front desk sees ID documents and consents, never radiographs).",
    )
    def patient_documents(
        self,
        info: Info,
        patient_id: relay.GlobalID,
        kind: DocumentKind | None = None,
        include_archived: bool = False,
    ) -> Iterable[PatientDocumentModel]:
        patient = patient_selectors.patient_get(
            patient_id=decode_id(patient_id, "Patient", field="patient_id")
        )
        return selectors.document_list(
            actor=info.context.require_user(),
            patient_id=patient.pk,
            kind=kind.value if kind is not None else None,
            include_archived=include_archived,
        )
