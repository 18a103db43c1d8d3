"""What ``docs/scaling.md`` says about this codebase, checked against the code and the catalog.

The Citus plan there (schema-based sharding: one clinic schema = one colocation group that
the rebalancer moves whole) holds only while a clinic's schema stands alone: no foreign key
and no other dependency leaves it except into ``extensions``, no session-level advisory lock,
and the public tables that every node must read (the reference tables) hold no clinic data.
Each test here fails when that changes, so the document has to change with it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants_core import routing
from tenants_core.limits import usage_by_schema
from tenants_core.models import Clinic
from tenants_core.schema_template import TEMPLATE_SCHEMA

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRECTORIES = ("backend", "tenants_core", "graphql_api")

# docs/scaling.md, "Reference tables": what the routing of every request reads.
REFERENCE_TABLES = {
    "tenants_core_clinic",
    "tenants_core_domain",
    "tenants_core_plan",
    "tenants_core_routing_version",
}
# docs/scaling.md, "Sequences": identity columns narrower than bigint (Django's contrib apps
# keep AutoField). Written only by migrations, never by a request.
INTEGER_SEQUENCES = {"auth_group_id_seq", "auth_permission_id_seq", "django_content_type_id_seq"}
# docs/scaling.md, "SQL that names a schema": the modules that build schema-qualified SQL,
# and how many schemas one statement of theirs may name.
SCHEMA_QUALIFIED_SQL = {
    "tenants_core/routing.py": "public only",
    "tenants_core/backups.py": "one clinic",
    "tenants_core/restore.py": "one clinic (or its staging schema)",
    "backend/accounts/platform_hooks.py": "one clinic: the restore step revoking live tokens",
    "tenants_core/limits.py": "many clinics: usage_by_schema, the platform's clinic list",
    "backend/files/backups.py": "one clinic: the files a backup lists, a restore's rekeying",
}


def _clinic_schemas() -> list[str]:
    """Every clinic schema in the test database, and the template they are cloned from."""
    names = list(
        Clinic.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).values_list(
            "schema_name", flat=True
        )
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [TEMPLATE_SCHEMA])
        if cursor.fetchone():
            names.append(TEMPLATE_SCHEMA)
    assert len(names) >= 2, "the test database should hold clinic schemas"
    return names


def _fetch(query: str, params: list[object]) -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        # Catalog-wide scans, not requests: a loaded machine must not cut them at a
        # request's statement timeout (DB_STATEMENT_TIMEOUT_MS).
        cursor.execute("SET LOCAL statement_timeout = '120s'")
        cursor.execute(query, params)
        return list(cursor.fetchall())


@pytest.mark.django_db
def test_no_foreign_key_crosses_a_clinic_schema_boundary() -> None:
    """Citus refuses a foreign key from a distributed schema to anything but its own schema
    or a reference table, and any foreign key into a distributed schema from outside."""
    crossing = _fetch(
        "SELECT c.conname, r.oid::regclass::text, f.oid::regclass::text FROM pg_constraint c"
        " JOIN pg_class r ON r.oid = c.conrelid JOIN pg_class f ON f.oid = c.confrelid"
        " JOIN pg_namespace rn ON rn.oid = r.relnamespace"
        " JOIN pg_namespace fn ON fn.oid = f.relnamespace"
        " WHERE c.contype = 'f' AND rn.oid <> fn.oid"
        " AND (rn.nspname = ANY(%s) OR fn.nspname = ANY(%s))",
        [_clinic_schemas(), _clinic_schemas()],
    )
    assert crossing == []


# Each catalog object that lives in a schema, sub-objects (triggers, defaults, rules) under
# their table's: what pg_depend's (classid, objid) pairs resolve to.
_OBJECT_SCHEMAS = """
SELECT 'pg_class'::regclass, c.oid, c.relnamespace FROM pg_class c
UNION ALL SELECT 'pg_type'::regclass, t.oid, t.typnamespace FROM pg_type t
UNION ALL SELECT 'pg_proc'::regclass, p.oid, p.pronamespace FROM pg_proc p
UNION ALL SELECT 'pg_constraint'::regclass, k.oid, k.connamespace FROM pg_constraint k
UNION ALL SELECT 'pg_opclass'::regclass, o.oid, o.opcnamespace FROM pg_opclass o
UNION ALL SELECT 'pg_opfamily'::regclass, o.oid, o.opfnamespace FROM pg_opfamily o
UNION ALL SELECT 'pg_operator'::regclass, o.oid, o.oprnamespace FROM pg_operator o
UNION ALL SELECT 'pg_collation'::regclass, o.oid, o.collnamespace FROM pg_collation o
UNION ALL SELECT 'pg_trigger'::regclass, g.oid, c.relnamespace
    FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
