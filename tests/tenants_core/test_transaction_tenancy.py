"""The clinic's schema belongs to the transaction, never to the connection
(``backend.core.db_backend``): every transaction sets it as its first statement, nothing ever
sets the session's path, and a statement outside a transaction while a clinic is selected is
caught by the guard instead of reading whatever path the server connection had."""

from __future__ import annotations

import logging

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context, tenant_context

from backend.core.db_backend.base import SCHEMA_LOCK_NAMESPACE, TenancyGuardError
from backend.core.tenancy import clinic_context, public_context
from backend.patients.models import Patient
from tenants_core.models import Clinic
from tests.conftest import graphql

ME = "{ me { email } }"


def _session_search_path() -> str:
    """The session's own search_path, read outside any transaction on a raw cursor."""
    with connection.connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        return cursor.fetchone()[0]


def test_a_clinic_statement_outside_a_transaction_is_refused_under_test(django_db_blocker):
    """The deliberately wrong path: a clinic selected, no transaction opened. Without the
    guard it would run in whatever search_path the server connection has (behind a
    transaction pool: another clinic's)."""
    with django_db_blocker.unblock():
        clinic = Clinic.objects.get(subdomain="clinica1")
        with tenant_context(clinic), pytest.raises(TenancyGuardError) as refused:
            Patient.objects.count()
    assert "outside a transaction" in str(refused.value)
    assert "clinic_clinica1" in str(refused.value)
    assert "patients_patient" in str(refused.value)


def test_in_production_the_guard_logs_and_runs_the_statement_in_its_clinics_schema(
    django_db_blocker, settings, caplog
):
    """``TENANCY_GUARD=log`` (the default outside DEBUG): the bug is logged with its stack,
    and the statement runs in a transaction of its own that sets the clinic's schema."""
    settings.TENANCY_GUARD = "log"
    with django_db_blocker.unblock():
        clinic = Clinic.objects.get(subdomain="clinica1")
        with clinic_context(clinic):
            expected = Patient.objects.count()
            Patient.objects.create(
                first_name="Guardia", last_name="Registro", document_type="DNI",
                document_number="47123987",
            )  # fmt: skip
        try:
            with caplog.at_level(logging.ERROR, logger="backend.tenancy"), tenant_context(clinic):
                counted = Patient.objects.count()
                path = _session_search_path()
        finally:
            with clinic_context(clinic):
                Patient.objects.filter(document_number="47123987").delete()
    assert counted == expected + 1
    assert path == '"$user", public'  # the transaction's path did not outlive it
    [record] = [r for r in caplog.records if r.name == "backend.tenancy"]
    assert "outside a transaction" in record.getMessage()
    assert record.stack_info


def test_every_transaction_sets_its_schema_first_and_once(django_db_blocker):
    with django_db_blocker.unblock():
        clinic = Clinic.objects.get(subdomain="clinica1")
        with CaptureQueriesContext(connection) as captured, clinic_context(clinic):
            Patient.objects.count()
            Patient.objects.exists()
        with CaptureQueriesContext(connection) as public, public_context():
            Clinic.objects.count()
        path = _session_search_path()
    statements = [q["sql"] for q in captured.captured_queries]
    assert len(statements) == 5, statements
    assert (statements[0], statements[-1]) == ("BEGIN", "COMMIT")
    first = statements[1]
    assert first.startswith("SELECT set_config('search_path', '\"clinic_clinica1\"")
    assert "statement_timeout" in first
    assert f"pg_advisory_xact_lock_shared({SCHEMA_LOCK_NAMESPACE}" in first
    assert not any("set_config" in sql for sql in statements[2:])
    # The public schema the same way, without a clinic's schema lock.
    first = public.captured_queries[1]["sql"]
    assert first.startswith("SELECT set_config('search_path', '\"public\",\"extensions\"'")
    assert "pg_advisory" not in first
    assert path == '"$user", public'


def test_a_schema_change_inside_a_transaction_sets_the_new_path(django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        with schema_context("clinic_clinica1"), connection.cursor() as cursor:
            cursor.execute("SELECT (current_schemas(false))[1]")
            first = cursor.fetchone()[0]
        with schema_context("clinic_clinica2"), connection.cursor() as cursor:
            cursor.execute("SELECT (current_schemas(false))[1]")
            second = cursor.fetchone()[0]
    assert (first, second) == ("clinic_clinica1", "clinic_clinica2")


def test_a_rollback_to_a_savepoint_that_changed_the_schema_sets_it_again(django_db_blocker):
    """``ROLLBACK TO SAVEPOINT`` undoes a ``set_config`` made after the savepoint: the backend
    must not trust its note of the path across it."""
    with django_db_blocker.unblock(), schema_context("clinic_clinica1"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        try:
            with transaction.atomic(), schema_context("clinic_clinica2"):
                with connection.cursor() as cursor:
                    cursor.execute("SELECT 1")
                raise RuntimeError("roll back to the savepoint")
        except RuntimeError:
            pass
        with schema_context("clinic_clinica2"), connection.cursor() as cursor:
            cursor.execute("SELECT (current_schemas(false))[1]")
            after = cursor.fetchone()[0]
    assert after == "clinic_clinica2"


def test_a_request_holds_its_clinics_schema_lock_until_it_ends(client, db, admin_token):
    """The shared schema lock comes with the schema; a restore's exclusive one waits for it.
    Seen from another connection while the request's transaction is open."""
    import psycopg2

    seen: list[int] = []
    params = connection.get_connection_params()

    def look(execute, sql, params_, many, context):
        result = execute(sql, params_, many, context)
        if not seen and "accounts_authtoken" in sql:
            other = psycopg2.connect(**params)
            try:
                with other.cursor() as cursor:
                    cursor.execute(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                        "AND classid = %s AND objid = hashtext('clinic_clinica1')::oid "
                        "AND mode = 'ShareLock' AND granted",
                        [SCHEMA_LOCK_NAMESPACE],
                    )
                    seen.append(cursor.fetchone()[0])
            finally:
                other.close()
        return result

    with connection.execute_wrapper(look):
        status, body = graphql(client, ME, host="clinica1.localhost", token=admin_token)
    assert status == 200, body
    assert seen == [1]


def test_a_request_leaves_no_clinic_selected_on_its_connection(client, db, admin_token):
    status, _ = graphql(client, ME, host="clinica1.localhost", token=admin_token)
    assert status == 200
    assert connection.schema_name == "public"


def test_a_session_level_search_path_is_refused(django_db_blocker):
    """``SET search_path`` outlives its transaction and, behind a transaction pool, reaches
    other clients' transactions: the guard refuses it (the test suite itself used one)."""
    with (
        django_db_blocker.unblock(),
        transaction.atomic(),
        connection.cursor() as cursor,
        pytest.raises(TenancyGuardError) as refused,
    ):
        cursor.execute("SET search_path = clinic_clinica1, public")
    assert "session-level search_path" in str(refused.value)
