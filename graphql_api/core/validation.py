"""Validation: our literal checks, then graphql-core's rules, with codes on every error and,
when introspection is off, messages that give away nothing about the schema.

strawberry validates only while ``execution_context.pre_execution_errors`` is None; this
extension answers first, calling graphql-core's ``validate`` with the same rules strawberry
would (the execution context's rules plus ``STRAWBERRY_RULES``) and with what strawberry does
not pass: ``hide_suggestions`` (no "Did you mean" is even computed when introspection is off)
and a lower ``max_errors``.

To rewrite a message we must know which rule reported it, without reading its text: each rule
runs through ``marking_rule``, which marks what it reports with the rule's name.
``tests/test_public_errors.py`` fails if a rule reports an error that is not marked. The
internals this needs are in ``strawberry_internals.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from graphql import GraphQLError, validate
from strawberry.extensions import SchemaExtension

from graphql_api.core.errors import classify
from graphql_api.core.safe_input import literal_refusal
from graphql_api.core.strawberry_internals import (
    STRAWBERRY_RULES,
    ValidationAbortedError,
    graphql_schema,
    marking_rule,
    reporting_rule,
    set_validation_result,
    validation_pending,
)
from graphql_api.core.validation_messages import public_message, variable_message

__all__ = ["STRAWBERRY_RULES", "DocumentValidation", "reporting_rule", "validation_errors"]

# graphql-core's default is 100; a client fixes the first few before it reads the rest.
MAX_ERRORS = 10
# Locations kept per error. graphql-core gives an error one location per node involved (600
# for 600 copies of one argument), and printing each one (strawberry logs every error) reads
# the document again: 90 ms for that one error.
MAX_LOCATIONS = 3


def _public(error: GraphQLError, code: str, message: str | None) -> GraphQLError:
    """``error`` with a code, at most MAX_LOCATIONS locations and, if given, our message.

    Changed in place: a new GraphQLError would find each location in the text again. Its
    nodes and source are dropped once the message is chosen: the client gets ``locations``,
    and printing the error (strawberry logs every one) no longer quotes the text around each
    node, which read the whole document again for every error (~1 ms each for 30 KB)."""
    error.message = message or error.message
    error.extensions = {"code": code}
    if error.locations is not None:
        error.locations = error.locations[:MAX_LOCATIONS]
    error.nodes = error.source = error.positions = None
    return error


def validation_errors(schema: Any, document: Any, rules: tuple[type, ...]) -> list[GraphQLError]:
    """Every error of ``document``, coded; with introspection off, in our words."""
    refusal = literal_refusal(document)
    if refusal is not None:
        return [refusal]
    hide = not settings.GRAPHQL_INTROSPECTION
    errors = validate(
        schema,
        document,
        # graphql-core types the rules as classes; it only calls each one: rule(context).
        [marking_rule(rule) for rule in (*rules, *STRAWBERRY_RULES)],  # type: ignore[misc]
        max_errors=MAX_ERRORS,
        hide_suggestions=hide,
    )
    return [_public(error, _code(error), _message(error) if hide else None) for error in errors]


def _code(error: GraphQLError) -> str:
    return classify(error).code


def _message(error: GraphQLError) -> str:
    if isinstance(error, ValidationAbortedError):
        # Too many errors, or fragments nested deeper than the interpreter's stack allows.
        return _("Validation stopped: the document has too many errors or is nested too deeply.")
    return public_message(error, reporting_rule(error))


class DocumentValidation(SchemaExtension):
    """Validates the document (see the module's docstring) and codes variable errors."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if validation_pending(context):
            set_validation_result(
                context,
                validation_errors(
                    graphql_schema(context), context.graphql_document, context.validation_rules
                ),
            )
        yield

    def on_execute(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or result.data is not None or not result.errors:
            return
        # No data at all: the operation never ran. graphql-core refused its variables (one
        # error per problem; in our words, several can read the same: keep one).
        hide = not settings.GRAPHQL_INTROSPECTION
        sent = self.execution_context.variables or {}
        errors, seen = [], set()
        for error in result.errors:
            message = variable_message(error, sent)
            if message is not None:
                error = _public(error, _code(error), message if hide else None)
                if error.message in seen:
                    continue
                seen.add(error.message)
            errors.append(error)
        result.errors[:] = errors
