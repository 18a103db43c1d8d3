"""Per-clinic backups ("respaldos"): making, finding and listing them. The file format
(writing, opening, verifying) is ``tenants_core.backup_archive``; restoring is
``tenants_core.restore``.

A backup is a logical export of one clinic's schema (PostgreSQL ``COPY`` text format, read in
one REPEATABLE READ snapshot) and of the stored files its rows name (read from storage, each
checked against the SHA-256 its row recorded), sealed under the first key of
``BACKUP_ENCRYPTION_KEYS``. The sealed file's SHA-256, size and key id are kept in
``ClinicBackup``. No plaintext reaches the disk: each table is spooled sealed under a key that
only the backing-up process holds, then streamed into the archive; each file is streamed
from storage straight into it.

Re-sealing a backup under another key is ``tenants_core.backup_reseal``.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import logging
import os
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.timezone import now as timezone_now
from django.utils.translation import gettext as _

from backend.core.error_codes import CommonError
from tenants_core import backup_crypto, clinic_hooks
from tenants_core.backup_archive import (
    FORMAT,
    FORMAT_VERSION,
    DigestingSink,
    backup_error,
    backup_keys,
    write_archive,
)
from tenants_core.errors import PlatformError
from tenants_core.models import Clinic, ClinicBackup
from tenants_core.schema_template import fingerprint_of

logger = logging.getLogger(__name__)

CLINIC_FIELDS = (
    "name",
    "legal_id",
    "email",
    "timezone",
    "restrict_notes_to_author",
    "max_users_override",
    "max_patients_override",
)


def backup_dir() -> Path:
    path = Path(settings.BACKUP_DIR)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


# --- reading a schema ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    name: str
    columns: list[str]


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


def schema_tables(cursor: Any, schema: str) -> list[_Table]:
    """The schema's tables with their stored (not generated) columns, parents before the
    tables that reference them."""
    cursor.execute(
        """
        SELECT c.relname,
               array_agg(a.attname ORDER BY a.attnum)
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
             AND a.attgenerated = ''
        WHERE n.nspname = %s AND c.relkind IN ('r', 'p')
        GROUP BY c.relname
        ORDER BY c.relname
        """,
        [schema],
    )
    columns = {name: list(cols) for name, cols in cursor.fetchall()}
    cursor.execute(
        """
        SELECT c.relname, r.relname
        FROM pg_constraint k
        JOIN pg_class c ON c.oid = k.conrelid
        JOIN pg_class r ON r.oid = k.confrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_namespace rn ON rn.oid = r.relnamespace
        WHERE k.contype = 'f' AND n.nspname = %s AND rn.nspname = %s AND c.oid <> r.oid
        """,
        [schema, schema],
    )
    depends: dict[str, set[str]] = {name: set() for name in columns}
    for child, parent in cursor.fetchall():
        depends[child].add(parent)
    ordered: list[str] = []
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...] = ()) -> None:
        if name in done or name in path:
            return
        for parent in sorted(depends[name]):
            visit(parent, (*path, name))
        done.add(name)
        ordered.append(name)

    for name in sorted(columns):
        visit(name)
    return [_Table(name, columns[name]) for name in ordered]


def _sequences(cursor: Any, schema: str) -> dict[str, list[Any]]:
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind = 'S' ORDER BY c.relname",
        [schema],
    )
    positions: dict[str, list[Any]] = {}
    for (name,) in cursor.fetchall():
        cursor.execute(f"SELECT last_value, is_called FROM {quote(schema)}.{quote(name)}")  # noqa: S608
        last_value, is_called = cursor.fetchone()
        positions[name] = [int(last_value), bool(is_called)]
    return positions


def _applied_migrations(cursor: Any, schema: str) -> list[list[str]]:
    table = f"{quote(schema)}.django_migrations"
    cursor.execute(f"SELECT app, name FROM {table} ORDER BY app, name")  # noqa: S608
    return [[app, name] for app, name in cursor.fetchall()]


# --- backup ---------------------------------------------------------------------------------


class _TableSpool:
    """What ``COPY ... TO STDOUT`` writes for one table: counted and hashed as plaintext,
    stored sealed under a key that lives only in this process (a crash leaves noise)."""

    def __init__(self, path: Path, key: backup_crypto.BackupKey) -> None:
        self.path = path
        self._file = path.open("wb")
        os.chmod(path, 0o600)
        self._writer = backup_crypto.SealingWriter(self._file, key)
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.rows = 0

    def write(self, data: bytes) -> int:
        self._writer.write(data)
        self.sha256.update(data)
        self.size += len(data)
        self.rows += data.count(b"\n")
        return len(data)

    def close(self) -> None:
        self._writer.close()
        self._file.close()


def clinic_backup_create(*, clinic: Clinic, actor: Any = None) -> ClinicBackup:
    """Export ``clinic``'s schema into a new sealed backup file and record it.

    The export reads one consistent snapshot (REPEATABLE READ when not already inside a
    transaction); writes to the clinic carry on meanwhile."""
    if clinic.is_public:
        raise backup_error(CommonError.NOT_FOUND, _("No clinic has this subdomain."), "subdomain")
    key = backup_keys().primary
    backup_id = uuid.uuid4()
    directory = backup_dir() / clinic.subdomain
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    final_path = directory / f"{timezone_now():%Y%m%dT%H%M%SZ}-{backup_id}.tar.gz.enc"
    # Inside a caller's transaction (tests, nested services) the snapshot is already taken.
    own_transaction = not connection.in_atomic_block
    with tempfile.TemporaryDirectory(dir=directory) as workdir, transaction.atomic():
        with connection.cursor() as cursor:
            if own_transaction:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            # Copying a large table may take longer than any request statement may.
            cursor.execute("SET LOCAL statement_timeout = 0")
        spool_key = backup_crypto.BackupKey("spool", os.urandom(backup_crypto.KEY_SIZE))
        manifest, files = _export(clinic, backup_id, Path(workdir), spool_key, key.key_id)
        partial = Path(workdir) / "backup.tar.gz.enc"
        with partial.open("wb") as file:
            os.chmod(partial, 0o600)
            sink = DigestingSink(file)
            members = itertools.chain(_spooled(files, spool_key), _stored_files(manifest["files"]))
            write_archive(sink, key, manifest, members)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, final_path)
    try:
        with transaction.atomic():
            backup = ClinicBackup.objects.create(
                id=backup_id,
                clinic=clinic,
                subdomain=clinic.subdomain,
                schema_name=clinic.schema_name,
                file_name=str(final_path.relative_to(backup_dir())),
                size_bytes=sink.size,
                sha256=sink.sha256.hexdigest(),
                key_id=key.key_id,
                tables=len(manifest["tables"]),
                rows=sum(table["rows"] for table in manifest["tables"]),
                migrations_fingerprint=manifest["migrations_fingerprint"],
                created_by=getattr(actor, "email", "") or "system",
            )
            clinic_hooks.event_record(
                actor=actor,
                actor_email="" if actor else "system",
                action="clinic.backup",
                entity=clinic,
                changes={
                    "backup_id": str(backup_id),
                    "sha256": backup.sha256,
                    "key_id": key.key_id,
                    "files": len(manifest["files"]),
                },
            )
    except BaseException:
        final_path.unlink(missing_ok=True)
        raise
    return backup


def _export(
    clinic: Clinic,
    backup_id: uuid.UUID,
    workdir: Path,
    spool_key: backup_crypto.BackupKey,
    key_id: str,
) -> tuple[dict[str, Any], list[tuple[str, Path, int]]]:
    schema = clinic.schema_name
    files: list[tuple[str, Path, int]] = []
    tables_meta = []
    with connection.cursor() as cursor:
        for table in schema_tables(cursor, schema):
            spool = _TableSpool(workdir / f"{table.name}.tsv.enc", spool_key)
            columns = ", ".join(quote(column) for column in table.columns)
            try:
                cursor.copy_expert(
                    f"COPY {quote(schema)}.{quote(table.name)} ({columns}) TO STDOUT", spool
                )
            finally:
                spool.close()
            member = f"data/{table.name}.tsv"
            files.append((member, spool.path, spool.size))
            tables_meta.append(
                {
                    "name": table.name,
                    "columns": table.columns,
                    "rows": spool.rows,
                    "sha256": spool.sha256.hexdigest(),
                    "file": member,
                }
            )
        migrations = _applied_migrations(cursor, schema)
        sequences = _sequences(cursor, schema)
        keeper = clinic_hooks.file_keeper()
        stored = keeper.listed(cursor, schema) if keeper is not None else []
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "backup_id": str(backup_id),
        "created_at": timezone_now().isoformat(),
        "subdomain": clinic.subdomain,
        "clinic_id": clinic.pk,
        "schema_name": schema,
        "key_id": key_id,
        "clinic": {
            **{field: getattr(clinic, field) for field in CLINIC_FIELDS},
            "plan": clinic.plan.code,
        },
        "migrations": migrations,
        "migrations_fingerprint": fingerprint_of((app, name) for app, name in migrations),
        "tables": tables_meta,
        "sequences": sequences,
        "files": [
            {"key": item.key, "size": item.size, "sha256": item.sha256, "file": f"files/{n:06d}"}
            for n, item in enumerate(stored, start=1)
        ],
    }
    return manifest, files


def _spooled(
    files: list[tuple[str, Path, int]], spool_key: backup_crypto.BackupKey
) -> Iterator[tuple[str, int, IO[bytes]]]:
    """Each spooled table as an archive member, opened (and authenticated) as it is read."""
    spool_keys = backup_crypto.KeyRing((spool_key,))
    for member, spool_path, size in files:
        with spool_path.open("rb") as spool:
            yield member, size, backup_crypto.OpeningReader(spool, spool_keys)  # type: ignore[misc]


class _CheckedObject:
    """A stored object read into the archive: it must be exactly ``size`` bytes hashing to
    ``sha256``, as its row says (``finish``), else the backup is refused with a code (the
    archive is then never sealed, see ``write_archive``)."""

    def __init__(self, source: IO[bytes], entry: dict[str, Any]) -> None:
        self._source = source
        self._entry = entry
        self._sha256 = hashlib.sha256()
        self._left = entry["size"]

    def read(self, size: int = -1) -> bytes:
        want = self._left if size < 0 else min(size, self._left)
        data = self._source.read(want) if want else b""
        if want and not data:  # shorter than its row says
            raise _file_changed(self._entry["key"])
        self._sha256.update(data)
        self._left -= len(data)
        return data

    def finish(self) -> None:
        if self._left or self._source.read(1) or self._sha256.hexdigest() != self._entry["sha256"]:
            raise _file_changed(self._entry["key"])


def _file_changed(key: str) -> ValidationError:
    logger.error("backup refused: stored object %s is missing or differs from its row", key)
    return backup_error(
        PlatformError.BACKUP_FILE_MISSING,
        _(
            "A stored file of the clinic is missing or does not match its checksum (%(key)s); "
            "no backup was made."
        )
        % {"key": key},
        "subdomain",
    )


def _stored_files(entries: Iterable[dict[str, Any]]) -> Iterator[tuple[str, int, IO[bytes]]]:
    """Each stored file named by the backup's rows, streamed from storage as it is archived."""
    keeper = clinic_hooks.file_keeper()
    for entry in entries:
        assert keeper is not None  # entries come from it
        try:
            source = keeper.open(entry["key"])
        except FileNotFoundError:
            raise _file_changed(entry["key"]) from None
        with contextlib.closing(source):
            checked = _CheckedObject(source, entry)
            yield entry["file"], entry["size"], checked  # type: ignore[misc]
            checked.finish()  # the archive has read the member: all of it, as recorded?


# --- finding ------------------------------------------------------------------------------


def backup_get(*, subdomain: str, backup_id: str) -> tuple[ClinicBackup, Path]:
    """The recorded backup ``backup_id`` of the clinic at ``subdomain``; a backup of another
    clinic is answered as not found."""
    try:
        backup = ClinicBackup.objects.get(id=uuid.UUID(str(backup_id)))
    except (ValueError, ClinicBackup.DoesNotExist):
        backup = None
    if backup is None or backup.subdomain != (subdomain or "").strip().lower():
        raise backup_error(PlatformError.BACKUP_NOT_FOUND, _("This clinic has no such backup."))
    path = (backup_dir() / backup.file_name).resolve()
    if backup_dir().resolve() not in path.parents:
        raise backup_error(PlatformError.BACKUP_NOT_FOUND, _("This clinic has no such backup."))
    return backup, path


def backup_list(*, subdomain: str) -> list[ClinicBackup]:
    return list(
        ClinicBackup.objects.filter(subdomain=(subdomain or "").strip().lower()).order_by(
            "-created_at"
        )
    )
