"""Hypothesis strategies for GraphQL selections over what the compiled reads cover: any
non-empty subset of a covered type's fields (``__typename`` too), aliases, inline fragments on
the type itself, the same relation asked twice with other fields (GraphQL merges them), and
connections with any of ``totalCount``, ``edges`` and ``pageInfo``. Read from the coverage
declarations and the built schema, so a newly covered field is generated without a change here.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLObjectType, get_named_type
from hypothesis import strategies as st

from graphql_api.core.compiled import coverage
from graphql_api.core.compiled.coverage import Checked, Derived, Forward, Gated, Many
from graphql_api.core.compiled.planner import strawberry_definition
from graphql_api.schema import schema

TYPES: dict[str, GraphQLObjectType] = {
    name: t for name, t in schema._schema.type_map.items() if isinstance(t, GraphQLObjectType)
}
_BY_ORIGIN = coverage.covered_types()
MAX_DEPTH = 3


def covered_fields(type_name: str) -> list[tuple[str, Any]]:
    """(GraphQL name, what is inside it) of every covered field of ``type_name``: None for a
    leaf, the related type's name for a relation, the GraphQL names of a ``Derived`` object's
    fields (a tuple)."""
    graphql_type = TYPES[type_name]
    definition = strawberry_definition(graphql_type)
    assert definition is not None
    covered = _BY_ORIGIN[definition.origin]
    converter = schema.config.name_converter
    fields = []
    for strawberry_field in definition.fields:
        declaration = covered.fields.get(strawberry_field.python_name)
        if declaration is None:
            continue
        if isinstance(declaration, Checked):
            declaration = declaration.inner
        if isinstance(declaration, Gated):
            declaration = declaration.inner
        name = converter.get_graphql_name(strawberry_field)
        target: Any = None
        if isinstance(declaration, Forward | Many):
            target = get_named_type(graphql_type.fields[name].type).name
        elif isinstance(declaration, Derived):
            derived = get_named_type(graphql_type.fields[name].type)
            inner = strawberry_definition(derived)
            assert inner is not None
            target = tuple(
                converter.get_graphql_name(f)
                for f in inner.fields
                if f.python_name in declaration.fields
            )
        fields.append((name, target))
    return fields


@st.composite
def object_selection(draw: Any, type_name: str, depth: int = 1) -> str:
    """A selection set's inside for ``type_name``."""
    available = [
        (name, target)
        for name, target in covered_fields(type_name)
        if not isinstance(target, str) or depth < MAX_DEPTH
    ]
    available.append(("__typename", None))
    chosen = draw(st.lists(st.sampled_from(available), min_size=1, max_size=8, unique=True))
    parts = []
    for name, target in chosen:
        alias = draw(st.sampled_from([None, None, None, f"{name}Alias"]))
        text = f"{alias}: {name}" if alias else name
        if isinstance(target, tuple):  # a Derived object: its leaves
            leaves = draw(
                st.lists(st.sampled_from([*target, "__typename"]), min_size=1, unique=True)
            )
            text += " { " + " ".join(leaves) + " }"
        elif target is not None:
            text += " { " + draw(object_selection(target, depth + 1)) + " }"
            if draw(st.integers(0, 5)) == 0:  # the same key again: GraphQL merges both
                text += f" {alias + ': ' if alias else ''}{name} {{ "
                text += draw(object_selection(target, depth + 1)) + " }"
        if draw(st.integers(0, 9)) == 0:
            text = f"... on {type_name} {{ {text} }}"
        parts.append(text)
    return " ".join(parts)


PAGE_INFO = ["hasNextPage", "hasPreviousPage", "startCursor", "endCursor", "__typename"]


@st.composite
def connection_selection(draw: Any, node_type: str) -> str:
    """totalCount / edges { cursor node } / pageInfo, at least one."""
    parts = draw(
        st.lists(
            st.sampled_from(["totalCount", "edges", "pageInfo", "__typename"]),
            min_size=1,
            max_size=4,
            unique=True,
        )
    )
    texts = []
    for part in parts:
        if part == "edges":
            inner = draw(
                st.lists(
                    st.sampled_from(["node", "cursor", "__typename"]),
                    min_size=1,
                    max_size=3,
                    unique=True,
                )
            )
            edge = " ".join(
                f"node {{ {draw(object_selection(node_type))} }}" if item == "node" else item
                for item in inner
            )
            texts.append(f"edges {{ {edge} }}")
        elif part == "pageInfo":
            fields = draw(st.lists(st.sampled_from(PAGE_INFO), min_size=1, unique=True))
            texts.append(f"pageInfo {{ {' '.join(fields)} }}")
        else:
            texts.append(part)
    return " ".join(texts)
