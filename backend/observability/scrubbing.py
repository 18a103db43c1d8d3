"""What a span may carry when it leaves the process: every exporter that ``tracing.configure``
installs is wrapped in ``ScrubbingSpanExporter``, which rebuilds each finished span from an
allow-list, whatever the instrumentation (Django's, psycopg2's, strawberry's) recorded:

- attributes: only the keys in ``ALLOWED_ATTRIBUTES`` (method, route, status, the database's
  system and statement text without parameters, the GraphQL field path, the clinic and the
  request id). So never a URL (``http.url``/``http.target``/``url.*``: capability tokens in
  ``/files/<token>``, ``/c/<token>``, a GET query's variables), never the user agent or the
  client's address;
- events: their name and, for an exception, its type only (``exception.message`` and
  ``exception.stacktrace`` quote the row: a ``DETAIL`` with a document number, a trigger's
  message with a patient's name);
- status: its code only, never its description (the exception's message again).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Status

ALLOWED_ATTRIBUTES = frozenset(
    {
        # ours (tracing.annotate_request)
        "clinic",
        "request.id",
        # HTTP server, old and new semantic conventions: never a URL, agent or peer address
        "http.method",
        "http.request.method",
        "http.route",
        "http.status_code",
        "http.response.status_code",
        "http.scheme",
        "url.scheme",
        "http.flavor",
        "network.protocol.version",
        "http.server_name",
        "http.host",
        "net.host.name",
        "net.host.port",
        "server.address",
        "server.port",
        # PostgreSQL: the statement's text (parameters are never captured), the database
        "db.system",
        "db.system.name",
        "db.name",
        "db.namespace",
        "db.statement",
        "db.query.text",
        "db.user",
        "net.peer.name",
        "net.peer.port",
        # strawberry (never the document nor the arguments)
        "component",
        "graphql.operation.name",
        "graphql.parentType",
        "graphql.path",
    }
)
# Of an event's attributes, only these (an exception's type, never its message or stack).
ALLOWED_EVENT_ATTRIBUTES = frozenset({"exception.type", "exception.escaped"})


def _allowed(attributes: Any, keys: frozenset[str]) -> dict[str, Any]:
    return {key: value for key, value in (attributes or {}).items() if key in keys}


def scrub(span: ReadableSpan) -> ReadableSpan:
    """A copy of ``span`` with only what ``ALLOWED_ATTRIBUTES`` and the rules above allow."""
    events = [
        Event(
            event.name,
            attributes=_allowed(event.attributes, ALLOWED_EVENT_ATTRIBUTES),
            timestamp=event.timestamp,
        )
        for event in span.events
    ]
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=_allowed(span.attributes, ALLOWED_ATTRIBUTES),
        events=events,
        links=span.links,
        kind=span.kind,
        status=Status(span.status.status_code),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class ScrubbingSpanExporter(SpanExporter):
    """Hands ``inner`` scrubbed copies of the spans (see the module's docstring)."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([scrub(span) for span in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)
