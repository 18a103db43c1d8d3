"""Answering one request with its plan: the permissions and arguments of each root field as
the normal execution reads them, the selector's queryset, one statement, and the data.

Anything unexpected on the way (a refusal, an argument the resolver rejects, a ``NOT_FOUND``)
declines: the normal execution then runs from the start and gives its own answer, so the
client sees the error it always saw. Nothing here writes: a declined attempt leaves nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, overload

from django.db import DatabaseError, connection, models
from django.db.models import Count, F, OrderBy, Window
from django.db.models.functions import RowNumber
from graphql import GraphQLSchema
from graphql.execution.values import get_argument_values, get_variable_values
from strawberry.permission import PermissionExtension
from strawberry.relay.utils import SliceMetadata
from strawberry.types.arguments import convert_arguments
from strawberry_django.fields.field import StrawberryDjangoConnectionExtension

from graphql_api.core.compiled import sql
from graphql_api.core.compiled.planner import (
    ConnectionPlan,
    Decline,
    EdgePlan,
    Plan,
    RootPlan,
)
from graphql_api.core.ids import id_namespace
from tenants_core.context import current_timezone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlanInfo:
    """What the root resolvers and permissions read of strawberry's ``Info``."""

    context: Any
    schema: Any


class Statement:
    """The statement's text and its parameters, written in order."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.params: list[Any] = []

    def add(self, text: str, params: Any = ()) -> None:
        self.parts.append(text)
        self.params.extend(params)

    def text(self) -> str:
        return "".join(self.parts)


def run(schema: Any, plan: Plan, context: Any, variables: dict[str, Any] | None) -> Any:
    """The data of the operation, or None to decline (the normal execution answers)."""
    try:
        return _run(schema, plan, context, variables)
    except Decline as reason:
        logger.debug("compiled read declined: %s", reason)
        return None
    except DatabaseError:
        raise  # the transaction is lost: the normal execution could not answer either
    except Exception:
        # A defect of a plan: the normal execution still answers right, and the log says so.
        logger.exception("compiled read failed; answered by the normal execution")
        return None


def _run(schema: Any, plan: Plan, context: Any, variables: dict[str, Any] | None) -> Any:
    clinic = id_namespace()
    if clinic is None:
        raise Decline("the public domain")
    info = PlanInfo(context=context, schema=schema)
    graphql_schema: GraphQLSchema = schema._schema
    values = get_variable_values(
        graphql_schema, plan.operation.variable_definitions or (), variables or {}
    )
    if isinstance(values, list):
        raise Decline("variables")
    user = context.user
    for checked in plan.checks:
        _permitted(checked, info, {})
    answers = tuple(bool(allowed(user)) for allowed in plan.gates.values())
    gates = dict(zip(plan.gates, answers, strict=True))
    statement = Statement()
    statement.add("SELECT json_build_object(")
    requirements: list[tuple[str, Any]] = []
    for index, root in enumerate(plan.roots):
        if index:
            statement.add(", ")
        if isinstance(root, str):
            statement.add(f"{sql.literal(root)}, 'Query'")
            continue
        statement.add(f"{sql.literal(root.selected.key)}, ")
        requirements += _root(statement, root, info, values, gates)
    # Second column: whether every row a field requires exists (else its NOT_FOUND).
    statement.add(")::text, true")
    # The chart's roots all require its patient: one check each, not one per root.
    unique: list[tuple[str, Any]] = []
    for requirement in requirements:
        if requirement not in unique:  # parameters may be lists: compared, not hashed
            unique.append(requirement)
    for required_sql, required_params in unique:
        statement.add(f" AND EXISTS ({required_sql})", required_params)
    text = sql.bind(statement.text(), clinic=clinic, zone=current_timezone().key)
    with connection.cursor() as cursor:
        cursor.execute(text, statement.params)
        row = cursor.fetchone()
    if not row[1]:
        raise Decline("a required row is missing (NOT_FOUND)")
    if sql.INVALID_JSON in row[0]:
        raise Decline("a stored value the field would refuse")
    data = json.loads(row[0])
    for root in plan.roots:
        if isinstance(root, RootPlan) and root.non_null and data[root.selected.key] is None:
            raise Decline(f"{root.selected.key}: no row (the field's NOT_FOUND)")
    return data


def _arguments(root: RootPlan, info: PlanInfo, values: Any) -> dict[str, Any]:
    """The resolver's arguments, converted as strawberry converts them; the field's
    permissions checked with them, as its ``PermissionExtension`` checks them."""
    try:
        raw = get_argument_values(root.graphql_field, root.selected.nodes[0], values)
        kwargs = convert_arguments(
            raw,
            root.field.arguments,
            scalar_registry=info.schema.schema_converter.scalar_registry,
            config=info.schema.config,
            info=info,  # type: ignore[arg-type]  # only read by input types building themselves
        )
    except Exception as error:
        raise Decline(f"arguments: {error!r}") from None
    _permitted(root.field, info, kwargs)
    return kwargs


def _permitted(field: Any, info: PlanInfo, kwargs: dict[str, Any]) -> None:
    """The field's permission classes, as its ``PermissionExtension`` runs them: a refusal
    declines (the normal execution gives it)."""
    for extension in field.extensions:
        if isinstance(extension, PermissionExtension):
            for permission in extension.permissions:
                try:
                    allowed = permission.has_permission(None, info, **kwargs)  # type: ignore[arg-type]
                except Exception:
                    allowed = False
                if not allowed:
                    raise Decline("a permission refused")
        elif not isinstance(extension, StrawberryDjangoConnectionExtension):
            raise Decline(f"an extension: {type(extension).__name__}")


def _root(
    statement: Statement,
    root: RootPlan,
    info: PlanInfo,
    values: Any,
    gates: dict[str, bool],
) -> list[tuple[str, Any]]:
    """Writes the field's value; returns the SQL of the rows it requires."""
    kwargs = _arguments(root, info, values)
    requirements = []
    requires = root.coverage.requires
    if requires is not None:
        required = _queryset(lambda: requires(info=info, **kwargs), optional=True)
        if required is not None:
            requirements.append(_compiled(required.values("pk")))
    if root.coverage.custom is not None:
        _check_arguments(root, kwargs)
        custom_sql, custom_params = root.coverage.custom.render(
            root.shape, kwargs=kwargs, info=info, gates=gates
        )
        statement.add(f"({custom_sql})", custom_params)
    elif isinstance(root.shape, ConnectionPlan):
        paging = {name: kwargs.pop(name, None) for name in ("before", "after", "first", "last")}
        if paging["before"] is not None or paging["last"] is not None:
            raise Decline("before/last")
        queryset = _call(root, info, kwargs)
        _connection(statement, root.shape, queryset, paging, info, gates)
    else:
        queryset = _call(root, info, kwargs)
        model = queryset.model
        table = sql.identifier(model._meta.db_table)
        rows_sql, rows_params = _compiled(queryset.values("pk")[:1])
        statement.add(
            f"(SELECT {root.shape.text(gates)} FROM {table} t1 "
            f"WHERE {sql.column('t1', model._meta.pk.column)} = ({rows_sql}))",
            rows_params,
        )
    return requirements


