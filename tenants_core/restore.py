"""Restoring a clinic backup (see ``tenants_core.backup_archive`` for the format): into a new
clinic, or over the same clinic once confirmed. Everything is verified before anything is
written, and the restore is one transaction.

The schema is built at the backup's migration state, the rows and sequence positions are
loaded, and the schema is then migrated forward to the code's state, so a backup taken
before an upgrade still restores after it.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, ProgrammingError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.utils.translation import gettext as _
from psycopg2.errorcodes import DUPLICATE_SCHEMA, LOCK_NOT_AVAILABLE

from backend.core.db_backend.connection import tenant_connection
from tenants_core import clinic_hooks, limits, routing
from tenants_core.backup_archive import (
    MANIFEST,
    HashingReader,
    backup_error,
    backup_open,
    backup_verify_file,
)
from tenants_core.backups import CLINIC_FIELDS, backup_get, quote, schema_tables
from tenants_core.errors import PlatformError
from tenants_core.models import Clinic, ClinicStatus, Domain, Plan
from tenants_core.schema_names import clinic_claim_refusal, clinic_domain_for, schema_name_for
from tenants_core.schema_template import code_fingerprint
from tenants_core.validators import validate_subdomain


def clinic_restore(
    *,
    subdomain: str,
    target_subdomain: str,
    actor: Any = None,
    backup_id: str | None = None,
    file: Path | None = None,
    confirm_overwrite: bool = False,
) -> Clinic:
    """Restore a backup of the clinic at ``subdomain`` into a new clinic at
    ``target_subdomain``, or over the same clinic when ``target_subdomain == subdomain`` and
    ``confirm_overwrite`` is set. The backup is named by ``backup_id`` (a recorded backup) or
    given as a ``file`` (operators' command line). Nothing is written unless all of it
    verifies, and the restore is one transaction."""
    subdomain = (subdomain or "").strip().lower()
    target = (target_subdomain or "").strip().lower()
    if file is not None:
        verified = backup_verify_file(Path(file), subdomain=subdomain)
    else:
        backup, path = backup_get(subdomain=subdomain, backup_id=backup_id or "")
        verified = backup_verify_file(path, subdomain=subdomain, expected_sha256=backup.sha256)
        if verified.manifest.get("backup_id") != str(backup.id):
            raise backup_error(
                PlatformError.BACKUP_FOREIGN,
                _("This backup was not made by this platform for this clinic; it is refused."),
            )
    manifest = verified.manifest
    overwrite = target == subdomain
    if overwrite and not confirm_overwrite:
        raise backup_error(
            PlatformError.CONFIRMATION_REQUIRED,
            _("Restoring over the clinic replaces all of its current data. Confirm to go ahead."),
            "confirm_overwrite",
        )
    executor = MigrationExecutor(connection)
    graph_nodes = set(executor.loader.graph.nodes)
    unknown = [tuple(m) for m in manifest["migrations"] if tuple(m) not in graph_nodes]
    if unknown:
        raise backup_error(
            PlatformError.BACKUP_INCOMPATIBLE,
            _("The backup comes from a newer version of the platform (%(migrations)s).")
            % {"migrations": ", ".join(f"{app}.{name}" for app, name in unknown[:5])},
        )
    with transaction.atomic():
        with connection.cursor() as cursor:
            # Loading a large table may take longer than any request statement may.
            cursor.execute("SET LOCAL statement_timeout = 0")
        if overwrite:
            return _restore_over(manifest, verified.archive_path, subdomain, actor)
        return _restore_as_new(manifest, verified.archive_path, target, actor)


def _restore_as_new(manifest: dict[str, Any], archive: Path, target: str, actor: Any) -> Clinic:
    try:
        target = validate_subdomain(target)
    except ValidationError as error:
        raise ValidationError({"target_subdomain": error.error_list}) from None
    schema_name = schema_name_for(target)
    refusal = clinic_claim_refusal(target, schema_name, "target_subdomain")
    if refusal is not None:
        raise refusal
    settings_of = manifest["clinic"]
    plan = Plan.objects.filter(code=settings_of["plan"]).first()
    if plan is None:
        raise backup_error(
            PlatformError.BACKUP_INCOMPATIBLE,
            _("The backup's plan “%(plan)s” no longer exists.") % {"plan": settings_of["plan"]},
        )

    def lost_race() -> ValidationError:
        """Another restore or sign-up took the subdomain or the schema name meanwhile."""
        return clinic_claim_refusal(target, schema_name, "target_subdomain") or backup_error(
            PlatformError.SUBDOMAIN_TAKEN,
            _("The subdomain “%(value)s” is already taken.") % {"value": target},
            "target_subdomain",
        )

    clinic = Clinic(
        schema_name=schema_name,
        subdomain=target,
        plan=plan,
        status=ClinicStatus.ACTIVE,
        **{field: settings_of[field] for field in CLINIC_FIELDS},
    )
    # The schema first, the clinic's row last: a write to the clinic table holds the routing
    # version row (tenants_core 0005) until commit, and other platform writes wait for it.
    try:
        with transaction.atomic():
            _build_schema(clinic.schema_name, manifest, archive)
    except ProgrammingError as error:
        if getattr(error.__cause__, "pgcode", None) != DUPLICATE_SCHEMA:
            raise
        raise lost_race() from None
    clinic.auto_create_schema = False  # built above, at the backup's migration state
    try:
        with transaction.atomic():
            clinic.save(verbosity=0)
            Domain.objects.create(domain=clinic_domain_for(target), tenant=clinic, is_primary=True)
    except (IntegrityError, ValidationError):
        raise lost_race() from None  # taken between the check and the insert
    routing.invalidate()
    return _restored(clinic, manifest, actor, {"from": manifest["subdomain"]})


def _restore_over(manifest: dict[str, Any], archive: Path, subdomain: str, actor: Any) -> Clinic:
    from tenants_core.selectors import clinic_get

    clinic = clinic_get(subdomain=subdomain)
    # The clinic's schema lock first (backend.core.db_backend): requests in flight finish,
    # new ones wait for the restore holding nothing, so none waits for the clinic's row while
    # it holds a table the restore drops.
    with _busy_after_lock_timeout():
        tenant_connection().lock_schema_exclusively(clinic.schema_name)
    clinic = limits.clinic_lock(clinic)
    if manifest.get("clinic_id") != clinic.pk:
        # A former clinic that had this subdomain is not this clinic.
        raise backup_error(
            PlatformError.BACKUP_FOREIGN,
            _("This backup was not made by this platform for this clinic; it is refused."),
        )
    # Outside the clinic_ prefix, so that it can never be a clinic's (or an orphan's) name.
    staging = f"_restore_{secrets.token_hex(8)}"
    _build_schema(staging, manifest, archive)
    with connection.cursor() as cursor:
        with _busy_after_lock_timeout():
            cursor.execute(f"DROP SCHEMA {quote(clinic.schema_name)} CASCADE")
        cursor.execute(f"ALTER SCHEMA {quote(staging)} RENAME TO {quote(clinic.schema_name)}")
        # What the clinic apps must do to a restored schema (backend.accounts: a token
        # revoked after the backup was taken must not come back to life).
        for step in clinic_hooks.restore_steps():
            step(cursor, clinic.schema_name)
    tenant_connection().set_schema_to_public()
    return _restored(clinic, manifest, actor, {"over": subdomain})


@contextlib.contextmanager
def _busy_after_lock_timeout() -> Iterator[None]:
    """Requests in flight finish first (each statement is bounded); a lock held longer than
    ``RESTORE_LOCK_TIMEOUT_MS`` is a session stuck in a transaction: refuse rather than wait
    forever."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('lock_timeout', %s, true)", [f"{settings.RESTORE_LOCK_TIMEOUT_MS}ms"]
        )
    try:
        with transaction.atomic():  # a savepoint: a timeout rolls back to here
            yield
    except OperationalError as error:
        if getattr(error.__cause__, "pgcode", None) != LOCK_NOT_AVAILABLE:
            raise
        raise backup_error(
            PlatformError.CLINIC_BUSY,
            _("The clinic's data is in use by a long operation; try the restore again."),
            "subdomain",
        ) from None
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', '0', true)")


