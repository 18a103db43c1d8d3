"""What the backup tests share: digests of a schema, what a refusal must leave unchanged, and
reading or rewriting a backup file as an insider holding the backup key would."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection

from tenants_core import backup_archive, backup_crypto, backups, restore
from tenants_core.models import Clinic, ClinicBackup, Domain


def table_digests(schema: str) -> dict[str, tuple[int, str]]:
    """Every table of ``schema``: its row count and an md5 of its rows in a stable order."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = %s AND table_type = 'BASE TABLE' ORDER BY table_name",
            [schema],
        )
        tables = [row[0] for row in cursor.fetchall()]
        digests = {}
        for table in tables:
            cursor.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), ''))"
                f' FROM "{schema}"."{table}" t'
            )
            digests[table] = cursor.fetchone()
    return digests


def sequence_positions(schema: str) -> dict[str, tuple[int, bool]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = %s ORDER BY 1", [schema]
        )
        names = [row[0] for row in cursor.fetchall()]
        positions = {}
        for name in names:
            cursor.execute(f'SELECT last_value, is_called FROM "{schema}"."{name}"')
            positions[name] = cursor.fetchone()
    return positions


def public_counts() -> dict[str, int]:
    return {
        "clinics": Clinic.objects.count(),
        "domains": Domain.objects.count(),
        "backups": ClinicBackup.objects.count(),
    }


def schemas() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace")
        return [row[0] for row in cursor.fetchall()]


def refused(code: str, **kwargs: Any) -> ValidationError:
    """``clinic_restore(**kwargs)`` is refused with exactly ``code``, and no clinic, domain,
    backup or schema appeared."""
    counts, before = public_counts(), set(schemas())
    with pytest.raises(ValidationError) as refusal:
        restore.clinic_restore(**kwargs)
    codes = [error.code for errors in refusal.value.error_dict.values() for error in errors]
    assert codes == [code], codes
    assert public_counts() == counts
    assert set(schemas()) == before
    return refusal.value


def unseal(data: bytes, keys: backup_crypto.KeyRing | None = None) -> bytes:
    """The plaintext ``.tar.gz`` inside a sealed backup file."""
    reader = backup_crypto.OpeningReader(io.BytesIO(data), keys or backups.backup_keys())
    return reader.read()


def seal(plain: bytes, key: backup_crypto.BackupKey | None = None) -> bytes:
    sink = io.BytesIO()
    with backup_crypto.SealingWriter(sink, key or backups.backup_keys().primary) as writer:
        writer.write(plain)
    return sink.getvalue()


def archive_members(plain_tar_gz: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(plain_tar_gz), mode="r:gz") as archive:
        return {m.name: archive.extractfile(m).read() for m in archive.getmembers()}  # type: ignore[union-attr]


def archive_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
    return gzip.compress(buffer.getvalue())


def rewrite_archive(
    path: Path,
    edit: Callable[[dict[str, Any], dict[str, bytes]], None],
    *,
    sealed: bool = True,
    key: backup_crypto.BackupKey | None = None,
) -> None:
    """Let ``edit(manifest, members)`` change a backup's content, then seal it again with
    ``key`` (by default the configured one), or leave it a plain ``.tar.gz`` with
    ``sealed=False``. A plain file is read as it is."""
    data = path.read_bytes()
    members = archive_members(data if data[:2] == b"\x1f\x8b" else unseal(data))
    manifest = json.loads(members["manifest.json"])
    edit(manifest, members)
    del members["manifest.json"]
    members = {"manifest.json": json.dumps(manifest).encode(), **members}  # first, as made
    plain = archive_bytes(members)
    path.write_bytes(seal(plain, key) if sealed else plain)


def as_made_before_encryption(backup: ClinicBackup, *, secret: str | None = None) -> Path:
    """Turn a recorded (sealed) backup into one as main made them before encryption: a plain
    ``.tar.gz`` named ``<time>-<id>.tar.gz``, its manifest format 1 signed with ``secret``
    (this ``SECRET_KEY`` by default), recorded with no key id and the plain file's checksum."""
    sealed_path = backups.backup_dir() / backup.file_name
    plain_path = sealed_path.with_name(sealed_path.name.removesuffix(".enc"))
    plain_path.write_bytes(sealed_path.read_bytes())
    sealed_path.unlink()

    def as_format_1(manifest: dict[str, Any], members: dict[str, bytes]) -> None:
        del manifest["key_id"]
        manifest["format_version"] = 1
        manifest["signature"] = backup_archive.legacy_signature(
            manifest, secret or settings.SECRET_KEY
        )

    rewrite_archive(plain_path, as_format_1, sealed=False)
    plain = plain_path.read_bytes()
    assert plain[:2] == b"\x1f\x8b"
    ClinicBackup.objects.filter(pk=backup.pk).update(
        file_name=str(plain_path.relative_to(backups.backup_dir())),
        size_bytes=len(plain),
        sha256=hashlib.sha256(plain).hexdigest(),
        key_id="",
    )
    backup.refresh_from_db()
    return plain_path
