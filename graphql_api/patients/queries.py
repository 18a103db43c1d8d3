"""Finding patients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, cast

import strawberry
import strawberry_django
from strawberry import relay

from backend.patients import selectors
from backend.patients.models import Patient as PatientModel
from backend.patients.permissions import PatientPermission
from graphql_api.core.context import Info
from graphql_api.core.ids import decode_id
from graphql_api.core.pagination import ListConnection
from graphql_api.core.permissions import clinic_permission
from graphql_api.patients.types import Patient, PatientOrder


@strawberry.type
class Query:
    @strawberry_django.field(
        extensions=clinic_permission(PatientPermission.VIEW_PATIENTS),
        description="One patient, archived or not.",
    )
    def patient(self, info: Info, id: relay.GlobalID) -> Patient:
        return cast(Patient, selectors.patient_get(patient_id=decode_id(id, "Patient")))

    @strawberry_django.connection(
        ListConnection[Patient],
        extensions=clinic_permission(PatientPermission.VIEW_PATIENTS),
        description="Patients. `search` ignores accents and case and matches parts of the "
        'names and the document: "jose per" finds "José Pérez".',
    )
    def patients(
        self,
        info: Info,
        search: Annotated[
            str | None, strawberry.argument(description="Words of the names or the document.")
        ] = None,
        include_archived: Annotated[
            bool, strawberry.argument(description="Archived patients too (default: not).")
        ] = False,
        order_by: Annotated[
            PatientOrder, strawberry.argument(description="Default: by last name.")
        ] = PatientOrder.LAST_NAME,
    ) -> Iterable[PatientModel]:
        return selectors.patient_list(
            search=search, include_archived=include_archived, order_by=order_by.value
        )
