"""What an uploaded document is, from its bytes alone (never its name or declared type):
a JPEG, PNG or WebP image, a PDF, or a DICOM file; anything else is ``FILE_TYPE_NOT_ALLOWED``.
Everything here runs before anything is stored."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from backend.documents.dicom import dicom_read, is_dicom
from backend.files.errors import FileError
from backend.files.images import image_inspect, image_thumbnail
from backend.patients.models import Patient

PDF_MAGIC = b"%PDF-"
# A PDF ends with "%%EOF" (and perhaps a line break or a little padding after it); a file cut
# short in transit has none in its last bytes.
PDF_TAIL = 1024
THUMBNAIL_SIDE = 256


@dataclass
class Preview:
    content: bytes
    mime: str
    extension: str
    width: int
    height: int


@dataclass
class InspectedDocument:
    """The upload's real type, how to store it, and its preview."""

    mime: str
    extension: str
    width: int | None = None
    height: int | None = None
    preview: Preview | None = None
    dicom_warnings: list[str] = field(default_factory=list)


def _pdf(content: bytes) -> InspectedDocument:
    if b"%%EOF" not in content[-PDF_TAIL:]:
        raise ValidationError(
            _("This PDF is incomplete (it has no end); upload it again."),
            code=FileError.FILE_CORRUPT,
        )
    return InspectedDocument(mime="application/pdf", extension=".pdf")


def _image(content: bytes) -> InspectedDocument:
    try:
        info = image_inspect(content)
    except ValidationError as error:
        if error.code != FileError.FILE_TYPE_NOT_ALLOWED:
            raise
        raise ValidationError(
            _("A document must be a JPEG, PNG or WebP image, a PDF or a DICOM file."),
            code=FileError.FILE_TYPE_NOT_ALLOWED,
        ) from None
    thumbnail = image_thumbnail(content, max_side=THUMBNAIL_SIDE)
    return InspectedDocument(
        mime=info.mime,
        extension=info.extension,
        width=info.width,
        height=info.height,
        preview=Preview(
            thumbnail.content,
            thumbnail.mime,
            thumbnail.extension,
            thumbnail.width,
            thumbnail.height,
        ),
    )


def _dicom(content: bytes, patient: Patient) -> InspectedDocument:
    dicom = dicom_read(content, patient)
    preview = (
        Preview(dicom.preview_png, "image/png", ".png", dicom.width or 0, dicom.height or 0)
        if dicom.preview_png is not None
        else None
    )
    return InspectedDocument(
        mime="application/dicom", extension=".dcm", preview=preview, dicom_warnings=dicom.warnings
    )


def document_inspect(content: bytes, *, patient: Patient) -> InspectedDocument:
    """The document's real type (by its signature), checked whole, with its preview.

    Refusals: ``FILE_MISSING`` (empty), ``FILE_CORRUPT`` (a truncated PDF, image or DICOM),
    ``FILE_TYPE_NOT_ALLOWED`` (anything else, a zip renamed ``.png`` among them), and the
    image checks' own (``IMAGE_TOO_LARGE`` for a decompression bomb)."""
    if not content:
        raise ValidationError(_("The file is empty."), code=FileError.FILE_MISSING)
    if content.startswith(PDF_MAGIC):
        return _pdf(content)
    if is_dicom(content):
        return _dicom(content, patient)
    return _image(content)
