"""The clinic's admins change its profile, opening hours and closures."""

from __future__ import annotations

from typing import Any, cast

import strawberry
import strawberry_django
from strawberry import relay

from backend.accounts.permissions import StaffPermission
from backend.clinic_admin import selectors, services
from graphql_api.clinic_admin.inputs import (
    ClinicClosureInput,
    SetOpeningHoursInput,
    UpdateClinicProfileInput,
)
from graphql_api.clinic_admin.types import ClinicClosure
from graphql_api.clinic_settings.types import Clinic
from graphql_api.core.context import Info
from graphql_api.core.ids import decode_id
from graphql_api.core.permissions import clinic_permission

# A null clears a text field; a null name, zone, currency or length is refused (coded), as
# "" is: never silently skipped.
_PROFILE_INPUT_FIELDS = ("name", "timezone", *sorted(services.PROFILE_FIELDS))


def _mutation(description: str) -> Any:
    return strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(StaffPermission.MANAGE_SETTINGS),
        description=description,
    )


@strawberry.type
class Mutation:
    @_mutation(
        "Change the clinic's profile, trade name or time zone: only the fields given change."
    )
    def update_clinic_profile(self, info: Info, input: UpdateClinicProfileInput) -> Clinic:
        data: dict[str, Any] = {}
        for field in _PROFILE_INPUT_FIELDS:
            value = getattr(input, field)
            if value is strawberry.UNSET:
                continue
            if value is None and field != "default_appointment_minutes":
                value = ""
            data[field] = value
        return cast(
            Clinic,
            services.clinic_profile_update(
                actor=info.context.require_user(), clinic=info.context.tenant, data=data
            ),
        )

    @_mutation("Replace the clinic's weekly opening hours (an empty list: no clinic hours).")
    def set_opening_hours(self, info: Info, input: SetOpeningHoursInput) -> Clinic:
        services.opening_hours_set(
            actor=info.context.require_user(),
            shifts=[
                services.Shift(s.weekday.value + 1, s.opens_at, s.closes_at) for s in input.shifts
            ],
        )
        return cast(Clinic, info.context.tenant)

    @_mutation("Close the clinic on some days (a holiday): nothing can be booked then.")
    def add_clinic_closure(self, info: Info, input: ClinicClosureInput) -> ClinicClosure:
        return cast(
            ClinicClosure,
            services.clinic_closure_add(
                actor=info.context.require_user(),
                starts_on=input.starts_on,
                ends_on=input.ends_on,
                reason=input.reason,
            ),
        )

    @_mutation("Remove a closure: the clinic opens on those days again.")
    def remove_clinic_closure(self, info: Info, id: relay.GlobalID) -> Clinic:
        closure = selectors.clinic_closure_get(closure_id=decode_id(id, "ClinicClosure"))
        services.clinic_closure_remove(actor=info.context.require_user(), closure=closure)
        return cast(Clinic, info.context.tenant)
