"""Validation: our literal checks, then graphql-core's rules, with codes on every error and,
when introspection is off, messages that give away nothing about the schema.

strawberry validates only while ``execution_context.pre_execution_errors`` is None; this
extension fills it first, calling graphql-core's ``validate`` with the same rules strawberry
would (``strawberry/schema/schema.py`` ``validate_document``, strawberry-graphql 0.341.2: the
execution context's rules plus ``MaybeNullValidationRule`` and ``OneOfInputValidationRule``)
and with what strawberry does not pass: ``hide_suggestions`` (no "Did you mean" is even
computed when introspection is off) and a lower ``max_errors``.

To rewrite a message we must know which rule reported it, without reading its text. Rules
report through their validation context, some through ``self.report_error``, some through
``context.report_error`` directly, so each rule gets its own view of the one shared context:
an instance of a subclass that shares the context's ``__dict__`` (so all state, caches and the
error budget stay shared) and whose ``report_error`` marks the error with the rule's name.
``tests/test_public_errors.py`` fails if a rule reports an error that is not marked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from graphql import ASTValidationRule, GraphQLError, ValidationContext, validate
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from graphql_api.public_errors import public_message, variable_message
from graphql_api.safe_input import literal_refusal

CODE = "GRAPHQL_VALIDATION_FAILED"
# graphql-core's default is 100; a client fixes the first few before it reads the rest.
MAX_ERRORS = 10
# Locations kept per error. graphql-core gives an error one location per node involved (600
# for 600 copies of one argument), and printing each one (strawberry logs every error) reads
# the document again: 90 ms for that one error.
MAX_LOCATIONS = 3
STRAWBERRY_RULES = (MaybeNullValidationRule, OneOfInputValidationRule)
RULE_ATTRIBUTE = "reported_by_rule"

# One view class per (context class, rule); two threads building the same one is harmless.
_views: dict[tuple[type[ValidationContext], str], type[ValidationContext]] = {}


def _context_for(rule: str, context: ValidationContext) -> ValidationContext:
    """The same context, seen by one rule: what it reports is marked with the rule's name."""
    base = type(context)
    view_class = _views.get((base, rule))
    if view_class is None:

        def report_error(self: ValidationContext, error: GraphQLError) -> None:
            setattr(error, RULE_ATTRIBUTE, rule)
            base.report_error(self, error)

        view_class = _views[(base, rule)] = type(
            f"{base.__name__}For{rule}", (base,), {"report_error": report_error}
        )
    view: ValidationContext = object.__new__(view_class)
    view.__dict__ = context.__dict__
    return view


def _marking(rule: type[ASTValidationRule]) -> Callable[[ValidationContext], ASTValidationRule]:
    # graphql-core builds each rule as ``rule(context)``: a factory does as well as a class.
    return lambda context: rule(_context_for(rule.__name__, context))


def reporting_rule(error: GraphQLError) -> str | None:
    """The name of the validation rule that reported ``error`` (None: not a rule's error)."""
    return getattr(error, RULE_ATTRIBUTE, None)


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
        [_marking(rule) for rule in (*rules, *STRAWBERRY_RULES)],  # type: ignore[misc]
        max_errors=MAX_ERRORS,
        hide_suggestions=hide,
    )
    return [_public(error, _code(error), _message(error) if hide else None) for error in errors]


def _code(error: GraphQLError) -> str:
    return (error.extensions or {}).get("code") or CODE


def _message(error: GraphQLError) -> str:
    if isinstance(error, ValidationAbortedError):
        # Too many errors, or fragments nested deeper than the interpreter's stack allows.
        return _("Validation stopped: the document has too many errors or is nested too deeply.")
    return public_message(error, reporting_rule(error))


class DocumentValidation(SchemaExtension):
    """Validates the document (see the module's docstring) and codes variable errors."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.pre_execution_errors is None and context.graphql_document is not None:
            context.pre_execution_errors = validation_errors(
                context.schema._schema, context.graphql_document, context.validation_rules
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
