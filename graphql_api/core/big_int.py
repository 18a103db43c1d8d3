"""``BigInt``: whole numbers past GraphQL's ``Int`` (32 bits), up to PostgreSQL's ``bigint``.

GraphQL's ``Int`` stops at 2^31 - 1: a ``BigIntegerField`` exposed as ``int`` (a backup's size
in bytes) fails once it passes 2 GiB. ``BigInt`` holds every ``bigint`` and is sent as a JSON
number, so a client reads it as it reads an ``Int``. Annotate a field with ``BigInt``; the schema
maps it to the scalar through ``StrawberryConfig(scalar_map=SCALAR_MAP)``."""

from __future__ import annotations

from typing import NewType, TypeGuard

import strawberry
from django.utils.translation import gettext as _
from strawberry.types.scalar import ScalarDefinition

MIN = -(2**63)
MAX = 2**63 - 1


def _whole(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and MIN <= value <= MAX


def _serialize(value: object) -> int:
    if not _whole(value):
        # A bug of ours (a value no bigint column holds): an INTERNAL_ERROR, logged in full.
        raise ValueError(f"BigInt cannot represent {value!r}")
    return value


def _parse_value(value: object) -> int:
    if not _whole(value):
        raise ValueError(_("A BigInt is a whole number from -2^63 to 2^63 - 1."))
    return value


BigInt = NewType("BigInt", int)

SCALAR_MAP: dict[object, ScalarDefinition] = {
    BigInt: strawberry.scalar(
        name="BigInt",
        description=(
            "A whole number from -2^63 to 2^63 - 1 (a 64-bit signed integer), sent as a JSON "
            "number. JavaScript's Number is exact only up to 2^53 - 1 (8 PiB of bytes): read "
            "larger values with a JSON parser that keeps big integers."
        ),
        serialize=_serialize,
        parse_value=_parse_value,
    )
}
