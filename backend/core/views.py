"""Plain HTTP endpoints: health check and JSON error handlers."""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _

from backend.core.error_codes import CommonError
from backend.core.responses import json_error

logger = logging.getLogger(__name__)


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and readiness: answers 200 only when the database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.exception("health check: database unavailable")
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def not_found(request: HttpRequest, exception: Exception | None = None, **kwargs: object):
    return json_error(404, CommonError.NOT_FOUND, _("Nothing here. The API is at /graphql."))


def server_error(request: HttpRequest) -> JsonResponse:
    return json_error(500, CommonError.INTERNAL_ERROR, _("Internal error."))


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(400, CommonError.BAD_REQUEST, _("Bad request."))


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(403, CommonError.FORBIDDEN, _("Forbidden."))
