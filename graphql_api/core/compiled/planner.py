"""From a validated operation to a plan: which root fields, which columns, which relations,
and the SQL text of every object, or a refusal (``Decline``) saying why the normal execution
must answer instead.

The plan is made once per document and operation (``plans.plan_for``) and holds no data: the
rows, the arguments and the user come with each request (``runner``). What depends on the
user is named in the plan (``Plan.gates``: field-level rules such as health data) and the
object texts are made once per combination of their answers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
)
from strawberry.permission import PermissionExtension
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField

from graphql_api.core.compiled import coverage, sql
from graphql_api.core.compiled.coverage import (
    AnyNotBlank,
    ArrayColumn,
    Checked,
    Column,
    Computed,
    Concat,
    DateTime,
    Declaration,
    Derived,
    EnumName,
    Forward,
    Gated,
    Leaf,
    Many,
    NodeId,
    RootCoverage,
    TypeCoverage,
)

Gate = Callable[[Any], bool]

# json_build_object takes at most 100 arguments: 50 keys.
_MAX_KEYS = 50
_MAX_DEPTH = 6


class Decline(Exception):
    """The operation is not (entirely) covered: the normal execution answers it."""


@dataclass(frozen=True)
class Selected:
    """One response key of a selection: the field and every node that asked for it."""

    key: str
    name: str
    nodes: tuple[FieldNode, ...]


def collect(
    parent: GraphQLObjectType,
    selection_sets: Iterable[SelectionSetNode | None],
    fragments: dict[str, FragmentDefinitionNode],
) -> list[Selected]:
    """The selection's fields by response key, in order, merged as GraphQL merges them
    (validation has made same-key fields mergeable). Fragments must be on ``parent`` itself;
    any directive declines (``@skip``/``@include`` depend on the variables)."""
    keys: dict[str, tuple[str, list[FieldNode]]] = {}

    def walk(selection_set: SelectionSetNode | None, seen: frozenset[str]) -> None:
        if selection_set is None:
            return
        for node in selection_set.selections:
            if node.directives:
                raise Decline("a directive")
            if isinstance(node, FieldNode):
                key = node.alias.value if node.alias else node.name.value
                keys.setdefault(key, (node.name.value, []))[1].append(node)
            elif isinstance(node, InlineFragmentNode):
                condition = node.type_condition
                if condition is not None and condition.name.value != parent.name:
                    raise Decline(f"a fragment on {condition.name.value}")
                walk(node.selection_set, seen)
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                fragment = fragments.get(name)
                if fragment is None or name in seen:
                    raise Decline("an unknown or cyclic fragment")
                if fragment.type_condition.name.value != parent.name:
                    raise Decline(f"a fragment on {fragment.type_condition.name.value}")
                walk(fragment.selection_set, seen | {name})

    for selection_set in selection_sets:
        walk(selection_set, frozenset())
    return [Selected(key, name, tuple(nodes)) for key, (name, nodes) in keys.items()]


def sub_selections(selected: Selected) -> list[SelectionSetNode | None]:
    return [node.selection_set for node in selected.nodes]


def strawberry_definition(graphql_type: GraphQLObjectType) -> StrawberryObjectDefinition | None:
    definition = (graphql_type.extensions or {}).get("strawberry-definition")
    return definition if isinstance(definition, StrawberryObjectDefinition) else None


def python_fields(schema: Any, graphql_type: GraphQLObjectType) -> dict[str, StrawberryField]:
    """The strawberry fields of ``graphql_type`` by GraphQL name."""
    definition = strawberry_definition(graphql_type)
    if definition is None:
        return {}
    converter = schema.config.name_converter
    return {converter.get_graphql_name(f): f for f in definition.fields}


# --- objects ---------------------------------------------------------------------------------


@dataclass
class ObjectPlan:
    """The selection on one covered type, rendered as a ``json_build_object`` over a row of
    its model's table."""

    graphql_type: GraphQLObjectType
    coverage: TypeCoverage
    entries: list[tuple[str, Any]]  # (response key, "__typename" | Declaration + sub-plan)
    gates: dict[str, Gate] = field(default_factory=dict)
    # Fields whose own permission extension must allow the request (``Checked``).
    checks: list[StrawberryField] = field(default_factory=list)
    # The text over alias ``t1``, once per combination of the gates' answers.
    texts: dict[tuple[tuple[str, bool], ...], str] = field(default_factory=dict)

    def text(self, gates: dict[str, bool]) -> str:
        key = tuple((name, gates[name]) for name in sorted(self.gates))
        found = self.texts.get(key)
        if found is None:
            found = self.texts.setdefault(key, self.render(1, gates))
        return found

    def render(self, alias_depth: int, gates: dict[str, bool]) -> str:
        alias = f"t{alias_depth}"
        meta = self.coverage.model._meta
        pairs = []
        for key, entry in self.entries:
            if entry == "__typename":
                pairs.append((key, sql.literal(self.graphql_type.name)))
                continue
            declaration, child = entry
            pairs.append((key, self._value(declaration, child, alias, alias_depth, gates, meta)))
        return sql.json_object(pairs)

    def _value(
        self,
        declaration: Declaration,
        child: ObjectPlan | DerivedPlan | None,
        alias: str,
        depth: int,
        gates: dict[str, bool],
        meta: Any,
    ) -> str:
        if isinstance(declaration, Gated):
            if not gates[declaration.name]:
                return "NULL"
            declaration = declaration.inner
        if isinstance(declaration, Forward):
            assert isinstance(child, ObjectPlan)
            relation = meta.get_field(declaration.name)
            target = relation.related_model._meta
            inner = f"t{depth + 1}"
            target_column = sql.column(inner, relation.target_field.column)
            return (
                f"(SELECT {child.render(depth + 1, gates)} FROM "
                f"{sql.identifier(target.db_table)} {inner} "
                f"WHERE {target_column} = {sql.column(alias, relation.column)})"
            )
        if isinstance(declaration, Many):
            assert isinstance(child, ObjectPlan)
            relation = meta.get_field(declaration.name)
            target = relation.related_model._meta
            inner = f"t{depth + 1}"
            order = ", ".join(
                sql.column(inner, target.get_field(name.lstrip("-")).column)
                + (" DESC" if name.startswith("-") else "")
                for name in target.ordering
            )
            return (
                f"coalesce((SELECT json_agg({child.render(depth + 1, gates)} ORDER BY {order}) "
                f"FROM {sql.identifier(target.db_table)} {inner} "
                f"WHERE {sql.column(inner, relation.field.column)} = "
                f"{sql.column(alias, relation.field.target_field.column)}), '[]'::json)"
            )
        if isinstance(declaration, Derived):
            assert isinstance(child, DerivedPlan)
            return sql.json_object(
                [
                    (
                        key,
                        sql.literal(child.type_name)
                        if entry == "__typename"
                        else leaf_sql(entry, self.graphql_type.name, alias, meta),
                    )
                    for key, entry in child.entries
                ]
            )
        assert not isinstance(declaration, Checked)  # object_plan unwrapped it
        return leaf_sql(declaration, self.graphql_type.name, alias, meta)


