"""How far the fuzzer's examples get: a counting hook on every root field's resolver, and
the per-operation tallies the terminal summary prints.

The hook wraps the function each root field of the schema resolves with (strawberry's
``base_resolver``), in this test process only and only while the fuzz tests run: it counts a
call, then calls the original. A request refused before the resolver (an unknown or expired
token, a role without the permission, a document or variables that fail validation, an ID
that is no global ID, a body the view refuses) does not count.
"""

from __future__ import annotations

import functools
import inspect
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from graphql_api.core.compiled import runner
from graphql_api.schema import schema

# The thresholds, per operation:
# - MIN_SHARE of all its examples reached its resolver. By construction (values.HAZARD_ROLLS)
#   one example in ten carries a hazard refused before any resolver on purpose (a malformed
#   ID, a NUL or a lone surrogate, a 1 MB body); every other example is well typed and sent
#   with a token that holds the permission, or to an entry point that needs none. Hypothesis
#   does not draw evenly, though (it revisits what it found interesting), so 60% leaves room.
# - MIN_MEANT_SHARE of the examples meant to reach it did: a well-typed call with a real token
#   must get to the resolver; below 90% the generator produces values the schema refuses (or
#   the token stopped working), and the fuzzing no longer tests what it claims to.
#   The same share holds for the examples among those that carried a hostile string (right-
#   to-left marks, combining characters...): they are for the resolver, not for a filter.
# - at least MIN_REACHED examples reached it (fewer when hypothesis ran fewer examples: an
#   operation without arguments has few distinct examples).
MIN_SHARE = 0.6
MIN_MEANT_SHARE = 0.9
MIN_REACHED = 10


@dataclass
class Tally:
    examples: int = 0
    reached: int = 0
    meant_to_reach: int = 0  # sent with a usable token and no hazard the view refuses
    succeeded: int = 0  # answered without an error or an OperationInfo
    codes: Counter[str] = field(default_factory=Counter)
    hostile_reached: Counter[str] = field(default_factory=Counter)
    # examples meant to reach the resolver that carried a hostile string, and of those, how
    # many reached it: right-to-left marks, combining characters and the rest must not be
    # refused on the way
    hostile_meant: int = 0
    hostile_meant_reached: int = 0

    @property
    def share(self) -> float:
        return self.reached / self.examples if self.examples else 0.0


TALLIES: dict[str, Tally] = {}
_calls: Counter[str] = Counter()


def calls(operation: str) -> int:
    """How many times the resolver of root field ``operation`` ran since the hook was set."""
    return _calls[operation]


def _root_fields() -> Iterator[tuple[str, Any]]:
    graphql_schema = schema._schema
    for root in (graphql_schema.query_type, graphql_schema.mutation_type):
        assert root is not None
        for name, graphql_field in root.fields.items():
            strawberry_field = graphql_field.extensions["strawberry-definition"]
            yield name, strawberry_field.base_resolver


@contextmanager
def counting_resolvers() -> Iterator[None]:
    """Count every call of every root field's resolver while the block runs."""
    originals = []
    for name, resolver in _root_fields():
        assert resolver is not None, f"{name} has no resolver of its own to count"
        original = resolver.wrapped_func
        assert not inspect.iscoroutinefunction(original), name

        def counted(*args: Any, __name: str = name, __original: Any = original, **kwargs: Any):
            _calls[__name] += 1
            return __original(*args, **kwargs)

        functools.update_wrapper(counted, original)
        resolver.wrapped_func = counted
        originals.append((resolver, original))
    # A compiled read (graphql_api/core/compiled) reaches the root field without calling its
    # resolver (a declared rows function or custom SQL takes the arguments): count it when
    # its permissions passed and its arguments were converted, as a resolver call counts.
    original_arguments = runner._arguments

    def compiled(root: Any, *args: Any, **kwargs: Any) -> Any:
        converted = original_arguments(root, *args, **kwargs)
        _calls[root.selected.name] += 1
        return converted

    runner._arguments = compiled
    try:
        yield
    finally:
        runner._arguments = original_arguments
        for resolver, original in originals:
            resolver.wrapped_func = original


def summary_lines() -> list[str]:
    """The per-operation report printed at the end of the run."""
    if not TALLIES:
        return []
    lines = [
        f"{'operation':<28} {'examples':>8} {'reached':>8} {'share':>6} {'ok':>5}  top codes",
    ]
    for name in sorted(TALLIES, key=lambda n: (TALLIES[n].share, n)):
        tally = TALLIES[name]
        codes = ", ".join(f"{code} {count}" for code, count in tally.codes.most_common(4))
        lines.append(
            f"{name:<28} {tally.examples:>8} {tally.reached:>8} {tally.share:>6.0%}"
            f" {tally.succeeded:>5}  {codes}"
        )
    total = sum(t.examples for t in TALLIES.values())
    reached = sum(t.reached for t in TALLIES.values())
    hostile: Counter[str] = Counter()
    for tally in TALLIES.values():
        hostile.update(tally.hostile_reached)
    lines.append(
        f"{len(TALLIES)} operations, {total} examples, {reached} reached their resolver "
        f"({reached / total:.0%}); thresholds per operation: {MIN_SHARE:.0%} of its examples,"
        f" {MIN_MEANT_SHARE:.0%} of those meant to reach it, at least {MIN_REACHED}"
    )
    meant = sum(t.hostile_meant for t in TALLIES.values())
    meant_reached = sum(t.hostile_meant_reached for t in TALLIES.values())
    lines.append(
        f"examples with hostile strings meant to reach a resolver: {meant}, reached: "
        f"{meant_reached}; by family: "
        + ", ".join(f"{family} {count}" for family, count in sorted(hostile.items()))
    )
    return lines
