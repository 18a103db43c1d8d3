"""Plan limits, counted inside the creating transaction under a lock on the clinic's row.

Clinic apps register what they count (``resource_register`` in their ``AppConfig.ready``);
``tenants_core`` never imports them. A service that creates a counted row calls
``limit_reserve(resource=...)`` before its insert, in the same transaction: the row lock on
the clinic serializes concurrent creations, so the count can never overshoot the limit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils.translation import gettext as _
from psycopg2 import sql

from tenants_core.errors import PlatformError
from tenants_core.models import Clinic


@dataclass(frozen=True)
class Resource:
    """Something a plan caps: rows of ``table`` (in each clinic schema) matching ``condition``,
    counted, or summed by ``aggregate`` (bytes of storage: ``sum(size_bytes)``)."""

    name: str
    table: str
    condition: str
    limit_attribute: str  # the Clinic property with the effective limit
    label: Any  # a lazily translated string
    aggregate: str = "count(*)"  # static SQL over the table's rows; an integer


_RESOURCES: dict[str, Resource] = {}


def resource_register(resource: Resource) -> None:
    _RESOURCES[resource.name] = resource


def resources() -> tuple[Resource, ...]:
    return tuple(_RESOURCES.values())


def _count_query(schema_name: str, resource: Resource) -> sql.Composed:
    return sql.SQL("SELECT {schema}, {name}, {aggregate} FROM {table} WHERE {condition}").format(
        schema=sql.Literal(schema_name),
        name=sql.Literal(resource.name),
        aggregate=sql.SQL(resource.aggregate),  # static text from the registering app
        table=sql.Identifier(schema_name, resource.table),
        condition=sql.SQL(resource.condition),  # static text from the registering app
    )


def usage_by_schema(schema_names: Iterable[str]) -> dict[str, dict[str, int]]:
    """Usage of every registered resource for many clinics, in one SQL statement."""
    schema_names = list(schema_names)
    usage = {schema: {r.name: 0 for r in resources()} for schema in schema_names}
    parts = [_count_query(schema, r) for schema in schema_names for r in resources()]
    if not parts:
        return usage
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL(" UNION ALL ").join(parts).as_string(cursor.connection))
        for schema, name, count in cursor.fetchall():
            usage[schema][name] = count
    return usage


def clinic_lock(clinic: Clinic) -> Clinic:
    """Lock the clinic's row until the transaction ends, and return it fresh.

    ``FOR NO KEY UPDATE``: it serialises every ``limit_reserve`` and platform change of the
    clinic (it conflicts with itself and with updates of the row) without blocking the
    key-share lock that inserting a row referencing the clinic takes (a domain, say).
    Services that reserve take it before any row of the clinic's schema, and hold no other
    lock while they wait for it."""
    return (
        Clinic.objects.select_for_update(of=("self",), no_key=True)
        .select_related("plan")
        .get(pk=clinic.pk)
    )


def limit_reserve(*, resource: str, adding: int = 1) -> None:
    """Refuse with ``PLAN_LIMIT_REACHED`` unless ``adding`` more of ``resource`` (rows, or
    bytes) fit in the current clinic's effective limit. Call it inside the creating
    transaction."""
    tenant = getattr(connection, "tenant", None)
    if not isinstance(tenant, Clinic) or tenant.is_public:
        raise RuntimeError("limit_reserve must run in a clinic's schema")
    counted = _RESOURCES[resource]
    clinic = clinic_lock(tenant)
    limit = getattr(clinic, counted.limit_attribute)
    used = usage_by_schema([clinic.schema_name])[clinic.schema_name][resource]
    if used + adding > limit:
        raise ValidationError(
            _("The %(plan)s plan allows %(limit)d %(what)s and the clinic has %(used)d.")
            % {
                "plan": clinic.plan.get_code_display(),
                "limit": limit,
                "what": counted.label,
                "used": used,
            },
            code=PlatformError.PLAN_LIMIT_REACHED,
            params=None,
        )
