"""The plan cache: one plan (or one refusal) per document text and operation, bounded.

Keyed by the SHA-256 of the text and the operation's name; a plan holds the selection's shape
and SQL texts, never data, a clinic's key or a user (graphql_api/core/compiled/planner.py), so
one cache serves every clinic (CONVENTIONS §4: like the parsed-document cache). Least recently
used entries go first past ``GRAPHQL_COMPILED_PLANS`` entries; ``stats()`` reports the size and
``dental_graphql_compiled_plans`` exports it.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from backend.observability.metrics import COMPILED_PLANS
from graphql_api.core.compiled.planner import Decline, Plan, Planner, check_coverage


@dataclass(frozen=True)
class Declined:
    reason: str


_entries: OrderedDict[tuple[bytes, str | None], Plan | Declined] = OrderedDict()
_lock = threading.Lock()
_planners: dict[int, Planner] = {}


def _planner(schema: Any) -> Planner:
    planner = _planners.get(id(schema))
    if planner is None:
        check_coverage(schema, strict=False)
        planner = _planners.setdefault(id(schema), Planner(schema))
    return planner


def plan_for(schema: Any, text: str, document: Any, operation_name: str | None) -> Plan | Declined:
    """The plan of ``document`` (parsed from ``text``, validated) for ``operation_name``."""
    key = (hashlib.sha256(text.encode()).digest(), operation_name)
    with _lock:
        found = _entries.get(key)
        if found is not None:
            _entries.move_to_end(key)
            return found
    try:
        found = _planner(schema).plan(document, operation_name)
    except Decline as reason:
        found = Declined(str(reason))
    with _lock:
        _entries[key] = found
        while len(_entries) > settings.GRAPHQL_COMPILED_PLANS:
            _entries.popitem(last=False)
        _export()
    return found


def cached(text: str, operation_name: str | None) -> Plan | Declined | None:
    """The plan already made for ``text`` and ``operation_name``, if any (never plans)."""
    key = (hashlib.sha256(text.encode()).digest(), operation_name)
    with _lock:
        found = _entries.get(key)
        if found is not None:
            _entries.move_to_end(key)
        return found


def _export() -> None:
    compiled = sum(isinstance(entry, Plan) for entry in _entries.values())
    COMPILED_PLANS.labels("compiled").set(compiled)
    COMPILED_PLANS.labels("declined").set(len(_entries) - compiled)


def stats() -> dict[str, int]:
    """Entries (compiled and declined), the bound, and the SQL texts' size in characters."""
    with _lock:
        plans = [entry for entry in _entries.values() if isinstance(entry, Plan)]
        return {
            "entries": len(_entries),
            "compiled": len(plans),
            "declined": len(_entries) - len(plans),
            "max_entries": settings.GRAPHQL_COMPILED_PLANS,
            "sql_chars": sum(plan.text_size() for plan in plans),
        }


def clear() -> None:
    """Forget every plan (tests)."""
    with _lock:
        _entries.clear()
        _export()
