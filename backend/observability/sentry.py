"""Error reporting to Sentry, optional (``SENTRY_DSN``): each masked ``INTERNAL_ERROR`` of a
GraphQL answer (``graphql_api/core/errors.py``) and each unhandled exception of another view,
tagged with the request id the client was given and the clinic's subdomain.

An event never carries patient data. None of the SDK's integrations run (they would attach the
request body, GraphQL variables, cookies, headers, the user, SQL breadcrumbs with their
parameters); local variables are off; and ``scrub`` keeps only an allow-list of the event's
fields, replacing every exception's message (a database error's ``DETAIL: Key (dni)=(…)``
quotes the row) with its SQLSTATE and constraint name, which only the schema defines. What is
left: the exception types, the stack (files, functions, lines of our source), the tags.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

from backend.core import log_context

logger = logging.getLogger(__name__)

SCRUBBED = "[scrubbed]"
# The event's fields that may be sent; everything else is dropped.
_KEPT = {
    "event_id", "timestamp", "platform", "level", "exception", "tags", "environment",
    "release", "server_name", "sdk", "fingerprint", "contexts",
}  # fmt: skip
_KEPT_CONTEXTS = {"runtime", "os", "trace"}
_KEPT_FRAME = {
    "filename", "abs_path", "function", "module", "lineno", "colno", "in_app",
    "pre_context", "context_line", "post_context",
}  # fmt: skip
_configured = False


def enabled() -> bool:
    return _configured


def configure(*, transport: Any = None) -> bool:
    """Start the SDK when ``SENTRY_DSN`` is set (``transport``: tests capture events)."""
    global _configured
    if _configured or not settings.SENTRY_DSN:
        return _configured
    import sentry_sdk
    from django.core.signals import got_request_exception

    options: dict[str, Any] = {}
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(
        dsn=settings.SENTRY_DSN,
        environment=settings.SENTRY_ENVIRONMENT or None,
        default_integrations=False,
        auto_enabling_integrations=False,
        integrations=[],
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        max_breadcrumbs=0,
        before_send=scrub,  # type: ignore[arg-type]  # an Event is a dict
        **options,
    )
    got_request_exception.connect(_unhandled, weak=False, dispatch_uid="observability.sentry")
    _configured = True
    return True


def _unhandled(sender: Any, request: Any = None, **kwargs: Any) -> None:
    import sys

    error = sys.exc_info()[1]
    if error is not None:
        report(error, request)


def report(error: BaseException, request: Any) -> None:
    """Send ``error`` (scrubbed) with the request's id and clinic as tags; nothing when off."""
    if not _configured:
        return
    import sentry_sdk

    request_id, clinic, _user, operation = log_context.request_fields(request)
    with sentry_sdk.new_scope() as scope:
        scope.set_tag("request_id", request_id)
        scope.set_tag("clinic", clinic)
        scope.set_tag("operation", operation)
        for name, value in _database_tags(error).items():
            scope.set_tag(name, value)
        scope.capture_exception(error)


def _database_tags(error: BaseException) -> dict[str, str]:
    """The SQLSTATE and constraint of a database error (its cause, as Django raises it)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        pgcode = getattr(current, "pgcode", None)
        if pgcode:
            diag = getattr(current, "diag", None)
            constraint = getattr(diag, "constraint_name", None)
            tags = {"db.sqlstate": str(pgcode)}
            if constraint:
                tags["db.constraint"] = str(constraint)
            return tags
        current = current.__cause__ or current.__context__
    return {}


def scrub(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """The event with only the allow-listed fields, and no exception message."""
    kept = {key: value for key, value in event.items() if key in _KEPT}
    contexts = kept.get("contexts")
    if isinstance(contexts, dict):
        kept["contexts"] = {k: v for k, v in contexts.items() if k in _KEPT_CONTEXTS}
    exception = kept.get("exception")
    if isinstance(exception, dict):
        for value in exception.get("values") or ():
            value["value"] = SCRUBBED
            stacktrace = value.get("stacktrace") or {}
            stacktrace.pop("registers", None)
            stacktrace["frames"] = [
                {k: v for k, v in frame.items() if k in _KEPT_FRAME}
                for frame in stacktrace.get("frames") or ()
            ]
    return kept
