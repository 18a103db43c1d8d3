"""Reading an ``Upload`` argument (a file of a multipart request) in a resolver."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from backend.files.errors import FileError
from backend.files.services import clean_name


@dataclass(frozen=True)
class UploadedContent:
    name: str  # the client's file name, cleaned (never trusted for the type)
    content: bytes
    declared_type: str  # the client's Content-Type, never trusted


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f}".rstrip("0").rstrip(".")


def upload_read(upload: Any, *, max_bytes: int, field: str = "file") -> UploadedContent:
    """The file's bytes, or a coded ``ValidationError`` on ``field``: ``FILE_MISSING`` (no
    file, a string where a file belongs, an empty file), ``FILE_TOO_LARGE``."""

    def refuse(message: str, code: FileError) -> ValidationError:
        return ValidationError({field: ValidationError(message, code=code)})

    if not isinstance(upload, UploadedFile):
        raise refuse(
            _("Attach the file as a multipart upload (the GraphQL multipart request spec)."),
            FileError.FILE_MISSING,
        )
    too_large = _("The file is larger than %(max)s MB.") % {"max": _megabytes(max_bytes)}
    if upload.size is not None and upload.size > max_bytes:
        raise refuse(too_large, FileError.FILE_TOO_LARGE)
    upload.seek(0)
    content = upload.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise refuse(too_large, FileError.FILE_TOO_LARGE)
    if not content:
        raise refuse(_("The file is empty."), FileError.FILE_MISSING)
    return UploadedContent(
        name=clean_name(upload.name or ""),
        content=content,
        declared_type=(upload.content_type or "")[:100],
    )


def absolute_url(request: Any, path: str) -> str:
    """``path`` on the host the request came to (the clinic's domain), with its scheme."""
    return str(request.build_absolute_uri(path))
