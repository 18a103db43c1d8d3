"""``GET /logo/<sha256>-<size>.<ext>`` on a clinic's domain: its logo, with no token.

The name is the SHA-256 of the large version, so a URL's bytes never change: they are cached
publicly for a year (``immutable``), and a new logo has new URLs at once. The response is an
image and nothing else (``nosniff``; a CSP that allows nothing, should a browser open it as a
document). Any other name, another clinic's logo (its hash is not this clinic's) and the
platform's domain answer a coded 404, like every unknown path."""

from __future__ import annotations

import logging
import re

from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from backend.branding.models import SIZES
from backend.branding.selectors import logo_get, logo_public_name
from backend.core.error_codes import CommonError
from backend.core.responses import json_error
from backend.core.views import not_found
from backend.files.storage import file_read

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^(?P<sha256>[0-9a-f]{64})-(?P<size>[0-9]{2,4})\.(?P<ext>[a-z]{3,4})$")
ONE_YEAR = 365 * 24 * 3600


@csrf_exempt  # it changes nothing, and reads no cookie: any other method is a coded 405
def logo_image(request: HttpRequest, name: str) -> HttpResponseBase:
    if request.method not in ("GET", "HEAD"):
        refusal = json_error(405, CommonError.BAD_REQUEST, _("Only GET and HEAD are allowed."))
        refusal["Allow"] = "GET, HEAD"
        return refusal
    tenant = getattr(connection, "tenant", None)
    match = _NAME.fullmatch(name)
    if tenant is None or tenant.is_public or match is None or int(match["size"]) not in SIZES:
        return not_found(request)
    logo = logo_get()
    size = int(match["size"])
    if logo is None or logo_public_name(logo, size) != name:
        return not_found(request)
    stored = logo.version(size)
    etag = f'"{stored.sha256}"'
    response: HttpResponse
    if etag in _etags(request.headers.get("If-None-Match", "")):
        response = HttpResponse(status=304)
    else:
        try:
            content = file_read(stored)
        except OSError:  # the row without its object: a storage fault, not the client's
            logger.exception("logo: object %s is missing from storage", stored.key)
            return not_found(request)
        response = HttpResponse(content, content_type=stored.content_type)
    response["ETag"] = etag
    response["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}
