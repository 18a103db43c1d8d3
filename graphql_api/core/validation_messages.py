"""Validation messages that name only what the client sent, for when introspection is off.

graphql-core's messages describe the schema: "Cannot query field 'patiens' on type 'Query'. Did
you mean 'patient' or 'patients'?", "Argument 'patient(id:)' of type 'ID!' is required", enum
values, input fields, type names. With introspection off those are hints an outsider should
not get. Here every message is ours (translatable), chosen by the rule that reported the error
(see ``validation.py``), and quotes only names read from the error's own nodes, which are nodes
of the client's document.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from django.utils.translation import gettext as _
from graphql import (
    ArgumentNode,
    DirectiveNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    NamedTypeNode,
    NameNode,
    Node,
    ObjectFieldNode,
    OperationDefinitionNode,
    VariableDefinitionNode,
    VariableNode,
)


def _name(node: Node | None) -> str:
    """The name the client wrote for this node ('' when it has none)."""
    if isinstance(node, NameNode):
        return node.value
    if isinstance(node, VariableDefinitionNode):
        return node.variable.name.value
    if isinstance(
        node,
        (
            ArgumentNode,
            DirectiveNode,
            FieldNode,
            FragmentDefinitionNode,
            FragmentSpreadNode,
            NamedTypeNode,
            ObjectFieldNode,
            VariableNode,
        ),
    ):
        return node.name.value
    if isinstance(node, OperationDefinitionNode) and node.name:
        return node.name.value
    return ""


def _first(error: GraphQLError) -> Node | None:
    return error.nodes[0] if error.nodes else None


def _named(
    template: Callable[[], str], fallback: Callable[[], str]
) -> Callable[[GraphQLError], str]:
    """A message quoting the first node's name, or ``fallback`` when it has none."""

    def message(error: GraphQLError) -> str:
        name = _name(_first(error))
        return template() % {"name": name} if name else fallback()

    return message


def _leaf(error: GraphQLError) -> str:
    node = _first(error)
    if isinstance(node, FieldNode):
        return _("Field '%(name)s' needs a selection of subfields.") % {"name": _name(node)}
    # graphql-core points at the selection under a field that has no subfields.
    return _("This field has no subfields to select.")


def _required(error: GraphQLError) -> str:
    node = _first(error)
    if isinstance(node, DirectiveNode):
        return _("Directive '@%(name)s' is missing a required argument.") % {"name": _name(node)}
    return _("Field '%(name)s' is missing a required argument.") % {"name": _name(node)}


def _overlap(error: GraphQLError) -> str:
    node = _first(error)
    if isinstance(node, FragmentSpreadNode):
        return _("Fragment '%(name)s' conflicts with another selection at the same place.") % {
            "name": _name(node)
        }
    name = (node.alias or node.name).value if isinstance(node, FieldNode) else _name(node)
    return _(
        "The fields named '%(name)s' at the same place select different fields or arguments."
    ) % {"name": name}


def _spread(error: GraphQLError) -> str:
    node = _first(error)
    if isinstance(node, FragmentSpreadNode):
        return _("Fragment '%(name)s' cannot be spread here.") % {"name": _name(node)}
    return _("This inline fragment cannot be spread here.")


def _invalid_document() -> str:
    return _("The document is not valid.")


def _invalid_value(error: GraphQLError) -> str:
    return _("A value in the document does not match the type of its argument or input field.")


def _directive_here() -> str:
    return _("Directive '@%(name)s' cannot be used here.")


