"""Validate each document once.

Validation (document_limits, then the literal checks and the schema's rules in validation.py,
introspection included) depends only on the document's text and on those limits, never on the
clinic, the user or the variables, and it
cost a 100-row agenda as much as its permission checks. A document that passed is remembered
by the SHA-256 of its text and the limits in force, and not validated again; a document that
failed is not remembered, so every refusal runs the rules afresh. The cache holds digests and
numbers only, no text and no data.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator

from django.conf import settings
from strawberry.extensions import SchemaExtension

from graphql_api.core import document_limits

MAX_DOCUMENTS = 512

_valid: OrderedDict[tuple[object, ...], None] = OrderedDict()
_lock = threading.Lock()


def _limits() -> tuple[object, ...]:
    return (
        settings.GRAPHQL_MAX_DEPTH,
        settings.GRAPHQL_MAX_ALIASES,
        settings.GRAPHQL_MAX_TOKENS,
        settings.GRAPHQL_MAX_QUERY_LENGTH,
        document_limits.MAX_OPERATIONS,
        document_limits.MAX_SELECTIONS,
        document_limits.MAX_COMPARISONS,
        bool(settings.GRAPHQL_INTROSPECTION),
    )


class ValidDocumentCache(SchemaExtension):
    """Skips validation of a document already found valid under the same limits. It comes
    before DocumentLimits and DocumentValidation in the schema's extensions: a hit sets
    ``pre_execution_errors`` to [], and both skip a document that has them set."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        key = (
            (hashlib.sha256(context.query.encode()).digest(), *_limits())
            if isinstance(context.query, str) and context.pre_execution_errors is None
            else None
        )
        if key is not None:
            with _lock:
                known = key in _valid
                if known:
                    _valid.move_to_end(key)
            if known:
                # strawberry validates only while this is None.
                context.pre_execution_errors = []
        yield
        if key is not None and not known and context.pre_execution_errors == []:
            with _lock:
                _valid[key] = None
                if len(_valid) > MAX_DOCUMENTS:
                    _valid.popitem(last=False)


def known_valid(text: str) -> bool:
    """Whether ``text`` passed validation under the limits in force (compiled reads answer
    such a document without strawberry's execution: compiled/fast_path.py)."""
    key = (hashlib.sha256(text.encode()).digest(), *_limits())
    with _lock:
        return key in _valid


def clear() -> None:
    """Forget every document (tests)."""
    with _lock:
        _valid.clear()
