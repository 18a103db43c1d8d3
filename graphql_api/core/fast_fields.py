"""Cheaper resolution for the fields that only read a loaded attribute.

strawberry-django resolves ``reason`` or ``patient`` through half a dozen layers per row
(strawberry's info object, argument parsing, the field-extension chain, the django field's
``get_result``); a 100-row agenda spends more there than in PostgreSQL. For a field with no
resolver of its own, no arguments and no extensions (so no permission check can be skipped),
whose model attribute is a plain column or a forward relation, the answer is the value already
on the instance: these fields get a resolver that returns it and hands every other case (a
deferred column, a relation not loaded, a source that is not a model) to the original one.

A resolver method of such a field that takes only the row (``self``/``root``, no ``info``) and
returns a scalar or an enum is called directly, as strawberry-django's sync path would (outside
an event loop only). The node ``id`` of a django type gets the same treatment when it uses
strawberry-django's default id (the pk) and strawberry's default type name:
``GlobalID(<type>, <clinic>.<pk>)``, minted as ``ids.install_clinic_ids`` mints every other ID.

Run once, on the built schema (``install_fast_fields``); the SDL does not change.

**Library internals.** This module is where the API's speed relies on them, for the versions
pinned in ``strawberry_internals.SUPPORTED_VERSIONS`` (and ``pyproject.toml``):
- graphql-core: the ``resolve`` of a built ``GraphQLField`` is replaced (a public attribute,
  reached through strawberry's private ``Schema._schema``);
- strawberry: a node type's ``_id_attr`` is written once (``cache_node_id_attributes``), and
  ``resolve_id``/``resolve_typename`` are compared with the defaults.
``tests/graphql_api/test_strawberry_internals.py`` fails when one of these shapes changes;
``tests/graphql_api/test_overhead.py`` and ``tests/scheduling/test_agenda_overhead.py`` pin
the answers and the cost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import strawberry
from django.db import models
from django.db.models.fields.related_descriptors import (
    ForeignKeyDeferredAttribute,
    ForwardManyToOneDescriptor,
)
from django.db.models.query_utils import DeferredAttribute
from graphql import (
    GraphQLField,
    GraphQLObjectType,
    GraphQLResolveInfo,
    get_nullable_type,
    is_leaf_type,
)
from strawberry.relay import GlobalID, Node
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField
from strawberry.types.fields.resolver import StrawberryResolver
from strawberry.utils.inspect import in_async_context
from strawberry_django.fields.field import StrawberryDjangoField
from strawberry_django.relay.utils import resolve_model_id

from graphql_api.core.ids import id_namespace, scoped_node_id

Resolver = Callable[..., Any]

# Descriptors whose ``__get__`` returns ``instance.__dict__[attname]`` unchanged once loaded
# (a FileField's descriptor, for one, wraps the value: it keeps the original resolver).
_PLAIN_COLUMNS = (DeferredAttribute, ForeignKeyDeferredAttribute)


@dataclass(frozen=True)
class Installed:
    type_name: str
    field_name: str
    field: GraphQLField
    original: Resolver
    fast: Resolver


def cache_node_id_attributes(schema: strawberry.Schema) -> None:
    """Work out once which attribute holds each node type's id.

    strawberry looks for a ``NodeID`` annotation on every ``id`` it resolves and caches the
    answer only when it finds one; our types use the model's pk (no annotation), so each row
    re-evaluated every annotation of its class: 40% of a 100-row agenda. The answer depends on
    the class alone, so store it where strawberry reads it first.
    """
    for graphql_type in schema._schema.type_map.values():
        definition = (graphql_type.extensions or {}).get("strawberry-definition")
        origin = getattr(definition, "origin", None)
        if (
            isinstance(definition, StrawberryObjectDefinition)
            and not definition.is_interface
            and isinstance(origin, type)
            and issubclass(origin, Node)
            and origin._id_attr is None
        ):
            origin._id_attr = origin.resolve_id_attr()


def install_fast_fields(schema: strawberry.Schema) -> list[Installed]:
    """Give the eligible fields of ``schema`` their cheaper resolver; return which."""
    cache_node_id_attributes(schema)
    installed: list[Installed] = []
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        definition = (graphql_type.extensions or {}).get("strawberry-definition")
        if not isinstance(definition, StrawberryObjectDefinition) or definition.is_interface:
            continue
        django_definition = getattr(definition.origin, "__strawberry_django_definition__", None)
        if django_definition is None:
            continue
        model = django_definition.model
        by_name = {schema.config.name_converter.get_graphql_name(f): f for f in definition.fields}
        for name, graphql_field in graphql_type.fields.items():
            field = by_name.get(name)
            if field is None or graphql_field.args or field.extensions or not graphql_field.resolve:
                continue
            fast = _fast_resolver(
                definition.origin, model, field, graphql_field, graphql_field.resolve
            )
            if fast is not None:
                # Tracing extensions skip default resolvers: keep telling them which these are.
                fast._is_default = getattr(graphql_field.resolve, "_is_default", False)  # type: ignore[attr-defined]  # graphql-core: a mark on the function
                installed.append(
                    Installed(graphql_type.name, name, graphql_field, graphql_field.resolve, fast)
                )
                graphql_field.resolve = fast
    return installed


@contextmanager
def original_resolvers(installed: list[Installed]) -> Iterator[None]:
    """strawberry's own resolvers back in place, to compare answers (tests only)."""
    for entry in installed:
        entry.field.resolve = entry.original
    try:
        yield
    finally:
        for entry in installed:
            entry.field.resolve = entry.fast


