"""The module's clinic: committed once for the package (the API transactions must be the
outermost ones, as in production), emptied after each test, dropped at the end."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, connections

from backend.accounts.auth import _token_issue
from backend.accounts.models import User
from backend.core.tenancy import clinic_context, schema_transaction
from backend.patients.models import Patient
from backend.resources.models import Chair
from tenants_core.services import clinic_provision
from tests.conftest import TEST_PASSWORD
from tests.deadlocks.support import DAY, SUBDOMAIN, Data
from tests.factories import ChairFactory, PatientFactory, ProfessionalFactory, weekly


@pytest.fixture(scope="package")
def data(django_db_blocker: Any) -> Iterator[Data]:
    result = Data()
    with django_db_blocker.unblock():
        clinic = clinic_provision(
            subdomain=SUBDOMAIN, name="Bloqueos", legal_id="20600000005", email="hola@bloqueos.pe",
            plan="enterprise", admin_email="admin@bloqueos.pe", admin_password=TEST_PASSWORD,
        )  # fmt: skip
        with clinic_context(clinic):
            result.clinic = clinic
            result.admin = User.objects.get(email="admin@bloqueos.pe")
            result.token = _token_issue(result.admin).raw
            result.professionals = ProfessionalFactory.create_batch(
                2, hours=weekly([DAY.weekday()], (8, 18))
            )
            result.chairs = ChairFactory.create_batch(2)
            result.patient = PatientFactory(
                first_name="Ana", last_name="Ríos", document_number="41234567"
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
        with schema_transaction(data.clinic.schema_name), connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE scheduling_appointment, billing_paymentallocation, billing_payment, "
                "billing_receiptline, billing_receipt, billing_receiptseries, billing_charge CASCADE"
            )
            Patient.objects.exclude(pk=data.patient.pk).delete()
            Chair.objects.exclude(pk__in=[c.pk for c in data.chairs]).delete()
        connection.set_schema_to_public()
