"""Managing professionals, their hours and time off, and chairs."""

from __future__ import annotations

from typing import Any, cast

import strawberry
import strawberry_django
from strawberry import relay

from backend.resources import selectors, services
from backend.resources.permissions import ResourcePermission
from graphql_api.core.context import Info
from graphql_api.core.ids import decode_id
from graphql_api.core.permissions import clinic_permission
from graphql_api.resources.inputs import (
    CreateProfessionalInput,
    TimeOffInput,
    UpdateProfessionalInput,
    WorkingHoursInput,
)
from graphql_api.resources.types import Chair, Professional

MANAGE = ResourcePermission.MANAGE_RESOURCES


def _ranges(hours: list[WorkingHoursInput]) -> list[services.HoursRange]:
    return [services.HoursRange(h.weekday.value, h.start_time, h.end_time) for h in hours]


def _user_id(global_id: relay.GlobalID | None) -> int | None:
    return int(decode_id(global_id, "StaffUser", field="user_id")) if global_id else None


def _professional(global_id: relay.GlobalID):
    return selectors.professional_get(professional_id=decode_id(global_id, "Professional"))


def _chair(global_id: relay.GlobalID):
    return selectors.chair_get(chair_id=decode_id(global_id, "Chair"))


def _mutation(description: str) -> Any:
    return strawberry_django.mutation(
        handle_django_errors=True, extensions=clinic_permission(MANAGE), description=description
    )


@strawberry.type
class Mutation:
    @_mutation("Add a professional with their weekly hours.")
    def create_professional(self, info: Info, input: CreateProfessionalInput) -> Professional:
        return cast(
            Professional,
            services.professional_create(
                actor=info.context.require_user(),
                full_name=input.full_name,
                license_number=input.license_number,
                specialty=input.specialty,
                color=input.color,
                user_id=_user_id(input.user_id),
                working_hours=_ranges(input.working_hours),
            ),
        )

    @_mutation("Change a professional; workingHours, when given, replaces the week.")
    def update_professional(
        self, info: Info, id: relay.GlobalID, input: UpdateProfessionalInput
    ) -> Professional:
        data: dict[str, Any] = {}
        for field in ("full_name", "license_number", "specialty", "color"):
            if getattr(input, field) is not strawberry.UNSET:
                data[field] = getattr(input, field)
        if input.user_id is not strawberry.UNSET:
            data["user_id"] = _user_id(input.user_id)
        if input.working_hours is not strawberry.UNSET:
            data["working_hours"] = _ranges(input.working_hours or [])
        return cast(
            Professional,
            services.professional_update(
                actor=info.context.require_user(), professional=_professional(id), data=data
            ),
        )

    @_mutation("Deactivate a professional: no new bookings, the agenda is kept.")
    def deactivate_professional(self, info: Info, id: relay.GlobalID) -> Professional:
        return cast(
            Professional,
            services.professional_deactivate(
                actor=info.context.require_user(), professional=_professional(id)
            ),
        )

    @_mutation("Block a period of a professional's agenda.")
    def add_time_off(self, info: Info, input: TimeOffInput) -> Professional:
        professional = _professional(input.professional_id)
        services.time_off_add(
            actor=info.context.require_user(),
            professional=professional,
            starts_at=input.starts_at,
            ends_at=input.ends_at,
            reason=input.reason,
        )
        return professional

    @_mutation("Remove a time off.")
    def remove_time_off(self, info: Info, id: relay.GlobalID) -> Professional:
        time_off = selectors.time_off_get(time_off_id=decode_id(id, "TimeOff"))
        return cast(
            Professional,
            services.time_off_remove(actor=info.context.require_user(), time_off=time_off),
        )

    @_mutation("Add a chair.")
    def create_chair(self, info: Info, name: str) -> Chair:
        return cast(Chair, services.chair_create(actor=info.context.require_user(), name=name))

    @_mutation("Rename a chair.")
    def update_chair(self, info: Info, id: relay.GlobalID, name: str) -> Chair:
        return cast(
            Chair,
            services.chair_update(actor=info.context.require_user(), chair=_chair(id), name=name),
        )

    @_mutation("Deactivate a chair: no new bookings in it.")
    def deactivate_chair(self, info: Info, id: relay.GlobalID) -> Chair:
        return cast(
            Chair, services.chair_deactivate(actor=info.context.require_user(), chair=_chair(id))
        )
