"""``/files/<token>``: a signed, short-lived link to one file of this clinic."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import FileResponse, HttpRequest
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _

from backend.core.error_codes import CommonError
from backend.core.responses import json_error
from backend.files.errors import FileError
from backend.files.models import StoredFile
from backend.files.signing import LinkExpired, LinkInvalid, link_read, read_hook
from backend.files.storage import file_open


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
        hook(stored, link.user_id)  # checks the user's right again, and audits the read
    except PermissionDenied:
        return json_error(403, CommonError.FORBIDDEN, _("You may not read this file."))
    response = FileResponse(
        file_open(stored),
        content_type=stored.content_type,
        as_attachment=not link.inline,
        filename=stored.original_name or stored.key.rsplit("/", 1)[-1],
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Referrer-Policy"] = "no-referrer"
    return response