def _restored(clinic: Clinic, manifest: dict[str, Any], actor: Any, changes: dict) -> Clinic:
    """Record that the clinic's schema is at the code's migration state (so migrate skips
    it) and audit the restore on the platform's trail."""
    _record_fingerprint(clinic)
    clinic_hooks.event_record(
        actor=actor,
        actor_email="" if actor else "system",
        action="clinic.restore",
        entity=clinic,
        changes={"backup_id": manifest["backup_id"], **changes},
    )
    return clinic


def _build_schema(schema: str, manifest: dict[str, Any], archive: Path) -> None:
    """Create ``schema`` at the backup's migration state, load its rows and sequences, then
    migrate it forward to the code's state."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {quote(schema)}")
    try:
        tenant_connection().set_schema(schema, include_public=False)
        MigrationRecorder(connection).ensure_schema()
        tenant_connection().set_schema(schema)
        executor = MigrationExecutor(connection)
        applied = {tuple(m) for m in manifest["migrations"]}
        targets = _targets(executor, applied)
        executor.migrate(targets, plan=executor.migration_plan(targets))
        _load(schema, manifest, archive)
        executor = MigrationExecutor(connection)
        leaves = executor.loader.graph.leaf_nodes()
        executor.migrate(leaves, plan=executor.migration_plan(leaves))
    finally:
        tenant_connection().set_schema_to_public()


def _targets(executor: MigrationExecutor, applied: set[tuple[str, str]]) -> list:
    """Per app, the last migration the backup had applied."""
    graph = executor.loader.graph
    targets = []
    for app in sorted({app for app, _name in applied}):
        nodes = [node for node in applied if node[0] == app]
        last = max(nodes, key=lambda node: len(graph.forwards_plan(node)))
        targets.append(last)
    return targets


def _load(schema: str, manifest: dict[str, Any], archive: Path) -> None:
    with connection.cursor() as cursor:
        present = {table.name: table for table in schema_tables(cursor, schema)}
        wanted = {table["name"]: table for table in manifest["tables"]}
        mismatched = sorted(
            name
            for name in set(present) | set(wanted)
            if name not in present
            or name not in wanted
            or present[name].columns != wanted[name]["columns"]
        )
        if mismatched:
            raise backup_error(
                PlatformError.BACKUP_INCOMPATIBLE,
                _("The backup's tables do not match its migrations (%(tables)s).")
                % {"tables": ", ".join(mismatched[:5])},
            )
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        # Migrations may have seeded rows; the backup's rows replace them.
        for table in present.values():
            name = f"{quote(schema)}.{quote(table.name)}"
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {name})")  # noqa: S608
            if cursor.fetchone()[0]:
                cursor.execute(f"ALTER TABLE {name} DISABLE TRIGGER USER")
                cursor.execute(f"TRUNCATE {name} CASCADE")
                cursor.execute(f"ALTER TABLE {name} ENABLE TRIGGER USER")
        # One pass over the (sealed) file, in the archive's order: parents before the tables
        # that reference them. Each table must hash as the verified manifest says, so a file
        # swapped since the verification loads nothing.
        by_file = {table["file"]: table for table in manifest["tables"]}
        loaded: set[str] = set()
        with backup_open(archive) as opened:
            for member in opened.archive:
                if member.name == MANIFEST:
                    continue
                meta = by_file.get(member.name)
                if meta is None or meta["name"] in loaded or not member.isfile():
                    raise _changed()
                columns = ", ".join(quote(column) for column in meta["columns"])
                source = HashingReader(opened.archive.extractfile(member))  # type: ignore[arg-type]
                try:
                    cursor.copy_expert(
                        f"COPY {quote(schema)}.{quote(meta['name'])} ({columns}) FROM STDIN",
                        source,
                    )
                except Exception:
                    if source.error is not None:
                        raise source.error from None  # the file's fault: backup_open codes it
                    raise
                if source.sha256.hexdigest() != meta["sha256"]:
                    raise _changed()
                loaded.add(meta["name"])
            opened.finish()
        if loaded != set(wanted):
            raise _changed()
        for name, (last_value, is_called) in manifest["sequences"].items():
            cursor.execute(
                "SELECT setval(%s::regclass, %s, %s)",
                [f"{quote(schema)}.{quote(name)}", last_value, is_called],
            )
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _changed() -> ValidationError:
    return backup_error(
        PlatformError.BACKUP_CORRUPTED,
        _("The backup file changed while it was being restored; nothing was restored."),
    )


def _record_fingerprint(clinic: Clinic) -> None:
    """Note that the clinic's schema is at the code's migration state (migrate skips it)."""
    Clinic.objects.filter(pk=clinic.pk).update(migrations_fingerprint=code_fingerprint())
