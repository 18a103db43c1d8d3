"""Bounded label values: what a request may add to a metric's (or a log line's) labels.

A client's ``operationName`` is free text. As a label it would let any client create series
without end, so a name is used only when it looks like a GraphQL name (``NAME``), and only the
first ``METRICS_MAX_OPERATIONS`` distinct names of this process get their own value; later
ones are ``other``. An anonymous operation is labelled by its first root field, which the
schema bounds. Only an operation the schema executed (its document parsed and validated) gets
a name, so junk names sent with documents that never run cannot fill the cap: a document
refused before execution (unparseable, invalid, over the limits) is ``invalid``. Never a
clinic: the plan is the only tenant-derived label.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from django.conf import settings

from backend.core import log_context

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
OTHER = "other"
# Requests that are not GraphQL, or a document that never parsed into an operation.
NO_OPERATION = "-"
# A GraphQL document refused before execution: its operationName is never used.
INVALID = "invalid"
PLATFORM = "platform"
NO_PLAN = "none"

# The request's operation label, set by the GraphQL layer (graphql_api/core/observability.py).
OPERATION_ATTRIBUTE = log_context.OPERATION_ATTRIBUTE
# The codes of the request's GraphQL errors, appended by graphql_api/core/errors.py.
ERROR_CODES_ATTRIBUTE = "observed_error_codes"

_seen: set[str] = set()
_lock = threading.Lock()


def operation(name: str | None) -> str:
    """``name`` as a label value: itself while the process has seen fewer than the cap of
    distinct names (or has seen it already), else ``other``; ``other`` for anything that is
    not a GraphQL name."""
    if not name or not NAME.match(name):
        return OTHER if name else NO_OPERATION
    if name in _seen:
        return name
    with _lock:
        if name in _seen:
            return name
        if len(_seen) >= settings.METRICS_MAX_OPERATIONS:
            return OTHER
        _seen.add(name)
        return name


def plan(request: Any) -> str:
    """The plan code of the request's clinic, ``platform`` on the platform's own domain,
    ``none`` when no clinic answers the host (or the request never reached routing)."""
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return NO_PLAN
    if getattr(tenant, "is_public", False) or getattr(tenant, "schema_name", "") == "public":
        return PLATFORM
    plan_row = getattr(tenant, "plan", None)
    code = getattr(plan_row, "code", None)
    return code if isinstance(code, str) and NAME.match(code) else NO_PLAN


def route(request: Any) -> str:
    """The URL pattern's name (bounded by ``backend/urls.py``), never the raw path."""
    match = getattr(request, "resolver_match", None)
    name = getattr(match, "url_name", None)
    if name:
        return str(name)
    return "unrouted" if match is None else "unmatched"


def request_operation(request: Any) -> str:
    return str(getattr(request, OPERATION_ATTRIBUTE, NO_OPERATION))


def request_error_codes(request: Any) -> list[str]:
    return list(getattr(request, ERROR_CODES_ATTRIBUTE, ()))
