"""Reading the catalog and treatment plans."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import strawberry
import strawberry_django
from strawberry import relay

from backend.patients import selectors as patient_selectors
from backend.treatments import models, selectors
from backend.treatments.permissions import TreatmentPermission
from graphql_api.core.context import Info
from graphql_api.core.ids import decode_id
from graphql_api.core.pagination import ListConnection
from graphql_api.core.permissions import clinic_permission
from graphql_api.treatments.types import PlanStatus, Procedure, TreatmentPlan

SUMMARY = TreatmentPermission.VIEW_PLAN_SUMMARY


@strawberry.type
class Query:
    @strawberry_django.connection(
        ListConnection[Procedure],
        extensions=clinic_permission(TreatmentPermission.VIEW_CATALOG),
        description="The procedure catalog; `search` matches names (accents ignored) and codes.",
    )
    def procedures(
        self, info: Info, active_only: bool = True, search: str | None = None
    ) -> Iterable[models.Procedure]:
        return selectors.procedure_list(active_only=active_only, search=search)

    @strawberry_django.field(
        extensions=clinic_permission(SUMMARY), description="One treatment plan, with its items."
    )
    def treatment_plan(self, info: Info, id: relay.GlobalID) -> TreatmentPlan:
        return cast(
            "TreatmentPlan",
            selectors.plan_get(
                actor=info.context.require_user(), plan_id=decode_id(id, "TreatmentPlan")
            ),
        )

    @strawberry_django.connection(
        ListConnection[TreatmentPlan],
        extensions=clinic_permission(SUMMARY),
        description="Treatment plans, newest first, by patient and status.",
    )
    def treatment_plans(
        self,
        info: Info,
        patient_id: relay.GlobalID | None = None,
        status: list[PlanStatus] | None = None,
    ) -> Iterable[models.TreatmentPlan]:
        patient = (
            patient_selectors.patient_get(
                patient_id=decode_id(patient_id, "Patient", field="patient_id")
            )
            if patient_id
            else None
        )
        return selectors.plan_list(
            actor=info.context.require_user(),
            patient_id=patient.pk if patient else None,
            statuses=[s.value for s in status] if status else None,
        )