def _check_arguments(root: RootPlan, kwargs: dict[str, Any]) -> None:
    if set(kwargs) - root.coverage.arguments:
        raise Decline(f"arguments not covered: {sorted(set(kwargs) - root.coverage.arguments)}")


def _call(root: RootPlan, info: PlanInfo, kwargs: dict[str, Any]) -> models.QuerySet[Any]:
    """The scoped rows: the field's own resolver (a selector call) or its declared ``rows``."""
    _check_arguments(root, kwargs)
    if root.coverage.connection and root.coverage.rows is None:
        resolver = root.field.base_resolver
        assert resolver is not None
        assert resolver.info_parameter is not None
        function: Callable[..., Any] = resolver.wrapped_func  # type: ignore[assignment]  # a method
        info_name = resolver.info_parameter.name
        return _queryset(lambda: function(None, **{info_name: info}, **kwargs))
    rows = root.coverage.rows
    assert rows is not None
    return _queryset(lambda: rows(info=info, **kwargs))


@overload
def _queryset(call: Callable[[], Any]) -> models.QuerySet[Any]: ...
@overload
def _queryset(call: Callable[[], Any], *, optional: bool) -> models.QuerySet[Any] | None: ...
def _queryset(call: Callable[[], Any], *, optional: bool = False) -> models.QuerySet[Any] | None:
    """What ``call`` returns, which must be a queryset the plan can page (or, if ``optional``,
    None); a ``NOT_FOUND`` or any other error declines (the normal execution raises it again,
    and answers it)."""
    try:
        result = call()
    except DatabaseError:
        raise
    except Exception as error:
        raise Decline(f"the resolver: {error!r}") from None
    if result is None and optional:
        return None
    if not isinstance(result, models.QuerySet):
        raise Decline("the resolver did not return a queryset")
    query = result.query
    if (
        query.is_sliced
        or query.distinct
        or query.combinator
        or query.group_by is not None
        or query.select_for_update
    ):
        raise Decline("a queryset the plan cannot page")
    return result


