"""Restoring a clinic backup (see ``tenants_core.backup_archive`` for the format): into a new
clinic, or over the same clinic once confirmed. Everything is verified before anything is
written, and the restore is one transaction.

The schema is built at the backup's migration state, the rows and sequence positions are
loaded, and the schema is then migrated forward to the code's state, so a backup taken
before an upgrade still restores after it.

The clinic's stored files come back too: each is written to storage under the restored
clinic's key prefix (the rows' keys follow when the schema name differs) and checked against
its SHA-256 as it is written. Storage is not transactional: when the restore fails, the
objects it wrote are removed before the error goes on (objects left by a crash, or by a
caller's transaction rolled back later, have no row and are removed by the files app's orphan
sweep).
"""

from __future__ import annotations

import contextlib
import hmac
import logging
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
    CHUNK,
    MANIFEST,
    HashingReader,
    backup_error,
    backup_open,
    backup_verify_file,
    corrupted,
    manifest_files,
    manifest_members,
)
from tenants_core.backups import CLINIC_FIELDS, backup_get, quote, schema_tables
from tenants_core.errors import PlatformError
from tenants_core.models import Clinic, ClinicStatus, Domain, Plan
from tenants_core.schema_names import clinic_claim_refusal, clinic_domain_for, schema_name_for
from tenants_core.schema_template import code_fingerprint
from tenants_core.validators import validate_subdomain

logger = logging.getLogger(__name__)


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
    files = _RestoredFiles(manifest)
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                # Loading a large table may take longer than any request statement may.
                cursor.execute("SET LOCAL statement_timeout = 0")
            if overwrite:
                return _restore_over(manifest, verified.archive_path, subdomain, actor, files)
            return _restore_as_new(manifest, verified.archive_path, target, actor, files)
    except BaseException:
        files.discard()
        raise


class _RestoredFiles:
    """The backup's stored files, written back under the restored clinic's key prefix while
    the archive is loaded; what was written is removed again if the restore fails."""

    def __init__(self, manifest: dict[str, Any]) -> None:
        self.keeper = clinic_hooks.file_keeper()
        self.entries = manifest_files(manifest)
        self.source_schema = manifest["schema_name"]
        self.schema = ""  # the restored clinic's schema (its final name), once known
        self.written: list[str] = []
        self.restored = 0
        if self.entries and self.keeper is None:
            raise backup_error(
                PlatformError.BACKUP_INCOMPATIBLE,
                _("The backup holds files, and this installation has no file storage."),
            )

    def into(self, schema: str) -> _RestoredFiles:
        self.schema = schema
        return self

    def _prefixes(self) -> tuple[str, str]:
        assert self.keeper is not None
        assert self.schema
        return self.keeper.prefix(self.source_schema), self.keeper.prefix(self.schema)

    def key_for(self, key: str) -> str:
        """``key`` under the restored clinic's prefix; a key outside the backed-up clinic's
        prefix was never this clinic's."""
        old, new = self._prefixes()
        rest = key[len(old) :]
        if not key.startswith(old) or not rest or rest.startswith("/") or ".." in rest:
            raise corrupted()
        return new + rest

    def write(self, entry: dict[str, Any], source: HashingReader) -> None:
        """Write one archive member to storage, refusing it (after the fact, then removed)
        unless it hashes as the verified manifest says."""
        assert self.keeper is not None
        key = self.key_for(entry["key"])
        existed = self.keeper.exists(key)
        if existed and self._same(key, entry):
            while source.read(CHUNK):  # the object is already there (restoring over)
                pass
        else:
            if not existed:  # a damaged object of a live row is repaired, never removed
                self.written.append(key)
            self.keeper.write(key, source)  # type: ignore[arg-type]
            while source.read(CHUNK):
                pass
        if not hmac.compare_digest(source.sha256.hexdigest(), entry["sha256"]):
            raise _changed()
        self.restored += 1

    def _same(self, key: str, entry: dict[str, Any]) -> bool:
        assert self.keeper is not None
        with contextlib.closing(self.keeper.open(key)) as existing:
            reader = HashingReader(existing)
            while reader.read(CHUNK):
                pass
        return hmac.compare_digest(reader.sha256.hexdigest(), entry["sha256"])

    def rekey(self, cursor: Any, schema: str) -> None:
        """The restored rows name their objects under the restored clinic's prefix."""
        if self.restored != len(self.entries):
            raise _changed()
        if not self.entries:
            return
        old, new = self._prefixes()
        if old != new:
            assert self.keeper is not None  # there are files, so there is a keeper
            self.keeper.rekey(cursor, schema, old, new)

    def discard(self) -> None:
        """Remove what this restore wrote (it failed); a removal that fails is logged, and
        the orphan sweep removes the object later."""
        if self.keeper is None:
            return
        for key in self.written:
            try:
                self.keeper.delete(key)
            except Exception:
                logger.exception("restore failed and could not remove object %s", key)
        self.written.clear()


def _restore_as_new(
    manifest: dict[str, Any], archive: Path, target: str, actor: Any, files: _RestoredFiles
) -> Clinic:
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
            _build_schema(clinic.schema_name, manifest, archive, files.into(clinic.schema_name))
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


def _restore_over(
    manifest: dict[str, Any], archive: Path, subdomain: str, actor: Any, files: _RestoredFiles
) -> Clinic:
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
    _build_schema(staging, manifest, archive, files.into(clinic.schema_name))
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


def _build_schema(
    schema: str, manifest: dict[str, Any], archive: Path, files: _RestoredFiles
) -> None:
    """Create ``schema`` at the backup's migration state, load its rows, sequences and
    stored files, then migrate it forward to the code's state."""
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
        _load(schema, manifest, archive, files)
        executor = MigrationExecutor(connection)
        leaves = executor.loader.graph.leaf_nodes()
        executor.migrate(leaves, plan=executor.migration_plan(leaves))
        with connection.cursor() as cursor:
            files.rekey(cursor, schema)
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


def _load(schema: str, manifest: dict[str, Any], archive: Path, files: _RestoredFiles) -> None:
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
        # that reference them, then the stored files. Each member must hash as the verified
        # manifest says, so a file swapped since the verification loads nothing.
        by_file = manifest_members(manifest)
        loaded: set[str] = set()
        with backup_open(archive) as opened:
            for member in opened.archive:
                if member.name == MANIFEST:
                    continue
                meta = by_file.get(member.name)
                if meta is None or member.name in loaded or not member.isfile():
                    raise _changed()
                if "key" in meta:  # a stored file
                    loaded.add(member.name)
                    files.write(meta, HashingReader(opened.archive.extractfile(member)))  # type: ignore[arg-type]
                    continue
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
                loaded.add(member.name)
            opened.finish()
        if loaded != set(by_file):
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
