"""Deadlocks and serialization failures are conflicts, never outages (503), never partial
writes.

Every test here makes the race happen on purpose, so that it fails the same way every time:

- a real deadlock: a second connection inserts rows so that the API's booking and it wait
  for each other inside the exclusion check; PostgreSQL aborts the booking (``40P01``);
- a booking that waits for a concurrent booking of its professional or chair: where it waits
  (before it inserts, on the resource's row) is what keeps two bookings out of that deadlock;
- a temporary trigger that raises ``40P01`` (or ``40001``) the first times a service inserts
  a row: the service runs again, in the clinic's schema, and succeeds; or keeps losing and
  answers ``CONCURRENT_UPDATE``, having written nothing.

The data is committed (the API transactions must be the outermost ones, as in production),
in a clinic of this module, dropped at the end.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import DatabaseError, OperationalError, connection, connections, transaction
from django.test import Client, RequestFactory
from django_tenants.utils import schema_context, tenant_context
from strawberry.relay import to_base64

from backend.accounts.auth import _token_issue
from backend.accounts.models import User
from backend.audit.models import AuditEvent
from backend.billing.models import Charge, Payment, Receipt
from backend.core import transactions
from backend.patients.models import Patient
from backend.scheduling import services as scheduling
from backend.scheduling.models import Appointment
from backend.staff.models import Chair, Professional, WorkingHours
from tenants_core.middleware import ClinicTenantMiddleware
from tenants_core.models import Clinic
from tenants_core.services import clinic_provision
from tests.conftest import TEST_PASSWORD
from tests.scheduling.conftest import SCHEDULE, lima

SUBDOMAIN = "bloqueos"
HOST = f"{SUBDOMAIN}.localhost"
DAY = dt.date(2030, 3, 4)  # a Monday


# --- the clinic and its data, committed once for the module ---------------------------------


class Data:
    clinic: Clinic
    admin: User
    token: str
    professionals: list[Professional]
    chairs: list[Chair]
    patient: Patient


@pytest.fixture(scope="module")
def data(django_db_blocker: Any) -> Iterator[Data]:
    result = Data()
    with django_db_blocker.unblock():
        clinic = clinic_provision(
            subdomain=SUBDOMAIN, name="Bloqueos", legal_id="20600000005", email="hola@bloqueos.pe",
            plan="enterprise", admin_email="admin@bloqueos.pe", admin_password=TEST_PASSWORD,
        )  # fmt: skip
        with tenant_context(clinic):
            result.clinic = clinic
            result.admin = User.objects.get(email="admin@bloqueos.pe")
            result.token = _token_issue(result.admin).raw
            result.professionals = [
                Professional.objects.create(full_name=f"Dra. {i}", license_number=f"9{i}")
                for i in range(2)
            ]
            for professional in result.professionals:
                WorkingHours.objects.create(
                    professional=professional, weekday=DAY.weekday(),
                    start_time=dt.time(8), end_time=dt.time(18),
                )  # fmt: skip
            result.chairs = [Chair.objects.create(name=f"Sillón {i}") for i in range(2)]
            result.patient = Patient.objects.create(
                first_name="Ana", last_name="Ríos", document_type="DNI", document_number="41234567"
            )
        connection.set_schema_to_public()
    yield result
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        clinic.delete(force_drop=True)


@pytest.fixture
def db_open(django_db_blocker: Any, data: Data) -> Iterator[None]:
    """Committed data, the API in autocommit: its services are the outermost transactions.
    Rows a test adds are removed after it."""
    with django_db_blocker.unblock():
        yield
        connections.close_all()
        with schema_context(data.clinic.schema_name), connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE scheduling_appointment, billing_paymentallocation, billing_payment, "
                "billing_receiptline, billing_receipt, billing_receiptseries, billing_charge CASCADE"
            )
            Patient.objects.exclude(pk=data.patient.pk).delete()
            Chair.objects.exclude(pk__in=[c.pk for c in data.chairs]).delete()
        connection.set_schema_to_public()


def post(data: Data, query: str, variables: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The API over Django's full stack (middleware included), on this thread's connection."""
    try:
        response = Client().post(
            "/graphql", data={"query": query, "variables": variables},
            content_type="application/json", HTTP_HOST=HOST,
            HTTP_AUTHORIZATION=f"Bearer {data.token}",
        )  # fmt: skip
        return response.status_code, response.json()
    finally:
        connection.close()


def in_thread(fn: Callable[[], Any]) -> concurrent.futures.Future[Any]:
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    future = pool.submit(fn)
    pool.shutdown(wait=False)
    return future


