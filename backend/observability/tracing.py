"""OpenTelemetry tracing, off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set: then spans for
each Django request, each psycopg2 statement and the GraphQL phases (strawberry's extension,
added by ``graphql_api/schema.py``), exported over OTLP/HTTP in batches.

Off, nothing is installed: no tracer provider, no Django middleware, no cursor wrapper, so the
API's no-op tracer costs nothing.

psycopg2: the project's database backend (``backend/core/db_backend``) needs real psycopg2
connections (it registers types and sets the schema on them), so ``psycopg2.connect`` is not
wrapped (that would hand Django a proxy object). Each new connection gets the
instrumentation's cursor factory instead, on Django's ``connection_created`` signal. Statements
are recorded without their parameters (``capture_parameters`` stays off): they carry patient
data.

Every exporter (OTLP's, or one a test passes) is wrapped in
``backend.observability.scrubbing.ScrubbingSpanExporter``: what leaves is an allow-list of
attributes, exception events cut to their type and no status description (no URL with a
capability token, no database error quoting a row).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from django.conf import settings

from backend.core import log_context

logger = logging.getLogger(__name__)

CLINIC_ATTRIBUTE = "clinic"
REQUEST_ID_ATTRIBUTE = "request.id"

_configured = False


def enabled() -> bool:
    return bool(settings.TRACING_ENABLED)


def configure(exporter: Any = None) -> bool:
    """Install tracing when enabled (once per process). ``exporter``: where spans go instead of
    OTLP/HTTP (tests pass an in-memory exporter, exported at once)."""
    global _configured
    if _configured or not enabled():
        return _configured
    from opentelemetry import trace
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    from backend.observability.scrubbing import ScrubbingSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": "dental-api"}))
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # The SDK reads the endpoint (…/v1/traces is appended) and headers from OTEL_*.
        provider.add_span_processor(BatchSpanProcessor(ScrubbingSpanExporter(OTLPSpanExporter())))
    else:
        provider.add_span_processor(SimpleSpanProcessor(ScrubbingSpanExporter(exporter)))
    trace.set_tracer_provider(provider)
    DjangoInstrumentor().instrument(
        tracer_provider=provider,
        is_sql_commentor_enabled=False,
        # Scrapes and health checks every few seconds would drown the traces that matter.
        excluded_urls=os.environ.get("OTEL_PYTHON_DJANGO_EXCLUDED_URLS") or "metrics,healthz",
    )
    _instrument_database(provider)
    _configured = True
    logger.info("OpenTelemetry tracing on")
    return True


def _instrument_database(provider: Any) -> None:
    from django.db.backends.signals import connection_created
    from opentelemetry.instrumentation.psycopg2 import Psycopg2Instrumentor

    def traced(sender: Any, connection: Any, **kwargs: Any) -> None:
        Psycopg2Instrumentor.instrument_connection(connection.connection, tracer_provider=provider)

    connection_created.connect(traced, weak=False, dispatch_uid="observability.tracing.psycopg2")


def annotate_request(request: Any) -> None:
    """The clinic's subdomain and the request id, on the request's span (when tracing)."""
    if not _configured:
        return
    from opentelemetry import trace

    span = trace.get_current_span()
    if not span.is_recording():
        return
    request_id, clinic = log_context.request_fields(request)[:2]
    span.set_attribute(REQUEST_ID_ATTRIBUTE, request_id)
    span.set_attribute(CLINIC_ATTRIBUTE, clinic)
