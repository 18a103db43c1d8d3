"""A clinic's states, pinned by a literal table written from the README, never read from the
code: ``suspendClinic`` takes an ``ACTIVE`` clinic to ``SUSPENDED`` (its tokens stop working,
its data is kept) and ``reactivateClinic`` brings it back; suspending a suspended clinic is
``ALREADY_SUSPENDED``, reactivating an active one ``NOT_SUSPENDED``, and a refusal changes
nothing."""

import pytest

from backend.audit.models import AuditEvent
from tenants_core.models import Clinic, ClinicStatus
from tests.conftest import graphql

pytestmark = pytest.mark.django_db

# (state, operation) → the clinic's state after it, or the refusal's code.
CLINIC_TABLE = {
    ("ACTIVE", "suspend"): "SUSPENDED",
    ("ACTIVE", "reactivate"): "NOT_SUSPENDED",
    ("SUSPENDED", "suspend"): "ALREADY_SUSPENDED",
    ("SUSPENDED", "reactivate"): "ACTIVE",
}
OPERATIONS = {
    "suspend": 'mutation { suspendClinic(subdomain: "clinica2", reason: "Pago pendiente") {',
    "reactivate": 'mutation { reactivateClinic(subdomain: "clinica2") {',
}
OUTCOME = (
    " __typename ... on ManagedClinic { status } ... on OperationInfo { messages { code } } } }"
)


def test_the_spec_table_names_every_clinic_status_the_api_has():
    assert {status.name for status in ClinicStatus} == {state for state, _ in CLINIC_TABLE}


def _snapshot():
    clinic = Clinic.objects.get(subdomain="clinica2")
    trail = AuditEvent.objects.filter(entity_id=str(clinic.pk), action__startswith="clinic.")
    return (
        ClinicStatus(clinic.status).name,
        clinic.suspension_reason,
        clinic.suspended_at,
        trail.count(),
    )


@pytest.mark.parametrize(
    ("state", "operation"), list(CLINIC_TABLE), ids=map("-".join, CLINIC_TABLE)
)
def test_every_clinic_operation_in_every_state_does_what_the_spec_table_says(
    client, clinic2, platform_token, state, operation
):
    if state == "SUSPENDED":
        Clinic.objects.filter(pk=clinic2.pk).update(
            status=ClinicStatus.SUSPENDED,
            suspension_reason="Deuda",
            suspended_at=clinic2.created_at,
        )
    before = _snapshot()
    _, body = graphql(
        client, OPERATIONS[operation] + OUTCOME, host="localhost", token=platform_token
    )
    payload = next(iter(body["data"].values()))
    status, reason, suspended_at, trail = after = _snapshot()
    expected = CLINIC_TABLE[(state, operation)]
    if expected in ("ACTIVE", "SUSPENDED"):
        assert payload == {"__typename": "ManagedClinic", "status": expected}
        assert status == expected
        if expected == "SUSPENDED":
            assert (reason, suspended_at is not None) == ("Pago pendiente", True)
        else:
            assert (reason, suspended_at) == ("", None)
        assert trail == before[-1] + 1
    else:
        assert payload == {"__typename": "OperationInfo", "messages": [{"code": expected}]}
        assert after == before
