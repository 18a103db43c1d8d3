"""Patient document types: the document, its file's facts and short-lived signed links."""

from __future__ import annotations

import datetime as dt

import strawberry
import strawberry_django
from strawberry import relay

from backend.documents import models
from backend.documents.models import DocumentKind
from backend.files.models import StoredFile
from backend.files.signing import download_url
from graphql_api.accounts.types import StaffMember
from graphql_api.core.context import Info
from graphql_api.core.docstrings import django_type, graphql_type
from graphql_api.core.uploads import absolute_url

strawberry.enum(
    DocumentKind,
    description="What a document is. XRAY, PHOTO, LAB and OTHER are clinical (read by the "
    "clinical staff); CONSENT and ID_DOCUMENT are administrative (the front desk too).",
)


@graphql_type
class DocumentPreview:
    """The preview's size in pixels: a thumbnail of an image, a PNG of a DICOM's pixels."""

    width: int
    height: int


def _absolute(info: Info, stored: StoredFile, *, inline: bool) -> str:
    """A signed link for the user who asked, on the host they asked on (the clinic's)."""
    user, token = info.context.require_user(), info.context.token
    path = download_url(
        stored, user_id=user.pk, token_id=token.pk if token is not None else None, inline=inline
    )
    return absolute_url(info.context.request, path)


@django_type(models.PatientDocument)
class PatientDocument(relay.Node):
    """A file of a patient's record. `downloadUrl` and `previewUrl` are signed for the user
    who asked, valid for minutes (`FILE_URL_SECONDS`) and on this clinic's domain only; each
    download is checked again and audited."""

    @strawberry_django.field(only=["kind"])
    def kind(self, root: models.PatientDocument) -> DocumentKind:
        return DocumentKind(root.kind)

    @strawberry_django.field(
        select_related=["original"],
        description="The file's name as uploaded (for the user; never used to decide its type).",
    )
    def original_name(self, root: models.PatientDocument) -> str:
        return root.original.original_name

    @strawberry_django.field(
        select_related=["original"], description="The real type, read from the content."
    )
    def content_type(self, root: models.PatientDocument) -> str:
        return root.original.content_type

    @strawberry_django.field(select_related=["original"])
    def size_bytes(self, root: models.PatientDocument) -> int:
        return root.original.size_bytes

    @strawberry_django.field(
        select_related=["original"], description="SHA-256 of the original, in hex."
    )
    def sha256(self, root: models.PatientDocument) -> str:
        return root.original.sha256

    taken_on: dt.date | None
    teeth: list[int] = strawberry_django.field(description="FDI numbers.")
    note: strawberry.auto
    dicom_warnings: list[str] = strawberry_django.field(
        description="Where a DICOM header did not match the patient (name, ID), or why it has "
        "no preview. Show them with the document."
    )
    created_at: strawberry.auto
    created_by: StaffMember
    archived_at: dt.datetime | None
    archived_by: StaffMember | None

    @strawberry_django.field(
        select_related=["original"],
        description="A signed link to the original file (as an attachment); short-lived.",
    )
    def download_url(self, root: models.PatientDocument, info: Info) -> str:
        return _absolute(info, root.original, inline=False)

    @strawberry_django.field(
        select_related=["preview"],
        description="A signed link to the preview (shown inline), if there is one.",
    )
    def preview_url(self, root: models.PatientDocument, info: Info) -> str | None:
        return _absolute(info, root.preview, inline=True) if root.preview is not None else None

    @strawberry_django.field(select_related=["preview"])
    def preview(self, root: models.PatientDocument) -> DocumentPreview | None:
        stored = root.preview
        if stored is None:
            return None
        return DocumentPreview(width=stored.width or 0, height=stored.height or 0)