def gid(obj: Any) -> str:
    return to_base64(type(obj).__name__, obj.pk)


def booking(data: Data, professional: Professional, chair: Chair, hour: int = 10) -> dict:
    return {
        "input": {
            "patientId": gid(data.patient),
            "professionalId": gid(professional),
            "chairId": gid(chair),
            "startsAt": lima(DAY, hour).isoformat(),
            "endsAt": lima(DAY, hour, 30).isoformat(),
        }
    }


def waiting_statement(*, exclude_pid: int, timeout: float = 15) -> str:
    """The statement of the backend (other than ``exclude_pid``) that waits for a lock."""
    deadline = time.monotonic() + timeout
    with connections["default"].cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT query FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid NOT IN (pg_backend_pid(), %s)",
                [exclude_pid],
            )
            row = cursor.fetchone()
            if row:
                return str(row[0])
            time.sleep(0.02)
    raise AssertionError("no backend waited for a lock")


def exclusion_index_order(data: Data) -> list[str]:
    """The two exclusion constraints' columns ("professional_id", "chair_id") in the order
    PostgreSQL inserts into and checks their indexes (index OID order)."""
    with schema_context(data.clinic.schema_name), connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.conname FROM pg_constraint c JOIN pg_index i ON i.indexrelid = c.conindid "
            "WHERE c.contype = 'x' AND c.conrelid = 'scheduling_appointment'::regclass "
            "ORDER BY i.indexrelid"
        )
        names = [row[0] for row in cursor.fetchall()]
    assert len(names) == 2, names
    return ["professional_id" if "professional" in name else "chair_id" for name in names]


# --- a real deadlock ------------------------------------------------------------------------


def test_a_real_deadlock_while_booking_is_run_again_not_a_503(db_open, data, caplog):
    """Another transaction (raw inserts, no locks) and the API's booking each wait for the
    other's row inside the exclusion check. PostgreSQL aborts the booking; the booking runs
    again, in the clinic's schema, and once the other transaction rolls back it commits."""
    (p1, p2), (c1, c2) = data.professionals, data.chairs
    first, second = exclusion_index_order(data)
    # The API books (p1, c1). The other transaction's first row shares only the resource the
    # booking checks second (so the booking inserts, passes its first check and waits), its
    # second row only the resource checked first (so it waits for the booking's row).
    shares = {"professional_id": (p1, c2), "chair_id": (p2, c1)}
    r1, r2 = shares[second], shares[first]
    r1_inserted, go_r2, r2_inserted, finish = (threading.Event() for _ in range(4))
    other_pid: list[int] = []

    def other_transaction() -> None:
        try:
            with transaction.atomic(), schema_context(data.clinic.schema_name):
                # Make sure the booking is the victim, whatever the timing (superuser only).
                with (
                    contextlib.suppress(DatabaseError),
                    transaction.atomic(),
                    connection.cursor() as cursor,
                ):
                    cursor.execute("SET LOCAL deadlock_timeout = '30s'")
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    other_pid.append(cursor.fetchone()[0])
                for (professional, chair), done, then in (
                    (r1, r1_inserted, go_r2),
                    (r2, r2_inserted, finish),
                ):
                    Appointment.objects.create(
                        patient=data.patient, professional=professional, chair=chair,
                        starts_at=lima(DAY, 10), ends_at=lima(DAY, 10, 30),
                    )  # fmt: skip
                    done.set()
                    assert then.wait(30)
                transaction.set_rollback(True)
        finally:
            connection.close()

    other = in_thread(other_transaction)
    assert r1_inserted.wait(10)
    api = in_thread(lambda: post(data, SCHEDULE, booking(data, p1, c1)))
    assert "scheduling_appointment" in waiting_statement(exclude_pid=other_pid[0])
    go_r2.set()
    assert r2_inserted.wait(30), "the other transaction was not let through"
    finish.set()  # it rolls back: the booking, run again, gets the slot
    other.result(timeout=30)
    status, body = api.result(timeout=30)

    assert status == 200, body
    assert body["data"]["scheduleAppointment"]["__typename"] == "Appointment", body
    assert "SQLSTATE 40P01" in caplog.text  # the first run was the deadlock's victim
    with schema_context(data.clinic.schema_name):
        booked = Appointment.objects.get()
        assert (booked.professional_id, booked.chair_id) == (p1.pk, c1.pk)
        assert AuditEvent.objects.filter(action="appointment.schedule").count() == 1


# --- the lock order: conflicting bookings wait before they insert ---------------------------


