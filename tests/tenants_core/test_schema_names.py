"""Schema names: every valid subdomain gets its own schema, and a name already in use (by a
clinic, an older derivation or an orphan schema) is a coded refusal that writes nothing, from
the service, GraphQL (createClinic, restoreClinic) and the create_clinic command."""

from __future__ import annotations

import hashlib
import string
import threading
import time

import psycopg2
import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.postgresql_backend.base import is_valid_schema_name
from django_tenants.utils import schema_exists
from hypothesis import given, settings
from hypothesis import strategies as st

from tenants_core import backups, restore, services
from tenants_core.errors import PlatformError
from tenants_core.models import Clinic, Domain
from tenants_core.schema_names import schema_name_for
from tenants_core.services import clinic_provision
from tenants_core.validators import validate_subdomain
from tests.conftest import TEST_PASSWORD, graphql, operation_codes

ALPHABET = string.ascii_lowercase + string.digits + "-"


def main_schema_name_for(subdomain: str) -> str:
    """The derivation before this change (main): long names cut into the plain space."""
    name = "clinic_" + subdomain.replace("-", "_")
    if len(name) > 63:
        digest = hashlib.sha256(subdomain.encode()).hexdigest()[:8]
        name = f"{name[:54]}_{digest}"
    return name


def main_collision_partner(long_subdomain: str) -> str:
    """A 56-character subdomain whose name, by either derivation, is the name that main gave
    ``long_subdomain``."""
    digest = hashlib.sha256(long_subdomain.encode()).hexdigest()[:8]
    return f"{long_subdomain[:47]}-{digest}"


def _valid(value: str) -> bool:
    try:
        validate_subdomain(value)
    except ValidationError:
        return False
    return True


# Lengths 3..63, most of them near the 56/57 boundary where names start to be hashed.
subdomains = (
    st.one_of(st.integers(3, 63), st.integers(50, 63))
    .flatmap(lambda n: st.text(ALPHABET, min_size=n, max_size=n))
    .filter(_valid)
)


@settings(max_examples=500, deadline=None)
@given(st.lists(subdomains, min_size=2, max_size=40, unique=True))
def test_distinct_subdomains_get_distinct_valid_schema_names(values):
    names = [schema_name_for(value) for value in values]
    assert len(set(names)) == len(values)
    for value, name in zip(values, names, strict=True):
        assert len(name) <= 63
        assert is_valid_schema_name(name)
        assert name == name.lower()
        assert set(name) <= set(string.ascii_lowercase + "0123456789_")
        # Two disjoint kinds: plain names never have "_" right after the prefix.
        assert name.startswith("clinic__") == (len(value) > 56)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_long_subdomains_that_share_their_first_56_characters_still_differ(data):
    head = data.draw(subdomains.filter(lambda v: len(v) >= 56))[:56].rstrip("-")
    tails = data.draw(
        st.lists(st.text(ALPHABET, min_size=1, max_size=63 - len(head)), min_size=2, unique=True)
    )
    values = {head + tail for tail in tails if _valid(head + tail)}
    if _valid(head):
        values.add(head)
    names = {schema_name_for(value) for value in values}
    assert len(names) == len(values)


@settings(max_examples=300, deadline=None)
@given(subdomains.filter(lambda v: len(v) > 56))
def test_main_collision_partners_get_their_own_schema(long_subdomain):
    partner = main_collision_partner(long_subdomain)
    assert _valid(partner)
    assert main_schema_name_for(partner) == main_schema_name_for(long_subdomain)  # main's bug
    assert schema_name_for(partner) != schema_name_for(long_subdomain)


def test_plain_names_are_unchanged_for_existing_clinics():
    assert schema_name_for("clinica1") == "clinic_clinica1"
    assert schema_name_for("1-dental") == "clinic_1_dental"
    assert schema_name_for("a" * 56) == "clinic_" + "a" * 56
    long_name = schema_name_for("a" * 57)
    assert long_name.startswith("clinic__" + "a" * 28 + "_")
    assert len(long_name) == 63


GOOD = {
    "name": "Clínica Larga",
    "legal_id": "20600000005",
    "email": "hola@larga.pe",
    "admin_password": TEST_PASSWORD,
}
LONG = "clinica-dental-de-la-familia-quispe-huaman-sede-miraflores-1"  # 60 characters
PARTNER = main_collision_partner(LONG)


def _codes(error: ValidationError) -> dict[str, list[str]]:
    return {field: [e.code for e in errors] for field, errors in error.error_dict.items()}


