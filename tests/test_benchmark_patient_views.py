"""The benchmark's hand-written patient search and patient chart
(``benchmarks/views_patients.py``): through Django's full stack under the benchmark's URLconf,
with a clinic's Host and real tokens, they answer byte for byte what the GraphQL queries
answer, and refuse what GraphQL refuses, with the same codes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import tenant_context

from backend.accounts.models import Role
from backend.clinical import services as clinical
from backend.demo.clinical import clinic_clinical_demo_seed
from backend.patients import selectors as patient_selectors
from backend.patients.models import Patient
from backend.treatments.models import TreatmentPlan
from benchmarks import dataset
from benchmarks.suites import SEARCH_TERM
from benchmarks.views_patients import PATIENT_CHART, PATIENT_SEARCH
from tenants_core.models import Clinic
from tests.conftest import error_code, host_for
from tests.ids import global_id

pytestmark = [pytest.mark.django_db, pytest.mark.urls("benchmarks.urls")]

SEARCH_PATH = "/bench/patients/django"
CHART_PATH = "/bench/chart/django"
HOST = host_for("clinica1")
SHAPE = dataset.Shape(per_day=4, days=1, professionals=2, patients=40)


def _headers(host: str, token: str | None) -> dict[str, str]:
    return {"Host": host} | ({"Authorization": f"Bearer {token}"} if token else {})


@dataclass(frozen=True)
class World:
    client: Client
    tokens: dict[str, str]  # by role; "" is a user without a role
    charted: Patient  # anamnesis, findings, a plan with items
    bare: Patient  # none of them

    def graphql(self, query: str, variables: dict[str, Any], token: str | None) -> Any:
        return self.client.post(
            "/graphql",
            data={"query": query, "variables": variables},
            content_type="application/json",
            headers=_headers(HOST, token),
        )

    def get(self, path: str, params: dict[str, Any], token: str | None, host: str = HOST) -> Any:
        return self.client.get(path, params, headers=_headers(host, token))

    def search(self, token: str | None, search: str, first: int = 20) -> tuple[Any, Any]:
        variables = {"search": search, "first": first}
        return self.graphql(PATIENT_SEARCH, variables, token), self.get(
            SEARCH_PATH, variables, token
        )

    def chart(self, token: str | None, patient_id: str) -> tuple[Any, Any]:
        return self.graphql(PATIENT_CHART, {"id": patient_id}, token), self.get(
            CHART_PATH, {"id": patient_id}, token
        )


@pytest.fixture
def world(clinic1: Clinic, make_staff: Any, token_for: Any) -> World:
    """clinica1 with the benchmark's own data (``benchmarks/dataset.py`` and the demo charts
    it seeds), smaller, and a user of every role."""
    tokens = {
        str(role): token_for(clinic1, make_staff(clinic1, role))
        for role in (*Role, "")  # "": a user without a role
    }
    dataset.agenda_seed(clinic1, shape=SHAPE, seed=3)
    clinic_clinical_demo_seed(clinic1, patients_with_records=2)
    with tenant_context(clinic1):
        charted = Patient.objects.filter(treatment_plans__items__isnull=False).earliest("pk")
        bare = Patient.objects.filter(findings__isnull=True).earliest("pk")
    return World(Client(), tokens, charted, bare)


def _same_bytes(graphql: Any, view: Any) -> dict[str, Any]:
    assert graphql.status_code == 200, graphql.content
    assert "errors" not in graphql.json(), graphql.content
    assert view.status_code == 200, view.content
    assert view["Content-Type"] == graphql["Content-Type"]
    assert view.content == graphql.content
    return dict(view.json()["data"])


@pytest.mark.parametrize("role", [Role.RECEPTIONIST, Role.DENTIST])
def test_search_view_answers_what_graphql_answers_byte_for_byte(world, role):
    token = world.tokens[role]
    paged = _same_bytes(*world.search(token, SEARCH_TERM, first=2))["patients"]
    assert paged["totalCount"] > 2
    assert len(paged["edges"]) == 2
    for search, first in ((SEARCH_TERM, 20), ("", 20), ("", 0), (SEARCH_TERM, 0), ("zzz", 20)):
        patients = _same_bytes(*world.search(token, search, first=first))["patients"]
        assert len(patients["edges"]) == min(first, patients["totalCount"])
    everyone = _same_bytes(*world.search(token, "", first=20))["patients"]
    assert everyone["totalCount"] == SHAPE.patients
    assert any(edge["node"]["hasAlerts"] for edge in everyone["edges"])


@pytest.mark.parametrize("role", [Role.DENTIST, Role.ASSISTANT, Role.ADMIN])
def test_chart_view_answers_what_graphql_answers_byte_for_byte(world, role):
    token = world.tokens[role]
    chart = _same_bytes(*world.chart(token, global_id("Patient", world.charted.pk)))
    # The data set gives the chart all its parts: anamnesis, findings, plans with items.
    assert chart["medicalHistory"]["version"] == 1
    assert chart["odontogram"]["teeth"]
    (plan,) = [edge["node"] for edge in chart["treatmentPlans"]["edges"]]
    assert len(plan["items"]) == 3
    assert {item["discount"] for item in plan["items"]} > {"0.00"}  # a Decimal with cents
    # Roles that read clinical records read the health data: strings, never null.
    assert isinstance(chart["patient"]["allergies"], str)
    assert isinstance(chart["patient"]["medicalAlerts"], str)

    bare = _same_bytes(*world.chart(token, global_id("Patient", world.bare.pk)))
    assert bare["medicalHistory"] is None
    assert bare["odontogram"] == {"teeth": []}
    assert bare["treatmentPlans"] == {"totalCount": 0, "edges": []}


def test_chart_view_writes_date_times_in_the_clinics_zone(world, clinic1):
    Clinic.objects.filter(pk=clinic1.pk).update(timezone="Asia/Kolkata")
    chart = _same_bytes(
        *world.chart(world.tokens[Role.DENTIST], global_id("Patient", world.charted.pk))
    )
    assert chart["medicalHistory"]["recordedAt"].endswith("+05:30")
    assert chart["treatmentPlans"]["edges"][0]["node"]["createdAt"].endswith("+05:30")


def test_chart_view_reads_the_latest_anamnesis_and_a_page_of_plans(world, clinic1, clinic1_admin):
    with tenant_context(clinic1):
        plan = TreatmentPlan.objects.get(patient=world.charted)
        for _ in range(11):  # 12 plans: more than the chart's first 10
            plan.pk = None
            plan.save()
        clinical.medical_history_record(
            actor=clinic1_admin, patient=world.charted, data={"conditions": ["ASTHMA", "HIV"]}
        )
        clinical.finding_record(
            actor=clinic1_admin,
            patient=world.charted,
            tooth=36,
            condition="RESTORATION",
            surfaces=["M", "O", "D"],
            material="RESIN",
        )
    chart = _same_bytes(
        *world.chart(world.tokens[Role.DENTIST], global_id("Patient", world.charted.pk))
    )
    assert chart["treatmentPlans"]["totalCount"] == 12
    assert len(chart["treatmentPlans"]["edges"]) == 10
    assert chart["medicalHistory"]["version"] == 2
    assert chart["medicalHistory"]["conditions"] == ["ASTHMA", "HIV"]
    (tooth,) = [tooth for tooth in chart["odontogram"]["teeth"] if tooth["tooth"] == 36]
    restorations = [f for f in tooth["findings"] if f["condition"] == "RESTORATION"]
    assert sorted(restorations[0]["surfaces"]) == ["D", "M", "O"]


@pytest.mark.parametrize("token", [None, "dk_not-a-token"])
def test_views_refuse_a_missing_or_unknown_token_as_graphql_does(world, token):
    patient_id = global_id("Patient", world.charted.pk)
    for graphql, view in (world.search(token, SEARCH_TERM), world.chart(token, patient_id)):
        assert error_code(graphql.json()) == "UNAUTHENTICATED"
        assert view.status_code == 401, view.content
        assert error_code(view.json()) == "UNAUTHENTICATED"


def test_views_refuse_a_token_of_another_clinic(world, clinic2, make_staff, token_for):
    foreign = token_for(clinic2, make_staff(clinic2, Role.ADMIN))
    for graphql, view in (
        world.search(foreign, SEARCH_TERM),
        world.chart(foreign, global_id("Patient", world.charted.pk)),
    ):
        assert error_code(graphql.json()) == "UNAUTHENTICATED"
        assert view.status_code == 401, view.content
        assert error_code(view.json()) == "UNAUTHENTICATED"


def test_views_refuse_a_user_without_a_role_as_graphql_does(world):
    token = world.tokens[""]
    for graphql, view in (
        world.search(token, SEARCH_TERM),
        world.chart(token, global_id("Patient", world.charted.pk)),
    ):
        assert error_code(graphql.json()) == "FORBIDDEN"
        assert view.status_code == 403, view.content
        assert error_code(view.json()) == "FORBIDDEN"


def test_chart_view_refuses_a_role_that_does_not_read_clinical_records(world):
    """The front desk finds patients but reads no chart: GraphQL refuses the anamnesis, the
    odontogram and the plans' items; the view refuses the chart."""
    token = world.tokens[Role.RECEPTIONIST]
    graphql, view = world.chart(token, global_id("Patient", world.charted.pk))
    codes = {error["extensions"]["code"] for error in graphql.json()["errors"]}
    assert codes == {"FORBIDDEN"}
    assert view.status_code == 403, view.content
    assert error_code(view.json()) == "FORBIDDEN"


