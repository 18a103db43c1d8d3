"""Bounded cost for every document, before any validation rule runs.

A document is refused, with a coded 400, when its text is longer than
``GRAPHQL_MAX_QUERY_LENGTH`` (checked before parsing: graphql-core's lexer reads a character at
a time, ~0.4 µs each, so a 256 KB comment or string costs ~100 ms), when it has more than
``GRAPHQL_MAX_TOKENS`` tokens (strawberry's ``MaxTokensLimiter``, during parsing; parsing and
validating cost ~25-50 µs a token however the tokens are arranged, hence 1,000), or when one
walk over its selections, with every fragment spread expanded in place, finds that it (or a
count before the walk):

- has more than ``MAX_OPERATIONS`` operations;
- nests fields deeper than ``GRAPHQL_MAX_DEPTH`` (introspection fields are not counted);
- uses more than ``GRAPHQL_MAX_ALIASES`` aliases in its operations (a fragment spread twice
  counts twice: that is what runs);
- expands to more than ``MAX_SELECTIONS`` selections (doubling fragments, fan-out);
- makes graphql-core compare more than ``MAX_COMPARISONS`` pairs of selections that land on the
  same place of the result (see below).

The walk stops as soon as it passes ``MAX_SELECTIONS``, so it costs at most that many steps
whatever the document's shape.

Why not strawberry's limiters (strawberry-graphql 0.341.2): ``QueryDepthLimiter``
(``strawberry/extensions/query_depth_limiter.py:218`` ``determine_depth``, the spread at line
278) and ``MaxAliasesLimiter`` (``strawberry/extensions/max_aliases.py:73``
``count_fields_with_alias``, line 108) walk a fragment again at every spread, with no memo and
no bound: 30 fragments that each spread the next one twice take 2^30 steps (18 levels: 1.3 s).
``determine_depth`` also indexes ``fragments[name]`` (line 278), so an unknown fragment raised a
bare ``KeyError: 'Missing'``, and it ignored any field whose *alias* starts with ``__``, so an
alias lifted the depth limit. Here only the field's name makes it an introspection field.

Why the comparison budget (graphql-core 3.3.2): ``OverlappingFieldsCanBeMergedRule`` compares
every pair of fields with the same response name in a selection set
(``graphql/validation/rules/overlapping_fields_can_be_merged.py:804``
``collect_conflicts_within``), each pair again through their sub-selections, and every pair of
fragments spread into one selection set (line 577). 400 copies of ``currentClinic { name }``
(2,000 tokens) cost 1.2 s. The walk counts, for each place of the result, the pairs of fields
that share a response name there and the pairs of fragment spreads expanded there.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension

from backend.core.error_codes import CommonError
from graphql_api.core.strawberry_internals import set_validation_result, validation_pending

# Operations in one document: a request runs one; a document that names a few lets the client
# pick. Each one costs graphql-core a walk of its own (variables, fragments).
MAX_OPERATIONS = 50
# Selections visited with every spread expanded, over all operations and fragments. A real
# screen's query expands to a few hundred.
MAX_SELECTIONS = 5000
# Pairs of same-named fields (or of fragment spreads) that meet at one place of the result.
# A query that spreads five fragments which all select `id` and `__typename` makes 30.
MAX_COMPARISONS = 1000


def _refusal(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": CommonError.GRAPHQL_VALIDATION_FAILED.value})


@dataclass
class _Place:
    """One place of the merged result: the fields and spreads that land on it."""

    fields: dict[str, int] = field(default_factory=dict)  # response name -> fields so far
    children: dict[str, _Place] = field(default_factory=dict)
    spreads: int = 0


@dataclass
class _Walk:
    max_depth: int
    selections: int = 0
    comparisons: int = 0
    aliases: int = 0
    too_deep: str | None = None  # the operation that went too deep ("": anonymous)
    expanded: set[str] = field(default_factory=set)  # fragments reached from an operation

    def over_budget(self) -> bool:
        return self.selections > MAX_SELECTIONS or self.comparisons > MAX_COMPARISONS


def _walk(
    walk: _Walk,
    root: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    *,
    operation: str | None,
    root_fragment: str | None = None,
) -> None:
    """Expand one definition's selections (iteratively: fragment chains can be long)."""
    start = frozenset({root_fragment}) if root_fragment else frozenset()
    # (selection set, its place in the result, depth, fragments being expanded, in introspection)
    stack: list[tuple[SelectionSetNode, _Place, int, frozenset[str], bool]] = [
        (root, _Place(), 0, start, False)
    ]
    while stack:
        selection_set, place, depth, on_path, introspection = stack.pop()
        if operation is not None and depth > walk.max_depth and selection_set.selections:
            walk.too_deep = operation
            return
        for selection in selection_set.selections:
            walk.selections += 1
            if isinstance(selection, FieldNode):
                name = selection.alias.value if selection.alias else selection.name.value
                seen = place.fields.get(name, 0)
                place.fields[name] = seen + 1
                walk.comparisons += seen
                if selection.alias and operation is not None:
                    walk.aliases += 1
                if selection.selection_set is not None:
                    child = place.children.get(name)
                    if child is None:
                        child = place.children[name] = _Place()
                    nested = introspection or selection.name.value.startswith("__")
                    stack.append(
                        (selection.selection_set, child, depth + (not nested), on_path, nested)
                    )
            elif isinstance(selection, FragmentSpreadNode):
                walk.comparisons += place.spreads
                place.spreads += 1
                name = selection.name.value
                fragment = fragments.get(name)
                # An unknown fragment, or a cycle, is reported by graphql-core's rules.
                if fragment is not None and name not in on_path:
                    walk.expanded.add(name)
                    stack.append(
                        (fragment.selection_set, place, depth, on_path | {name}, introspection)
                    )
            elif isinstance(selection, InlineFragmentNode):
                stack.append((selection.selection_set, place, depth, on_path, introspection))
            if walk.over_budget():
                return