def _state() -> tuple[int, int, frozenset[str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace")
        names = frozenset(row[0] for row in cursor.fetchall())
    return Clinic.objects.count(), Domain.objects.count(), names


@pytest.mark.django_db
def test_the_colliding_pair_of_main_both_get_a_clinic():
    assert len(LONG) == 60
    assert len(PARTNER) == 56
    first = clinic_provision(subdomain=LONG, **GOOD)
    second = clinic_provision(subdomain=PARTNER, **GOOD)
    assert first.schema_name != second.schema_name
    assert schema_exists(first.schema_name)
    assert schema_exists(second.schema_name)


@pytest.mark.django_db
def test_a_schema_name_taken_by_an_older_derivation_is_refused(monkeypatch):
    """A clinic provisioned under main keeps its stored name; the subdomain that now derives
    that very name is refused with a code, and nothing is written."""
    monkeypatch.setattr(services, "schema_name_for", main_schema_name_for)
    legacy = clinic_provision(subdomain=LONG, **GOOD)
    monkeypatch.undo()
    assert legacy.schema_name == schema_name_for(PARTNER)
    before = _state()
    with pytest.raises(ValidationError) as raised:
        clinic_provision(subdomain=PARTNER, **GOOD)
    assert _codes(raised.value) == {"subdomain": [PlatformError.SCHEMA_NAME_TAKEN]}
    assert _state() == before


def _orphan(schema: str) -> None:
    """A schema nobody owns, holding a row that must survive every refusal."""
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{schema}"')
        cursor.execute(f'CREATE TABLE "{schema}".keep (note text)')
        cursor.execute(f"INSERT INTO \"{schema}\".keep VALUES ('orphan data')")


def _orphan_intact(schema: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT note FROM "{schema}".keep')
        return cursor.fetchall() == [("orphan data",)]


@pytest.mark.django_db
def test_an_orphan_schema_is_refused_by_the_service_and_the_command():
    _orphan("clinic_huerfana")
    before = _state()
    with pytest.raises(ValidationError) as raised:
        clinic_provision(subdomain="huerfana", **GOOD)
    assert _codes(raised.value) == {"subdomain": [PlatformError.SCHEMA_NAME_TAKEN]}
    with pytest.raises(CommandError, match=r"\[SCHEMA_NAME_TAKEN\]"):
        call_command(
            "create_clinic", "huerfana", "Huérfana", "20600000005", "h@huerfana.pe",
            "--admin-password", TEST_PASSWORD,
        )  # fmt: skip
    assert _state() == before
    assert _orphan_intact("clinic_huerfana")


CREATE = """
mutation($input: CreateClinicInput!) {
  createClinic(input: $input) {
    __typename ... on ManagedClinic { subdomain } ... on OperationInfo { messages { code field } }
  }
}
"""
RESTORE = """
mutation($s: String!, $b: ID!, $t: String!) {
  restoreClinic(subdomain: $s, backupId: $b, targetSubdomain: $t) {
    __typename ... on ManagedClinic { subdomain } ... on OperationInfo { messages { code field } }
  }
}
"""


@pytest.mark.django_db
def test_an_orphan_schema_is_refused_over_graphql(client, clinic2, platform_token):
    backup = backups.clinic_backup_create(clinic=clinic2)
    _orphan("clinic_huerfana")
    before = _state()
    _, body = graphql(
        client, CREATE, host="localhost", token=platform_token,
        variables={"input": {"subdomain": "huerfana", "name": "Huérfana", "legalId": "20600000005",
                             "email": "h@huerfana.pe", "plan": "BASIC",
                             "adminEmail": "h@huerfana.pe", "adminPassword": TEST_PASSWORD}},
    )  # fmt: skip
    assert "errors" not in body, body
    assert operation_codes(body["data"]["createClinic"]) == ["SCHEMA_NAME_TAKEN"]
    _, body = graphql(
        client, RESTORE, host="localhost", token=platform_token,
        variables={"s": "clinica2", "b": str(backup.id), "t": "huerfana"},
    )  # fmt: skip
    assert "errors" not in body, body
    assert operation_codes(body["data"]["restoreClinic"]) == ["SCHEMA_NAME_TAKEN"]
    assert _state() == before
    assert _orphan_intact("clinic_huerfana")
    with pytest.raises(ValidationError) as raised:
        restore.clinic_restore(
            subdomain="clinica2", backup_id=str(backup.id), target_subdomain="huerfana"
        )
    assert _codes(raised.value) == {"target_subdomain": [PlatformError.SCHEMA_NAME_TAKEN]}


def test_a_schema_created_concurrently_is_a_coded_refusal(django_db_blocker):
    """Another session creates the schema after our check and commits while we wait on it:
    PostgreSQL's DUPLICATE_SCHEMA becomes SCHEMA_NAME_TAKEN, and nothing is left behind."""
    with django_db_blocker.unblock():
        other = psycopg2.connect(**connection.get_connection_params())
        try:
            with other.cursor() as cursor:
                cursor.execute('CREATE SCHEMA "clinic_carrera"')  # not committed yet

            def commit_soon() -> None:
                time.sleep(1.0)
                other.commit()

            committer = threading.Thread(target=commit_soon)
            committer.start()
            clinics = Clinic.objects.count()
            try:
                with pytest.raises(ValidationError) as raised:
                    clinic_provision(subdomain="carrera", **GOOD)
            finally:
                committer.join()
            assert _codes(raised.value) == {"subdomain": [PlatformError.SCHEMA_NAME_TAKEN]}
            assert Clinic.objects.count() == clinics
            assert not Clinic.objects.filter(subdomain="carrera").exists()
            assert not Domain.objects.filter(domain__startswith="carrera.").exists()
        finally:
            with other.cursor() as cursor:
                cursor.execute('DROP SCHEMA IF EXISTS "clinic_carrera" CASCADE')
            other.commit()
            other.close()