@dataclass
class DerivedPlan:
    """The selection on a plain type computed from its parent's row (``Derived``)."""

    type_name: str
    entries: list[tuple[str, Any]]  # (response key, "__typename" | Leaf)


def leaf_sql(declaration: Leaf, type_name: str, alias: str, meta: Any) -> str:
    def col(name: str) -> str:
        return sql.column(alias, meta.get_field(name).column)

    if isinstance(declaration, NodeId):
        return sql.global_id(type_name, sql.column(alias, meta.pk.column))
    if isinstance(declaration, Column):
        return f"({col(declaration.name)})::text" if declaration.as_text else col(declaration.name)
    if isinstance(declaration, DateTime):
        return sql.datetime(col(declaration.name))
    if isinstance(declaration, EnumName):
        return sql.enum_name(
            col(declaration.name), declaration.enum, blank_is_null=declaration.blank_is_null
        )
    if isinstance(declaration, Concat):
        return sql.concat([col(name) for name in declaration.names], declaration.separator)
    if isinstance(declaration, AnyNotBlank):
        return sql.any_not_blank([col(name) for name in declaration.names])
    if isinstance(declaration, Computed):
        return f"({declaration.expression(*(col(name) for name in declaration.names))})"
    if isinstance(declaration, ArrayColumn):
        if declaration.enum is None:
            return col(declaration.name)
        names = sql.enum_name("u.v", declaration.enum, blank_is_null=False)
        return (
            f"(SELECT coalesce(json_agg({names} ORDER BY u.o), '[]'::json) "
            f"FROM unnest({col(declaration.name)}) WITH ORDINALITY AS u(v, o))"
        )
    raise TypeError(declaration)  # pragma: no cover - coverage.check_coverage refuses it


