"""List filters that take an ID answer NOT_FOUND for an ID this clinic does not have (one of
another clinic, or one that names nothing), as every other argument that takes an ID does:
never an empty list that hides the mistake, never the other clinic's rows.

Every ID carries the clinic that minted it (graphql_api/core/ids.py), so clinica2's IDs are
refused here even where its rows share their numbers with rows here; the IDs below are
clinica2's, for rows whose numbers clinica1 does not use either."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django_tenants.utils import tenant_context

from backend.accounts.models import Role
from backend.audit.services import audit_record
from tests.accounts.test_role_matrix import build_world
from tests.conftest import error_code, graphql
from tests.ids import pk_of

pytestmark = pytest.mark.django_db

FILTERS = [
    ("appointments", "professionalId", "professional"),
    ("appointments", "chairId", "chair"),
    ("appointments", "patientId", "patient"),
    ("auditEvents", "actor", "staff"),
]
# What each filter finds here: build_world books one appointment (its professional, chair and
# patient), and the fixture records two events by the world's staff member.
FOUND = {"appointments": 1, "auditEvents": 2}


@pytest.fixture
def worlds(clinic1, clinic2, make_staff, token_for):
    admin = make_staff(clinic1, Role.ADMIN)
    here = build_world(clinic1, admin, make_staff)
    with tenant_context(clinic1):
        staff = get_user_model().objects.get(pk=pk_of(here["staff"]))
        for action in ("patient.view", "patient.update"):
            audit_record(actor=staff, action=action, entity=staff)
        audit_record(actor=admin, action="patient.view", entity=staff)  # by someone else
    # clinica2's rows get numbers that clinica1 does not use.
    with connection.cursor() as cursor:
        for table in ("staff_professional", "staff_chair", "patients_patient", "accounts_user"):
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), 500000)",
                [f"{clinic2.schema_name}.{table}"],
            )
    elsewhere = build_world(clinic2, make_staff(clinic2, Role.ADMIN), make_staff)
    return {"token": token_for(clinic1, admin), "here": here, "elsewhere": elsewhere}


@pytest.mark.parametrize(("field", "argument", "kind"), FILTERS)
def test_a_filter_with_another_clinics_id_is_not_found(client, worlds, field, argument, kind):
    query = f"query($id: ID!) {{ {field}({argument}: $id) {{ totalCount }} }}"

    _, body = graphql(
        client, query, host="clinica1.localhost", token=worlds["token"],
        variables={"id": worlds["elsewhere"][kind]},
    )  # fmt: skip
    assert error_code(body) == "NOT_FOUND", body
    assert body["data"] is None

    _, body = graphql(
        client, query, host="clinica1.localhost", token=worlds["token"],
        variables={"id": worlds["here"][kind]},
    )  # fmt: skip
    assert "errors" not in body, body
    assert body["data"][field]["totalCount"] == FOUND[field]
