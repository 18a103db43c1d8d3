"""Pathological GraphQL documents, each within the body and token limits: shapes that made
validation cost super-linear (tests/test_validation_cost.py measures every one; the figures
are in docs/benchmarks.md, "Validation cost")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[], str]
    # What the API answers: "refused" (a 400 before anything runs) or "accepted".
    outcome: str


def _doubling(levels: int, last: str = "__typename") -> str:
    """Each fragment spreads the next one twice: 2^levels paths through a short text."""
    fragments = [f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    return "{ ...F0 } " + " ".join(fragments) + f" fragment F{levels} on Query {{ {last} }}"


def _doubling_cycle(levels: int) -> str:
    """Doubling fragments whose last one spreads the first: no field at all, only spreads."""
    fragments = [f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    return "{ ...F0 } " + " ".join(fragments) + f" fragment F{levels} on Query {{ ...F0 }}"


def _fan_out(count: int, body: Callable[[int], str], parent: str = "Query") -> str:
    spreads = " ".join(f"...F{i}" for i in range(count))
    fragments = " ".join(f"fragment F{i} on {parent} {{ {body(i)} }}" for i in range(count))
    return f"{{ {spreads} }} {fragments}"


def _nested(open_: str, close: str, levels: int, inner: str) -> str:
    return "{ " + open_ * levels + inner + close * levels + " }"


CASES = [
    Case("doubling fragments, 18 levels", lambda: _doubling(18), "refused"),
    Case("doubling fragments, 30 levels", lambda: _doubling(30), "refused"),
    Case(
        "doubling fragments, 26 levels, aliased", lambda: _doubling(26, "a: __typename"), "refused"
    ),
    Case("doubling fragments closing a cycle", lambda: _doubling_cycle(26), "refused"),
    Case(
        "two fragments spreading each other twice",
        lambda: "{ ...A } fragment A on Query { ...B ...B } fragment B on Query { ...A ...A }",
        "refused",
    ),
    Case("unknown fragment", lambda: "{ ...Missing }", "refused"),
    Case(
        "chain of 240 fragments",
        lambda: (
            "{ ...F0 } "
            + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(240))
            + " fragment F240 on Query { __typename }"
        ),
        "refused",
    ),
    Case(
        "chain of 40 fragments",
        lambda: (
            "{ ...F0 } "
            + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(40))
            + " fragment F40 on Query { __typename }"
        ),
        "accepted",
    ),
    Case(
        "fan-out: 150 fragments, distinct fields",
        lambda: _fan_out(150, lambda i: f"a{i}: __typename"),
        "refused",
    ),
    Case(
        "fan-out: 200 fragments, one field",
        lambda: _fan_out(200, lambda i: "__typename"),
        "refused",
    ),
    Case(
        "fan-out: 120 fragments, nested",
        lambda: (
            "{ currentClinic { "
            + " ".join(f"...F{i}" for i in range(120))
            + " } } "
            + " ".join(f"fragment F{i} on Clinic {{ plan {{ code }} }}" for i in range(120))
        ),
        "refused",
    ),
    Case(
        "300 operations",
        lambda: " ".join(f"query Q{i} {{ __typename }}" for i in range(300)),
        "refused",
    ),
    Case(
        "50 operations",
        lambda: " ".join(f"query Q{i} {{ __typename }}" for i in range(50)),
        "accepted",
    ),
    Case(
        "80 operations sharing an 80-fragment chain",
        lambda: (
            " ".join(f"query Q{i} {{ ...F0 }}" for i in range(80))
            + " "
            + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(80))
            + " fragment F80 on Query { __typename }"
        ),
        "refused",
    ),
    Case(
        "inline fragments 190 deep",
        lambda: _nested("... on Query { ", " }", 190, "__typename"),
        "accepted",
    ),
    Case("fields 190 deep", lambda: _nested("currentClinic { ", " }", 190, "name"), "refused"),
    Case(
        "fields 500 deep (over the parser's nesting limit)",
        lambda: _nested("a { ", " }", 500, "b"),
        "refused",
    ),
    Case(
        "600 arguments",
        lambda: "{ currentClinic(" + " ".join(f"a{i}: 1" for i in range(600)) + ") { name } }",
        "refused",
    ),
    Case(
        "600 copies of one argument",
        lambda: "{ currentClinic(" + "a: 1 " * 600 + ") { name } }",
        "refused",
    ),
    Case(
        "280 directives on one field",
        lambda: "{ __typename " + "@skip(if: false) " * 280 + "}",
        "refused",
    ),
    Case(
        "400 copies of one field with a selection",
        lambda: "{ " + "currentClinic { name } " * 400 + "}",
        "refused",
    ),
    Case("1,990 copies of one leaf field", lambda: "{ " + "__typename " * 1990 + "}", "refused"),
    Case(
        "300 copies of one field in inline fragments",
        lambda: "{ " + "... on Query { __typename } " * 300 + "}",
        "refused",
    ),
    Case(
        "200 copies of a nested field",
        lambda: "{ " + "currentClinic { plan { code } } " * 200 + "}",
        "refused",
    ),
    Case(
        "30 copies of one field (accepted)",
        lambda: "{ " + "currentClinic { name } " * 30 + "}",
        "accepted",
    ),
    Case(
        "450 unused variables",
        lambda: "query(" + " ".join(f"$v{i}: Int" for i in range(450)) + ") { __typename }",
        "refused",
    ),
    Case(
        "450 copies of one variable",
        lambda: "query(" + "$v: Int " * 450 + ") { __typename }",
        "refused",
    ),
    Case(
        "list literal of 1,980 items",
        lambda: "{ currentClinic(a: [" + "1 " * 1980 + "]) { name } }",
        "refused",
    ),
    Case(
        "object literal of 600 fields",
        lambda: "{ currentClinic(a: {" + " ".join(f"f{i}: 1" for i in range(600)) + "}) { name } }",
        "refused",
    ),
    Case(
        "lists nested 190 deep",
        lambda: "{ currentClinic(a: " + "[" * 190 + "]" * 190 + ") { name } }",
        "refused",
    ),
    Case(
        "1,990 unknown fields",
        lambda: "{ " + " ".join(f"patientz{i}" for i in range(1990)) + " }",
        "refused",
    ),
    Case(
        "1,500 unknown long fields",
        lambda: "{ " + " ".join("p" * 15 + str(i) for i in range(1500)) + " }",
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
        "100 aliased logins",
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
