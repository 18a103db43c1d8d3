"""Restoring a whole-database backup (``tenants_core.database_backup``) into an EMPTY database:
the platform after its database was lost, or a copy of it to inspect.

1. The sealed file is read once to the end and checked (its key, every chunk, the end of the
   stream, a pg_dump archive inside) before anything is written: a wrong key or a damaged file
   restores nothing.
2. The target must be empty (no schema, table, function, type or extension beyond those of a
   new database): a restore never mixes two platforms.
3. The file is read again and streamed, opened chunk by chunk, into ``pg_restore`` (no
   plaintext on disk). ``--no-owner --no-privileges``: everything restored belongs to the role
   that restores, which should be the role the platform connects as (and own the database).

pg_restore runs without ``--single-transaction``, which would hold a lock on every table of
every clinic at once; a restore that fails midway (after the checks, so not for a bad file)
leaves a partial database, to be dropped and created empty again before the next try.

This module touches no Django database connection: the database Django is configured with may
be the very one being restored.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import dj_database_url
from django.utils.translation import gettext as _

from tenants_core import backup_crypto
from tenants_core.backup_archive import backup_keys
from tenants_core.database_backup import (
    PG_DUMP_MAGIC,
    DatabaseBackupError,
    pg_restore_path,
)
from tenants_core.schema_template import libpq_environment

logger = logging.getLogger(__name__)

_READ = 1 << 20
_STDERR_SHOWN = 2000

# What a database holds before anything is restored into it (a fresh CREATE DATABASE from
# template1 may have extensions someone added there: those count as not empty).
_NOT_EMPTY_SQL = r"""
SELECT 'schema ' || nspname FROM pg_namespace
 WHERE nspname NOT IN ('public', 'information_schema') AND nspname NOT LIKE 'pg\_%'
UNION ALL
SELECT 'relation public.' || relname FROM pg_class WHERE relnamespace = 'public'::regnamespace
UNION ALL
SELECT 'function public.' || proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace
UNION ALL
SELECT 'type public.' || typname FROM pg_type
 WHERE typnamespace = 'public'::regnamespace AND typrelid = 0 AND typelem = 0
UNION ALL
SELECT 'extension ' || extname FROM pg_extension WHERE extname <> 'plpgsql'
LIMIT 5
"""
_CLINICS_SQL = "SELECT count(*) FROM public.tenants_core_clinic WHERE schema_name <> 'public'"


@dataclass(frozen=True)
class CheckedFile:
    key_id: str
    sealed_bytes: int
    archive_bytes: int  # the pg_dump archive inside


@dataclass(frozen=True)
class RestoreOutcome:
    checked: CheckedFile
    database: str
    clinics: int


def _crypto_error(error: backup_crypto.BackupCryptoError) -> DatabaseBackupError:
    """The same words as a clinic backup's refusals (one translation for both)."""
    if isinstance(error, backup_crypto.BackupKeyUnknown):
        return DatabaseBackupError(
            _(
                "The backup is encrypted with the key “%(key_id)s”, which is not configured: "
                "add it to BACKUP_ENCRYPTION_KEYS to restore this backup."
            )
            % {"key_id": error.key_id}
        )
    if isinstance(error, backup_crypto.BackupKeyWrong):
        return DatabaseBackupError(
            _(
                "The backup is encrypted with another key than the one configured as "
                "“%(key_id)s”: put the key it was made with in BACKUP_ENCRYPTION_KEYS to "
                "restore this backup."
            )
            % {"key_id": error.key_id}
        )
    if isinstance(error, backup_crypto.NotSealed):
        return DatabaseBackupError(_("This file is not an encrypted whole-database backup."))
    if isinstance(error, backup_crypto.UnsupportedVersion):
        return DatabaseBackupError(_("The backup file comes from a newer version of the platform."))
    return DatabaseBackupError(
        _("The backup file is damaged or was altered: part of it does not authenticate.")
    )


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[backup_crypto.OpeningReader]:
    try:
        with path.open("rb") as raw:
            yield backup_crypto.OpeningReader(raw, backup_keys())
    except FileNotFoundError:
        raise DatabaseBackupError(_("No such file: %(path)s") % {"path": path}) from None
    except backup_crypto.BackupCryptoError as error:
        logger.warning("database backup %s cannot be opened: %s", path, error)
        raise _crypto_error(error) from None


def database_backup_check(path: Path) -> CheckedFile:
    """Open ``path`` with the configured keys and read it to the end: every chunk, the last
    one as the last, and a pg_dump archive inside. Writes nothing."""
    with _opened(path) as reader:
        first = reader.read(len(PG_DUMP_MAGIC))
        total = len(first)
        try:
            while chunk := reader.read(_READ):
                total += len(chunk)
        except backup_crypto.BackupCryptoError as error:
            raise _crypto_error(error) from None
        key_id = reader.key_id
    if first != PG_DUMP_MAGIC:
        raise DatabaseBackupError(
            _("This file is encrypted with a backup key but holds no whole-database backup.")
        )
    return CheckedFile(key_id=key_id, sealed_bytes=path.stat().st_size, archive_bytes=total)