def hold_a_booking(
    data: Data, professional, chair, booked: threading.Event, release: threading.Event
):
    """A booking through the service, kept open until ``release``: another request of the
    same moment."""

    def run() -> int:
        try:
            with transaction.atomic(), tenant_context(data.clinic):
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    pid = cursor.fetchone()[0]
                scheduling.appointment_schedule(
                    actor=data.admin, patient=data.patient, professional=professional,
                    chair=chair, starts_at=lima(DAY, 10), ends_at=lima(DAY, 10, 30),
                )  # fmt: skip
                booked.set()
                assert release.wait(30)
            return pid
        finally:
            connection.close()

    return run


@pytest.mark.parametrize("shared", ["professional", "chair"])
def test_a_booking_waits_for_a_concurrent_booking_of_its_resource_before_inserting(
    db_open, data, shared
):
    """Two bookings insert at the same moment only if neither waits for the other first; then
    each can find the other's row in the exclusion check and wait for it: the deadlock. A
    booking takes its professional's and chair's locks first, so it waits there instead."""
    (p1, p2), (c1, c2) = data.professionals, data.chairs
    other = {"professional": (p1, c2), "chair": (p2, c1)}[shared]
    booked, release = threading.Event(), threading.Event()
    held = in_thread(hold_a_booking(data, p1, c1, booked, release))
    assert booked.wait(10)
    pid_of_holder = -1  # the holder never waits; excluding nobody else is enough
    api = in_thread(lambda: post(data, SCHEDULE, booking(data, *other)))
    try:
        statement = waiting_statement(exclude_pid=pid_of_holder)
    finally:
        release.set()
    held.result(timeout=30)
    status, body = api.result(timeout=30)

    assert "FOR NO KEY UPDATE" in statement, statement
    assert f"staff_{shared}" in statement, statement
    assert not statement.lstrip().upper().startswith("INSERT"), statement
    assert status == 200
    payload = body["data"]["scheduleAppointment"]
    assert [m["code"] for m in payload["messages"]] == ["APPOINTMENT_OVERLAP"], payload
    with schema_context(data.clinic.schema_name):
        assert Appointment.objects.count() == 1


def test_a_reschedule_waits_for_a_concurrent_booking_before_updating(db_open, data):
    (p1, p2), (c1, c2) = data.professionals, data.chairs
    with tenant_context(data.clinic):
        moved = scheduling.appointment_schedule(
            actor=data.admin, patient=data.patient, professional=p2, chair=c2,
            starts_at=lima(DAY, 15), ends_at=lima(DAY, 15, 30),
        )  # fmt: skip
    connection.set_schema_to_public()
    booked, release = threading.Event(), threading.Event()
    held = in_thread(hold_a_booking(data, p1, c1, booked, release))
    assert booked.wait(10)
    reschedule = (
        "mutation($id: ID!, $input: RescheduleAppointmentInput!) { rescheduleAppointment("
        "id: $id, input: $input) { __typename ... on OperationInfo { messages { code } } } }"
    )
    variables = {
        "id": gid(moved),
        "input": {
            "startsAt": lima(DAY, 10).isoformat(),
            "endsAt": lima(DAY, 10, 30).isoformat(),
            "professionalId": gid(p1),
        },
    }
    api = in_thread(lambda: post(data, reschedule, variables))
    try:
        statement = waiting_statement(exclude_pid=-1)
    finally:
        release.set()
    held.result(timeout=30)
    status, body = api.result(timeout=30)

    assert "FOR NO KEY UPDATE" in statement, statement
    assert "staff_professional" in statement, statement
    assert status == 200
    payload = body["data"]["rescheduleAppointment"]
    assert [m["code"] for m in payload["messages"]] == ["APPOINTMENT_OVERLAP"], payload
    with schema_context(data.clinic.schema_name):
        assert Appointment.objects.get(pk=moved.pk).starts_at == lima(DAY, 15)


# --- injected conflicts: every racing service runs again, then refuses with a code -----------


