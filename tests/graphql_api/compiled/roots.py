"""The covered root fields, with strategies for their arguments, for the differential tests.

A domain adds its roots in ``roots_<domain>.py`` (a ``ROOTS`` list); ``all_roots`` gathers
them. Arguments are drawn from what makes each path differ: real IDs, another clinic's, IDs
of nothing, pages in and past the end, bad cursors and page sizes (which both executions must
refuse the same way)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from strawberry.relay import to_base64

from tests.graphql_api import compiled as package
from tests.graphql_api.compiled.selections import connection_selection, object_selection

OMIT = object()
Draw = Any


@dataclass(frozen=True)
class RootSpec:
    field: str  # the GraphQL name on Query
    node_type: str  # the covered type it answers (the connection's node type)
    connection: bool
    arguments: Callable[[Draw, Any], dict[str, Any]]  # (draw, world) → {argument: value}
    selection: Callable[[Draw], str] | None = None  # a custom root's own strategy

    def select(self, draw: Draw) -> str:
        if self.selection is not None:
            return self.selection(draw)
        if self.connection:
            return draw(connection_selection(self.node_type))
        return draw(object_selection(self.node_type))


def an_id(draw: Draw, world: Any, type_name: str) -> str:
    """Mostly a real row of this clinic; else another clinic's, nothing's, another type's."""
    kind = draw(st.sampled_from(["real"] * 6 + ["other_clinic", "nothing", "other_type"]))
    if kind == "real":
        return draw(st.sampled_from(world.ids[type_name]))
    if kind == "other_clinic":
        return draw(st.sampled_from(world.other_ids[type_name]))
    if kind == "nothing":
        return to_base64(type_name, f"{world.clinic.pk}.999999")
    other = "Chair" if type_name != "Chair" else "Patient"
    return draw(st.sampled_from(world.ids[other]))


def paging(draw: Draw) -> dict[str, Any]:
    arguments: dict[str, Any] = {}
    first = draw(st.sampled_from([OMIT, OMIT, 0, 1, 2, 5, 10, 30, 100, 101, -1]))
    if first is not OMIT:
        arguments["first"] = first
    after = draw(st.sampled_from([OMIT, OMIT, OMIT, 0, 1, 4, 9, 35, 200, "bad"]))
    if after == "bad":
        arguments["after"] = to_base64("other", 3)
    elif after is not OMIT:
        arguments["after"] = to_base64("arrayconnection", after)
    return arguments


def all_roots() -> list[RootSpec]:
    roots: list[RootSpec] = []
    for module in pkgutil.iter_modules(package.__path__):
        if module.name.startswith("roots_"):
            roots += importlib.import_module(f"{package.__name__}.{module.name}").ROOTS
    return roots
