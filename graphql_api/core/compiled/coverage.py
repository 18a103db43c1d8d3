"""What the compiled reads cover, declared next to the types (``graphql_api/<domain>/compiled.py``
files call these), never guessed: a type's field is compiled only if it is declared here, and
each declaration says how PostgreSQL computes exactly what the field's resolver answers.

A declaration names model fields, not SQL: the table and column names come from the model, so
a renamed column cannot go stale. ``check_coverage`` (run when the plan cache is first used, and
by the tests) verifies every declaration against the built schema: the field exists, its
GraphQL type is the kind the declaration produces, a relation points to a covered type.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from django.db import models

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from backend.accounts.models import User


@dataclass(frozen=True)
class NodeId:
    """The node's global ID: ``base64("<Type>:<clinic>.<pk>")`` (graphql_api/core/ids.py)."""


@dataclass(frozen=True)
class Column:
    """A column answered as it is stored: text, integer, boolean, date (ISO 8601), numeric as
    its text (``Decimal`` answers ``str(value)``: the same digits, the same scale)."""

    name: str
    as_text: bool = False  # numeric → its text (the Decimal scalar's wire form)


@dataclass(frozen=True)
class DateTime:
    """A timestamptz in the clinic's zone, to the second, with its offset
    (graphql_api/core/datetimes.py)."""

    name: str


@dataclass(frozen=True)
class EnumName:
    """A column holding an enum's value, answered as the member's name; ``blank_is_null``: an
    empty value is null (``Sex(root.sex) if root.sex else None``)."""

    name: str
    enum: type[enum.Enum]
    blank_is_null: bool = False


@dataclass(frozen=True)
class Concat:
    """Columns joined by ``separator`` (``full_name``: ``f"{first_name} {last_name}"``)."""

    names: Sequence[str]
    separator: str = " "


@dataclass(frozen=True)
class AnyNotBlank:
    """True when any of the text columns holds something besides whitespace, as Python's
    ``str.strip()`` sees whitespace (``has_alerts``)."""

    names: Sequence[str]


@dataclass(frozen=True)
class ArrayColumn:
    """An array column answered as a list of its values (``surfaces: list[str]``); with
    ``enum``, each value as the member's name (``conditions: list[Condition]``)."""

    name: str
    enum: type[enum.Enum] | None = None


@dataclass(frozen=True)
class Computed:
    """Columns through an expression the domain writes, for a resolver that formats them
    (``Receipt.full_number``: ``f"{series}-{number:08d}"``): ``expression`` gets the columns'
    SQL, in the order of ``names``, and returns the SQL of the field's wire value (``%``
    doubled, as in every plan text; no parameters)."""

    names: Sequence[str]
    expression: Callable[..., str]


@dataclass(frozen=True)
class Gated:
    """``inner`` for the users ``allowed`` answers True for, null for the others: field-level
    permissions that depend on the role (``allergies`` for roles that read health data). The
    plan is made for the user's answer, so the field is in the statement or is a null."""

    inner: Leaf
    allowed: Callable[[User | None], bool]
    name: str  # one name per rule: the plan cache keys on the answers by name


@dataclass(frozen=True)
class Forward:
    """A foreign key (``appointment.patient``): the related row's object, null when the key is."""

    name: str


@dataclass(frozen=True)
class Many:
    """A reverse relation as a list (``professional.working_hours``), in the related model's
    ``Meta.ordering``: the order strawberry-django's prefetch reads them in."""

    name: str


@dataclass(frozen=True)
class Checked:
    """A field with a permission of its own (``TreatmentPlan.items``: clinical): the field's
    own ``PermissionExtension`` runs for the request, with the same permission classes; a
    refusal declines the whole plan, so the normal execution gives its error for the field."""

    inner: Declaration


@dataclass(frozen=True)
class Derived:
    """An object of a plain type (not a model's: ``TreatmentPlan.totals``, a ``PlanTotals``)
    computed from the row: each of the type's covered fields (by Python name) is a leaf over
    the same row (``Computed`` sums over the plan's items), answered in the selection's order."""

    fields: Mapping[str, Leaf]


Leaf = NodeId | Column | DateTime | EnumName | Concat | AnyNotBlank | ArrayColumn | Computed
Declaration = Leaf | Gated | Forward | Many | Checked | Derived


@dataclass(frozen=True)
class TypeCoverage:
    """The covered fields of one GraphQL type over ``model`` (by Python field name)."""

    graphql_type: type
    model: type[models.Model]
    fields: dict[str, Declaration]


RowsFunction = Callable[..., "QuerySet[Any]"]
# The rows a field requires, or None when its arguments require none.
RequiresFunction = Callable[..., "QuerySet[Any] | None"]


