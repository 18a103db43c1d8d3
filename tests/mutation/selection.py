"""Which of Cosmic Ray's mutants are worth a test run.

Cosmic Ray replaces every binary operator with each of the eleven others and every
comparison with each of the nine others. Most of those tell nothing the first one did not
(``limit + 1`` → ``limit << 1``), and the ``|`` of every ``X | None`` annotation yields
eleven mutants that no test can kill: with ``from __future__ import annotations`` an
annotation is never evaluated. So a mutant runs only when

- its operator is in ``KEPT_OPERATORS``: one replacement per operator, the one that changes
  the meaning the least (``<`` → ``<=``, ``==`` → ``!=``, ``+`` → ``-``), as mutmut does, plus
  every keyword, number, decorator, exception and loop mutation, plus ``dental/*``;
- it is not inside an annotation;
- it is inside one of the target's definitions, when the target names some (a service
  module is mutated only where its transitions or its numbering are).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

KEPT_OPERATORS = frozenset(
    {
        "core/ReplaceBinaryOperator_Add_Sub",
        "core/ReplaceBinaryOperator_Sub_Add",
        "core/ReplaceBinaryOperator_Mul_Div",
        "core/ReplaceBinaryOperator_Div_Mul",
        "core/ReplaceBinaryOperator_FloorDiv_Div",
        "core/ReplaceBinaryOperator_Mod_FloorDiv",
        "core/ReplaceBinaryOperator_Pow_Mul",
        "core/ReplaceBinaryOperator_BitOr_BitAnd",
        "core/ReplaceBinaryOperator_BitAnd_BitOr",
        "core/ReplaceBinaryOperator_BitXor_BitOr",
        "core/ReplaceBinaryOperator_LShift_RShift",
        "core/ReplaceBinaryOperator_RShift_LShift",
        "core/ReplaceComparisonOperator_Eq_NotEq",
        "core/ReplaceComparisonOperator_NotEq_Eq",
        "core/ReplaceComparisonOperator_Lt_LtE",
        "core/ReplaceComparisonOperator_LtE_Lt",
        "core/ReplaceComparisonOperator_Gt_GtE",
        "core/ReplaceComparisonOperator_GtE_Gt",
        "core/ReplaceComparisonOperator_Is_IsNot",
        "core/ReplaceComparisonOperator_IsNot_Is",
        "core/ReplaceUnaryOperator_Delete_Not",
        "core/ReplaceUnaryOperator_USub_UAdd",
        "core/ReplaceUnaryOperator_UAdd_USub",
        "core/ReplaceUnaryOperator_Delete_Invert",
        "core/AddNot",
        "core/ReplaceTrueWithFalse",
        "core/ReplaceFalseWithTrue",
        "core/ReplaceAndWithOr",
        "core/ReplaceOrWithAnd",
        "core/ReplaceBreakWithContinue",
        "core/ReplaceContinueWithBreak",
        "core/ExceptionReplacer",
        "core/NumberReplacer",
        "core/RemoveDecorator",
        "core/ZeroIterationForLoop",
        "dental/EnumSetMember",
        "dental/FlipMembership",
    }
)

Point = tuple[int, int]  # (line from 1, column from 0), as both ast and parso count


@dataclass(frozen=True)
class Span:
    start: Point
    end: Point

    def holds(self, start: Point, end: Point) -> bool:
        return self.start <= start and end <= self.end


def _span(node: ast.AST) -> Span:
    first = min([node, *getattr(node, "decorator_list", [])], key=lambda n: n.lineno)
    return Span(
        (first.lineno, first.col_offset),
        (node.end_lineno or node.lineno, node.end_col_offset or 0),
    )


def annotation_spans(source: str) -> list[Span]:
    """Where the annotations are: argument and return annotations, ``x: T = ...``."""
    spans = []
    for node in ast.walk(ast.parse(source)):
        annotations: list[ast.expr | None] = []
        if isinstance(node, ast.arg):
            annotations.append(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            annotations.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
        spans += [_span(a) for a in annotations if a is not None]
    return spans


def _names(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


def definition_spans(source: str) -> dict[str, Span]:
    """Top-level functions, classes and assignments by name, and methods as
    ``Class.method``."""
    spans: dict[str, Span] = {}
    for node in ast.parse(source).body:
        for name in _names(node):
            spans[name] = _span(node)
        if isinstance(node, ast.ClassDef):
            for member in node.body:
                for name in _names(member):
                    spans[f"{node.name}.{name}"] = _span(member)
    return spans


@dataclass(frozen=True)
class Selector:
    """Decides, for one source file, which mutants run."""

    annotations: tuple[Span, ...]
    only: tuple[Span, ...] | None

    @classmethod
    def for_file(cls, path: Path, only: Iterable[str] | None) -> Selector:
        source = path.read_text(encoding="utf-8")
        chosen = None
        if only is not None:
            spans = definition_spans(source)
            missing = [name for name in only if name not in spans]
            if missing:
                raise LookupError(f"{path}: no definition named {', '.join(missing)}")
            chosen = tuple(spans[name] for name in only)
        return cls(tuple(annotation_spans(source)), chosen)

    def runs(self, operator: str, start: Point, end: Point) -> bool:
        if operator not in KEPT_OPERATORS:
            return False
        if any(span.holds(start, end) for span in self.annotations):
            return False
        return self.only is None or any(span.holds(start, end) for span in self.only)