class Planner:
    """Plans operations against one built schema."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema
        self.graphql_schema: GraphQLSchema = schema._schema
        self.by_origin = coverage.covered_types()
        self.roots = coverage.covered_roots()

    def type_coverage(self, graphql_type: GraphQLObjectType) -> TypeCoverage:
        definition = strawberry_definition(graphql_type)
        found = self.by_origin.get(definition.origin) if definition else None
        if found is None:
            raise Decline(f"{graphql_type.name} is not covered")
        return found

    def object_plan(
        self,
        graphql_type: GraphQLObjectType,
        selection_sets: Sequence[SelectionSetNode | None],
        fragments: dict[str, FragmentDefinitionNode],
        depth: int,
    ) -> ObjectPlan:
        if depth > _MAX_DEPTH:
            raise Decline("too deep")
        covered = self.type_coverage(graphql_type)
        fields = python_fields(self.schema, graphql_type)
        plan = ObjectPlan(graphql_type, covered, [])
        selected = collect(graphql_type, selection_sets, fragments)
        if len(selected) > _MAX_KEYS:
            raise Decline("too many fields in one object")
        for item in selected:
            if item.name == "__typename":
                plan.entries.append((item.key, "__typename"))
                continue
            strawberry_field, declaration = _declared(graphql_type, fields, item, covered.fields)
            if isinstance(declaration, Checked):
                plan.checks.append(strawberry_field)
                declaration = declaration.inner
            if isinstance(declaration, Gated):
                plan.gates[declaration.name] = declaration.allowed
            child: ObjectPlan | DerivedPlan | None = None
            if isinstance(declaration, Derived):
                target = get_named_type(graphql_type.fields[item.name].type)
                assert isinstance(target, GraphQLObjectType)
                child = self.derived_plan(target, declaration, item, fragments)
            elif isinstance(declaration, Forward | Many):
                target = get_named_type(graphql_type.fields[item.name].type)
                assert isinstance(target, GraphQLObjectType)
                child = self.object_plan(target, sub_selections(item), fragments, depth + 1)
                plan.gates |= child.gates
                plan.checks += child.checks
            plan.entries.append((item.key, (declaration, child)))
        return plan

    def derived_plan(
        self,
        graphql_type: GraphQLObjectType,
        declaration: Derived,
        item: Selected,
        fragments: dict[str, FragmentDefinitionNode],
    ) -> DerivedPlan:
        fields = python_fields(self.schema, graphql_type)
        plan = DerivedPlan(graphql_type.name, [])
        selected = collect(graphql_type, sub_selections(item), fragments)
        if len(selected) > _MAX_KEYS:
            raise Decline("too many fields in one object")
        for part in selected:
            if part.name == "__typename":
                plan.entries.append((part.key, "__typename"))
                continue
            _field, leaf = _declared(graphql_type, fields, part, declaration.fields)
            plan.entries.append((part.key, leaf))
        return plan

    def plan(self, document: Any, operation_name: str | None) -> Plan:
        operation = _operation(document, operation_name)
        if operation.operation is not OperationType.QUERY:
            raise Decline("not a query")
        if operation.directives:
            raise Decline("a directive")
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        query_type = self.graphql_schema.query_type
        assert query_type is not None
        fields = python_fields(self.schema, query_type)
        roots: list[RootPlan | str] = []
        gates: dict[str, Gate] = {}
        checks: list[StrawberryField] = []
        for item in collect(query_type, [operation.selection_set], fragments):
            if item.name == "__typename":
                roots.append(item.key)
                continue
            strawberry_field = fields.get(item.name)
            root = self.roots.get(strawberry_field.python_name) if strawberry_field else None
            if root is None or strawberry_field is None:
                raise Decline(f"Query.{item.name} is not covered")
            graphql_field = query_type.fields[item.name]
            if root.custom is not None:
                if any(node.selection_set is None for node in item.nodes):
                    raise Decline(f"Query.{item.name}: a custom root answers objects")
                shape = root.custom.plan(self, graphql_field.type, item, fragments)
                gates |= root.custom.gates(shape)
            elif root.connection:
                shape = self.connection_plan(graphql_field.type, item, fragments)
            else:
                node_type = get_named_type(graphql_field.type)
                assert isinstance(node_type, GraphQLObjectType)
                shape = self.object_plan(node_type, sub_selections(item), fragments, 1)
            if root.custom is None:
                gates |= shape.gates
            checks += getattr(shape, "checks", [])
            roots.append(
                RootPlan(
                    item,
                    root,
                    strawberry_field,
                    graphql_field,
                    shape,
                    non_null=isinstance(graphql_field.type, GraphQLNonNull),
                )
            )
        return Plan(operation, roots, dict(sorted(gates.items())), checks)

    def connection_plan(
        self, connection_type: Any, item: Selected, fragments: dict[str, FragmentDefinitionNode]
    ) -> ConnectionPlan:
        connection = get_nullable_type(connection_type)
        assert isinstance(connection, GraphQLObjectType)
        plan = ConnectionPlan(connection.name, [])
        for part in collect(connection, sub_selections(item), fragments):
            if part.name == "__typename":
                plan.entries.append((part.key, "__typename", None))
            elif part.name == "totalCount":
                plan.entries.append((part.key, "totalCount", None))
            elif part.name == "edges":
                edge_type = get_named_type(connection.fields["edges"].type)
                assert isinstance(edge_type, GraphQLObjectType)
                plan.entries.append((part.key, "edges", self.edge_plan(edge_type, part, fragments)))
            elif part.name == "pageInfo":
                info_type = get_named_type(connection.fields["pageInfo"].type)
                assert isinstance(info_type, GraphQLObjectType)
                keys = [
                    (p.key, p.name) for p in collect(info_type, sub_selections(part), fragments)
                ]
                if any(name not in _PAGE_INFO_FIELDS for _key, name in keys):
                    raise Decline("PageInfo: a field not covered")
                plan.entries.append((part.key, "pageInfo", (info_type.name, keys)))
            else:
                raise Decline(f"{connection.name}.{part.name} is not covered")
        for _key, kind, child in plan.entries:
            if kind == "edges":
                plan.gates |= child.gates
                plan.checks += child.checks  # a node's Checked fields (TreatmentPlan.items)
        return plan

    def edge_plan(
        self, edge_type: GraphQLObjectType, item: Selected, fragments: dict[str, Any]
    ) -> EdgePlan:
        plan = EdgePlan(edge_type.name, [])
        for part in collect(edge_type, sub_selections(item), fragments):
            if part.name in ("__typename", "cursor"):
                plan.entries.append((part.key, part.name))
            elif part.name == "node":
                node_type = get_named_type(edge_type.fields["node"].type)
                assert isinstance(node_type, GraphQLObjectType)
                node = self.object_plan(node_type, sub_selections(part), fragments, 1)
                plan.entries.append((part.key, node))
                plan.gates |= node.gates
                plan.checks += node.checks
            else:
                raise Decline(f"{edge_type.name}.{part.name} is not covered")
        return plan


_PAGE_INFO_FIELDS = ("hasNextPage", "hasPreviousPage", "startCursor", "endCursor", "__typename")


@dataclass
class EdgePlan:
    type_name: str
    entries: list[tuple[str, Any]]  # (key, "__typename" | "cursor" | ObjectPlan)
    gates: dict[str, Gate] = field(default_factory=dict)
    checks: list[StrawberryField] = field(default_factory=list)


@dataclass
class ConnectionPlan:
    type_name: str
    entries: list[tuple[str, str, Any]]  # (key, part, sub-plan)
    gates: dict[str, Gate] = field(default_factory=dict)
    checks: list[StrawberryField] = field(default_factory=list)


@dataclass
class RootPlan:
    selected: Selected
    coverage: RootCoverage
    field: StrawberryField
    graphql_field: Any
    shape: Any  # ObjectPlan | ConnectionPlan | a custom root's shape
    non_null: bool


@dataclass
class Plan:
    operation: OperationDefinitionNode
    roots: list[RootPlan | str]  # a str: a ``__typename`` key
    gates: dict[str, Gate]  # the user-dependent rules, by name
    checks: list[StrawberryField]  # fields whose own permissions must allow the request

    def text_size(self) -> int:
        """Characters of SQL text kept by this plan's objects."""
        objects: list[ObjectPlan] = []
        for root in self.roots:
            if isinstance(root, str):
                continue
            if root.coverage.custom is not None:  # a custom shape may list the objects it keeps
                objects += getattr(root.shape, "objects", ())
                continue
            if isinstance(root.shape, ObjectPlan):
                objects.append(root.shape)
                continue
            if not isinstance(root.shape, ConnectionPlan):
                continue
            for _key, kind, edge in root.shape.entries:
                if kind == "edges":
                    objects += [e for _k, e in edge.entries if isinstance(e, ObjectPlan)]
        return sum(len(text) for plan in objects for text in plan.texts.values())


