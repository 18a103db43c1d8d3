"""The hand-written references for the patient search and the patient chart (mounted only by
the benchmark's URLconf, ``benchmarks/urls.py``), next to the GraphQL queries they answer:

- ``/bench/patients/django?search=…&first=…`` answers ``PATIENT_SEARCH``;
- ``/bench/chart/django?id=<patient's global ID>`` answers ``PATIENT_CHART``: the patient, the
  anamnesis, the odontogram and the treatment plans with their items.

Each answers byte for byte what the GraphQL query answers, as a Django engineer would write it
for speed: the ORM through the domain's selectors (the same scoping, filters and ordering),
``only`` and ``select_related``/``prefetch_related``, the page and its total in one statement.
They refuse what the GraphQL fields refuse (``views.refusal``): a clinic's domain, a live
token of that clinic, a role holding every field's permission.
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Window
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from strawberry.relay import GlobalID, GlobalIDValueError, to_base64

from backend.accounts.middleware import request_token
from backend.clinical import selectors as clinical_selectors
from backend.clinical.models import Condition, FindingCondition, FindingState
from backend.clinical.permissions import ClinicalPermission
from backend.core.responses import json_error
from backend.patients import selectors as patient_selectors
from backend.patients.models import Patient
from backend.patients.permissions import PatientPermission
from backend.treatments import selectors as treatment_selectors
from backend.treatments.models import ItemStatus, PlanStatus, TreatmentPlanItem
from backend.treatments.permissions import TreatmentPermission
from benchmarks.views import json_body, page_size, refusal
from graphql_api.core.datetimes import serialize_datetime
from graphql_api.core.ids import decode_id, id_namespace, scoped_node_id

PATIENT_SEARCH = """
query PatientSearch($search: String!, $first: Int!) {
  patients(search: $search, first: $first) {
    totalCount edges { node { id fullName documentNumber hasAlerts } }
  }
}
"""
# The chart: who the patient is, the anamnesis, the odontogram and the treatment plans.
CHART_PLANS = 10  # treatmentPlans(first: 10) below
PATIENT_CHART = """
query PatientChart($id: ID!) {
  patient(id: $id) { id fullName allergies medicalAlerts hasAlerts }
  medicalHistory(patientId: $id) { version conditions medications recordedAt }
  odontogram(patientId: $id) { teeth { tooth findings { condition state surfaces } } }
  treatmentPlans(patientId: $id, first: 10) {
    totalCount
    edges { node {
      id title status createdAt totals { net remaining }
      items { id procedure { name } tooth surfaces price discount status }
    } }
  }
}
"""
# What the chart's fields need, every one: patient, medicalHistory and odontogram,
# treatmentPlans, and the plans' items (clinical.view again).
CHART_PERMISSIONS = (
    PatientPermission.VIEW_PATIENTS,
    ClinicalPermission.VIEW_CLINICAL,
    TreatmentPermission.VIEW_PLAN_SUMMARY,
)


def _node_id(type_name: str, pk: int, namespace: str | None) -> str:
    return to_base64(type_name, scoped_node_id(str(pk), namespace))


def _bad_page() -> HttpResponse:
    return json_error(400, "BAD_REQUEST", _("Send “first” between 0 and the page limit."))


@require_GET
def patients_django(request: HttpRequest) -> HttpResponse:
    """The patient search through the ORM: one statement (page and total)."""
    refused = refusal(request, PatientPermission.VIEW_PATIENTS)
    if refused is not None:
        return refused
    first = page_size(request)
    if first is None:
        return _bad_page()
    search = request.GET.get("search") or None
    matching = patient_selectors.patient_list(search=search)
    page = list(
        matching.only(
            "id",
            "first_name",
            "last_name",
            "document_number",
            "allergies",
            "medical_alerts",
            "front_desk_alert",
        ).annotate(total_count=Window(Count("id")))[:first]
    )
    # As the agenda's view: the window counts every match before LIMIT; only an empty page
    # asked for none needs a count of its own.
    if page:
        total = page[0].total_count
    elif first == 0:
        total = matching.count()
    else:
        total = 0
    namespace = id_namespace()
    edges = [
        {
            "node": {
                "id": _node_id("Patient", patient.pk, namespace),
                "fullName": patient.full_name,
                "documentNumber": patient.document_number,
                "hasAlerts": patient.has_alerts,
            }
        }
        for patient in page
    ]
    return json_body({"data": {"patients": {"totalCount": total, "edges": edges}}})


def _patient_pk(raw: str) -> int | HttpResponse:
    """The patient's key from its global ID, read by the API's one rule (``decode_id``: an
    ID of another clinic names no row here), or the refusal the GraphQL fields give."""
    try:
        return int(decode_id(GlobalID.from_id(raw), "Patient"))
    except GlobalIDValueError:
        return json_error(400, "INVALID_ID", _("This is not a valid ID."))
    except ValidationError:
        return json_error(404, "NOT_FOUND", _("No such patient."))


@require_GET
def chart_django(request: HttpRequest) -> HttpResponse:
    """The patient chart through the ORM: the patient, the current anamnesis, the findings,
    and the plans with their total (one statement) and their items with their procedures
    (one more): five statements."""
    refused = refusal(request, *CHART_PERMISSIONS)
    if refused is not None:
        return refused
    pk = _patient_pk(request.GET.get("id", ""))
    if isinstance(pk, HttpResponse):
        return pk
    token = request_token(request)
    assert token is not None  # refusal() refused the request otherwise
    actor = token.user
    patient = (
        Patient.objects.only(
            "id", "first_name", "last_name", "allergies", "medical_alerts", "front_desk_alert"
        )
        .filter(pk=pk)
        .first()
    )
    if patient is None:
        return json_error(404, "NOT_FOUND", _("No such patient."))
    history = (
        clinical_selectors.medical_history_versions(actor=actor, patient_id=pk)
        .only("version", "conditions", "medications", "recorded_at")
        .first()
    )
    findings = clinical_selectors.odontogram_findings(actor=actor, patient_id=pk).only(
        "tooth", "condition", "state", "surfaces"
    )
    items = TreatmentPlanItem.objects.select_related("procedure").only(
        "id",
        "plan_id",
        "procedure__name",
        "tooth",
        "surfaces",
        "price",
        "discount",
        "status",
    )
    plans = list(
        treatment_selectors.plan_list(actor=actor, patient_id=pk)
        .only("id", "title", "status", "created_at")
        .annotate(total_count=Window(Count("id")))
        .prefetch_related(Prefetch("items", queryset=items))[:CHART_PLANS]
    )
    health = patient_selectors.reads_health_data(actor=actor)
    namespace = id_namespace()
    body: dict[str, Any] = {
        "patient": {
            "id": _node_id("Patient", patient.pk, namespace),
            "fullName": patient.full_name,
            "allergies": patient.allergies if health else None,
            "medicalAlerts": patient.medical_alerts if health else None,
            "hasAlerts": patient.has_alerts,
        },
        "medicalHistory": None
        if history is None
        else {
            "version": history.version,
            "conditions": [Condition(code).name for code in history.conditions],
            "medications": history.medications,
            "recordedAt": serialize_datetime(history.recorded_at),
        },
        "odontogram": {
            "teeth": [
                {
                    "tooth": tooth,
                    "findings": [
                        {
                            "condition": FindingCondition(finding.condition).name,
                            "state": FindingState(finding.state).name,
                            "surfaces": finding.surfaces,
                        }
                        for finding in group
                    ],
                }
                for tooth, group in groupby(findings, key=lambda finding: finding.tooth)
            ]
        },
        "treatmentPlans": {
            "totalCount": plans[0].total_count if plans else 0,
            "edges": [{"node": _plan(plan, namespace)} for plan in plans],
        },
    }
    return json_body({"data": body})


def _plan(plan: Any, namespace: str | None) -> dict[str, Any]:
    items = list(plan.items.all())
    totals = treatment_selectors.plan_totals(items)
    return {
        "id": _node_id("TreatmentPlan", plan.pk, namespace),
        "title": plan.title,
        "status": PlanStatus(plan.status).name,
        "createdAt": serialize_datetime(plan.created_at),
        "totals": {"net": str(totals.net), "remaining": str(totals.remaining)},
        "items": [
            {
                "id": _node_id("TreatmentPlanItem", item.pk, namespace),
                "procedure": {"name": item.procedure.name},
                "tooth": item.tooth,
                "surfaces": item.surfaces,
                "price": str(item.price),
                "discount": str(item.discount),
                "status": ItemStatus(item.status).name,
            }
            for item in items
        ],
    }
