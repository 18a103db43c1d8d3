"""The agenda and the free slots."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Annotated, cast

import strawberry
import strawberry_django
from strawberry import relay

from backend.scheduling import selectors
from backend.scheduling.models import Appointment as AppointmentModel
from backend.scheduling.permissions import SchedulingPermission
from graphql_api.core.context import Info
from graphql_api.core.ids import decode_id
from graphql_api.core.pagination import ListConnection
from graphql_api.core.permissions import clinic_permission
from graphql_api.scheduling.types import Appointment, AppointmentStatus, Slot

VIEW = SchedulingPermission.VIEW_AGENDA


def _pk(global_id: relay.GlobalID | None, type_name: str, field: str) -> int | None:
    return int(decode_id(global_id, type_name, field=field)) if global_id else None


@strawberry.type
class Query:
    @strawberry_django.field(
        extensions=clinic_permission(VIEW), description="One appointment, whatever its status."
    )
    def appointment(self, info: Info, id: relay.GlobalID) -> Appointment:
        return cast(
            "Appointment",
            selectors.appointment_get(
                actor=info.context.require_user(), appointment_id=decode_id(id, "Appointment")
            ),
        )

    @strawberry_django.connection(
        ListConnection[Appointment],
        extensions=clinic_permission(VIEW),
        description="The agenda: appointments that overlap [from, to), in time order.",
    )
    def appointments(
        self,
        info: Info,
        from_: Annotated[
            dt.datetime | None,
            strawberry.argument(name="from", description="Start of the range, with its offset."),
        ] = None,
        to: Annotated[
            dt.datetime | None, strawberry.argument(description="End (exclusive), with its offset.")
        ] = None,
        professional_id: Annotated[
            relay.GlobalID | None, strawberry.argument(description="Only this professional's.")
        ] = None,
        chair_id: Annotated[
            relay.GlobalID | None, strawberry.argument(description="Only this chair's.")
        ] = None,
        patient_id: Annotated[
            relay.GlobalID | None, strawberry.argument(description="Only this patient's.")
        ] = None,
        status: Annotated[
            list[AppointmentStatus] | None,
            strawberry.argument(description="Only these statuses (default: all)."),
        ] = None,
    ) -> Iterable[AppointmentModel]:
        return selectors.appointment_list(
            actor=info.context.require_user(),
            since=from_,
            until=to,
            professional_id=_pk(professional_id, "Professional", "professional_id"),
            chair_id=_pk(chair_id, "Chair", "chair_id"),
            patient_id=_pk(patient_id, "Patient", "patient_id"),
            statuses=[s.value for s in status] if status else None,
        )

    @strawberry.field(
        extensions=clinic_permission(VIEW),
        description="Free slots of `durationMinutes` (default: the clinic's appointment length) "
        "on a local `date`, every 15 minutes, in the professional's hours and the clinic's "
        "opening hours, never on a closure, around appointments (of the chair too, if given) "
        "and time off, never in the past.",
    )
    def availability(
        self,
        info: Info,
        professional_id: Annotated[
            relay.GlobalID, strawberry.argument(description="Whose agenda.")
        ],
        date: Annotated[dt.date, strawberry.argument(description="A day, in the clinic's zone.")],
        duration_minutes: Annotated[
            int | None, strawberry.argument(description="Minutes (default: the clinic's).")
        ] = None,
        chair_id: Annotated[
            relay.GlobalID | None, strawberry.argument(description="Also free in this chair.")
        ] = None,
    ) -> list[Slot]:
        slots = selectors.free_slot_list(
            actor=info.context.require_user(),
            professional_id=decode_id(professional_id, "Professional", field="professional_id"),
            date=date,
            duration_minutes=duration_minutes,
            chair_id=_pk(chair_id, "Chair", "chair_id"),
        )
        return [Slot(starts_at=start, ends_at=end) for start, end in slots]