def _declared(
    graphql_type: GraphQLObjectType,
    fields: dict[str, StrawberryField],
    item: Selected,
    declarations: Mapping[str, Any],
) -> tuple[StrawberryField, Any]:
    """The selected field and its declaration; a field with arguments or not declared
    declines."""
    if any(node.arguments for node in item.nodes):
        raise Decline(f"{graphql_type.name}.{item.name} has arguments")
    strawberry_field = fields.get(item.name)
    declaration = declarations.get(strawberry_field.python_name) if strawberry_field else None
    if strawberry_field is None or declaration is None:
        raise Decline(f"{graphql_type.name}.{item.name} is not covered")
    return strawberry_field, declaration


def _operation(document: Any, operation_name: str | None) -> OperationDefinitionNode:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        if len(operations) != 1:
            raise Decline("which operation")
        return operations[0]
    for operation in operations:
        if operation.name and operation.name.value == operation_name:
            return operation
    raise Decline("no such operation")


def check_coverage(schema: Any, *, strict: bool = True) -> None:
    """Every declaration matches the built schema (run once per schema, and by the tests): the
    field exists, has no arguments and no extensions (a permission a compiled read would
    skip) unless ``Checked``, its type is what the declaration produces, and a relation's type
    is covered over the related model. ``strict``: every covered type and root is in
    ``schema`` (the API's; a test's own smaller schema leaves some out)."""
    by_origin = coverage.covered_types()
    graphql_types = {
        definition.origin: graphql_type
        for graphql_type in schema._schema.type_map.values()
        if isinstance(graphql_type, GraphQLObjectType)
        and (definition := strawberry_definition(graphql_type)) is not None
    }
    for origin, covered in by_origin.items():
        graphql_type = graphql_types.get(origin)
        if graphql_type is None:
            if strict:
                raise ValueError(f"{origin.__name__} is covered but not in the schema")
            continue
        django = getattr(origin, "__strawberry_django_definition__", None)
        if django is None or django.model is not covered.model:
            raise ValueError(f"{origin.__name__} is not a django type over {covered.model}")
        if getattr(origin, "get_queryset", None) is not None:
            raise ValueError(f"{origin.__name__} scopes its rows: compile through its queryset")
        fields = {f.python_name: f for f in graphql_type.extensions["strawberry-definition"].fields}
        converter = schema.config.name_converter
        for name, declaration in covered.fields.items():
            strawberry_field = fields.get(name)
            if strawberry_field is None:
                raise ValueError(f"{origin.__name__}.{name} does not exist")
            graphql_field = graphql_type.fields[converter.get_graphql_name(strawberry_field)]
            if graphql_field.args:
                raise ValueError(f"{origin.__name__}.{name} has arguments")
            if isinstance(declaration, Checked):
                if not strawberry_field.extensions or not all(
                    isinstance(e, PermissionExtension) for e in strawberry_field.extensions
                ):
                    raise ValueError(f"{origin.__name__}.{name}: Checked needs its permissions")
                declaration = declaration.inner
            elif strawberry_field.extensions:
                raise ValueError(f"{origin.__name__}.{name} has extensions: declare it Checked")
            if isinstance(declaration, Derived):
                _check_derived(
                    schema, f"{origin.__name__}.{name}", declaration, graphql_field.type, covered
                )
                continue
            _check_declaration(origin, name, declaration, graphql_field.type, by_origin, covered)
    for name in coverage.covered_roots():
        query_fields = {f.python_name for f in schema.query.__strawberry_definition__.fields}
        if name not in query_fields and strict:
            raise ValueError(f"Query.{name} is covered but does not exist")


