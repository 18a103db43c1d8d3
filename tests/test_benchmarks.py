"""The benchmark's comparison endpoints (``benchmarks/views.py``): never served by the
product, only under the benchmark's own settings and URLconf (``benchmarks/settings.py``,
``benchmarks/urls.py``), guarded like the GraphQL agenda, and answering exactly what it
answers."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection

from backend.accounts.auth import _token_issue
from backend.accounts.models import Role
from backend.core.tenancy import clinic_context
from backend.patients.models import Patient
from backend.scheduling.models import Appointment
from benchmarks import dataset
from benchmarks.server import BENCH_SETTINGS
from benchmarks.views import AGENDA_QUERY
from tenants_core.models import Clinic
from tests.conftest import LiveServer, running_uvicorn
from tests.dates import MONDAY

PATHS = ("/bench/agenda/django", "/bench/agenda/sql")
# As the benchmark runs its uvicorn (benchmarks/server.py): the product's settings with the
# benchmark's URLconf.
BENCH_ENV = {"DJANGO_SETTINGS_MODULE": BENCH_SETTINGS}
SHAPE = dataset.Shape(per_day=12, days=3, professionals=4, patients=20)
OTHER_CLINIC_NAME = "Clínica Beta"


def day_arguments(first: int = 100) -> dict[str, Any]:
    since, until = dataset.day_window()
    return {"from": since.isoformat(), "to": until.isoformat(), "first": first}


def test_the_products_urls_never_mount_the_bench_endpoints(client, clinic1, admin_token):
    """The product holds no setting for them: its URLconf answers the catch-all's 404."""
    assert settings.ROOT_URLCONF == "backend.urls"
    assert not hasattr(settings, "BENCH_ENDPOINTS")
    for path in PATHS:
        response = client.get(
            path,
            day_arguments(),
            HTTP_HOST="clinica1.localhost",
            HTTP_AUTHORIZATION=f"Bearer {admin_token}",
        )
        assert response.status_code == 404
        assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_no_environment_mounts_the_bench_endpoints_in_the_product(django_db_blocker):
    """uvicorn as the product runs, told by its environment to mount them every way it once
    could (the former flag) or might (a URLconf): still the catch-all's 404."""
    env = {"BENCH_ENDPOINTS": "1", "ROOT_URLCONF": "benchmarks.urls"}
    with running_uvicorn(django_db_blocker, env=env) as server:
        for path in PATHS:
            response = server.request("GET", path, "clinica1.localhost", params=day_arguments())
            assert response.status_code == 404, response.text
            assert _code(response) == "NOT_FOUND"


