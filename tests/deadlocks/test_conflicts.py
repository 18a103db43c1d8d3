"""A service that loses a race (``40P01``, ``40001``, injected by a temporary trigger the
first times it inserts a row) runs again, in the clinic's schema, and succeeds; one that keeps
losing answers ``CONCURRENT_UPDATE`` having written nothing. Never a 503: the tenant
middleware and the GraphQL errors share one test of "is the database down?"."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from django.db import OperationalError, connection
from django.test import RequestFactory

from backend.audit.models import AuditEvent
from backend.billing.models import Charge, Payment, Receipt
from backend.core import transactions
from backend.core.tenancy import clinic_context, schema_transaction
from backend.patients.models import Patient
from backend.resources.models import Chair
from backend.scheduling import services as scheduling
from backend.scheduling.models import Appointment
from tenants_core.middleware import ClinicTenantMiddleware
from tests.conftest import database_error
from tests.deadlocks.support import DAY, HOST, Data, booking, conflicts_on_insert, gid, post
from tests.scheduling.conftest import SCHEDULE, lima

CREATE_PATIENT = """
mutation($input: CreatePatientInput!) { createPatient(input: $input) {
  __typename ... on OperationInfo { messages { code } } } }
"""
ISSUE_RECEIPT = """
mutation($p: ID!, $c: ID!) { issueReceipt(input: {patientId: $p, chargeIds: [$c], receiptType: BOLETA}) {
  __typename ... on Receipt { number } ... on OperationInfo { messages { code } } } }
"""
RECORD_PAYMENT = """
mutation($p: ID!) { recordPayment(input: {patientId: $p, amount: "50.00", method: CASH}) {
  __typename ... on OperationInfo { messages { code } } } }