@pytest.mark.parametrize(
    "patient_id",
    [
        lambda world: global_id("Patient", 987_654),  # no such patient here
        lambda world: global_id("Patient", world.charted.pk, "clinica2"),  # another clinic's
        lambda world: global_id("TreatmentPlan", world.charted.pk),  # another type
    ],
)
def test_chart_view_answers_not_found_as_graphql_does(world, patient_id):
    graphql, view = world.chart(world.tokens[Role.DENTIST], patient_id(world))
    assert error_code(graphql.json()) == "NOT_FOUND"
    assert view.status_code == 404, view.content
    assert error_code(view.json()) == "NOT_FOUND"


def test_views_refuse_the_public_domain(world):
    token = world.tokens[Role.DENTIST]
    for path, params in (
        (SEARCH_PATH, {"search": SEARCH_TERM}),
        (CHART_PATH, {"id": global_id("Patient", world.charted.pk)}),
    ):
        response = world.get(path, params, token, host=settings.BASE_DOMAIN)
        assert response.status_code == 404, response.content
        assert error_code(response.json()) == "TENANT_DOMAIN_ONLY"


def test_the_benchmarks_search_finds_pages_of_patients_in_its_data_set(clinic1):
    """The measured search is realistic: over the data set's patients, several pages match."""
    dataset.agenda_seed(clinic1, shape=dataset.Shape(per_day=1, days=1, professionals=1))
    with tenant_context(clinic1):
        matches = patient_selectors.patient_list(search=SEARCH_TERM).count()
    assert matches >= 40
