"""``DateTime`` on the wire: one rule, for every field, in one serializer.

**Output.** ISO 8601 with the UTC offset, in the time zone of the clinic whose schema the
connection is on (the clinic the Host header chose; ``Clinic.timezone``, America/Lima unless the
clinic set another), to the second: ``2026-11-30T14:00:00-05:00``. Never microseconds, never
``Z``, never naive. On the public (platform) domain the zone is the platform's, America/Lima
(``DEFAULT_CLINIC_TIMEZONE``), as the operators' console shows it: the platform's days are Lima's
days (``platformMetrics``), so its times are too. The offset makes every value an exact instant
whatever the zone; the zone makes it readable as is (an agenda's 14:00 is the clinic's 14:00).
Seconds are truncated, not rounded: an instant is never shown later than it was (a token
shown to expire at 15:08:55 expires at 15:08:55.13).

**Input** is unchanged (strawberry's parser, ``dateutil.parser.isoparse``): ISO 8601 with any
offset or ``Z`` (``2026-11-30T19:00:00Z`` and ``2026-11-30T14:00:00-05:00`` are the same
instant), fractions of a second allowed. A value without an offset is refused where it would be
ambiguous (booking and rescheduling answer ``INVALID_TIME_RANGE``); filters (``from``/``to``,
``at``) read it as UTC. Clients should always send the offset.

The scalar's description in the schema says the same, for GraphiQL and codegen.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from strawberry.schema.types.base_scalars import DateTimeDefinition
from strawberry.types.scalar import ScalarDefinition

from tenants_core.context import current_timezone


def serialize_datetime(value: object) -> str:
    """``value`` as the client gets it (see the module's docstring)."""
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        # A bug of ours (a naive or non-datetime value): an INTERNAL_ERROR, logged in full.
        raise ValueError(f"DateTime cannot represent {value!r}: an aware datetime is required")
    return value.astimezone(current_timezone()).replace(microsecond=0).isoformat()


DATETIME_SCALAR: ScalarDefinition = dataclasses.replace(
    DateTimeDefinition,
    description=(
        "An instant, ISO 8601 with its UTC offset. Answers are in the clinic's time zone (on "
        "the platform's domain, America/Lima), to the second: 2026-11-30T14:00:00-05:00. "
        "Send an offset or Z: a booking refuses a time without one, a filter reads it as UTC."
    ),
    serialize=serialize_datetime,
)
