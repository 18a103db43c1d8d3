"""Plan limits (``tenants_core/limits.py``) as its docstrings promise them, where the mutation
run found that no test held them (docs/testing.md, target ``plan-limits``).

Each test names the mutant it kills; each was checked by applying that mutant by hand."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import tenant_context
from psycopg2 import errors

from backend.patients.models import Patient
from tenants_core import limits
from tenants_core.models import Clinic

pytestmark = pytest.mark.django_db


def add_patients(count: int) -> None:
    Patient.objects.bulk_create(
        Patient(
            first_name="P", last_name=str(i), document_type="DNI",
            document_number=f"{60000000 + i}",
        )
        for i in range(count)
    )  # fmt: skip


def test_a_reservation_of_several_rows_fits_exactly_up_to_the_limit(clinic2):
    """``used + adding > limit``: 48 of 50 patients leave room for 2 at once, not 3. Kills
    ``adding`` ignored or counted twice, and ``>`` → ``>=``."""
    with tenant_context(clinic2):
        add_patients(48)
        limits.limit_reserve(resource="patients", adding=2)
        with pytest.raises(ValidationError) as refused:
            limits.limit_reserve(resource="patients", adding=3)
    assert refused.value.code == "PLAN_LIMIT_REACHED"
    assert refused.value.messages == ["The Basic plan allows 50 patients and the clinic has 48."]


def test_limit_reserve_refuses_to_run_outside_a_clinic(public_tenant):
    """Nothing is counted against the platform: in the public schema, with or without the
    public tenant set, it is a programming error. Kills ``or`` → ``and`` in the guard."""
    connection.set_tenant(public_tenant)
    with pytest.raises(RuntimeError, match="clinic's schema"):
        limits.limit_reserve(resource="users")
    connection.set_schema_to_public()
    with pytest.raises(RuntimeError, match="clinic's schema"):
        limits.limit_reserve(resource="users")


@pytest.fixture
def other_connection() -> Iterator[Any]:
    """A second, real PostgreSQL session, as another request would have."""
    params = connection.get_connection_params()
    params.pop("options", None)
    probe = psycopg2.connect(**params, options="-c lock_timeout=2000")
    try:
        yield probe
    finally:
        probe.rollback()
        probe.close()


def test_the_clinic_lock_serialises_changes_of_the_clinic_but_not_rows_that_reference_it(
    clinic1: Clinic, other_connection: Any
):
    """``clinic_lock`` takes ``FOR NO KEY UPDATE``: another session cannot change the clinic's
    row (nor reserve) until the transaction ends, but it can still add a row that references
    the clinic (a domain), which a plain ``FOR UPDATE`` would block. Kills
    ``no_key=True`` → ``False``; the update probe is the control that the lock is held."""
    limits.clinic_lock(clinic1)  # held by the test's transaction until it rolls back
    with other_connection.cursor() as cursor:
        # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: without this the key-share
        # lock on the clinic would wait for a commit the probe never makes.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "INSERT INTO public.tenants_core_domain (domain, tenant_id, is_primary)"
            " VALUES ('lock-probe.localhost', %s, false)",
            [clinic1.pk],
        )
        other_connection.rollback()
        with pytest.raises(errors.LockNotAvailable):
            cursor.execute(
                "UPDATE public.tenants_core_clinic SET name = name WHERE id = %s", [clinic1.pk]
            )
