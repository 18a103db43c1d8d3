"""Request ids and the request-size limit: cheap checks that run before anything else."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _

from backend.core.responses import json_error

logger = logging.getLogger(__name__)
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Every request gets an id (a sane incoming ``X-Request-ID`` is kept), returned in the
    ``X-Request-ID`` header and written with every log line about the request, so that a client
    can quote it and an operator can find the full error. Outermost, so that every answer has
    one, CORS preflights included."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request.request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex  # type: ignore[attr-defined]
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id  # type: ignore[attr-defined]
        return response


class RequestSizeLimitMiddleware:
    """Bodies larger than ``MAX_REQUEST_BYTES`` get 413 ``REQUEST_TOO_LARGE`` before anything
    reads them. Runs inside the CORS middleware, so that a browser can read the refusal."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > settings.MAX_REQUEST_BYTES:
            translation.activate(translation.get_language_from_request(request))
            return json_error(
                413,
                "REQUEST_TOO_LARGE",
                _("The request is larger than %(max)d bytes.")
                % {"max": settings.MAX_REQUEST_BYTES},
            )
        return self.get_response(request)
