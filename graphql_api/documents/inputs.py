"""Patient document inputs."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry import relay
from strawberry.file_uploads import Upload

from graphql_api.documents.types import DocumentKind


@strawberry.input(
    description="A document to file under a patient, sent as a GraphQL multipart request "
    "(the file in `file`)."
)
class UploadPatientDocumentInput:
    patient_id: relay.GlobalID
    kind: DocumentKind
    file: Upload = strawberry.field(
        description="JPEG, PNG, WebP, PDF or DICOM (.dcm), told by its content."
    )
    taken_on: dt.date | None = None
    teeth: list[int] = strawberry.field(default_factory=list, description="FDI numbers.")
    note: str = ""


@strawberry.input(description="Changes to a document's data; fields left out stay.")
class UpdatePatientDocumentInput:
    kind: DocumentKind | None = strawberry.UNSET
    taken_on: dt.date | None = strawberry.UNSET
    teeth: list[int] | None = strawberry.UNSET
    note: str | None = strawberry.UNSET