@dataclass(frozen=True)
class BenchWorld:
    server: LiveServer
    host_a: str
    host_b: str
    token_a: str  # a receptionist of clinic A
    token_b: str  # a receptionist of clinic B
    roleless_token_a: str  # a user of clinic A without a role

    def get(self, path: str, host: str, token: str | None, **arguments: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        params = {**day_arguments(), **arguments}
        return self.server.request("GET", path, host, params=params, headers=headers)

    def graphql(self, host: str, token: str, **arguments: Any) -> Any:
        response = self.server.post(
            host,
            {"query": AGENDA_QUERY, "variables": {**day_arguments(), **arguments}},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        return body


def _receptionist_token(clinic: Clinic, email: str, role: str = Role.RECEPTIONIST) -> str:
    with clinic_context(clinic):
        user = get_user_model().objects.create_user(
            email=email, password=dataset.PASSWORD, full_name="Bench Test", role=role
        )
        return _token_issue(user).raw


@pytest.fixture(scope="module")
def bench_world(django_db_blocker: Any) -> Iterator[BenchWorld]:
    """Two committed clinics with an agenda each, served by uvicorn under the benchmark's
    settings (the endpoints mounted).
    Clinic B is in another zone (+05:30) and has an appointment with microseconds, so that
    the SQL's date formatting (to the second) is checked against the API's."""
    with django_db_blocker.unblock():
        clinic_a = dataset.clinic_create("benchtesta")
        clinic_b = dataset.clinic_create("benchtestb")
        dataset.agenda_seed(clinic_a, shape=SHAPE, seed=1)
        dataset.agenda_seed(clinic_b, shape=SHAPE, seed=2)
        with clinic_context(clinic_b):
            Patient.objects.update(last_name=OTHER_CLINIC_NAME)
            first = Appointment.objects.filter(starts_at__gte=dataset.day_window()[0]).earliest(
                "starts_at"
            )
            first.starts_at += dt.timedelta(microseconds=123_456)
            first.save(update_fields=["starts_at"])
        connection.set_schema_to_public()
        Clinic.objects.filter(pk=clinic_b.pk).update(timezone="Asia/Kolkata")
        token_a = _receptionist_token(clinic_a, "recepcion@benchtesta.pe")
        token_b = _receptionist_token(clinic_b, "recepcion@benchtestb.pe")
        roleless = _receptionist_token(clinic_a, "sinrol@benchtesta.pe", role="")
        connection.set_schema_to_public()
    try:
        with running_uvicorn(django_db_blocker, env=BENCH_ENV) as server:
            yield BenchWorld(
                server,
                "benchtesta.localhost",
                "benchtestb.localhost",
                token_a,
                token_b,
                roleless,
            )
    finally:
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            for clinic in (clinic_a, clinic_b):
                Clinic.objects.get(pk=clinic.pk).delete(force_drop=True)


def _code(response: Any) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


@pytest.mark.parametrize("path", PATHS)
def test_bench_endpoints_answer_what_the_graphql_agenda_answers(bench_world, path):
    for host, token in ((bench_world.host_a, bench_world.token_a),
                        (bench_world.host_b, bench_world.token_b)):  # fmt: skip
        for first in (100, 5):
            expected = bench_world.graphql(host, token, first=first)
            response = bench_world.get(path, host, token, first=first)
            assert response.status_code == 200, response.text
            assert response.json() == expected
            appointments = expected["data"]["appointments"]
            assert appointments["totalCount"] == SHAPE.per_day
            assert len(appointments["edges"]) == min(first, SHAPE.per_day)
    zone_b = bench_world.get(path, bench_world.host_b, bench_world.token_b).json()
    starts = [edge["node"]["startsAt"] for edge in zone_b["data"]["appointments"]["edges"]]
    # To the second, as the API writes every DateTime: the appointment with microseconds too.
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+05:30", s) for s in starts), starts


@pytest.mark.parametrize("path", PATHS)
def test_bench_endpoints_never_show_another_clinics_data(bench_world, path):
    body_a = bench_world.get(path, bench_world.host_a, bench_world.token_a).json()
    body_b = bench_world.get(path, bench_world.host_b, bench_world.token_b).json()
    names_a = {e["node"]["patient"]["fullName"] for e in body_a["data"]["appointments"]["edges"]}
    names_b = {e["node"]["patient"]["fullName"] for e in body_b["data"]["appointments"]["edges"]}
    assert names_a
    assert not any(OTHER_CLINIC_NAME in name for name in names_a)
    assert all(name.endswith(OTHER_CLINIC_NAME) for name in names_b)


@pytest.mark.parametrize("path", PATHS)
def test_bench_endpoints_refuse_a_missing_wrong_or_foreign_token(bench_world, path):
    host = bench_world.host_a
    for token in (None, "dk_not-a-token", bench_world.token_b):
        response = bench_world.get(path, host, token)
        assert response.status_code == 401, response.text
        assert _code(response) == "UNAUTHENTICATED"
        assert "appointments" not in response.text


@pytest.mark.parametrize("path", PATHS)
def test_bench_endpoints_refuse_a_role_that_may_not_see_the_agenda(bench_world, path):
    response = bench_world.get(path, bench_world.host_a, bench_world.roleless_token_a)
    assert response.status_code == 403, response.text
    assert _code(response) == "FORBIDDEN"


@pytest.mark.parametrize("path", PATHS)
def test_bench_endpoints_refuse_the_public_domain(bench_world, path):
    response = bench_world.get(path, settings.BASE_DOMAIN, bench_world.token_a)
    assert response.status_code == 404, response.text
    assert _code(response) == "TENANT_DOMAIN_ONLY"


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "arguments", [{"from": "yesterday"}, {"to": f"{MONDAY}T00:00:00"}, {"first": "101"}]
)
def test_bench_endpoints_refuse_bad_arguments(bench_world, path, arguments):
    response = bench_world.get(path, bench_world.host_a, bench_world.token_a, **arguments)
    assert response.status_code == 400, response.text
    assert _code(response) == "BAD_REQUEST"