def target_settings(url: str) -> dict[str, Any]:
    """Django's ``DATABASES`` entry for ``--target-url`` (a ``postgres://`` URL)."""
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(url))
    except (ValueError, KeyError) as error:
        raise DatabaseBackupError(_("Not a database URL: %(error)s") % {"error": error}) from None
    if "postgresql" not in str(config.get("ENGINE", "")) or not config.get("NAME"):
        raise DatabaseBackupError(
            _("The target must be a PostgreSQL URL naming its database: postgres://…/<name>.")
        )
    return config


def _connect(config: dict[str, Any]) -> Any:
    import psycopg2

    options = config.get("OPTIONS") or {}
    try:
        return psycopg2.connect(
            dbname=config["NAME"],
            user=config.get("USER") or None,
            password=config.get("PASSWORD") or None,
            host=config.get("HOST") or None,
            port=config.get("PORT") or None,
            sslmode=options.get("sslmode") or None,
            connect_timeout=10,
        )
    except psycopg2.Error as error:
        raise DatabaseBackupError(
            _("Cannot connect to the target database: %(error)s") % {"error": str(error).strip()}
        ) from None


def target_contents(config: dict[str, Any]) -> list[str]:
    """A few of the things the target already holds (none: it is empty)."""
    connection = _connect(config)
    try:
        with connection.cursor() as cursor:
            cursor.execute(_NOT_EMPTY_SQL)
            return [row[0] for row in cursor.fetchall()]
    finally:
        connection.close()


def database_restore(*, path: Path, target_url: str) -> RestoreOutcome:
    """Restore the sealed whole-database backup at ``path`` into the empty database at
    ``target_url``. Raises ``DatabaseBackupError`` having written nothing when the file does
    not open with the configured keys, is damaged, or the target is not empty."""
    checked = database_backup_check(path)
    config = target_settings(target_url)
    found = target_contents(config)
    if found:
        raise DatabaseBackupError(
            _(
                "The target database %(name)s is not empty (%(found)s): a whole-database backup "
                "is restored only into a new, empty database."
            )
            % {"name": config["NAME"], "found": ", ".join(found)}
        )
    _pg_restore(path, config)
    connection = _connect(config)
    try:
        with connection.cursor() as cursor:
            cursor.execute(_CLINICS_SQL)
            clinics = int(cursor.fetchone()[0])
    finally:
        connection.close()
    logger.info("database backup %s restored into %s (%d clinics)", path, config["NAME"], clinics)
    return RestoreOutcome(checked=checked, database=config["NAME"], clinics=clinics)


def _pg_restore(path: Path, config: dict[str, Any]) -> None:
    program = pg_restore_path()
    command = [
        program,
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--no-password",
        f"--dbname={config['NAME']}",
    ]
    with tempfile.TemporaryFile() as stderr:
        try:
            process = subprocess.Popen(
                command,
                env=libpq_environment(config),
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        except OSError as error:
            raise DatabaseBackupError(
                _(
                    "pg_restore could not be run (%(path)s: %(error)s). Install PostgreSQL's "
                    "client programs, or set PG_RESTORE to the pg_restore to use."
                )
                % {"path": program, "error": error.strerror or error}
            ) from None
        assert process.stdin is not None
        try:
            with _opened(path) as reader:
                _feed(reader, process.stdin)
            with contextlib.suppress(BrokenPipeError):
                process.stdin.close()
        except BaseException as error:
            # The file changed since it was checked, or we were interrupted: stop pg_restore
            # where it is.
            process.kill()
            process.wait()
            if isinstance(error, DatabaseBackupError):
                raise _partial(str(error), config) from None
            raise
        returncode = process.wait()
        if returncode != 0:
            stderr.seek(0)
            complaint = stderr.read().decode(errors="replace").strip()[-_STDERR_SHOWN:]
            raise _partial(
                _("pg_restore failed (exit status %(status)s): %(complaint)s")
                % {"status": returncode, "complaint": complaint or "-"},
                config,
            )


def _partial(why: str, config: dict[str, Any]) -> DatabaseBackupError:
    return DatabaseBackupError(
        why
        + "\n"
        + _(
            "The database %(name)s may hold part of the platform: drop it and create it empty "
            "again before another try."
        )
        % {"name": config["NAME"]},
        wrote_nothing=False,
    )


def _feed(reader: backup_crypto.OpeningReader, sink: IO[bytes]) -> None:
    """Every authenticated chunk to pg_restore. pg_restore may stop reading once it has what
    it needs; the rest of the file is still read, so that a damaged end is still noticed."""
    try:
        while chunk := reader.read(_READ):
            try:
                sink.write(chunk)
            except BrokenPipeError:
                while reader.read(_READ):
                    pass
                return
    except backup_crypto.BackupCryptoError as error:
        raise _crypto_error(error) from None
