"""The internals of strawberry and graphql-core that the API relies on, in one place.

Each is used because the public API has no way to do the same (see the user named with each).
They hold for the versions in ``SUPPORTED_VERSIONS``, which ``pyproject.toml`` pins.
``tests/graphql_api/test_strawberry_internals.py`` fails when the installed versions leave
these ranges, or when one of these shapes changes. To upgrade: widen the range here and in
``pyproject.toml``, run that test, and re-read the line references quoted in
``document_limits.py``, ``http_input.py`` and ``validation.py``.

Outside this module: ``fast_fields.py`` reads ``Schema._schema`` and writes
strawberry's node-id and resolver attributes (``tests/graphql_api/test_overhead.py``,
``tests/scheduling/test_agenda_overhead.py``), and ``document_cache.py`` uses the
``pre_execution_errors`` protocol below.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cross_web import SyncHTTPRequestAdapter
from graphql import ASTValidationRule, GraphQLError, GraphQLSchema, ValidationContext

# What graphql-core's ``validate`` reports when it stops (``max_errors`` reached, or fragments
# nested deeper than the interpreter's stack allows); ``graphql`` does not export it.
from graphql.validation.validate import ValidationAbortedError
from strawberry.http import GraphQLRequestData
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.types import ExecutionContext

from graphql_api.core import http_input, safe_input

SUPPORTED_VERSIONS = {
    "strawberry-graphql": ">=0.341.2,<0.342",
    "strawberry-graphql-django": ">=0.93.0,<0.94",
    "graphql-core": ">=3.3.2,<3.4",
}

__all__ = [
    "STRAWBERRY_RULES",
    "SUPPORTED_VERSIONS",
    "SafeRequestParsing",
    "ValidationAbortedError",
    "graphql_schema",
    "marking_rule",
    "reporting_rule",
    "set_validation_result",
    "validation_pending",
]

# --- Validation run by our extensions (document_limits, validation) -------------------------

# The rules strawberry adds to the execution context's when it validates a document itself
# (``strawberry/schema/schema.py`` ``validate_document``); validation.py adds them too.
STRAWBERRY_RULES: tuple[type[ASTValidationRule], ...] = (
    MaybeNullValidationRule,
    OneOfInputValidationRule,
)


def graphql_schema(context: ExecutionContext) -> GraphQLSchema:
    """The graphql-core schema behind strawberry's (``Schema._schema``)."""
    return context.schema._schema


def validation_pending(context: ExecutionContext) -> bool:
    """strawberry validates the document only while ``pre_execution_errors`` is None
    (``_run_validation``) and runs the operation when it is an empty list: an extension's
    ``on_validate`` can answer in its place. True while nobody has."""
    return context.pre_execution_errors is None and context.graphql_document is not None


def set_validation_result(context: ExecutionContext, errors: list[GraphQLError]) -> None:
    """Answer for strawberry's validation: ``[]`` runs the operation, errors refuse it."""
    context.pre_execution_errors = errors


# Which rule reported an error, without reading its message. Rules report through their
# validation context, some through ``self.report_error``, some through
# ``context.report_error`` directly, so each rule gets its own view of the one shared context:
# an instance of a subclass that shares the context's ``__dict__`` (so all state, caches and
# graphql-core's error budget stay shared) and whose ``report_error`` marks the error.
_RULE_ATTRIBUTE = "reported_by_rule"
# One view class per (context class, rule); two threads building the same one is harmless.
_views: dict[tuple[type[ValidationContext], str], type[ValidationContext]] = {}


def _context_for(rule: str, context: ValidationContext) -> ValidationContext:
    base = type(context)
    view_class = _views.get((base, rule))
    if view_class is None:

        def report_error(self: ValidationContext, error: GraphQLError) -> None:
            setattr(error, _RULE_ATTRIBUTE, rule)
            base.report_error(self, error)

        view_class = _views[(base, rule)] = type(
            f"{base.__name__}For{rule}", (base,), {"report_error": report_error}
        )
    view: ValidationContext = object.__new__(view_class)
    view.__dict__ = context.__dict__
    return view


def marking_rule(rule: type[ASTValidationRule]) -> Callable[[ValidationContext], Any]:
    """``rule``, as graphql-core's ``validate`` takes it, marking each error it reports with
    its name (graphql-core builds each rule as ``rule(context)``: a factory does as well)."""
    return lambda context: rule(_context_for(rule.__name__, context))


def reporting_rule(error: GraphQLError) -> str | None:
    """The name of the rule that reported ``error`` (None: not a marked rule's error)."""
    return getattr(error, _RULE_ATTRIBUTE, None)


# --- Reading the HTTP request (views) -------------------------------------------------------


class SafeRequestParsing:
    """Replaces strawberry's ``parse_http_body`` (``strawberry/http/sync_base_view.py``, not a
    documented hook; ``execute_operation`` calls it for every request) with ``http_input``'s
    reading, and ``decode_json`` (documented) with the safe decoder for any other path."""

    def parse_http_body(self, request: SyncHTTPRequestAdapter) -> GraphQLRequestData:
        return http_input.request_data(request)

    def decode_json(self, data: str | bytes) -> object:
        # Not reached by our parse_http_body; any other strawberry path decodes safely too.
        try:
            return safe_input.decode_json(data)
        except safe_input.UnsafeInput as refusal:
            raise http_input.BadRequest(str(refusal)) from None
