"""Global IDs: minted with the clinic in them, decoded only by the clinic that minted them.

**The rule.** A global ID is ``base64("<Type>:<clinic>.<pk>")`` on a clinic's domain, where
``<clinic>`` is the clinic's key: the primary key of its row in the public schema (``Clinic.pk``).
``Patient`` 42 of the clinic whose key is 7 is ``base64("Patient:7.42")`` =
``UGF0aWVudDo3LjQy``. The key is fixed when the clinic is created and never changes after:
renaming the subdomain, adding a custom domain or restoring a backup into the same clinic keep
every ID; no other clinic ever gets the same key (PostgreSQL's sequences do not reuse values).
It is not a secret. On the public (platform) domain IDs have no clinic part:
``base64("<Type>:<pk>")``, one platform-wide namespace.

So the same row number in two clinics gives two IDs, and one normalized client cache (Apollo's,
Relay's) over several clinics never mistakes one clinic's patient for another's. IDs are opaque
to clients: they compare and send them back, never build them.

**Minting** happens in one place, for every field whose type is ``ID`` (``install_clinic_ids``,
run once on the built schema; the fast node ``id`` of ``fast_fields`` mints the same way): it
adds the key of the clinic whose schema the connection is on (the clinic the Host header chose:
the rows came from there). Resolvers keep returning ``GlobalID(<type>, str(pk))``.

**Decoding** is ``decode_id``: an ID minted by another clinic, or without the clinic part (the
old shape), names no row here and is answered exactly as an unknown row of this clinic
(``NOT_FOUND``, the same message): nothing tells the caller whether the row exists elsewhere.
Another type, or a node id that is not ``[<clinic>.]<pk>``, is ``NOT_FOUND`` as before. A value
that is not base64 of ``<Type>:<id>`` at all stays ``INVALID_ID`` (strawberry refuses it before
any resolver runs). Cursors are not IDs and keep their shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name
from graphql import (
    GraphQLID,
    GraphQLObjectType,
    GraphQLResolveInfo,
    default_field_resolver,
    get_named_type,
)
from strawberry import relay

from backend.core.error_codes import CommonError
from tenants_core.models import Clinic

Resolver = Callable[..., Any]

SEPARATOR = "."
_MAX_PK_DIGITS = 18  # a bigint's 19th digit may overflow: no such row, refused before the query
NO_ROW = "0"  # no table numbers a row 0: every lookup of it finds nothing


def id_namespace() -> str | None:
    """The key of the clinic whose schema the connection is on; None on the public schema.

    Fails (a bug: an INTERNAL_ERROR, never an ID without its clinic) when the connection is on
    a clinic's schema without its ``Clinic`` row (``schema_context`` by name)."""
    tenant = getattr(connection, "tenant", None)
    if getattr(tenant, "schema_name", None) == get_public_schema_name():
        return None
    if not isinstance(tenant, Clinic) or tenant.pk is None:
        raise RuntimeError("global IDs are minted and decoded in a clinic's or the public schema")
    return str(tenant.pk)


def scoped_node_id(node_id: str, namespace: str | None) -> str:
    """The node id as it goes on the wire: ``<clinic>.<pk>`` (or ``<pk>`` on the public domain)."""
    return node_id if namespace is None else f"{namespace}{SEPARATOR}{node_id}"


def _not_found(field: str) -> ValidationError:
    return ValidationError(
        {field: ValidationError(_("Nothing was found with this ID."), code=CommonError.NOT_FOUND)}
    )


def decode_id(global_id: relay.GlobalID, type_name: str, *, field: str = "id") -> str:
    """The primary key inside ``global_id`` (see the module's docstring for the shape).

    Another type, or a node id that is not ``<clinic>.<pk>`` at all: ``NOT_FOUND`` here. An ID
    of another clinic, or of the old shape without a clinic, names no row of this clinic: it
    decodes to ``NO_ROW``, which the selector that loads it answers exactly as it answers an
    unknown row of this clinic (``NOT_FOUND``, the same message and field). Nothing tells the
    caller whether the row exists in the other clinic.
    """
    if global_id.type_name != type_name:
        raise _not_found(field)
    namespace = id_namespace()
    clinic, separator, node_id = global_id.node_id.rpartition(SEPARATOR)
    if not (node_id.isascii() and node_id.isdigit()) or len(node_id) > _MAX_PK_DIGITS:
        raise _not_found(field)
    if (clinic if separator else None) != namespace:
        return NO_ROW
    return node_id


def _scoped(value: Any, namespace: str | None) -> Any:
    if isinstance(value, relay.GlobalID):
        return relay.GlobalID(value.type_name, scoped_node_id(value.node_id, namespace))
    if isinstance(value, list):
        return [_scoped(item, namespace) for item in value]
    return value  # None, or a plain ID that is not a global one


def _minting(original: Resolver) -> Resolver:
    def resolve(source: Any, info: GraphQLResolveInfo, **kwargs: Any) -> Any:
        value = original(source, info, **kwargs)
        if value is None or isinstance(value, str):
            return value
        return _scoped(value, id_namespace())

    # Tracing extensions skip default resolvers: keep telling them which these are.
    resolve._is_default = getattr(original, "_is_default", False)  # type: ignore[attr-defined]  # graphql-core: a mark on the function
    return resolve


def install_clinic_ids(schema: strawberry.Schema) -> list[str]:
    """Make every field that answers an ``ID`` mint it with the clinic's key; return which
    (``Type.field``). Run once on the built schema, before ``install_fast_fields`` (whose node
    ``id`` mints the same way, falling back to this resolver). The SDL does not change.

    GraphQL's ``ID`` scalar cannot be replaced (graphql-core reserves the name), so the IDs are
    scoped as they leave their resolver: one wrapper per field, from one function.
    """
    wrapped: list[str] = []
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type.name.startswith("__"):
            continue
        for name, field in graphql_type.fields.items():
            if get_named_type(field.type) is not GraphQLID:
                continue
            field.resolve = _minting(field.resolve or default_field_resolver)
            wrapped.append(f"{graphql_type.name}.{name}")
    return wrapped
