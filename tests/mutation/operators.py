"""Cosmic Ray operators for what the core ones cannot reach: sets of enum members, and
membership tests.

The audit of issue 22 broke the code by giving a permission to one more role and by adding
a state transition. Both are data, not operators: ``frozenset({Role.ADMIN})`` in a ``GRANTS``
row, ``S.CANCELLED: frozenset()`` in ``TRANSITIONS``. Cosmic Ray's own operators change
operators, numbers and keywords, so they never touch either. ``EnumSetMember`` does: for
every ``frozenset(...)`` of enum members it removes each member, and adds each member of the
enum that is missing (an empty ``frozenset()``, a final state, takes its enum from the dict
key it is the value of).

The members of each enum come in as the operator's argument ``members`` (the source's name
for the enum, ``S`` or ``Role``, to the names of its members), read from the real enums by
the runner, so a new status or role is mutated in without touching this file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import parso
from cosmic_ray.operators.operator import Argument, Example, Operator
from parso.python import tree

Position = tuple[tuple[int, int], tuple[int, int]]


def _member(node: Any) -> tuple[str, str] | None:
    """``("S", "CANCELLED")`` for the expression ``S.CANCELLED``, else None."""
    if node.type != "atom_expr" or len(node.children) != 2:
        return None
    base, trailer = node.children
    if base.type != "name" or trailer.type != "trailer" or len(trailer.children) != 2:
        return None
    dot, name = trailer.children
    if dot.value != "." or name.type != "name":
        return None
    return base.value, name.value


def _frozenset_elements(node: Any) -> list[tuple[str, str]] | None:
    """The members in ``frozenset({A.X, A.Y})`` or ``frozenset()``; None for anything else
    (another call, a set of other things, a comprehension)."""
    if node.type != "atom_expr" or len(node.children) != 2:
        return None
    name, call = node.children
    if name.type != "name" or name.value != "frozenset" or call.type != "trailer":
        return None
    if [c.get_code().strip() for c in (call.children[0], call.children[-1])] != ["(", ")"]:
        return None
    if len(call.children) == 2:
        return []
    argument = call.children[1]
    if argument.type != "atom" or argument.children[0].value != "{":
        return None
    inner = argument.children[1:-1]
    if len(inner) != 1:
        return None
    content = inner[0]
    items = (
        [c for c in content.children if c.type != "operator"]
        if content.type in ("testlist_comp", "dictorsetmaker")
        else [content]
    )
    if content.type in ("testlist_comp", "dictorsetmaker") and any(
        c.type == "operator" and c.value != "," for c in content.children
    ):
        return None  # a dict, or something more than a list of members
    members = [_member(item) for item in items]
    if any(m is None for m in members):
        return None
    return [m for m in members if m is not None]


def _key_enum(node: Any) -> str | None:
    """The enum of the dict key whose value ``node`` is (``S`` in ``S.DONE: frozenset()``)."""
    parent = node.parent
    if parent is None or parent.type != "dictorsetmaker":
        return None
    siblings = parent.children
    index = siblings.index(node)
    if index < 2 or siblings[index - 1].get_code().strip() != ":":
        return None
    key = _member(siblings[index - 2])
    return key[0] if key else None


class EnumSetMember(Operator):
    """Remove a member from, or add a missing member to, a ``frozenset`` of enum members."""

    def __init__(self, members: Mapping[str, Sequence[str]]) -> None:
        self.members = {enum: list(names) for enum, names in members.items()}

    @classmethod
    def arguments(cls) -> Sequence[Argument]:
        return (
            Argument(
                "members",
                "The enums this operator may complete: the source's name for each enum "
                "(``Role``, ``S``) to the names of all its members.",
            ),
        )

    def _variants(self, node: Any) -> list[list[tuple[str, str]]]:
        elements = _frozenset_elements(node)
        if elements is None:
            return []
        enums = {enum for enum, _ in elements} or {_key_enum(node)}
        if len(enums) != 1:
            return []
        (enum,) = enums
        if enum not in self.members:
            return []
        present = {name for _, name in elements}
        removed = [[e for e in elements if e != gone] for gone in elements]
        added = [[*elements, (enum, name)] for name in self.members[enum] if name not in present]
        return removed + added

    def mutation_positions(self, node: Any) -> Iterator[Position]:
        for _ in self._variants(node):
            yield (node.start_pos, node.end_pos)

    def mutate(self, node: Any, index: int) -> Any:
        members = self._variants(node)[index]
        inside = "{" + ", ".join(f"{enum}.{name}" for enum, name in members) + "}"
        code = f"frozenset({inside if members else ''})"
        mutated = parso.parse(code).children[0]
        if isinstance(mutated, tree.PythonNode) and mutated.type == "simple_stmt":
            mutated = mutated.children[0]
        mutated.children[0].prefix = node.children[0].prefix
        mutated.parent = node.parent
        return mutated

    @classmethod
    def examples(cls) -> Sequence[Example]:
        members = {"members": {"R": ["A", "B", "C"]}}
        return (
            Example("x = frozenset({R.A, R.B})", "x = frozenset({R.B})", 0, members),
            Example("x = frozenset({R.A, R.B})", "x = frozenset({R.A})", 1, members),
            Example("x = frozenset({R.A, R.B})", "x = frozenset({R.A, R.B, R.C})", 2, members),
            Example("t = {R.A: frozenset()}", "t = {R.A: frozenset({R.A})}", 0, members),
            Example("t = {R.A: frozenset()}", "t = {R.A: frozenset({R.C})}", 2, members),
        )


class FlipMembership(Operator):
    """``in`` ↔ ``not in``: Cosmic Ray's comparison operators leave membership tests alone,
    and they are how this code asks "may this role…" and "may this status move to…"."""

    def _points(self, node: Any) -> list[Any]:
        if node.type != "comparison":
            return []
        return [
            op for op in node.children[1::2] if " ".join(op.get_code().split()) in ("in", "not in")
        ]

    def mutation_positions(self, node: Any) -> Iterator[Position]:
        for op in self._points(node):
            yield (op.start_pos, op.end_pos)

    def mutate(self, node: Any, index: int) -> Any:
        op = self._points(node)[index]
        flipped = "not in" if " ".join(op.get_code().split()) == "in" else "in"
        replacement = tree.Keyword(flipped, op.start_pos, prefix=op.get_first_leaf().prefix)
        node.children[node.children.index(op)] = replacement
        replacement.parent = node
        return node

    @classmethod
    def examples(cls) -> Sequence[Example]:
        return (
            Example("a = x in y", "a = x not in y"),
            Example("a = x not in y", "a = x in y"),
        )


class Provider:
    """The ``dental`` operator provider (Cosmic Ray's plugin interface)."""

    _operators: dict[str, type[Operator]] = {
        "EnumSetMember": EnumSetMember,
        "FlipMembership": FlipMembership,
    }

    def __iter__(self) -> Iterator[str]:
        return iter(self._operators)

    def __getitem__(self, name: str) -> type[Operator]:
        return self._operators[name]


def install() -> None:
    """Make the ``dental/…`` operators known to Cosmic Ray in this process (it finds operator
    providers through installed entry points, and this project installs none for tests)."""
    import cosmic_ray.plugins

    cosmic_ray.plugins.OPERATOR_PROVIDERS.setdefault("dental", Provider())
