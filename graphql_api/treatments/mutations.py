"""Managing the catalog and treatment plans."""

from __future__ import annotations

from typing import Any, cast

import strawberry
import strawberry_django
from strawberry import relay

from backend.patients import selectors as patient_selectors
from backend.resources import selectors as resource_selectors
from backend.scheduling import selectors as scheduling_selectors
from backend.treatments import catalog, selectors, services
from backend.treatments.permissions import TreatmentPermission
from graphql_api.core.context import Info
from graphql_api.core.ids import decode_id
from graphql_api.core.inputs import input_data
from graphql_api.core.permissions import clinic_permission
from graphql_api.treatments.inputs import (
    CompleteItemInput,
    PlanItemInput,
    ProcedureInput,
    TreatmentPlanInput,
    UpdateProcedureInput,
)
from graphql_api.treatments.types import PlanStatus, Procedure, TreatmentPlan, TreatmentPlanItem

CATALOG = TreatmentPermission.MANAGE_CATALOG
PLANS = TreatmentPermission.MANAGE_PLANS


def _mutation(permission: TreatmentPermission, description: str) -> Any:
    return strawberry_django.mutation(
        handle_django_errors=True, extensions=clinic_permission(permission), description=description
    )


def _procedure(global_id: relay.GlobalID, field: str = "id"):
    return selectors.procedure_get(procedure_id=decode_id(global_id, "Procedure", field=field))


def _plan(info: Info, global_id: relay.GlobalID, field: str = "id"):
    return selectors.plan_get(
        actor=info.context.require_user(),
        plan_id=decode_id(global_id, "TreatmentPlan", field=field),
    )


def _item(info: Info, global_id: relay.GlobalID):
    return selectors.item_get(
        actor=info.context.require_user(),
        item_id=decode_id(global_id, "TreatmentPlanItem"),
    )


@strawberry.type
class Mutation:
    @_mutation(CATALOG, "Add a procedure to the catalog.")
    def create_procedure(self, info: Info, input: ProcedureInput) -> Procedure:
        return cast(
            Procedure,
            catalog.procedure_create(actor=info.context.require_user(), data=input_data(input)),
        )

    @_mutation(CATALOG, "Change a procedure of the catalog.")
    def update_procedure(
        self, info: Info, id: relay.GlobalID, input: UpdateProcedureInput
    ) -> Procedure:
        return cast(
            Procedure,
            catalog.procedure_update(
                actor=info.context.require_user(), procedure=_procedure(id), data=input_data(input)
            ),
        )

    @_mutation(CATALOG, "Take a procedure out of the catalog (plans keep it).")
    def deactivate_procedure(self, info: Info, id: relay.GlobalID) -> Procedure:
        return cast(
            Procedure,
            catalog.procedure_deactivate(
                actor=info.context.require_user(), procedure=_procedure(id)
            ),
        )

    @_mutation(PLANS, "Start a draft treatment plan for a patient.")
    def create_treatment_plan(self, info: Info, input: TreatmentPlanInput) -> TreatmentPlan:
        return cast(
            TreatmentPlan,
            services.plan_create(
                actor=info.context.require_user(),
                patient=patient_selectors.patient_get(
                    patient_id=decode_id(input.patient_id, "Patient", field="patient_id")
                ),
                dentist=resource_selectors.professional_get(
                    professional_id=decode_id(input.dentist_id, "Professional", field="dentist_id")
                ),
                title=input.title,
            ),
        )

    @_mutation(PLANS, "Add an item to a draft plan.")
    def add_treatment_plan_item(
        self, info: Info, plan_id: relay.GlobalID, input: PlanItemInput
    ) -> TreatmentPlanItem:
        return cast(
            "TreatmentPlanItem",
            services.plan_item_add(
                actor=info.context.require_user(),
                plan=_plan(info, plan_id, "plan_id"),
                procedure=_procedure(input.procedure_id, "procedure_id"),
                tooth=input.tooth,
                surfaces=input.surfaces,
                price=input.price,
                discount=input.discount,
                discount_percent=input.discount_percent,
                phase=input.phase,
                sequence=input.sequence,
            ),
        )

    @_mutation(PLANS, "Cancel a planned item.")
    def cancel_treatment_plan_item(self, info: Info, id: relay.GlobalID) -> TreatmentPlanItem:
        return cast(
            "TreatmentPlanItem",
            services.plan_item_cancel(actor=info.context.require_user(), item=_item(info, id)),
        )

    @_mutation(PLANS, "Present, accept, reject or reopen a plan.")
    def change_treatment_plan_status(
        self,
        info: Info,
        id: relay.GlobalID,
        status: PlanStatus,
    ) -> TreatmentPlan:
        return cast(
            "TreatmentPlan",
            services.plan_change_status(
                actor=info.context.require_user(), plan=_plan(info, id), status=status.value
            ),
        )

    @_mutation(PLANS, "Mark an item done: records the performed procedure and updates the chart.")
    def complete_treatment_plan_item(
        self, info: Info, id: relay.GlobalID, input: CompleteItemInput | None = None
    ) -> TreatmentPlanItem:
        actor = info.context.require_user()
        item = _item(info, id)
        appointment = None
        if input and input.appointment_id:
            appointment = scheduling_selectors.appointment_get(
                actor=actor,
                appointment_id=decode_id(
                    input.appointment_id, "Appointment", field="appointment_id"
                ),
            )
        services.plan_item_complete(
            actor=actor,
            item=item,
            appointment=appointment,
            performed_at=input.performed_at if input else None,
        )
        return cast("TreatmentPlanItem", selectors.item_get(actor=actor, item_id=item.pk))
