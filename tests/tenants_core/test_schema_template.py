"""A clinic cloned from the template schema is the same as one built by the migrations.

Two clinics are provisioned and committed, one by each path; their schemas are then compared
through pg_catalog, object by object, with the schema name normalized. The clone is used only
if this holds, so the comparison is deliberately exhaustive."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from django_tenants.utils import schema_exists

from backend.core.tenancy import clinic_context, schema_transaction
from backend.patients.models import Patient
from backend.resources.models import Chair, Professional
from backend.scheduling.models import Appointment
from tenants_core import schema_template
from tenants_core.models import Clinic
from tenants_core.schema_template import TEMPLATE_SCHEMA, code_fingerprint, template_fingerprint
from tenants_core.services import clinic_provision
from tests.dates import MONDAY

from ..conftest import TEST_PASSWORD

LIMA = ZoneInfo("America/Lima")
# Written by provisioning itself (the first admin and the audit of its creation), not by the
# migrations: their rows differ by nature (timestamps, password hashes), their ids must not.
PROVISIONING_TABLES = {"accounts_user", "audit_auditevent"}


class PathSpy:
    """Counts how clinic schemas were made: by migration or by clone."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.migrated: list[str] = []
        self.cloned: list[str] = []
        migrate, clone = schema_template.schema_migrate, schema_template.schema_clone

        def spy_migrate(schema_name: str, **kwargs: Any) -> None:
            self.migrated.append(schema_name)
            migrate(schema_name, **kwargs)

        def spy_clone(schema_name: str) -> None:
            clone(schema_name)
            self.cloned.append(schema_name)

        monkeypatch.setattr(schema_template, "schema_migrate", spy_migrate)
        monkeypatch.setattr(schema_template, "schema_clone", spy_clone)


def _provision(subdomain: str) -> Clinic:
    return clinic_provision(
        subdomain=subdomain,
        name=subdomain.title(),
        legal_id="20600000005",
        email=f"hola@{subdomain}.pe",
        admin_email=f"admin@{subdomain}.pe",
        admin_password=TEST_PASSWORD,
    )


@pytest.fixture(scope="module")
def twin_clinics(django_db_blocker: Any) -> Iterator[tuple[Clinic, Clinic]]:
    """One clinic built by the migrations, one cloned from the template; committed."""
    monkeypatch = pytest.MonkeyPatch()
    spy = PathSpy(monkeypatch)
    with django_db_blocker.unblock():
        schema_template.template_refresh()
        with override_settings(PROVISION_FROM_TEMPLATE=False):
            migrated = _provision("gemela-migrada")
        cloned = _provision("gemela-clonada")
    monkeypatch.undo()
    assert spy.migrated == [migrated.schema_name]
    assert spy.cloned == [cloned.schema_name]
    yield migrated, cloned
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        for clinic in (migrated, cloned):
            clinic.delete(force_drop=True)


