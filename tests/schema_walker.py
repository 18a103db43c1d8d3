"""The schema walker of ``test_health_data.py``: GraphQL documents generated from the schema
itself, that select every field reachable from a root field (or a mutation's payload) up to
the depth limit, through connections, unions and interfaces; required arguments filled in;
packed into as few documents as the token limit allows.

A field guarded by a permission of its own (``TreatmentPlan.items``) is kept apart
(``split_by_role``), so that a role's documents select what it may read, and the rest is
checked to be refused.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.utils import timezone
from graphql import (
    FieldNode,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    Source,
    TokenKind,
    get_named_type,
    is_leaf_type,
    is_required_argument,
    parse,
)
from graphql.language import Lexer
from strawberry.permission import PermissionExtension

from backend.accounts.models import Role
from backend.accounts.roles import role_has_permission
from graphql_api.core.permissions import HasPermission
from graphql_api.schema import schema
from tenants_core.context import current_timezone
from tests.dates import MONDAY

GRAPHQL = schema._schema


class Unfillable(Exception):
    """A required argument the walker has no value for: the test must fail, not skip it."""


@dataclass(frozen=True)
class Step:
    field: str
    arguments: str = ""
    on: str | None = None  # the type condition of the inline fragment around this field


Path = tuple[Step, ...]


@dataclass(frozen=True)
class Leaf:
    path: Path
    permissions: frozenset[str]  # of the nested fields on the way (e.g. TreatmentPlan.items)


def _field_permissions() -> dict[tuple[str, str], frozenset[str]]:
    """``(type, field) → permissions`` of the nested fields guarded by their own extension."""
    guarded = {}
    for type_name, graphql_type in GRAPHQL.type_map.items():
        definition = (graphql_type.extensions or {}).get("strawberry-definition")
        for field in getattr(definition, "fields", None) or []:
            needed = frozenset(
                str(permission)
                for extension in field.extensions
                if isinstance(extension, PermissionExtension)
                for check in extension.permissions
                if isinstance(check, HasPermission)
                for permission in check.permissions
            )
            if needed:
                guarded[type_name, schema.config.name_converter.get_graphql_name(field)] = needed
    return guarded


FIELD_PERMISSIONS = _field_permissions()


class Walker:
    """Every leaf reachable from a root field, as paths; ``fill`` gives required arguments."""

    def __init__(self, fill: Callable[[str, str, str, Any], str]) -> None:
        self.fill = fill
        self.max_depth = settings.GRAPHQL_MAX_DEPTH  # root fields are at depth 0

    def _arguments(self, owner: str, name: str, field: Any) -> str:
        given = [
            f"{arg}: {self.fill(owner, name, arg, argument.type)}"
            for arg, argument in field.args.items()
            if is_required_argument(argument)
        ]
        return f"({', '.join(given)})" if given else ""

    def _object(self, object_type: GraphQLObjectType, depth: int) -> list[Leaf]:
        leaves = [Leaf((Step("__typename"),), frozenset())]
        for name, field in object_type.fields.items():
            step = Step(name, self._arguments(object_type.name, name, field))
            needed = FIELD_PERMISSIONS.get((object_type.name, name), frozenset())
            if is_leaf_type(get_named_type(field.type)):
                leaves.append(Leaf((step,), needed))
            elif depth + 1 <= self.max_depth:
                leaves += [
                    Leaf((step, *leaf.path), needed | leaf.permissions)
                    for leaf in self.selection(field.type, depth + 1)
                ]
        return leaves

    def selection(self, output_type: Any, depth: int) -> list[Leaf]:
        """The leaves under a value of ``output_type`` whose fields are at ``depth``."""
        named = get_named_type(output_type)
        if not isinstance(named, GraphQLUnionType | GraphQLInterfaceType):
            return self._object(named, depth)
        leaves = [Leaf((Step("__typename"),), frozenset())]
        for member in GRAPHQL.get_possible_types(named):
            leaves += [
                Leaf((replace(leaf.path[0], on=member.name), *leaf.path[1:]), leaf.permissions)
                for leaf in self._object(member, depth)
            ]
        return leaves

    def root(self, root_type: GraphQLObjectType, name: str) -> list[Leaf]:
        field = root_type.fields[name]
        step = Step(name, self._arguments(root_type.name, name, field))
        if is_leaf_type(get_named_type(field.type)):
            return [Leaf((step,), frozenset())]
        return [
            Leaf((step, *leaf.path), leaf.permissions) for leaf in self.selection(field.type, 1)
        ]


def _print(paths: list[Path]) -> str:
    """A selection set (``{ … }``) holding exactly these paths."""
    trie: dict[Step, Any] = {}
    for path in paths:
        node = trie
        for step in path:
            node = node.setdefault(step, {})

    def render(node: dict[Step, Any]) -> str:
        plain, fragments = [], {}
        for step, children in node.items():
            text = step.field + step.arguments + (f" {render(children)}" if children else "")
            if step.on:
                fragments.setdefault(step.on, []).append(text)
            else:
                plain.append(text)
        parts = plain + [f"... on {on} {{ {' '.join(texts)} }}" for on, texts in fragments.items()]
        return "{ " + " ".join(parts) + " }"

    return render(trie)


def tokens(document: str) -> int:
    lexer, count = Lexer(Source(document)), 0
    while lexer.advance().kind != TokenKind.EOF:
        count += 1
    return count


def documents(operation: str, leaves: list[Leaf], budget: int | None = None) -> list[str]:
    """The paths packed, in schema order, into as few documents as the token limit allows."""
    budget = budget or settings.GRAPHQL_MAX_TOKENS * 9 // 10
    docs: list[str] = []
    batch: list[Path] = []
    for leaf in leaves:
        candidate = f"{operation} {_print([*batch, leaf.path])}"
        if batch and tokens(candidate) > budget:
            docs.append(f"{operation} {_print(batch)}")
            batch = []
        batch.append(leaf.path)
        assert tokens(f"{operation} {_print(batch)}") <= budget, leaf.path
    if batch:
        docs.append(f"{operation} {_print(batch)}")
    return docs


def split_by_role(leaves: list[Leaf], role: Role) -> tuple[list[Leaf], list[Leaf]]:
    """The leaves the role may read, and those behind a nested permission it lacks."""
    allowed, refused = [], []
    for leaf in leaves:
        held = all(role_has_permission(role, p) for p in leaf.permissions)  # type: ignore[arg-type]
        (allowed if held else refused).append(leaf)
    return allowed, refused


def with_payload(text: str, selection: str) -> str:
    """``text`` (a document of one mutation) with its payload's selection set replaced by
    ``selection`` (``{ … }``)."""
    operation = next(d for d in parse(text).definitions if isinstance(d, OperationDefinitionNode))
    payload = operation.selection_set.selections[0].selection_set.loc  # type: ignore[attr-defined]
    return text[: payload.start] + selection.strip() + text[payload.end :]


def selected_paths(document: str) -> set[Path]:
    """The leaf paths a document selects (the inverse of ``documents``)."""

    def walk(selection_set: Any, on: str | None = None) -> Iterator[Path]:
        for node in selection_set.selections:
            if isinstance(node, InlineFragmentNode):
                yield from walk(node.selection_set, node.type_condition.name.value)
                continue
            assert isinstance(node, FieldNode)
            arguments = ", ".join(
                f"{a.name.value}: {json.dumps(a.value.value)}"  # type: ignore[attr-defined]
                for a in node.arguments or ()
            )
            step = Step(node.name.value, f"({arguments})" if arguments else "", on)
            if node.selection_set is None:
                yield (step,)
            else:
                yield from ((step, *rest) for rest in walk(node.selection_set))

    [operation] = parse(document).definitions
    return set(walk(operation.selection_set))  # type: ignore[attr-defined]


def filler(ids: dict[str, str]) -> Callable[[str, str, str, Any], str]:
    """A GraphQL literal for each required argument the schema has, taken from ``ids`` (global
    IDs of one object of each type: ``tests.accounts.test_role_matrix.build_world`` and the
    sentinel note); anything else raises ``Unfillable``."""
    today = timezone.localdate(timezone=current_timezone())
    by_type = {
        "Patient": "patient", "Professional": "professional", "Chair": "chair",
        "Appointment": "appointment", "ClinicalNote": "sentinel_note", "TreatmentPlan": "plan",
        "Receipt": "receipt", "AssistantConversation": "assistant_conversation",
    }  # fmt: skip

    def fill(owner: str, field: str, argument: str, argument_type: Any) -> str:
        if argument == "id" and owner == "Query":
            returned = get_named_type(GRAPHQL.query_type.fields[field].type).name
            if returned in by_type:
                return json.dumps(ids[by_type[returned]])
        values = {
            "patientId": json.dumps(ids["patient"]),
            "professionalId": json.dumps(ids["professional"]),
            "date": f'"{MONDAY}"',  # the Monday of the world's appointment
            "durationMinutes": "30",
            "subdomain": '"clinica1"',
        }
        dated = {
            ("Query", "cashReport"),
            ("Query", "clinicDashboard"),
            ("Query", "clinicMetrics"),
            ("Query", "platformMetrics"),
        }
        if (owner, field) in dated and argument in ("from", "to"):
            return json.dumps(
                (today - dt.timedelta(days=1) if argument == "from" else today).isoformat()
            )
        if (owner, field, argument) == ("Query", "previewMessageTemplate", "input"):
            return '{kind: REMINDER, channel: SMS, body: "Hola {patient_first_name}"}'
        if (owner, field, argument) == ("Query", "assistantTranscript", "conversationId"):
            return json.dumps(ids["assistant_public_id"])
        if argument in values:
            return values[argument]
        raise Unfillable(f"{owner}.{field}({argument}: {argument_type})")

    return fill


def objects(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from objects(item)
    elif isinstance(value, list):
        for item in value:
            yield from objects(item)