UNION ALL SELECT 'pg_attrdef'::regclass, a.oid, c.relnamespace
    FROM pg_attrdef a JOIN pg_class c ON c.oid = a.adrelid
UNION ALL SELECT 'pg_rewrite'::regclass, r.oid, c.relnamespace
    FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
UNION ALL SELECT 'pg_namespace'::regclass, n.oid, n.oid FROM pg_namespace n
"""
# docs/scaling.md, "What a clinic schema depends on": all in ``extensions``.
EXTENSION_OBJECTS = {
    "extensions.immutable_unaccent(pg_catalog.text)",
    "extensions.gin_trgm_ops USING gin",
    "extensions.gist_int8_ops USING gist",
}


@pytest.mark.django_db
def test_clinic_schema_objects_depend_only_on_their_schema_and_extensions() -> None:
    """Every dependency in ``pg_depend`` between a clinic schema's objects (tables, indexes,
    defaults, generated columns, constraints, triggers, views, functions, types) and another
    schema's goes to the documented objects of ``extensions``, and nothing outside (but its
    TOAST tables) depends on a clinic schema."""
    schemas = _clinic_schemas()
    rows = _fetch(
        f"WITH owner(classid, objid, nsp) AS ({_OBJECT_SCHEMAS}),"
        " crossing AS (SELECT DISTINCT dn.nspname AS dependent, rn.nspname AS referenced,"
        " d.refclassid, d.refobjid FROM pg_depend d"
        " JOIN owner dep ON dep.classid = d.classid AND dep.objid = d.objid"
        " JOIN owner ref ON ref.classid = d.refclassid AND ref.objid = d.refobjid"
        " JOIN pg_namespace dn ON dn.oid = dep.nsp JOIN pg_namespace rn ON rn.oid = ref.nsp"
        " WHERE dep.nsp <> ref.nsp AND (dn.nspname = ANY(%s) OR rn.nspname = ANY(%s))"
        " AND rn.nspname <> 'pg_catalog' AND dn.nspname <> 'pg_toast')"
        " SELECT dependent, referenced, (pg_identify_object(refclassid, refobjid, 0)).identity"
        " FROM crossing",
        [schemas, schemas],
    )
    assert [row for row in rows if row[0] not in schemas or row[1] != "extensions"] == []
    assert {row[2] for row in rows} == EXTENSION_OBJECTS


@pytest.mark.django_db
def test_clinic_functions_name_no_other_schema() -> None:
    """PL/pgSQL bodies are not in ``pg_depend``: read them. The trigger functions of a clinic
    schema (append-only audit and clinical records) live in that schema and name no other."""
    schemas = _clinic_schemas()
    namespaces = [row[0] for row in _fetch("SELECT nspname FROM pg_namespace", [])]
    functions = _fetch(
        "SELECT n.nspname, p.proname, p.prosrc, p.proconfig FROM pg_proc p"
        " JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = ANY(%s)",
        [schemas],
    )
    assert functions, "clinic schemas hold their trigger functions"
    named = {
        (schema, name, other)
        for schema, name, body, config in functions
        for other in namespaces
        if other not in (schema, "pg_catalog")
        and re.search(rf"(?<![\w$]){re.escape(other)}\s*\.", str(body) + str(config or ""))
    }
    assert named == set()
    triggers = _fetch(
        "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
        " JOIN pg_proc p ON p.oid = t.tgfoid"
        " WHERE c.relnamespace = ANY(%s::regnamespace[]) AND NOT t.tgisinternal"
        " AND p.pronamespace <> c.relnamespace",
        [schemas],
    )
    assert triggers == []


@pytest.mark.django_db
def test_clinic_sequences_are_their_own_and_bigint_but_the_documented_ones() -> None:
    """Each sequence belongs to a column of its own schema (identity), and those narrower
    than bigint are the three of Django's contrib tables the doc lists."""
    schemas = _clinic_schemas()
    rows = _fetch(
        "SELECT n.nspname, c.relname, s.seqtypid::regtype::text, t.relnamespace = c.relnamespace"
        " FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid"
        " AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')"
        " LEFT JOIN pg_class t ON t.oid = d.refobjid WHERE n.nspname = ANY(%s)",
        [schemas],
    )
    assert rows
    assert [(schema, name) for schema, name, _, own in rows if not own] == []
    narrow = {name for _, name, kind, _ in rows if kind != "bigint"}
    assert narrow == INTEGER_SEQUENCES