"""


def _charge(data: Data) -> Charge:
    with schema_transaction(data.clinic.schema_name):
        charge = Charge.objects.create(
            patient=data.patient, concept="Limpieza", unit_price="80.00", amount="80.00",
            created_by=data.admin,
        )  # fmt: skip
    connection.set_schema_to_public()
    return charge


# (mutation, table the trigger fails, variables, the __typename of a success, rows written)
RACING_SERVICES: dict[str, tuple[str, str, Callable[[Data], dict], str, Callable[[], int]]] = {
    "scheduleAppointment": (
        SCHEDULE, "scheduling_appointment",
        lambda d: booking(d, d.professionals[0], d.chairs[0]), "Appointment",
        lambda: Appointment.objects.count(),
    ),
    "createPatient": (  # under the plan's lock on the clinic
        CREATE_PATIENT, "patients_patient",
        lambda d: {"input": {"firstName": "Nuevo", "lastName": "Paciente", "documentType": "DNI", "documentNumber": "47654321"}},
        "Patient", lambda: Patient.objects.count(),
    ),
    "issueReceipt": (  # under the series lock
        ISSUE_RECEIPT, "billing_receipt",
        lambda d: {"p": gid(d.patient, d.clinic), "c": gid(_charge(d), d.clinic)}, "Receipt",
        lambda: Receipt.objects.count(),
    ),
    "recordPayment": (
        RECORD_PAYMENT, "billing_payment", lambda d: {"p": gid(d.patient, d.clinic)}, "Payment",
        lambda: Payment.objects.count(),
    ),
}  # fmt: skip


@pytest.mark.parametrize("sqlstate", [transactions.DEADLOCK, transactions.SERIALIZATION_FAILURE])
@pytest.mark.parametrize("mutation", list(RACING_SERVICES))
def test_a_service_that_loses_a_race_runs_again_in_the_clinics_schema(
    db_open, data, mutation, sqlstate, caplog
):
    query, table, variables, typename, rows = RACING_SERVICES[mutation]
    variables = variables(data)
    with schema_transaction(data.clinic.schema_name):
        before, audited = rows(), AuditEvent.objects.count()
    with conflicts_on_insert(data, table, times=1, sqlstate=sqlstate) as tried:
        status, body = post(data, query, variables)
        attempts = tried()

    assert status == 200, body
    assert body["data"][mutation]["__typename"] == typename, body
    assert attempts == 2  # refused once, then run again from the start
    if mutation == "issueReceipt":
        assert body["data"][mutation]["number"] == 1  # the first run gave its number back
    assert f"SQLSTATE {sqlstate}" in caplog.text
    # After the rollback django-tenants had forgotten the search_path: the second run wrote
    # in the clinic's schema, once, with its audit event.
    with schema_transaction(data.clinic.schema_name):
        assert rows() == before + 1
        assert AuditEvent.objects.count() == audited + 1


@pytest.mark.parametrize("mutation", list(RACING_SERVICES))
def test_a_service_that_keeps_losing_answers_concurrent_update_and_writes_nothing(
    db_open, data, mutation
):
    query, table, variables, _typename, rows = RACING_SERVICES[mutation]
    variables = variables(data)
    with schema_transaction(data.clinic.schema_name):
        before, audited = rows(), AuditEvent.objects.count()
    with conflicts_on_insert(data, table, times=1000) as tried:
        status, body = post(data, query, variables)
        attempts = tried()

    assert status == 200, body  # not 503 DATABASE_UNAVAILABLE
    payload = body["data"][mutation]
    assert payload["__typename"] == "OperationInfo", body
    assert [m["code"] for m in payload["messages"]] == ["CONCURRENT_UPDATE"]
    assert attempts == transactions.ATTEMPTS
    with schema_transaction(data.clinic.schema_name):
        assert rows() == before
        assert AuditEvent.objects.count() == audited


def test_the_run_again_sets_the_clinics_search_path_again(db_open, data):
    """On a fresh session the service's first statement sets the search_path inside the
    transaction; the rollback undoes it. The second run must set it again, or it would run
    in public (where scheduling has no table)."""
    (p1, _), (c1, _) = data.professionals, data.chairs
    with conflicts_on_insert(data, "scheduling_appointment", times=1) as tried:
        connection.close()
        with clinic_context(data.clinic):
            booked = scheduling.appointment_schedule(
                actor=data.admin, patient=data.patient, professional=p1, chair=c1,
                starts_at=lima(DAY, 10), ends_at=lima(DAY, 10, 30),
            )  # fmt: skip
            with connection.cursor() as cursor:
                cursor.execute("SHOW search_path")
                search_path = cursor.fetchone()[0]
        attempts = tried()

    assert attempts == 2
    assert data.clinic.schema_name in search_path
    with schema_transaction(data.clinic.schema_name):
        assert Appointment.objects.filter(pk=booked.pk).exists()


def test_a_conflict_in_a_service_that_does_not_retry_is_a_coded_conflict_not_a_503(db_open, data):
    """Any service: a deadlock that reaches the GraphQL layer is CONCURRENT_UPDATE."""
    query = 'mutation { createChair(name: "Sillón nuevo") { __typename } }'
    with conflicts_on_insert(data, "staff_chair", times=1000):
        status, body = post(data, query, {})

    assert status == 200, body
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "CONCURRENT_UPDATE"
    assert "try again" in body["errors"][0]["message"].lower()
    with schema_transaction(data.clinic.schema_name):
        assert not Chair.objects.filter(name="Sillón nuevo").exists()


def test_inside_an_outer_transaction_a_service_runs_again_in_a_savepoint(db_open, data):
    """A request's work is one transaction (``request_transaction``), so a service is never the
    outermost block: it runs again in a savepoint of its own. What the transaction did before
    the service (here a patient registered) survives the rollback to that savepoint, and the
    schema the transaction set is still in force for the second run."""
    (p1, _), (c1, _) = data.professionals, data.chairs
    with conflicts_on_insert(data, "scheduling_appointment", times=1) as tried:
        with clinic_context(data.clinic):
            earlier = Patient.objects.create(
                first_name="Antes", last_name="Del Servicio", document_type="DNI",
                document_number="47000111",
            )  # fmt: skip
            scheduling.appointment_schedule(
                actor=data.admin, patient=data.patient, professional=p1, chair=c1,
                starts_at=lima(DAY, 10), ends_at=lima(DAY, 10, 30),
            )  # fmt: skip
        attempts = tried()

    assert attempts == 2
    with schema_transaction(data.clinic.schema_name):
        assert Appointment.objects.count() == 1
        assert Patient.objects.filter(pk=earlier.pk).exists()


def test_a_service_called_by_a_service_is_not_run_again_by_itself(db_open, data):
    """Only the outermost service runs the work again: the inner one lets the conflict go up
    (the outer one's block is rolled back with it), and the outer one runs both again."""
    (p1, _), (c1, _) = data.professionals, data.chairs
    inner_runs = 0

    @transactions.atomic_service
    def inner() -> None:
        nonlocal inner_runs
        inner_runs += 1
        scheduling.appointment_schedule(
            actor=data.admin, patient=data.patient, professional=p1, chair=c1,
            starts_at=lima(DAY, 10), ends_at=lima(DAY, 10, 30),
        )  # fmt: skip

    @transactions.atomic_service
    def outer() -> None:
        inner()

    with conflicts_on_insert(data, "scheduling_appointment", times=1) as tried:
        with clinic_context(data.clinic):
            outer()
        attempts = tried()

    assert attempts == 2
    assert inner_runs == 2  # once per run of the outer service, never retried by itself
    with schema_transaction(data.clinic.schema_name):
        assert Appointment.objects.count() == 1


# --- the one predicate: a conflict is no outage ---------------------------------------------


@pytest.mark.parametrize(
    ("sqlstate", "status", "code"),
    [
        (transactions.DEADLOCK, 409, "CONCURRENT_UPDATE"),
        (transactions.SERIALIZATION_FAILURE, 409, "CONCURRENT_UPDATE"),
        ("57P01", 503, "DATABASE_UNAVAILABLE"),  # admin_shutdown: the server goes away
        ("08006", 503, "DATABASE_UNAVAILABLE"),  # connection_failure
    ],
)
def test_the_middleware_answers_a_conflict_409_and_an_outage_503(db_open, sqlstate, status, code):
    error = database_error(sqlstate)
    assert isinstance(error, OperationalError)
    request = RequestFactory().post("/graphql", HTTP_HOST=HOST)
    response = ClinicTenantMiddleware(lambda r: None).process_exception(request, error)

    assert response is not None
    assert response.status_code == status
    assert json.loads(response.content)["errors"][0]["extensions"]["code"] == code
