"""Pathological GraphQL documents, each within the body, length and token limits (sized to just
under ``TOKENS``, the default ``GRAPHQL_MAX_TOKENS``): shapes that made validation cost
super-linear, or that cost the most per token. tests/test_validation_cost.py measures every
one; tests/validation_cost_report.py prints the figures in docs/benchmarks.md."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

TOKENS = 1000


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[], str]
    # What the API answers: "refused" (a 400 before anything runs) or "accepted".
    outcome: str


def _fit(tokens_each: int, fixed: int = 2) -> int:
    """How many items of ``tokens_each`` tokens fit, with ``fixed`` tokens around them."""
    return (TOKENS - fixed) // tokens_each


def _doubling(levels: int, last: str = "__typename") -> str:
    """Each fragment spreads the next one twice: 2^levels paths through a short text."""
    fragments = [f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    return "{ ...F0 } " + " ".join(fragments) + f" fragment F{levels} on Query {{ {last} }}"


def _doubling_cycle(levels: int) -> str:
    """Doubling fragments whose last one spreads the first: no field at all, only spreads."""
    fragments = [f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    return "{ ...F0 } " + " ".join(fragments) + f" fragment F{levels} on Query {{ ...F0 }}"


def _chain(length: int) -> str:
    fragments = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(length))
    return f"{{ ...F0 }} {fragments} fragment F{length} on Query {{ __typename }}"


def _fan_out(count: int, body: Callable[[int], str], on: str = "Query", at: str = "") -> str:
    spreads = " ".join(f"...F{i}" for i in range(count))
    fragments = " ".join(f"fragment F{i} on {on} {{ {body(i)} }}" for i in range(count))
    selection = f"{at} {{ {spreads} }}" if at else spreads
    return f"{{ {selection} }} {fragments}"


def _nested(open_: str, close: str, levels: int, inner: str) -> str:
    return "{ " + open_ * levels + inner + close * levels + " }"


def _repeat(text: str, tokens_each: int) -> str:
    return "{ " + (text + " ") * _fit(tokens_each) + "}"


N_CHAIN = _fit(8, 12)
N_FAN = _fit(2 + 7)
N_FAN_ALIASED = _fit(2 + 9)
N_FAN_NESTED = _fit(2 + 10, 6)
N_OPS = _fit(5, 0)
N_INLINE = 190  # graphql-core's parser nests at most 200 levels
N_ARGS = _fit(3, 8)
N_DIRECTIVES = _fit(7, 4)
N_SELECTION = _fit(4)
N_LEAF = _fit(1)
N_INLINE_COPIES = _fit(6)
N_NESTED_COPIES = _fit(7)
N_VARIABLES = _fit(4, 6)
N_LIST = _fit(1, 14)
N_OBJECT = _fit(3, 14)
N_UNKNOWN = _fit(1)

CASES = [
    Case("doubling fragments, 18 levels", lambda: _doubling(18), "refused"),
    Case("doubling fragments, 30 levels", lambda: _doubling(30), "refused"),
    Case("doubling fragments, aliased", lambda: _doubling(26, "a: __typename"), "refused"),
    Case("doubling fragments closing a cycle", lambda: _doubling_cycle(26), "refused"),
    Case(
        "two fragments spreading each other twice",
        lambda: "{ ...A } fragment A on Query { ...B ...B } fragment B on Query { ...A ...A }",
        "refused",
    ),
    Case("unknown fragment", lambda: "{ ...Missing }", "refused"),
    Case(f"chain of {N_CHAIN} fragments", lambda: _chain(N_CHAIN), "refused"),
    Case("chain of 40 fragments", lambda: _chain(40), "accepted"),
    Case(
        f"fan-out: {N_FAN_ALIASED} fragments, distinct fields",
        lambda: _fan_out(N_FAN_ALIASED, lambda i: f"a{i}: __typename"),
        "refused",
    ),
    Case(
        f"fan-out: {N_FAN} fragments, one field",
        lambda: _fan_out(N_FAN, lambda i: "__typename"),
        "refused",
    ),
    Case(
        f"fan-out: {N_FAN_NESTED} fragments, nested",
        lambda: _fan_out(N_FAN_NESTED, lambda i: "plan { code }", "Clinic", "currentClinic"),
        "refused",
    ),
    Case(
        f"{N_OPS} operations",
        lambda: " ".join(f"query Q{i} {{ __typename }}" for i in range(N_OPS)),
        "refused",
    ),
    Case(
        "50 operations",
        lambda: " ".join(f"query Q{i} {{ __typename }}" for i in range(50)),
        "accepted",
    ),
    Case(
        f"inline fragments {N_INLINE} deep",
        lambda: _nested("... on Query { ", " }", N_INLINE, "__typename"),
        "accepted",
    ),
    Case(
        f"fields {N_INLINE} deep",
        lambda: _nested("currentClinic { ", " }", N_INLINE, "name"),
        "refused",
    ),
    Case(
        "fields 300 deep (over the parser's nesting limit)",
        lambda: _nested("a { ", " }", 300, "b"),
        "refused",
    ),
    Case(
        f"{N_ARGS} arguments",
        lambda: "{ currentClinic(" + " ".join(f"a{i}: 1" for i in range(N_ARGS)) + ") { name } }",
        "refused",
    ),
    Case(
        f"{N_ARGS} copies of one argument",
        lambda: "{ currentClinic(" + "a: 1 " * N_ARGS + ") { name } }",
        "refused",
    ),
    Case(
        f"{N_DIRECTIVES} directives on one field",
        lambda: "{ __typename " + "@skip(if: false) " * N_DIRECTIVES + "}",
        "refused",
    ),
    Case(
        f"{N_SELECTION} copies of one field with a selection",
        lambda: _repeat("currentClinic { name }", 4),
        "refused",
    ),
    Case(f"{N_LEAF} copies of one leaf field", lambda: _repeat("__typename", 1), "refused"),
    Case(
        f"{N_INLINE_COPIES} copies of one field in inline fragments",
        lambda: _repeat("... on Query { __typename }", 6),
        "refused",
    ),
    Case(
        f"{N_NESTED_COPIES} copies of a nested field",
        lambda: _repeat("currentClinic { plan { code } }", 7),
        "refused",
    ),
    Case("30 copies of one field", lambda: "{ " + "currentClinic { name } " * 30 + "}", "accepted"),
    Case(
        f"{N_VARIABLES} unused variables",
        lambda: "query(" + " ".join(f"$v{i}: Int" for i in range(N_VARIABLES)) + ") { __typename }",
        "refused",
    ),
    Case(
        f"{N_VARIABLES} copies of one variable",
        lambda: "query(" + "$v: Int " * N_VARIABLES + ") { __typename }",
        "refused",
    ),
    Case(
        f"list literal of {N_LIST} items",
        lambda: "{ currentClinic(a: [" + "1 " * N_LIST + "]) { name } }",
        "refused",
    ),
    Case(
        f"object literal of {N_OBJECT} fields",
        lambda: (
            "{ currentClinic(a: {" + " ".join(f"f{i}: 1" for i in range(N_OBJECT)) + "}) { name } }"
        ),
        "refused",
    ),
    Case(
        "lists nested 190 deep",
        lambda: "{ currentClinic(a: " + "[" * 190 + "]" * 190 + ") { name } }",
        "refused",
    ),
    Case(
        f"{N_UNKNOWN} unknown fields",
        lambda: "{ " + " ".join(f"patientz{i}" for i in range(N_UNKNOWN)) + " }",
        "refused",
    ),
    Case(
        f"{N_UNKNOWN} unknown long fields",
        lambda: "{ " + " ".join("p" * 28 + str(i) for i in range(N_UNKNOWN)) + " }",
        "refused",
    ),
    Case("a 32,000-character comment", lambda: "{ __typename } #" + "x" * 32_000, "accepted"),
    Case(
        "a 32,000-character string",
        lambda: '{ currentClinic(a: "' + "x" * 32_000 + '") { name } }',
        "refused",
    ),
    Case(
        "a 250,000-character string",
        lambda: '{ currentClinic(a: "' + "x" * 250_000 + '") { name } }',
        "refused",
    ),
    Case("a 250,000-character comment", lambda: "{ __typename } #" + "x" * 250_000, "refused"),
    Case(
        "100 aliased logouts",
        lambda: "mutation { " + " ".join(f"l{i}: logout" for i in range(100)) + " }",
        "refused",
    ),
    Case(
        "introspection 60 levels deep",
        lambda: "{ __schema { types { " + "fields { type { " * 30 + "name" + " } }" * 30 + " } } }",
        "refused",
    ),
    Case("empty selection sets", lambda: "{ currentClinic { } }", "accepted"),
]