def _check_derived(
    schema: Any, where: str, declaration: Derived, graphql_type: Any, covered: TypeCoverage
) -> None:
    """A ``Derived`` object: a plain type (not a model's), whose declared fields exist, take
    no arguments and no extensions, and are leaves of the declared kind over the row's model
    (their SQL is rendered once: a field the model does not have raises)."""
    target = get_nullable_type(graphql_type)
    definition = strawberry_definition(target) if isinstance(target, GraphQLObjectType) else None
    if definition is None or getattr(definition.origin, "__strawberry_django_definition__", None):
        raise ValueError(f"{where}: Derived answers a plain object type")
    assert isinstance(target, GraphQLObjectType)
    fields = {f.python_name: f for f in definition.fields}
    converter = schema.config.name_converter
    for name, leaf in declaration.fields.items():
        strawberry_field = fields.get(name)
        if strawberry_field is None:
            raise ValueError(f"{where}.{name} does not exist")
        graphql_field = target.fields[converter.get_graphql_name(strawberry_field)]
        if graphql_field.args or strawberry_field.extensions:
            raise ValueError(f"{where}.{name} has arguments or extensions")
        if isinstance(leaf, NodeId):
            raise ValueError(f"{where}.{name}: a plain object has no node ID")
        nullable = get_nullable_type(graphql_field.type)
        if not is_leaf_type(get_named_type(graphql_field.type)) or (
            isinstance(nullable, GraphQLList) != isinstance(leaf, ArrayColumn)
        ):
            raise ValueError(f"{where}.{name}: the declaration does not produce the field's type")
        leaf_sql(leaf, target.name, "t", covered.model._meta)