def _rows(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# Django writes ``status IN ('A', 'B')`` on a varchar column as ``= ANY(ARRAY['A', 'B'])`` and
# PostgreSQL stores ``(ARRAY['A'::varchar, 'B'::varchar])::text[]``; printed and parsed again
# (pg_dump), the same test is stored with the cast inside: ``ARRAY[('A'::varchar)::text, ...]``.
# A text array of the same literals either way; this spells both alike and nothing else.
_CAST_INSIDE_ARRAY = re.compile(
    r"ARRAY\[((?:\('(?:[^']|'')*'::character varying\)::text(?:, )?)+)\]"
)
_CAST_ELEMENT = re.compile(r"\(('(?:[^']|'')*'::character varying)\)::text")


def _cast_outside(match: re.Match[str]) -> str:
    literals = _CAST_ELEMENT.findall(match.group(1))
    return f"(ARRAY[{', '.join(literals)}])::text[]"


def _normalize(value: Any, schema: str) -> Any:
    if isinstance(value, str):
        value = _CAST_INSIDE_ARRAY.sub(_cast_outside, value)
        return re.sub(rf"(?<![\w$]){re.escape(schema)}(?![\w$])", "<schema>", value)
    if isinstance(value, list | tuple):
        return type(value)(_normalize(item, schema) for item in value)
    return value


CATALOG = {
    "relations": """
        SELECT c.relname, c.relkind, c.relpersistence, c.relrowsecurity, c.relhastriggers,
               c.relacl::text, pg_get_userbyid(c.relowner)
        FROM pg_class c WHERE c.relnamespace = %(ns)s ORDER BY c.relname""",
    "schema": """
        SELECT nspacl::text, pg_get_userbyid(nspowner) FROM pg_namespace
        WHERE oid = %(ns)s""",
    "columns": """
        SELECT c.relname,
               row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum),
               a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity,
               a.attgenerated, pg_get_expr(d.adbin, d.adrelid), a.attcollation::regcollation::text
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relnamespace = %(ns)s AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY c.relname, a.attnum""",
    "constraints": """
        SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid), k.condeferrable,
               k.condeferred, k.convalidated, f.relnamespace = %(ns)s
        FROM pg_constraint k
        JOIN pg_class c ON c.oid = k.conrelid
        LEFT JOIN pg_class f ON f.oid = k.confrelid
        WHERE k.connamespace = %(ns)s ORDER BY c.relname, k.conname""",
    "indexes": """
        SELECT c.relname, i.relname, pg_get_indexdef(x.indexrelid), x.indisunique,
               x.indisprimary, x.indisvalid
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class c ON c.oid = x.indrelid
        WHERE c.relnamespace = %(ns)s ORDER BY c.relname, i.relname""",
    "sequences": """
        SELECT s.sequencename, s.data_type::text, s.start_value, s.min_value, s.max_value,
               s.increment_by, s.cycle, s.cache_size, s.last_value
        FROM pg_sequences s WHERE s.schemaname = %(name)s ORDER BY s.sequencename""",
    "sequence_owners": """
        SELECT s.relname, t.relname, a.attname, d.deptype
        FROM pg_depend d
        JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
        JOIN pg_class t ON t.oid = d.refobjid
        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
        WHERE s.relnamespace = %(ns)s AND d.classid = 'pg_class'::regclass
        ORDER BY s.relname""",
    "triggers": """
        SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled,
               p.pronamespace = %(ns)s
        FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid
        JOIN pg_proc p ON p.oid = t.tgfoid
        WHERE c.relnamespace = %(ns)s AND NOT t.tgisinternal ORDER BY c.relname, t.tgname""",
    "functions": """
        SELECT p.proname, pg_get_function_identity_arguments(p.oid),
               pg_get_function_result(p.oid), l.lanname, p.prosrc, p.provolatile,
               p.prosecdef, p.proconfig::text, p.prokind
        FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
        WHERE p.pronamespace = %(ns)s ORDER BY p.proname, 2""",
    "views": """
        SELECT viewname, definition FROM pg_views WHERE schemaname = %(name)s
        UNION ALL
        SELECT matviewname, definition FROM pg_matviews WHERE schemaname = %(name)s
        ORDER BY 1""",
    "types": """
        SELECT t.typname, t.typtype FROM pg_type t
        WHERE t.typnamespace = %(ns)s AND t.typtype <> 'c' ORDER BY t.typname""",
    "policies": """
        SELECT tablename, policyname, cmd, qual, with_check FROM pg_policies
        WHERE schemaname = %(name)s ORDER BY 1, 2""",
}


def _catalog(schema: str) -> dict[str, list[tuple[Any, ...]]]:
    (ns,) = _rows("SELECT oid FROM pg_namespace WHERE nspname = %s", [schema])[0]
    params = {"ns": ns, "name": schema}
    # Public on the path, the clinic off it: every name of the clinic prints qualified. Set
    # for this transaction only, as the app does (a session-level SET would outlive it).
    with (
        transaction.atomic(),
        connection.schema_qualified(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT set_config('search_path', 'public, extensions', true)")
        snapshot = {}
        for aspect, sql in CATALOG.items():
            cursor.execute(sql, params)
            snapshot[aspect] = _normalize(cursor.fetchall(), schema)
    return snapshot


def _table_contents(schema: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (``django_migrations.applied`` left out: it is a timestamp).
    Tables written by provisioning itself contribute their ids only."""
    tables = [
        name
        for (name,) in _rows(
            "SELECT relname FROM pg_class WHERE relnamespace = %s::regnamespace"
            " AND relkind = 'r' ORDER BY relname",
            [schema],
        )
    ]
    contents = {}
    with connection.cursor() as cursor:
        for table in tables:
            if table in PROVISIONING_TABLES:
                columns = "id"
            elif table == "django_migrations":
                columns = "id, app, name"
            else:
                columns = "*"
            cursor.execute(f'SELECT {columns} FROM "{schema}"."{table}" ORDER BY 1')
            contents[table] = cursor.fetchall()
    return contents


@pytest.mark.parametrize("aspect", sorted(CATALOG))
def test_a_cloned_schema_equals_a_migrated_one(twin_clinics, aspect, django_db_blocker):
    migrated, cloned = twin_clinics
    with django_db_blocker.unblock():
        expected = _catalog(migrated.schema_name)[aspect]
        actual = _catalog(cloned.schema_name)[aspect]
    assert actual == expected
    if aspect in ("relations", "columns", "constraints", "indexes", "sequences", "triggers"):
        assert expected, f"no {aspect} at all: the comparison would prove nothing"


def test_the_migration_rows_and_seeded_rows_are_the_same(twin_clinics, django_db_blocker):
    migrated, cloned = twin_clinics
    with django_db_blocker.unblock():
        expected = _table_contents(migrated.schema_name)
        actual = _table_contents(cloned.schema_name)
    assert actual == expected
    assert len(expected["django_migrations"]) > 10
    assert expected["django_content_type"]
    assert expected["auth_permission"]
    assert expected["accounts_user"] == [(1,)]  # the first admin, id 1 in both


def test_the_catalog_comparison_notices_a_difference(twin_clinics, django_db_blocker):
    """The comparison above can fail: one extra index, one changed default are both seen."""
    _migrated, cloned = twin_clinics
    with django_db_blocker.unblock(), transaction.atomic():
        before = _catalog(cloned.schema_name)
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE INDEX extra ON "{cloned.schema_name}".patients_patient (email)')
            cursor.execute(
                f'ALTER TABLE "{cloned.schema_name}".staff_chair '
                "ALTER COLUMN name SET DEFAULT 'x'"
            )
        after = _catalog(cloned.schema_name)
        transaction.set_rollback(True)
    assert after["indexes"] != before["indexes"]
    assert after["columns"] != before["columns"]


def test_the_clone_names_its_own_schema_and_the_template_is_not_referenced(
    twin_clinics, django_db_blocker
):
    _, cloned = twin_clinics
    with django_db_blocker.unblock():
        leaks = _rows(
            """
            SELECT 'constraint ' || conname FROM pg_constraint
            WHERE connamespace = %(ns)s::regnamespace
              AND pg_get_constraintdef(oid) LIKE '%%' || %(template)s || '%%'
            UNION ALL
            SELECT 'index ' || indexrelid::regclass::text FROM pg_index x
            JOIN pg_class c ON c.oid = x.indrelid
            WHERE c.relnamespace = %(ns)s::regnamespace
              AND pg_get_indexdef(indexrelid) LIKE '%%' || %(template)s || '%%'
            UNION ALL
            SELECT 'trigger ' || tgname FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
            JOIN pg_class c ON c.oid = t.tgrelid
            WHERE c.relnamespace = %(ns)s::regnamespace AND NOT t.tgisinternal
              AND p.pronamespace <> c.relnamespace
            UNION ALL
            SELECT 'default ' || adrelid::regclass::text FROM pg_attrdef d
            JOIN pg_class c ON c.oid = d.adrelid
            WHERE c.relnamespace = %(ns)s::regnamespace
              AND pg_get_expr(adbin, adrelid) LIKE '%%' || %(template)s || '%%'
            UNION ALL
            SELECT 'sequence ' || s.relname FROM pg_depend d
            JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
            JOIN pg_class t ON t.oid = d.refobjid
            WHERE s.relnamespace = %(ns)s::regnamespace AND t.relnamespace <> s.relnamespace
            """,
            {"ns": cloned.schema_name, "template": TEMPLATE_SCHEMA},
        )
        comment = _rows(
            "SELECT obj_description(%s::regnamespace, 'pg_namespace')", [cloned.schema_name]
        )
    assert leaks == []
    assert comment == [(None,)]  # the template's fingerprint marker stays on the template


def test_a_cloned_clinic_works_and_its_ids_start_at_one(twin_clinics, django_db_blocker):
    _, cloned = twin_clinics
    monday = MONDAY
    with django_db_blocker.unblock(), transaction.atomic(), clinic_context(cloned):
        patient = Patient.objects.create(
            first_name="Ángela", last_name="Ñique", document_type="DNI", document_number="12345678"
        )
        professional = Professional.objects.create(full_name="Dra. Soto", license_number="1")
        chair = Chair.objects.create(name="Sillón 1")
        start = dt.datetime.combine(monday, dt.time(9), tzinfo=LIMA)
        first = Appointment.objects.create(
            patient=patient,
            professional=professional,
            chair=chair,
            starts_at=start,
            ends_at=start + dt.timedelta(minutes=30),
        )
        assert (patient.pk, professional.pk, chair.pk, first.pk) == (1, 1, 1, 1)
        patient.refresh_from_db()
        assert patient.search_text == "angela nique 12345678"  # the generated column
        assert Patient.objects.filter(search_text__trigram_similar="angela nique").exists()
        other_chair = Chair.objects.create(name="Sillón 2")
        with (
            pytest.raises(IntegrityError, match="appointment_no_professional_overlap"),
            transaction.atomic(),
        ):
            Appointment.objects.create(
                patient=patient,
                professional=professional,
                chair=other_chair,
                starts_at=start + dt.timedelta(minutes=15),
                ends_at=start + dt.timedelta(minutes=45),
            )
        # The constraint's predicate (status NOT IN cancelled/no-show) survived the copy.
        first.status = "CANCELLED"
        first.save()
        Appointment.objects.create(
            patient=patient,
            professional=professional,
            chair=chair,
            starts_at=start,
            ends_at=start + dt.timedelta(minutes=30),
        )
        with (
            pytest.raises(Exception, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute("DELETE FROM audit_auditevent")
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_a_missing_template_falls_back_to_migrations_and_is_rebuilt(monkeypatch):
    spy = PathSpy(monkeypatch)
    schema_template.template_drop()
    clinic = _provision("sin-plantilla")
    assert spy.migrated == [clinic.schema_name]
    assert spy.cloned == []
    assert Clinic.objects.get(pk=clinic.pk).migrations_fingerprint == code_fingerprint()
    with clinic_context(clinic):
        assert Patient.objects.count() == 0
    assert template_fingerprint() is None

    assert schema_template.template_refresh() is True
    assert template_fingerprint() == code_fingerprint()
    assert schema_template.template_refresh() is False  # current: left alone
    second = _provision("con-plantilla")
    assert spy.cloned == [second.schema_name]


@pytest.mark.django_db
def test_a_stale_template_is_not_cloned(monkeypatch):
    spy = PathSpy(monkeypatch)
    with connection.cursor() as cursor:
        cursor.execute(
            f"COMMENT ON SCHEMA \"{TEMPLATE_SCHEMA}\" IS 'migrations_fingerprint=0123abcd'"
        )
    assert template_fingerprint() == "0123abcd"
    clinic = _provision("plantilla-vieja")
    assert spy.migrated == [clinic.schema_name]
    assert spy.cloned == []
    assert schema_exists(clinic.schema_name)


@pytest.mark.django_db
def test_the_setting_turns_the_fast_path_off(monkeypatch, settings):
    spy = PathSpy(monkeypatch)
    assert template_fingerprint() == code_fingerprint()
    settings.PROVISION_FROM_TEMPLATE = False
    clinic = _provision("sin-clonar")
    assert spy.migrated == [clinic.schema_name]
    assert spy.cloned == []


@pytest.mark.django_db
def test_a_failed_clone_leaves_nothing_and_migrates_instead(monkeypatch):
    """A broken script rolls back to its savepoint; provisioning goes on by migration."""
    spy = PathSpy(monkeypatch)
    monkeypatch.setattr(
        schema_template, "_clone_script", lambda fingerprint: "CREATE SCHEMA _clinic_template; x"
    )
    clinic = _provision("clon-roto")
    assert spy.migrated == [clinic.schema_name]
    with schema_transaction(clinic.schema_name):
        assert Patient.objects.count() == 0


def test_a_migrated_clinic_rebuilds_a_missing_template_after_commit(django_db_blocker):
    with django_db_blocker.unblock():
        schema_template.template_drop()
        assert template_fingerprint() is None
        clinic = _provision("reconstruye")
        try:
            assert template_fingerprint() == code_fingerprint()
        finally:
            connection.set_schema_to_public()
            clinic.delete(force_drop=True)
            schema_template.template_refresh()
