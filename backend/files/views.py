"""``/files/<token>``: a signed, short-lived link to one file of this clinic."""

from __future__ import annotations

import logging
from pathlib import PurePosixPath

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import FileResponse, HttpRequest
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _

from backend.core.error_codes import CommonError
from backend.core.responses import json_error
from backend.files.errors import FileError
from backend.files.models import StoredFile
from backend.files.signing import (
    LinkExpired,
    LinkInvalid,
    credential_live,
    link_read,
    read_hook,
)
from backend.files.storage import file_open

logger = logging.getLogger(__name__)


def download_name(stored: StoredFile) -> str:
    """The client's name for the file, with the extension of what it really is (a "PDF"
    uploaded as ``resultado.html`` downloads as ``resultado.pdf``)."""
    extension = PurePosixPath(stored.key).suffix
    stem = PurePosixPath(stored.original_name).stem if stored.original_name else "archivo"
    return f"{stem or 'archivo'}{extension}"


def _invalid() -> HttpResponseBase:
    return json_error(
        404, FileError.LINK_INVALID, _("This download link is not valid for this clinic.")
    )


def download(request: HttpRequest, token: str) -> HttpResponseBase:
    if request.method != "GET":
        refusal = json_error(405, CommonError.BAD_REQUEST, _("Use GET."))
        refusal["Allow"] = "GET"
        return refusal
    tenant = getattr(connection, "tenant", None)
    if tenant is None or tenant.schema_name == "public":
        return _invalid()
    try:
        link = link_read(token)
    except LinkExpired:
        return json_error(
            410, FileError.LINK_EXPIRED, _("This download link has expired: ask for a new one.")
        )
    except LinkInvalid:
        return _invalid()
    stored = StoredFile.objects.filter(pk=link.file_id).first()
    hook = read_hook(stored.purpose) if stored is not None else None
    if stored is None or hook is None:
        return _invalid()
    try:
        if not credential_live(link.user_id, link.token_id):
            raise PermissionDenied  # signed out, or the token revoked or expired, since
        hook(stored, link.user_id)  # checks the user's right again, and audits the read
    except PermissionDenied:
        return json_error(403, CommonError.FORBIDDEN, _("You may not read this file."))
    try:
        body = file_open(stored)
    except (OSError, ValueError) as error:  # the row names an object storage does not have
        logger.error("file %s: object %s unreadable: %r", stored.pk, stored.key, error)
        return json_error(503, FileError.FILE_UNAVAILABLE, _("This file cannot be read right now."))
    response = FileResponse(
        body,
        content_type=stored.content_type,
        as_attachment=not link.inline,
        filename=download_name(stored),
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Referrer-Policy"] = "no-referrer"
    return response
