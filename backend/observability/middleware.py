"""``/metrics``, served before the clinic routing, and the request metrics of every other
request."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from prometheus_client import CONTENT_TYPE_LATEST

from backend.core import views
from backend.core.error_codes import CommonError
from backend.core.responses import json_error
from backend.observability import labels, metrics, tracing
from backend.observability.access import Access, check

METRICS_PATH = "/metrics"


class ObservabilityMiddleware:
    """Answers ``/metrics`` whatever the Host (Prometheus scrapes by IP), before the tenant
    middleware: no clinic is routed and no clinic schema is touched. Every other request is
    timed and counted once answered, labelled by route, GraphQL operation and plan, never by
    clinic. Right inside ``RequestIdMiddleware``: its answers carry an ``X-Request-ID``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == METRICS_PATH:
            return self.scrape(request)
        started = time.perf_counter()
        response = self.get_response(request)
        # The request's span is still open: Django's OpenTelemetry middleware is outside this.
        tracing.annotate_request(request)
        metrics.record(
            route=labels.route(request),
            operation=labels.request_operation(request),
            plan=labels.plan(request),
            status=response.status_code,
            codes=labels.request_error_codes(request),
            seconds=time.perf_counter() - started,
        )
        return response

    @staticmethod
    def scrape(request: HttpRequest) -> HttpResponse:
        access = check(request)
        if access is not Access.ALLOWED:
            translation.activate(translation.get_language_from_request(request))
        if access is Access.OFF:
            return views.not_found(request)  # off: like any path that does not exist
        if access is Access.ADDRESS_REFUSED:
            return json_error(
                403, CommonError.FORBIDDEN, _("This address may not read the metrics.")
            )
        if access is Access.NO_TOKEN:
            response = json_error(
                401, CommonError.UNAUTHENTICATED, _("The metrics need a valid bearer token.")
            )
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        if request.method not in ("GET", "HEAD"):
            return json_error(405, CommonError.BAD_REQUEST, _("Only GET reads the metrics."))
        return HttpResponse(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)