@pytest.mark.django_db
def test_reference_tables_are_what_routing_reads_and_hold_no_clinic_data() -> None:
    """The reference tables are exactly the tables of the routing statements, they belong to
    ``tenants_core`` (public schema only, no clinic app), and their foreign keys stay among
    themselves (Citus: a reference table may only reference reference tables)."""
    statement, _, _ = routing._lookup_sql()
    text = statement.as_string(connection.connection) + routing._version_sql().as_string(
        connection.connection
    )
    read = set(re.findall(r'"public"\."(\w+)"', text))
    assert read == REFERENCE_TABLES
    models = {m._meta.db_table: m for m in apps.get_models() if m._meta.db_table in read}
    assert set(models) == REFERENCE_TABLES
    for table, model in models.items():
        app = model._meta.app_config
        assert app.name not in settings.TENANT_APPS, table
        assert app.name == "tenants_core", table
    references = _fetch(
        "SELECT r.relname, f.relname FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid"
        " JOIN pg_class f ON f.oid = c.confrelid WHERE c.contype = 'f'"
        " AND r.relnamespace = 'public'::regnamespace AND r.relname = ANY(%s)",
        [sorted(REFERENCE_TABLES)],
    )
    assert references
    assert {(r, f) for r, f in references if f not in REFERENCE_TABLES} == set()


def _source_files() -> list[Path]:
    return [
        path
        for directory in SOURCE_DIRECTORIES
        for path in sorted((ROOT / directory).rglob("*.py"))
        if "migrations" not in path.parts
    ]


# sql.Identifier(<schema>, <table>) and f"{quote(schema)}.{quote(table)}": a qualified name.
_QUALIFIED = re.compile(
    r"sql\.Identifier\(\s*(?:[\w.]+\(\)|[\w.]+)\s*,\s*[\w.\[\]'\"]+\s*\)"
    r"|quote\([^)]*\)\}\.(?:\{|\w)"
)


def test_schema_qualified_sql_is_built_only_where_the_doc_says() -> None:
    """Clinic code reaches its tables through the transaction's ``search_path``; the modules
    that name a schema in SQL are the documented ones (a new one must be reviewed against the
    sharding plan: does a statement of it name two clinics?)."""
    found = {
        path.relative_to(ROOT).as_posix()
        for path in _source_files()
        if _QUALIFIED.search(path.read_text())
    }
    assert found == set(SCHEMA_QUALIFIED_SQL)


def test_advisory_locks_are_transaction_scoped() -> None:
    """A session-level advisory lock would outlive the transaction on a pooled server
    connection (and, with Citus, lives on one node only): every one is ``_xact_``."""
    calls = [
        (path.relative_to(ROOT).as_posix(), match.group(0))
        for path in _source_files()
        for match in re.finditer(r"pg_(?:try_)?advisory_\w+", path.read_text())
    ]
    assert calls, "the login throttle and the template rebuild take advisory locks"
    assert [call for call in calls if "_xact_" not in call[1]] == []


def test_settings_the_code_sends_end_with_the_transaction() -> None:
    """docs/scaling.md, section 1: nothing a server connection carries from one transaction to
    the next. SQL ``SET`` is ``LOCAL``, ``TRANSACTION`` or ``CONSTRAINTS``;
    no ``set_config(…, false)`` (session); no ``LISTEN`` and no ``WITH HOLD`` cursor. (The
    database backend also refuses a session-level ``SET search_path`` at run time.)"""
    session_set = re.compile(r"""["'](?:SET|set) (?!LOCAL\b|TRANSACTION\b|CONSTRAINTS\b)\w+""")
    session_config = re.compile(r"set_config\([^()]*,\s*false\s*\)")
    survives = re.compile(r"\bLISTEN\s+\w|\bWITH HOLD\b")
    found = {
        (path.relative_to(ROOT).as_posix(), match.group(0))
        for path in _source_files()
        if "schema_template.py" not in path.name  # its regex strips pg_dump's SET lines
        for pattern in (session_set, session_config, survives)
        for match in pattern.finditer(path.read_text())
    }
    assert found == set()


@pytest.mark.django_db
def test_the_platform_clinic_list_reads_many_clinic_schemas_in_one_statement(
    clinic1: Clinic, clinic2: Clinic
) -> None:
    """The one cross-clinic statement (``docs/scaling.md``, "Violations"): the plan-usage
    counts of a page of clinics, a UNION ALL over their schemas. Under Citus it becomes a
    multi-node query; the doc's fix is a usage rollup in a public table."""
    with CaptureQueriesContext(connection) as queries:
        usage = usage_by_schema([clinic1.schema_name, clinic2.schema_name])
    assert set(usage) == {clinic1.schema_name, clinic2.schema_name}
    assert len(queries.captured_queries) == 1
    statement = queries.captured_queries[0]["sql"]
    assert f'"{clinic1.schema_name}".' in statement
    assert f'"{clinic2.schema_name}".' in statement