class CustomRoot(Protocol):
    """A root field whose answer is not a model's rows as they are (``odontogram`` groups
    findings by tooth, ``accountStatement`` merges two tables with a running balance): the
    domain plans its selection and writes its SQL, with the planner's parts for the covered
    types inside it."""

    def plan(self, planner: Any, graphql_type: Any, item: Any, fragments: Any) -> Any:
        """The shape of the selection (raise ``planner.Decline`` for what is not covered)."""

    def render(
        self, shape: Any, *, kwargs: dict[str, Any], info: Any, gates: dict[str, bool]
    ) -> tuple[str, Sequence[Any]]:
        """The SQL (and its parameters) of the field's JSON value for this request."""

    def gates(self, shape: Any) -> dict[str, Callable[[Any], bool]]:
        """The role rules the shape depends on (``ObjectPlan.gates`` of its objects)."""


@dataclass(frozen=True)
class RootCoverage:
    """A covered field of ``Query``.

    - ``connection``: the field's own resolver returns the scoped ``QuerySet`` (a selector's)
      and strawberry-django pages it; the plan pages the same queryset in SQL. With ``rows``,
      the plan pages ``rows(info, **args)`` instead of calling the resolver: for a resolver
      that does more than return its selector's rows (a lookup that answers ``NOT_FOUND``, an
      extra query the plan checks with ``requires`` in its statement instead).
    - ``rows`` takes the resolver's converted arguments (and ``info``) and returns the scoped
      queryset of the row the field answers: the only one, or with ``first`` the first in
      its ordering (null when there is none). A non-null field with no row is the field's
      ``NOT_FOUND``, left to the normal execution.
    - ``custom``: the domain's own SQL (``CustomRoot``).
    - ``requires`` (any kind): rows that must exist, or the normal execution answers (the
      ``NOT_FOUND`` of a ``patientId`` that names no patient), checked in the same statement;
      ``None`` for arguments that require nothing (no ``patientId``). A connection's
      ``requires`` gets the paging arguments too.
    """

    field_name: str
    connection: bool = False
    rows: RowsFunction | None = None
    first: bool = False
    custom: CustomRoot | None = None
    requires: RequiresFunction | None = None
    arguments: frozenset[str] = field(default_factory=frozenset)


_types: dict[type, TypeCoverage] = {}
_roots: dict[str, RootCoverage] = {}


def cover(graphql_type: type, model: type[models.Model], **fields: Declaration) -> None:
    """Declare ``fields`` of ``graphql_type`` (a strawberry-django type over ``model``)."""
    if graphql_type in _types:
        raise ValueError(f"{graphql_type.__name__} is covered twice")
    # A node's ``id`` is strawberry's ``_id`` field.
    named = {("_id" if name == "id" else name): value for name, value in fields.items()}
    _types[graphql_type] = TypeCoverage(graphql_type, model, named)


def cover_connection(
    field_name: str,
    *,
    arguments: Sequence[str] = (),
    rows: RowsFunction | None = None,
    requires: RequiresFunction | None = None,
) -> None:
    """Declare the ``Query`` connection ``field_name`` (Python name), whose resolver is a
    selector call (or whose rows are ``rows(info, **args)``); ``arguments`` are the resolver's
    arguments it may take (besides paging)."""
    _add_root(
        RootCoverage(
            field_name,
            connection=True,
            rows=rows,
            requires=requires,
            arguments=frozenset(arguments),
        )
    )


def cover_single(
    field_name: str,
    rows: RowsFunction,
    *,
    arguments: Sequence[str],
    first: bool = False,
    requires: RequiresFunction | None = None,
) -> None:
    """Declare the ``Query`` field ``field_name`` answering one row of ``rows(info, **args)``
    (with ``first``, its first row or null)."""
    _add_root(
        RootCoverage(
            field_name,
            rows=rows,
            first=first,
            requires=requires,
            arguments=frozenset(arguments),
        )
    )


def cover_custom(
    field_name: str,
    custom: CustomRoot,
    *,
    arguments: Sequence[str],
    requires: RequiresFunction | None = None,
) -> None:
    """Declare the ``Query`` field ``field_name`` answered by ``custom``'s SQL."""
    _add_root(
        RootCoverage(field_name, custom=custom, requires=requires, arguments=frozenset(arguments))
    )


def _add_root(root: RootCoverage) -> None:
    if root.field_name in _roots:
        raise ValueError(f"Query.{root.field_name} is covered twice")
    _roots[root.field_name] = root


def covered_types() -> dict[type, TypeCoverage]:
    return dict(_types)


def covered_roots() -> dict[str, RootCoverage]:
    return dict(_roots)