def _fast_resolver(
    origin: type,
    model: type[models.Model],
    field: StrawberryField,
    graphql_field: GraphQLField,
    original: Resolver,
) -> Resolver | None:
    if isinstance(field, StrawberryDjangoField) and field.base_resolver is not None:
        if _is_plain_method(field) and is_leaf_type(get_nullable_type(graphql_field.type)):
            return _method(field.base_resolver, original)
        return None
    if isinstance(field, StrawberryDjangoField):
        attribute = getattr(model, field.django_name or field.python_name, None)
        if attribute is not None and type(attribute) in _PLAIN_COLUMNS:
            return _column(model, attribute.field.attname, original)
        if isinstance(attribute, ForwardManyToOneDescriptor):
            return _forward_relation(model, attribute.field.cache_name, original)
        return None
    if _is_default_node_id(origin, field):
        return _node_id(model, original)
    return None


def _is_plain_method(field: StrawberryDjangoField) -> bool:
    """A sync resolver method that takes the row only (``self`` and/or ``root``)."""
    resolver = field.base_resolver
    assert resolver is not None
    return (
        callable(resolver.wrapped_func)  # else strawberry raises UncallableResolverError
        and not resolver.is_async
        and not field.is_async
        and not getattr(resolver.wrapped_func, "is_async_safe", False)
        and not resolver.arguments
        and resolver.info_parameter is None
        and resolver.parent_parameter is None
    )


def _method(resolver: StrawberryResolver[Any], original: Resolver) -> Resolver:
    """What strawberry-django's sync path does for such a method, minus the layers between."""
    function = cast("Callable[..., Any]", resolver.wrapped_func)
    pass_self = resolver.self_parameter is not None
    root_name = resolver.root_parameter.name if resolver.root_parameter else None

    def resolve(source: Any, info: GraphQLResolveInfo, **kwargs: Any) -> Any:
        if in_async_context():
            return original(source, info, **kwargs)
        args = (source,) if pass_self else ()
        result = function(*args, **{root_name: source}) if root_name else function(*args)
        return result() if callable(result) else result

    return resolve


# The fast paths below serve instances of the type's own model only: a subclass may redefine
# the attribute, and anything else keeps strawberry-django's full path.


def _column(model: type[models.Model], attname: str, original: Resolver) -> Resolver:
    def resolve(source: Any, info: GraphQLResolveInfo, **kwargs: Any) -> Any:
        if type(source) is model:
            try:
                return source.__dict__[attname]
            except KeyError:  # deferred: the original loads it
                pass
        return original(source, info, **kwargs)

    return resolve


def _forward_relation(model: type[models.Model], cache_name: str, original: Resolver) -> Resolver:
    def resolve(source: Any, info: GraphQLResolveInfo, **kwargs: Any) -> Any:
        if type(source) is model:
            try:
                return source._state.fields_cache[cache_name]
            except KeyError:  # not loaded: the original fetches it
                pass
        return original(source, info, **kwargs)

    return resolve


def _is_default_node_id(origin: type, field: StrawberryField) -> bool:
    return (
        field.python_name == "_id"
        and isinstance(origin, type)
        and issubclass(origin, Node)
        and origin._id_attr == "pk"
        and getattr(origin.resolve_id, "__func__", None) is resolve_model_id
        and getattr(origin.resolve_typename, "__func__", None)
        is vars(Node)["resolve_typename"].__func__
    )


def _node_id(model: type[models.Model], original: Resolver) -> Resolver:
    attname = model._meta.pk.attname

    def resolve(source: Any, info: GraphQLResolveInfo, **kwargs: Any) -> Any:
        if type(source) is model:
            try:
                pk = source.__dict__[attname]
            except KeyError:
                pass
            else:
                return GlobalID(info.parent_type.name, scoped_node_id(str(pk), id_namespace()))
        return original(source, info, **kwargs)

    return resolve