@contextlib.contextmanager
def conflicts_on_insert(
    data: Data, table: str, *, times: int, sqlstate: str = transactions.DEADLOCK
) -> Iterator[Callable[[], int]]:
    """The first ``times`` inserts into ``table`` (in the clinic's schema) fail as PostgreSQL
    fails a deadlock's victim. Yields a function that counts the inserts tried. The counter is
    a sequence: rolling back does not undo ``nextval``."""
    schema = data.clinic.schema_name
    sequence = f'"{schema}".conflict_injections'
    with schema_context(schema), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE SEQUENCE {sequence};"
            f'CREATE FUNCTION "{schema}".inject_conflict() RETURNS trigger LANGUAGE plpgsql AS $$ '
            f"BEGIN IF nextval('{sequence}') <= {times} THEN "
            f"RAISE EXCEPTION 'injected conflict' USING ERRCODE = '{sqlstate}'; END IF; "
            f"RETURN NEW; END $$;"
            f'CREATE TRIGGER inject_conflict BEFORE INSERT ON "{schema}".{table} '
            f'FOR EACH ROW EXECUTE FUNCTION "{schema}".inject_conflict();'
        )

    def tried() -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {sequence}")
            return int(cursor.fetchone()[0])

    try:
        yield tried
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                f'DROP TRIGGER inject_conflict ON "{schema}".{table};'
                f'DROP FUNCTION "{schema}".inject_conflict(); DROP SEQUENCE {sequence};'
            )
        connection.set_schema_to_public()


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
    with schema_context(data.clinic.schema_name):
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
        lambda d: {"p": gid(d.patient), "c": gid(_charge(d))}, "Receipt",
        lambda: Receipt.objects.count(),
    ),
    "recordPayment": (
        RECORD_PAYMENT, "billing_payment", lambda d: {"p": gid(d.patient)}, "Payment",
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
    with schema_context(data.clinic.schema_name):
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
    with schema_context(data.clinic.schema_name):
        assert rows() == before + 1
        assert AuditEvent.objects.count() == audited + 1


@pytest.mark.parametrize("mutation", list(RACING_SERVICES))
def test_a_service_that_keeps_losing_answers_concurrent_update_and_writes_nothing(
    db_open, data, mutation
):
    query, table, variables, _typename, rows = RACING_SERVICES[mutation]
    variables = variables(data)
    with schema_context(data.clinic.schema_name):
        before, audited = rows(), AuditEvent.objects.count()
    with conflicts_on_insert(data, table, times=1000) as tried:
        status, body = post(data, query, variables)
        attempts = tried()

    assert status == 200, body  # not 503 DATABASE_UNAVAILABLE
    payload = body["data"][mutation]
    assert payload["__typename"] == "OperationInfo", body
    assert [m["code"] for m in payload["messages"]] == ["CONCURRENT_UPDATE"]
    assert attempts == transactions.ATTEMPTS
    with schema_context(data.clinic.schema_name):
        assert rows() == before
        assert AuditEvent.objects.count() == audited


def test_the_run_again_sets_the_clinics_search_path_again(db_open, data):
    """On a fresh session the service's first statement sets the search_path inside the
    transaction; the rollback undoes it. The second run must set it again, or it would run
    in public (where scheduling has no table)."""
    (p1, _), (c1, _) = data.professionals, data.chairs
    with conflicts_on_insert(data, "scheduling_appointment", times=1) as tried:
        connection.close()
        with tenant_context(data.clinic):
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
    with schema_context(data.clinic.schema_name):
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
    with schema_context(data.clinic.schema_name):
        assert not Chair.objects.filter(name="Sillón nuevo").exists()


def test_inside_an_outer_transaction_a_service_is_not_run_again(db_open, data):
    """Only the owner of a transaction may run it again: inside someone else's, the conflict
    goes up untouched (that owner's transaction is already rolled back)."""
    (p1, _), (c1, _) = data.professionals, data.chairs
    with conflicts_on_insert(data, "scheduling_appointment", times=1) as tried:
        with (
            pytest.raises(OperationalError) as raised,
            transaction.atomic(),
            tenant_context(data.clinic),
        ):
            scheduling.appointment_schedule(
                    actor=data.admin, patient=data.patient, professional=p1, chair=c1,
                    starts_at=lima(DAY, 10), ends_at=lima(DAY, 10, 30),
                )  # fmt: skip
        attempts = tried()

    assert transactions.is_transaction_conflict(raised.value)
    assert attempts == 1
    with schema_context(data.clinic.schema_name):
        assert Appointment.objects.count() == 0


# --- the one predicate: a conflict is no outage ---------------------------------------------


def _database_error(sqlstate: str) -> DatabaseError:
    """A real error from PostgreSQL with that SQLSTATE, as Django raises it."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '{sqlstate}'; END $$")
    except DatabaseError as error:
        return error
    raise AssertionError("no error raised")


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
    error = _database_error(sqlstate)
    assert isinstance(error, OperationalError)
    request = RequestFactory().post("/graphql", HTTP_HOST=HOST)
    response = ClinicTenantMiddleware(lambda r: None).process_exception(request, error)

    assert response is not None
    assert response.status_code == status
    assert json.loads(response.content)["errors"][0]["extensions"]["code"] == code
