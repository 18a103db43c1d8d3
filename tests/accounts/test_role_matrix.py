"""Every role against every operation of the schema, compared with the specification.

The expectations are literal tables, written by hand from docs/permissions.md and the
README, never read from the permission declarations the server enforces:

- `tests/spec/permissions.py`: who may call each operation, and on which domain;
- `tests/spec/answers.py` and `tests/spec/effects.py`: what an allowed call must answer or
  do, checked on the database (the row created, changed or voided, the status moved, the
  token revoked), not merely the absence of an error.

An allowed call succeeds and does what it says; a refused one answers its code and changes
nothing (the clinic's tables, or the platform's, compared before and after). A test fails
when the schema has an operation the tables lack, or the tables one the schema lacks.

**Whoever changes a permission changes `tests/spec/permissions.py` on purpose, in the same
commit** (and an operation's effect, `tests/spec/answers.py` or `tests/spec/effects.py`).
docs/permissions.md is generated from the code: it follows the code, this table does not.

The calls and their world are in `tests/accounts/matrix_world.py`.

Mutation checks (each made in a scratch copy, each turned these tests red): granting
`billing.void_refund` to RECEPTIONIST, or `clinical.view`; `voidReceipt`'s extension
weakened to `billing.manage`, `createProcedure`'s to `catalog.view`; the `staff` list open to
any signed-in user; `appointment_cancel` returning without saving; `receipt_void` keeping its
lines; `auth_logout` not saving the revocation; receipt numbers skipping one.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django_tenants.utils import schema_context

from backend.accounts.models import Role
from tests.accounts.matrix_calls import (
    CLINIC_HOST,
    EXPECTED,
    PLATFORM_HOST,
    performs,
    refused,
    request,
    schema_operations,
)
from tests.accounts.matrix_world import (
    CALLS,
    TYPE_NAMES,
    WORLD_ELSEWHERE,
    build_world,
    distinct_ids,
    platform_snapshot,
    snapshot,
)
from tests.conftest import refusal_codes
from tests.spec.permissions import ACCESS, CLINIC, PLATFORM, ROLES, Access
from tests.spec.run import Run

__all__ = ["CALLS", "build_world"]  # imported by other tests from here

pytestmark = pytest.mark.django_db

CLINIC_SIDE = [a for a in ACCESS.values() if a.domain != PLATFORM]
PLATFORM_SIDE = [a for a in ACCESS.values() if a.domain == PLATFORM]
SIGNED_IN_ONLY = [a for a in CLINIC_SIDE if not a.anonymous]


def _op(access: Access) -> str:
    return access.operation


# --- the tables against the schema ----------------------------------------------------------


def test_the_tables_name_every_operation_of_the_schema_and_no_other():
    operations = set(schema_operations("query") + schema_operations("mutation"))
    assert sorted(operations - set(ACCESS)) == [], "missing from tests/spec/permissions.py"
    assert sorted(set(ACCESS) - operations) == [], "in tests/spec/permissions.py, not the schema"
    assert sorted(operations ^ set(EXPECTED)) == [], "tests/spec/answers.py, effects.py"
    assert {access.field for access in ACCESS.values()} == set(CALLS)


# --- clinic roles ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("access", CLINIC_SIDE, ids=_op)
def test_role_against_operation(client, clinic1, make_staff, token_for, role, access):
    """Allowed: the call succeeds and does what it says. Refused: FORBIDDEN, nothing changes."""
    caller = make_staff(clinic1, role)
    world = build_world(clinic1, caller, make_staff)
    token = token_for(clinic1, caller)
    if access.allows(role):
        performs(client, access, Run(clinic1, caller, world), CLINIC_HOST, token)
    else:
        before = snapshot(clinic1)
        refused(request(client, access, CLINIC_HOST, token, world), "FORBIDDEN")
        assert snapshot(clinic1) == before


def test_a_dentist_cannot_change_the_status_of_another_professionals_appointment(
    client, clinic1, make_staff, token_for
):
    dentist = make_staff(clinic1, Role.DENTIST)
    token = token_for(clinic1, dentist)
    world = build_world(clinic1, make_staff(clinic1, Role.ADMIN), make_staff)  # not the dentist's
    before = snapshot(clinic1)
    access = ACCESS["mutation changeAppointmentStatus"]
    body = request(client, access, CLINIC_HOST, token, world)
    refused(body, "FORBIDDEN")
    assert snapshot(clinic1) == before


@pytest.mark.parametrize("access", [a for a in CLINIC_SIDE if a.anonymous], ids=_op)
def test_open_operations_work_without_a_token(client, clinic1, make_staff, access):
    caller = make_staff(clinic1, Role.RECEPTIONIST)
    world = build_world(clinic1, caller, make_staff)
    performs(client, access, Run(clinic1, caller, world), CLINIC_HOST, None)


@pytest.mark.parametrize("access", SIGNED_IN_ONLY, ids=_op)
def test_a_missing_garbage_or_foreign_token_is_unauthenticated(
    client, clinic1, clinic2, make_staff, token_for, platform_token, access
):
    """No token, a made-up one, another clinic's and the platform's: UNAUTHENTICATED on
    clinica1, and nothing changes."""
    world = build_world(clinic1, make_staff(clinic1, Role.ADMIN), make_staff)
    foreign = token_for(clinic2, make_staff(clinic2, Role.ADMIN))
    before = snapshot(clinic1)
    for token in (None, "dk_" + "x" * 43, foreign, platform_token):
        refused(request(client, access, CLINIC_HOST, token, world), "UNAUTHENTICATED")
    assert snapshot(clinic1) == before


@pytest.mark.parametrize("access", [a for a in CLINIC_SIDE if a.domain == CLINIC], ids=_op)
def test_clinic_operations_answer_tenant_domain_only_on_the_platform(
    client, public_tenant, platform_token, access
):
    before = platform_snapshot()
    refused(request(client, access, PLATFORM_HOST, platform_token), "TENANT_DOMAIN_ONLY")
    assert platform_snapshot() == before


def _takes_ids(access: Access) -> bool:
    return any(f"{{{name}}}" in str(CALLS[access.field][1]) for name in TYPE_NAMES)


@pytest.mark.parametrize("access", [a for a in CLINIC_SIDE if _takes_ids(a)], ids=_op)
def test_another_clinics_ids_are_not_found(client, clinic1, clinic2, make_staff, token_for, access):
    """IDs of clinica2's objects used on clinica1, which has objects of its own (numbered
    apart, so that finding one would be a leak): NOT_FOUND, and nothing of either changes."""
    admin = make_staff(clinic1, Role.ADMIN)
    build_world(clinic1, admin, make_staff)
    token = token_for(clinic1, admin)
    distinct_ids(clinic2)
    world2 = build_world(clinic2, make_staff(clinic2, Role.ADMIN), make_staff)
    before = snapshot(clinic1), snapshot(clinic2)
    body = request(client, access, CLINIC_HOST, token, world2)
    assert "NOT_FOUND" in refusal_codes(body, access.field), body
    assert (snapshot(clinic1), snapshot(clinic2)) == before


# --- the platform -----------------------------------------------------------------------------


@pytest.mark.parametrize("access", [a for a in ACCESS.values() if a.superuser], ids=_op)
def test_a_platform_superuser_may_call_platform_and_signed_in_operations(
    client, public_tenant, platform_admin, platform_token, access
):
    run = Run(public_tenant, platform_admin, dict(WORLD_ELSEWHERE))
    performs(client, access, run, PLATFORM_HOST, platform_token)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("access", PLATFORM_SIDE, ids=_op)
def test_platform_operations_answer_public_domain_only_to_every_clinic_role(
    client, clinic1, make_staff, token_for, role, access
):
    token = token_for(clinic1, make_staff(clinic1, role))
    before = platform_snapshot()
    refused(request(client, access, CLINIC_HOST, token), "PUBLIC_DOMAIN_ONLY")
    assert platform_snapshot() == before


@pytest.mark.parametrize("access", PLATFORM_SIDE, ids=_op)
def test_platform_operations_refuse_a_non_superuser(client, public_tenant, token_for, access):
    with schema_context("public"):
        operator = get_user_model().objects.create_user(email="soporte@platform.pe", password="x")
    before = platform_snapshot()
    refused(request(client, access, PLATFORM_HOST, token_for(public_tenant, operator)), "FORBIDDEN")
    assert platform_snapshot() == before


@pytest.mark.parametrize("access", PLATFORM_SIDE, ids=_op)
def test_platform_operations_without_a_token_are_unauthenticated(client, public_tenant, access):
    before = platform_snapshot()
    refused(request(client, access, PLATFORM_HOST, None), "UNAUTHENTICATED")
    assert platform_snapshot() == before
