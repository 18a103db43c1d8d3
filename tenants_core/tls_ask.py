"""The reverse proxy's ``ask`` endpoint for on-demand TLS (the ``Caddyfile``'s
``on_demand_tls``): ``GET /internal/tls-ask?domain=<name>`` answers 200 only for a name that
this platform serves (``selectors.tls_certificate_allowed``), so that nobody can make the
proxy request certificates for arbitrary names (each one costs a CA's rate limits).

Caddy calls it at the app's own address (``http://app:8000/...``), whatever the name asked
about, so it is answered here, before the clinic routing and whatever the Host: like
``/metrics`` (``backend/observability``). Only Caddy should call it:

- Caddy answers the whole ``/internal/`` path itself (404) for requests from outside, and a
  request that a proxy forwarded (it carries ``X-Forwarded-For`` or ``Forwarded``) is never
  Caddy's own question: it gets the 404 of an unknown path here too, whatever path trick got
  it past the proxy;
- ``TLS_ASK_ALLOWED_IPS`` may list the proxy's networks (default: any address, since the
  answer tells no more than a request with that Host header does: served or not).

The answer carries nothing but its status and a code: no clinic, no plan.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from django.conf import settings
from django.db import DatabaseError, InterfaceError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from django.utils.translation import gettext as _

from backend.core import views
from backend.core.error_codes import CommonError
from backend.core.responses import json_error
from backend.core.transactions import database_unavailable
from backend.observability.access import Network, address_allowed
from tenants_core import selectors
from tenants_core.validators import HOSTNAME_MAX_LENGTH, hostname_normalise

logger = logging.getLogger(__name__)

# Under /internal/, which the Caddyfile keeps from the outside as a whole.
TLS_ASK_PATH = "/internal/tls-ask"
_FORWARDED_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED")


class TlsAskMiddleware:
    """Answers ``TLS_ASK_PATH`` before the tenant middleware (no clinic routed, no clinic
    schema touched); passes every other request on."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info != TLS_ASK_PATH:
            return self.get_response(request)
        translation.activate(translation.get_language_from_request(request))
        response = answer(request)
        response["Cache-Control"] = "no-store"
        return response


def answer(request: HttpRequest) -> HttpResponse:
    """200 for a name the platform serves; 404 for any other; 400 for no host name."""
    if any(request.META.get(header) for header in _FORWARDED_HEADERS):
        return views.not_found(request)  # a client's request, through a proxy
    allowed: Sequence[Network] = settings.TLS_ASK_ALLOWED_IPS
    if allowed and not address_allowed(request, allowed):
        return json_error(
            403, CommonError.FORBIDDEN, _("This address may not ask about certificates.")
        )
    if request.method not in ("GET", "HEAD"):
        return json_error(405, CommonError.BAD_REQUEST, _("Only GET asks for a certificate."))
    hostname = _hostname(request.GET.getlist("domain"))
    if hostname is None:
        return json_error(
            400,
            CommonError.BAD_REQUEST,
            _("Give one host name in ?domain= (at most %(max)d characters).")
            % {"max": HOSTNAME_MAX_LENGTH},
        )
    # Whatever an earlier request left selected: this one reads public rows only.
    connection.set_schema_to_public()  # type: ignore[attr-defined]
    try:
        served = selectors.tls_certificate_allowed(hostname=hostname)
    except (DatabaseError, InterfaceError) as error:
        if not database_unavailable(error):
            raise
        logger.exception("database unavailable while asked for a certificate")
        connection.close_if_unusable_or_obsolete()
        return json_error(
            503,
            CommonError.DATABASE_UNAVAILABLE,
            _("The database is unavailable; try again in a moment."),
        )
    if not served:
        return json_error(
            404, CommonError.NOT_FOUND, _("This platform serves no site at this name.")
        )
    return JsonResponse({"domain": hostname})


def _hostname(values: list[str]) -> str | None:
    """The one ``domain`` parameter, normalised; None when missing, repeated or no host name."""
    if len(values) != 1:
        return None
    return hostname_normalise(values[0])
