"""Booking and moving appointments."""

from __future__ import annotations

from typing import Annotated, cast

import strawberry
import strawberry_django
from strawberry import relay

from backend.patients import selectors as patient_selectors
from backend.resources import selectors as resource_selectors
from backend.scheduling import selectors, services
from backend.scheduling.permissions import SchedulingPermission
from graphql_api.core.context import Info
from graphql_api.core.ids import decode_id
from graphql_api.core.permissions import clinic_permission
from graphql_api.scheduling.inputs import RescheduleAppointmentInput, ScheduleAppointmentInput
from graphql_api.scheduling.types import Appointment, AppointmentStatus

MANAGE = SchedulingPermission.MANAGE_AGENDA
OWN_STATUS = SchedulingPermission.CHANGE_OWN_APPOINTMENT_STATUS


def _appointment(info: Info, global_id: relay.GlobalID):
    return selectors.appointment_get(
        actor=info.context.require_user(), appointment_id=decode_id(global_id, "Appointment")
    )


def _professional(global_id: relay.GlobalID | None, field: str = "professional_id"):
    if global_id is None:
        return None
    return resource_selectors.professional_get(
        professional_id=decode_id(global_id, "Professional", field=field)
    )


def _chair(global_id: relay.GlobalID | None):
    if global_id is None:
        return None
    return resource_selectors.chair_get(chair_id=decode_id(global_id, "Chair", field="chair_id"))


@strawberry.type
class Mutation:
    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(MANAGE),
        description="Book an appointment. Refused with APPOINTMENT_OVERLAP, "
        "OUTSIDE_WORKING_HOURS or IN_THE_PAST.",
    )
    def schedule_appointment(self, info: Info, input: ScheduleAppointmentInput) -> Appointment:
        return cast(
            "Appointment",
            services.appointment_schedule(
                actor=info.context.require_user(),
                patient=patient_selectors.patient_get(
                    patient_id=decode_id(input.patient_id, "Patient", field="patient_id")
                ),
                professional=_professional(input.professional_id),
                chair=_chair(input.chair_id),
                starts_at=input.starts_at,
                ends_at=input.ends_at,
                reason=input.reason,
                notes=input.notes,
            ),
        )

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(MANAGE),
        description="Move a scheduled or confirmed appointment (it must be confirmed again).",
    )
    def reschedule_appointment(
        self, info: Info, id: relay.GlobalID, input: RescheduleAppointmentInput
    ) -> Appointment:
        return cast(
            "Appointment",
            services.appointment_reschedule(
                actor=info.context.require_user(),
                appointment=_appointment(info, id),
                starts_at=input.starts_at,
                ends_at=input.ends_at,
                professional=_professional(input.professional_id),
                chair=_chair(input.chair_id),
            ),
        )

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(MANAGE, OWN_STATUS),
        description="Move an appointment along its lifecycle. Dentists may change only their "
        "own appointments. Cancelling needs a reason.",
    )
    def change_appointment_status(
        self,
        info: Info,
        id: relay.GlobalID,
        status: Annotated[AppointmentStatus, strawberry.argument(description="The new status.")],
        reason: Annotated[
            str, strawberry.argument(description="Why; required to cancel, else optional.")
        ] = "",
    ) -> Appointment:
        return cast(
            "Appointment",
            services.appointment_change_status(
                actor=info.context.require_user(),
                appointment=_appointment(info, id),
                status=status.value,
                reason=reason,
            ),
        )

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(MANAGE),
        description="Cancel an appointment; its slot is free again at once.",
    )
    def cancel_appointment(
        self,
        info: Info,
        id: relay.GlobalID,
        reason: Annotated[str, strawberry.argument(description="Why it is cancelled.")],
    ) -> Appointment:
        return cast(
            "Appointment",
            services.appointment_cancel(
                actor=info.context.require_user(), appointment=_appointment(info, id), reason=reason
            ),
        )
