"""Global IDs as the API mints them, for tests: ``global_id("Patient", pk)`` is the ID clinica1
answers for its patient ``pk`` (``base64("Patient:<clinic pk>.<pk>")``, see
``graphql_api/core/ids.py``). Tests build IDs only through here."""

from __future__ import annotations

import functools

from django.db import connection
from strawberry.relay import from_base64, to_base64

from graphql_api.core.ids import SEPARATOR, scoped_node_id
from tenants_core.models import Clinic

SEEDED = ("clinica1", "clinica2", "cerrada")  # tests/conftest.py SEED_CLINICS


def _key_of(subdomain: str) -> str:
    return str(
        Clinic.objects.using(connection.alias).values_list("pk", flat=True).get(subdomain=subdomain)
    )


_seeded_key = functools.lru_cache(maxsize=None)(_key_of)  # seeded clinics live all session


def clinic_key(clinic: Clinic | str) -> str:
    """The clinic part of the IDs that ``clinic`` (a row or its subdomain) mints."""
    if isinstance(clinic, Clinic):
        return str(clinic.pk)
    return _seeded_key(clinic) if clinic in SEEDED else _key_of(clinic)


def global_id(type_name: str, pk: object, clinic: Clinic | str | None = "clinica1") -> str:
    """The ID of row ``pk`` of ``type_name`` in ``clinic`` (None: the public domain's)."""
    namespace = None if clinic is None else clinic_key(clinic)
    return to_base64(type_name, scoped_node_id(str(pk), namespace))


def pk_of(value: str) -> str:
    """The row's pk inside an ID the API answered (whichever clinic minted it)."""
    node_id = from_base64(value)[1]
    return node_id.rpartition(SEPARATOR)[2]


def type_of(value: str) -> str:
    return from_base64(value)[0]


def sibling_id(value: str, pk: object) -> str:
    """An ID of the same type and clinic as ``value`` (an ID the API answered), for row ``pk``."""
    type_name, node_id = from_base64(value)
    clinic, separator, _ = node_id.rpartition(SEPARATOR)
    return to_base64(type_name, scoped_node_id(str(pk), clinic if separator else None))