MESSAGES: dict[str, Callable[[GraphQLError], str]] = {
    "ExecutableDefinitionsRule": lambda e: _(
        "A document may only contain operations and fragments."
    ),
    "KnownOperationTypesRule": lambda e: _("This operation type is not supported."),
    "UniqueOperationNamesRule": _named(
        lambda: _("There can be only one operation named '%(name)s'."), _invalid_document
    ),
    "LoneAnonymousOperationRule": lambda e: _(
        "An operation without a name must be the only operation in the document."
    ),
    "SingleFieldSubscriptionsRule": lambda e: _("This operation type is not supported."),
    "KnownTypeNamesRule": _named(lambda: _("Unknown type '%(name)s'."), _invalid_document),
    "FragmentsOnCompositeTypesRule": lambda e: _(
        "A fragment can only apply to an object, interface or union type."
    ),
    "VariablesAreInputTypesRule": _named(
        lambda: _("Variable '$%(name)s' must have an input type."), _invalid_document
    ),
    "ScalarLeafsRule": _leaf,
    "FieldsOnCorrectTypeRule": _named(
        lambda: _("Cannot query field '%(name)s' here."), _invalid_document
    ),
    "UniqueFragmentNamesRule": _named(
        lambda: _("There can be only one fragment named '%(name)s'."), _invalid_document
    ),
    "KnownFragmentNamesRule": _named(lambda: _("Unknown fragment '%(name)s'."), _invalid_document),
    "NoUnusedFragmentsRule": _named(
        lambda: _("Fragment '%(name)s' is never used."), _invalid_document
    ),
    "PossibleFragmentSpreadsRule": _spread,
    "NoFragmentCyclesRule": _named(
        lambda: _("Fragment '%(name)s' spreads itself."), _invalid_document
    ),
    "UniqueVariableNamesRule": _named(
        lambda: _("There can be only one variable named '$%(name)s'."), _invalid_document
    ),
    "NoUndefinedVariablesRule": _named(
        lambda: _("Variable '$%(name)s' is not defined."), _invalid_document
    ),
    "NoUnusedVariablesRule": _named(
        lambda: _("Variable '$%(name)s' is never used."), _invalid_document
    ),
    "KnownDirectivesRule": _named(
        lambda: _("Directive '@%(name)s' is unknown or cannot be used here."), _invalid_document
    ),
    "UniqueDirectivesPerLocationRule": _named(
        lambda: _("Directive '@%(name)s' can only be used once here."), _invalid_document
    ),
    "DeferStreamDirectiveOnRootField": _named(_directive_here, _invalid_document),
    "DeferStreamDirectiveOnValidOperationsRule": _named(_directive_here, _invalid_document),
    "DeferStreamDirectiveLabel": _named(_directive_here, _invalid_document),
    "StreamDirectiveOnListField": _named(_directive_here, _invalid_document),
    "KnownArgumentNamesRule": _named(lambda: _("Unknown argument '%(name)s'."), _invalid_document),
    "UniqueArgumentNamesRule": _named(
        lambda: _("There can be only one argument named '%(name)s'."), _invalid_document
    ),
    "ValuesOfCorrectTypeRule": _invalid_value,
    "ProvidedRequiredArgumentsRule": _required,
    "VariablesInAllowedPositionRule": _named(
        lambda: _("Variable '$%(name)s' is used where its type is not allowed."),
        _invalid_document,
    ),
    "OverlappingFieldsCanBeMergedRule": _overlap,
    "UniqueInputFieldNamesRule": _named(
        lambda: _("There can be only one input field named '%(name)s'."), _invalid_document
    ),
    "MaxIntrospectionDepthRule": lambda e: _("Introspection is disabled."),
    "NoSchemaIntrospectionCustomRule": lambda e: _("Introspection is disabled."),
    # strawberry's own rules (strawberry/schema/validation_rules/).
    "MaybeNullValidationRule": _invalid_value,
    "OneOfInputValidationRule": _invalid_value,
}


def public_message(error: GraphQLError, rule: str | None) -> str:
    """Our message for ``error``, reported by ``rule`` (None: not reported by a rule)."""
    message = MESSAGES.get(rule or "")
    return message(error) if message else _invalid_document()


def variable_message(error: GraphQLError, sent: Collection[str]) -> str | None:
    """Our message for a variable graphql-core could not coerce (``sent``: the names of the
    variables the client sent), else None."""
    node = _first(error)
    if not isinstance(node, VariableDefinitionNode):
        return None
    name = _name(node)
    if name not in sent:
        return _("Variable '$%(name)s' is required.") % {"name": name}
    return _("Variable '$%(name)s' got an invalid value.") % {"name": name}