def document_refusal(document: DocumentNode) -> GraphQLError | None:
    """The first limit this document exceeds, as a coded error; None when within all."""
    operations = sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)
    if operations > MAX_OPERATIONS:
        return _refusal(
            _("The document has %(count)d operations; at most %(max)d are allowed.")
            % {"count": operations, "max": MAX_OPERATIONS}
        )
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    walk = _Walk(max_depth=settings.GRAPHQL_MAX_DEPTH)
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            name = definition.name.value if definition.name else ""
            _walk(walk, definition.selection_set, fragments, operation=name)
            if walk.too_deep is not None or walk.over_budget():
                break
    else:
        # graphql-core validates the fragments no operation uses as well: walk them too.
        for name, fragment in fragments.items():
            if name not in walk.expanded:
                _walk(walk, fragment.selection_set, fragments, operation=None, root_fragment=name)
                if walk.over_budget():
                    break
    if walk.too_deep is not None:
        limit = {"name": walk.too_deep, "max": settings.GRAPHQL_MAX_DEPTH}
        return _refusal(
            _("Operation '%(name)s' is deeper than the maximum depth of %(max)d.") % limit
            if walk.too_deep
            else _("The operation is deeper than the maximum depth of %(max)d.") % limit
        )
    if walk.selections > MAX_SELECTIONS:
        return _refusal(
            _("The document expands to more than %(max)d selections once its fragments are spread.")
            % {"max": MAX_SELECTIONS}
        )
    if walk.comparisons > MAX_COMPARISONS:
        return _refusal(
            _(
                "The document selects the same fields, or spreads fragments, at the same place "
                "too many times (more than %(max)d overlapping pairs)."
            )
            % {"max": MAX_COMPARISONS}
        )
    if walk.aliases > settings.GRAPHQL_MAX_ALIASES:
        return _refusal(
            _("The document uses %(count)d aliases; at most %(max)d are allowed.")
            % {"count": walk.aliases, "max": settings.GRAPHQL_MAX_ALIASES}
        )
    return None


class DocumentLimits(SchemaExtension):
    """Refuses documents that are too long (before parsing) or too costly (before validation)."""

    def on_parse(self) -> Iterator[None]:
        query = self.execution_context.query
        if isinstance(query, str) and len(query) > settings.GRAPHQL_MAX_QUERY_LENGTH:
            # strawberry turns an error raised here into the operation's only error.
            raise _refusal(
                _("The document is longer than %(max)d characters.")
                % {"max": settings.GRAPHQL_MAX_QUERY_LENGTH}
            )
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        # Already known valid (document_cache) or already refused: nothing to walk.
        document = context.graphql_document
        if validation_pending(context) and document is not None:
            refusal = document_refusal(document)
            if refusal is not None:
                set_validation_result(context, [refusal])
        yield