def _check_declaration(
    origin: type,
    name: str,
    declaration: Declaration,
    graphql_type: Any,
    by_origin: dict[type, TypeCoverage],
    covered: TypeCoverage,
) -> None:
    where = f"{origin.__name__}.{name}"
    if isinstance(declaration, Gated):
        if isinstance(graphql_type, GraphQLNonNull):
            raise ValueError(f"{where}: a gated field must be nullable")
        declaration = declaration.inner
    nullable = get_nullable_type(graphql_type)
    if isinstance(declaration, Checked | Derived | Gated):
        raise ValueError(f"{where}: a declaration that cannot be nested here")
    if isinstance(declaration, Forward | Many):
        relation = covered.model._meta.get_field(declaration.name)
        if isinstance(declaration, Many):
            if not isinstance(nullable, GraphQLList) or not isinstance(
                nullable.of_type, GraphQLNonNull
            ):
                raise ValueError(f"{where}: a list of non-null objects is expected")
            if not isinstance(relation, models.ManyToOneRel):
                raise ValueError(f"{where}: not a reverse foreign key")
            ordering = relation.related_model._meta.ordering
            if not ordering or not all(isinstance(o, str) and "__" not in o for o in ordering):
                raise ValueError(f"{where}: the related model needs a plain Meta.ordering")
        elif not isinstance(relation, models.ForeignKey):
            raise ValueError(f"{where}: not a foreign key")
        target = get_named_type(graphql_type)
        definition = (
            strawberry_definition(target) if isinstance(target, GraphQLObjectType) else None
        )
        target_coverage = by_origin.get(definition.origin) if definition else None
        if target_coverage is None or target_coverage.model is not relation.related_model:
            raise ValueError(f"{where}: the related type is not covered over its model")
    elif not is_leaf_type(get_named_type(graphql_type)) or (
        isinstance(nullable, GraphQLList) != isinstance(declaration, ArrayColumn)
    ):
        raise ValueError(f"{where}: the declaration does not produce the field's type")
    elif (
        isinstance(declaration, Column | DateTime | EnumName)
        and covered.model._meta.get_field(declaration.name) is None
    ):  # pragma: no cover - get_field raises first
        raise ValueError(f"{where}: no such column")
    elif isinstance(declaration, Computed):
        for column in declaration.names:
            covered.model._meta.get_field(column)  # raises FieldDoesNotExist