def _compiled(queryset: models.QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
    return queryset.query.get_compiler(connection=connection).as_sql()


def _ordering(queryset: models.QuerySet[Any]) -> list[Any]:
    ordering = list(queryset.query.order_by) or list(queryset.model._meta.ordering)
    if not ordering or queryset.query.extra_order_by:
        raise Decline("no ordering")
    expressions = []
    for item in ordering:
        if isinstance(item, str):
            if item == "?" or "__" in item:
                raise Decline(f"ordering {item!r}")
            expressions.append(
                F(item[1:]).desc() if item.startswith("-") else F(item.lstrip("+")).asc()
            )
        elif isinstance(item, OrderBy):
            expressions.append(item)
        else:
            raise Decline(f"ordering {item!r}")
    return expressions


def _connection(
    statement: Statement,
    plan: ConnectionPlan,
    queryset: models.QuerySet[Any],
    paging: dict[str, Any],
    info: PlanInfo,
    gates: dict[str, bool],
) -> None:
    """strawberry's ListConnection over ``queryset``: rows ``[start, end]`` (one more than the
    page, to know whether there is a next one), cursors ``arrayconnection:<index>``."""
    try:
        window = SliceMetadata.from_arguments(info, after=paging["after"], first=paging["first"])  # type: ignore[arg-type]
    except (ValueError, TypeError):
        raise Decline("INVALID_PAGINATION") from None
    start, end = window.start, window.end
    model = queryset.model
    counted = any(kind == "totalCount" for _key, kind, _child in plan.entries)
    page_sql, count_sql, params, whole_rows = _numbered(queryset, counted)
    statement.add(
        f"(WITH p AS ({page_sql} LIMIT {int(end) + 1 - int(start)} OFFSET {int(start)}), "
        f"e AS (SELECT * FROM p WHERE p._compiled_rn <= {int(end)}) "
        "SELECT json_build_object(",
        params,
    )
    table = sql.identifier(model._meta.db_table)
    pk = sql.column("t1", model._meta.pk.column)
    for index, (key, kind, child) in enumerate(plan.entries):
        statement.add(("" if index == 0 else ", ") + f"{sql.literal(key)}, ")
        if kind == "__typename":
            statement.add(sql.literal(plan.type_name))
        elif kind == "totalCount":
            # An empty page (past the end) has no row to carry the total: count then.
            statement.add(
                f"coalesce((SELECT p._compiled_total FROM p LIMIT 1), ({count_sql}))", params
            )
        elif kind == "edges":
            # With the table's whole rows in the page, the nodes read them there (``e t1``).
            rn = "t1._compiled_rn" if whole_rows else "e._compiled_rn"
            source = "e t1" if whole_rows else f"e JOIN {table} t1 ON {pk} = e._compiled_pk"
            statement.add(
                f"coalesce((SELECT json_agg({_edge(child, gates, rn)} ORDER BY {rn}) "
                f"FROM {source}), '[]'::json)"
            )
        else:
            type_name, keys = child
            statement.add(_page_info(type_name, keys, start, end))
    statement.add("))")


def _numbered(
    queryset: models.QuerySet[Any], counted: bool
) -> tuple[str, str, tuple[Any, ...], bool]:
    """The scoped queryset compiled once, as (the rows' keys with their index in the whole
    ordered list, and the list's length when ``counted``; the count of the rows), sharing the
    parameters. Both before any LIMIT: the caller pages.

    Django compiles ``values_list("pk")`` (its WHERE, its ORDER BY) and the numbering goes
    around its text: ``row_number() OVER (ORDER BY <the same>)``. A text of another shape (an
    ORDER BY with parameters or parentheses of a subquery) is numbered by Django instead.
    """
    model = queryset.model
    pk = f"{sql.identifier(model._meta.db_table)}.{sql.identifier(model._meta.pk.column)}"
    keys_sql, params = _compiled(queryset.values_list(model._meta.pk.attname))
    head, separator, order = keys_sql.rpartition(" ORDER BY ")
    prefix = f"SELECT {pk} AS {sql.identifier(model._meta.pk.attname)} FROM "
    # Django writes a selected column's position (``1 ASC``: the key) where the ORDER BY
    # names it; the window needs the column itself.
    terms = [term.split(" ", 1) for term in order.split(", ")]
    order = ", ".join(
        f"{pk} {rest[0]}" if first == "1" and len(rest) == 1 else " ".join([first, *rest])
        for first, *rest in terms
    )
    if (
        separator
        and head.startswith(prefix)
        and "%s" not in order
        and "(" not in order
        and " LIMIT " not in order
        and not any(term.split(" ", 1)[0].isdigit() for term in order.split(", "))
    ):
        source = head[len(prefix) :]
        total = ", count(*) OVER () AS _compiled_total" if counted else ""
        # The table's whole rows ride along: the nodes read their columns from the page.
        table = sql.identifier(model._meta.db_table)
        page = (
            f"SELECT {table}.*, {pk} AS _compiled_pk, "
            f"row_number() OVER (ORDER BY {order}) AS _compiled_rn"
            f"{total} FROM {source} ORDER BY {order}"
        )
        return page, f"SELECT count(*) FROM {source}", params, True
    numbers: dict[str, Any] = {
        "_compiled_pk": F("pk"),
        "_compiled_rn": Window(RowNumber(), order_by=_ordering(queryset)),
    }
    if counted:
        numbers["_compiled_total"] = Window(Count("pk"))
    page_sql, params = _compiled(queryset.annotate(**numbers).values(*numbers))
    return page_sql, f"SELECT count(*) FROM ({page_sql}) c", params, False


def _edge(plan: EdgePlan, gates: dict[str, bool], rn: str) -> str:
    pairs = []
    for key, entry in plan.entries:
        if entry == "__typename":
            pairs.append((key, sql.literal(plan.type_name)))
        elif entry == "cursor":
            pairs.append((key, sql.cursor(f"{rn} - 1")))
        else:
            pairs.append((key, entry.text(gates)))
    return sql.json_object(pairs)


def _page_info(type_name: str, keys: list[tuple[str, str]], start: int, end: int) -> str:
    values = {
        "__typename": sql.literal(type_name),
        "hasNextPage": f"EXISTS (SELECT 1 FROM p WHERE p._compiled_rn > {int(end)})",
        "hasPreviousPage": "true" if start > 0 else "false",
        "startCursor": f"(SELECT {sql.cursor('min(e._compiled_rn) - 1')} FROM e)",
        "endCursor": f"(SELECT {sql.cursor('max(e._compiled_rn) - 1')} FROM e)",
    }
    return sql.json_object([(key, values[name]) for key, name in keys])
