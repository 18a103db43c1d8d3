"""Every operation, run once by an allowed caller, appends exactly the audit events the
specification lists (`tests/spec/audit.py`), in order, by that caller, in the right trail:
the clinic's for clinic operations, the public one for the platform's.

The calls are the role matrix's (`tests/accounts/matrix_world.py`); each is checked to have
succeeded and done what it says (`tests/spec/effects.py`) before its events are compared.
Mutation checks (each made in a scratch copy): removing the ``audit_record`` call of
``appointment_change_status`` turns ``changeAppointmentStatus`` and ``cancelAppointment`` red
here, removing that of ``patient_archive`` turns ``archivePatient`` red, that of
``receipt_void`` ``voidReceipt``, that of ``clinic_suspend`` (public trail) ``suspendClinic``,
and ``appointment_cancel`` returning without saving turns ``cancelAppointment`` red.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django_tenants.utils import tenant_context

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from tenants_core.models import Clinic
from tests.accounts.matrix_calls import (
    CLINIC_HOST,
    PLATFORM_HOST,
    performs,
    request,
    schema_operations,
)
from tests.accounts.matrix_world import WORLD_ELSEWHERE, build_world
from tests.conftest import graphql, operation_codes
from tests.spec.audit import AUDIT, AUDIT_IN_THE_NEW_CLINIC, QUERY_AUDIT, REFUSED_LOGIN_AUDIT
from tests.spec.permissions import ACCESS, PLATFORM, ROLES
from tests.spec.run import Run

pytestmark = pytest.mark.django_db

MUTATIONS = schema_operations("mutation")
QUERIES = schema_operations("query")


def _last_event(tenant: Clinic) -> int:
    with tenant_context(tenant):
        return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _events_since(tenant: Clinic, last: int) -> list[AuditEvent]:
    with tenant_context(tenant):
        return list(AuditEvent.objects.filter(pk__gt=last).order_by("pk"))


def _run(client: Any, operation: str, clinic1: Clinic, public: Clinic, fixtures: Any) -> Run:
    """Make the operation's call once, as the first role the specification allows (the
    platform's operator for platform operations); return the run with its trail marks."""
    make_staff, token_for, platform_admin, platform_token = fixtures
    access = ACCESS[operation]
    if access.domain == PLATFORM:
        run, host, token = (
            Run(public, platform_admin, dict(WORLD_ELSEWHERE)),
            PLATFORM_HOST,
            platform_token,
        )
    else:
        role = next(role for role in ROLES if access.allows(role))
        caller = make_staff(clinic1, role)
        run = Run(clinic1, caller, build_world(clinic1, caller, make_staff))
        host, token = CLINIC_HOST, None if access.anonymous else token_for(clinic1, caller)

    def mark() -> None:  # after arranging: only the call's own events count
        run.extra["marks"] = {clinic1.pk: _last_event(clinic1), public.pk: _last_event(public)}

    performs(client, access, run, host, token, arranged=mark)
    return run


@pytest.fixture
def callers(make_staff, token_for, platform_admin, platform_token):
    return make_staff, token_for, platform_admin, platform_token


@pytest.mark.parametrize("operation", MUTATIONS)
def test_each_mutation_appends_its_audit_events(client, clinic1, public_tenant, callers, operation):
    assert operation in AUDIT, f"{operation}: say what it audits in tests/spec/audit.py"
    run = _run(client, operation, clinic1, public_tenant, callers)

    marks = run.extra["marks"]
    here = _events_since(run.tenant, marks[run.tenant.pk])
    assert [event.action for event in here] == list(AUDIT[operation])
    if AUDIT[operation]:
        assert {(event.actor_id, event.actor_email) for event in here} == {
            (run.caller.pk, run.caller.email)
        }
        assert {event.ip for event in here} == {"127.0.0.1"}
    elsewhere = public_tenant if run.tenant == clinic1 else clinic1
    assert _events_since(elsewhere, marks[elsewhere.pk]) == []
    if operation in AUDIT_IN_THE_NEW_CLINIC:
        with tenant_context(public_tenant):
            created = Clinic.objects.get(subdomain="matriz")
        new = _events_since(created, 0)
        assert [event.action for event in new] == list(AUDIT_IN_THE_NEW_CLINIC[operation])
        assert {event.actor_email for event in new} == {run.caller.email}


def test_the_audit_table_names_every_mutation_and_no_other():
    assert sorted(set(MUTATIONS) ^ set(AUDIT)) == []
    assert set(QUERY_AUDIT) <= set(QUERIES)


@pytest.mark.parametrize("operation", QUERIES)
def test_reads_write_nothing_to_the_trail_but_reads_of_notes(
    client, clinic1, public_tenant, callers, operation
):
    run = _run(client, operation, clinic1, public_tenant, callers)
    marks = run.extra["marks"]
    here = _events_since(run.tenant, marks[run.tenant.pk])
    assert [event.action for event in here] == list(QUERY_AUDIT.get(operation, ()))
    assert {event.actor_id for event in here} <= {run.caller.pk}


LOGIN = (
    "mutation($e: String!, $p: String!) { login(email: $e, password: $p) {"
    " __typename ... on OperationInfo { messages { code } } } }"
)


def test_failed_and_throttled_logins_are_audited_by_the_email_tried(client, clinic1, make_staff):
    user = make_staff(clinic1, Role.RECEPTIONIST)
    mark = _last_event(clinic1)
    attempts = settings.LOGIN_THROTTLE_MAX_FAILURES + 1
    codes = []
    for _ in range(attempts):
        _, body = graphql(
            client, LOGIN, host=CLINIC_HOST, variables={"e": user.email, "p": "not-it"}
        )
        codes.extend(operation_codes(body["data"]["login"]))
    assert codes == ["INVALID_CREDENTIALS"] * (attempts - 1) + ["LOGIN_THROTTLED"]

    events = _events_since(clinic1, mark)
    assert [event.action for event in events] == [
        action for code in codes for action in REFUSED_LOGIN_AUDIT[code]
    ]
    assert {(event.actor_id, event.actor_email) for event in events} == {(None, user.email)}


def test_a_mutation_that_changes_nothing_is_audited_too(client, clinic1, make_staff, token_for):
    """A successful call leaves its event even when there was nothing to change: a role given
    again, a charging run with nothing performed."""
    admin = make_staff(clinic1, Role.ADMIN)
    world = build_world(clinic1, admin, make_staff)
    token = token_for(clinic1, admin)
    mark = _last_event(clinic1)
    _, body = graphql(
        client,
        "mutation($id: ID!) { changeStaffRole(id: $id, role: DENTIST) { __typename } }",
        host=CLINIC_HOST, token=token, variables={"id": world["staff"]},
    )  # fmt: skip
    assert body["data"]["changeStaffRole"]["__typename"] == "StaffUser", body
    body = request(client, ACCESS["mutation chargePerformedProcedures"], CLINIC_HOST, token, world)
    assert "errors" not in body, body
    assert body["data"]["chargePerformedProcedures"] is not None, body

    events = _events_since(clinic1, mark)
    assert [(event.action, event.changes) for event in events] == [
        ("staff.change_role", {}),
        ("billing.charge_performed", {"charges": [], "total": "0.00"}),
    ]
