"""A clinic's stored files in its backups: carried in the sealed archive with their checksums,
written back by a restore under the restored clinic's prefix (the rows' keys follow), every
checksum verified, and nothing left in storage by a restore that fails."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django_tenants.utils import tenant_context
from PIL import Image

from backend.files import cleanup
from backend.files.models import FilePurpose, StoredFile
from backend.files.services import file_delete, file_store
from backend.files.storage import file_read
from tenants_core import backups, restore
from tenants_core.models import Clinic, ClinicBackup
from tests.conftest import stored_objects
from tests.tenants_core.backup_support import (
    archive_members,
    refused,
    rewrite_archive,
    table_digests,
    unseal,
)

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n% informe de Rosa Quispe Mamani\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


def logo_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def store_logo_and_pdf(clinic: Clinic) -> tuple[StoredFile, StoredFile]:
    """A logo-like image and a PDF, stored for ``clinic``."""
    with tenant_context(clinic), transaction.atomic():
        logo = file_store(
            content=logo_png(), purpose=FilePurpose.LOGO, content_type="image/png",
            extension=".png", original_name="logo.png", width=64, height=48,
        )  # fmt: skip
        pdf = file_store(
            content=PDF, purpose=FilePurpose.DOCUMENT, content_type="application/pdf",
            extension=".pdf", original_name="informe.pdf",
        )  # fmt: skip
    return logo, pdf


def rows_of(clinic: Clinic) -> list[StoredFile]:
    with tenant_context(clinic):
        return list(StoredFile.objects.order_by("id"))


def contents_of(clinic: Clinic) -> list[bytes]:
    with tenant_context(clinic):
        return [file_read(row) for row in StoredFile.objects.order_by("id")]


def described(row: StoredFile) -> tuple[Any, ...]:
    """A row without its key."""
    return (row.purpose, row.content_type, row.size_bytes, row.sha256, row.original_name,
            row.width, row.height)  # fmt: skip


def path_of(backup: ClinicBackup) -> Path:
    return backups.backup_dir() / backup.file_name


def test_a_backup_carries_the_files_and_a_restore_brings_them_back_under_the_new_clinic(
    clinic2: Clinic, media: Path
) -> None:
    logo, pdf = store_logo_and_pdf(clinic2)
    backup = backups.clinic_backup_create(clinic=clinic2)

    # In the archive, sealed like the tables: each object with its key, size and SHA-256.
    data = path_of(backup).read_bytes()
    assert b"Rosa Quispe" not in data
    assert b"IHDR" not in data  # the PNG's header chunk
    members = archive_members(unseal(data))
    manifest = json.loads(members["manifest.json"])
    assert manifest["format_version"] == 3
    assert [(f["key"], f["size"], f["sha256"]) for f in manifest["files"]] == [
        (logo.key, logo.size_bytes, logo.sha256),
        (pdf.key, pdf.size_bytes, pdf.sha256),
    ]
    assert [members[f["file"]] for f in manifest["files"]] == [logo_png(), PDF]
    assert hashlib.sha256(members[manifest["files"][1]["file"]]).hexdigest() == pdf.sha256
    before = stored_objects(media)

    restored = restore.clinic_restore(
        subdomain="clinica2", backup_id=str(backup.id), target_subdomain="clinica2-archivos"
    )

    copies = rows_of(restored)
    old_prefix, new_prefix = f"clinics/{clinic2.schema_name}/", f"clinics/{restored.schema_name}/"
    assert [row.key for row in copies] == [
        new_prefix + logo.key.removeprefix(old_prefix),
        new_prefix + pdf.key.removeprefix(old_prefix),
    ]
    assert [described(row) for row in copies] == [described(logo), described(pdf)]
    assert contents_of(restored) == [logo_png(), PDF]
    # The original clinic's objects are untouched; the copies are new objects.
    assert contents_of(clinic2) == [logo_png(), PDF]
    assert stored_objects(media) == sorted([*before, *(row.key for row in copies)])
    # Every other table is identical.
    table = StoredFile._meta.db_table
    original, copy = table_digests(clinic2.schema_name), table_digests(restored.schema_name)
    assert set(copy) == set(original)
    assert {t: d for t, d in copy.items() if t != table} == {
        t: d for t, d in original.items() if t != table
    }
    assert copy[table][0] == 2


def test_a_file_that_does_not_match_its_checksum_fails_the_restore_and_writes_nothing(
    clinic2: Clinic, media: Path, tmp_path: Path
) -> None:
    store_logo_and_pdf(clinic2)
    backup = backups.clinic_backup_create(clinic=clinic2)
    before = stored_objects(media)

    def flip_a_byte_of_the_pdf(manifest: dict[str, Any], members: dict[str, bytes]) -> None:
        member = manifest["files"][1]["file"]
        members[member] = members[member][:-3] + b"X" + members[member][-2:]

    def drop_the_pdf(manifest: dict[str, Any], members: dict[str, bytes]) -> None:
        del members[manifest["files"][1]["file"]]

    def into_another_clinic(manifest: dict[str, Any], members: dict[str, bytes]) -> None:
        # Listed and hashed right, but outside the backed-up clinic's prefix.
        entry = manifest["files"][1]
        entry["key"] = entry["key"].replace("clinic_clinica2", "clinic_clinica1")

    for edit in (flip_a_byte_of_the_pdf, drop_the_pdf, into_another_clinic):
        damaged = tmp_path / f"{edit.__name__}.tar.gz.enc"
        damaged.write_bytes(path_of(backup).read_bytes())
        rewrite_archive(damaged, edit)  # sealed again with this platform's key
        refused("BACKUP_CORRUPTED", subdomain="clinica2", file=damaged, target_subdomain="x-files")
        assert stored_objects(media) == before, edit.__name__


def test_a_file_swapped_after_the_verification_fails_the_load_and_what_was_written_is_removed(
    clinic2: Clinic, media: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The load hashes each object as it writes it: the logo is written, the PDF does not
    match, and the logo's new object is removed again."""
    store_logo_and_pdf(clinic2)
    backup = backups.clinic_backup_create(clinic=clinic2)
    swapped = tmp_path / "swapped.tar.gz.enc"
    swapped.write_bytes(path_of(backup).read_bytes())

    def flip_the_pdf(manifest: dict[str, Any], members: dict[str, bytes]) -> None:
        member = manifest["files"][1]["file"]
        members[member] = b"%PDF-1.7 otro" + members[member][13:]

    rewrite_archive(swapped, flip_the_pdf)
    verify = restore.backup_verify_file

    def verify_the_good_one_then_load_the_swapped_one(path: Path, **kwargs: Any) -> Any:
        verified = verify(path, **kwargs)
        verified.archive_path = swapped
        return verified

    monkeypatch.setattr(
        restore, "backup_verify_file", verify_the_good_one_then_load_the_swapped_one
    )
    writes: list[str] = []
    keeper = restore.clinic_hooks.file_keeper()
    assert keeper is not None
    original_write = keeper.write

    def counted(key: str, source: Any) -> None:
        writes.append(key)
        original_write(key, source)

    monkeypatch.setattr(keeper, "write", counted)
    before = stored_objects(media)
    refused(
        "BACKUP_CORRUPTED",
        subdomain="clinica2",
        backup_id=str(backup.id),
        target_subdomain="cambiada",
    )
    assert len(writes) == 2  # the logo, then the PDF that did not match
    assert all(key.startswith("clinics/clinic_cambiada/") for key in writes)
    assert stored_objects(media) == before


def test_a_restore_failing_after_its_files_were_written_removes_them(
    clinic2: Clinic, media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_logo_and_pdf(clinic2)
    backup = backups.clinic_backup_create(clinic=clinic2)
    before = stored_objects(media)

    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(restore, "_record_fingerprint", explode)
    with pytest.raises(RuntimeError):
        restore.clinic_restore(
            subdomain="clinica2", backup_id=str(backup.id), target_subdomain="a-medias"
        )
    assert stored_objects(media) == before
    assert not Clinic.objects.filter(subdomain="a-medias").exists()


def test_no_backup_is_made_when_a_stored_object_is_missing_or_changed(
    clinic2: Clinic, media: Path
) -> None:
    _logo, pdf = store_logo_and_pdf(clinic2)
    made = set(backups.backup_dir().rglob("*"))
    counted = ClinicBackup.objects.count()
    (media / pdf.key).write_bytes(PDF.replace(b"Rosa", b"Rita"))  # same size, other bytes
    for damage in ("changed", "longer", "missing"):
        if damage == "longer":
            (media / pdf.key).write_bytes(PDF + b"more")
        if damage == "missing":
            (media / pdf.key).unlink()
        with pytest.raises(ValidationError) as refusal:
            backups.clinic_backup_create(clinic=clinic2)
        assert refusal.value.error_dict["subdomain"][0].code == "BACKUP_FILE_MISSING", damage
        assert pdf.key in refusal.value.error_dict["subdomain"][0].message
        assert ClinicBackup.objects.count() == counted
        assert set(backups.backup_dir().rglob("*")) == made  # no file, no temporary left


def test_restoring_over_the_clinic_brings_back_a_deleted_file_and_the_sweep_takes_the_new_one(
    clinic2: Clinic, media: Path, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    logo, pdf = store_logo_and_pdf(clinic2)
    backup = backups.clinic_backup_create(clinic=clinic2)
    with tenant_context(clinic2):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            file_delete(StoredFile.objects.get(pk=pdf.pk))
        later = file_store(
            content=b"%PDF-1.7 later", purpose=FilePurpose.DOCUMENT,
            content_type="application/pdf", extension=".pdf",
        )  # fmt: skip
    assert pdf.key not in stored_objects(media)

    restore.clinic_restore(
        subdomain="clinica2",
        backup_id=str(backup.id),
        target_subdomain="clinica2",
        confirm_overwrite=True,
    )

    assert [row.key for row in rows_of(clinic2)] == [logo.key, pdf.key]  # the same keys
    assert contents_of(clinic2) == [logo_png(), PDF]
    # The file stored after the backup has no row any more: the sweep removes it, after the
    # grace period, and nothing else.
    assert later.key in stored_objects(media)
    with tenant_context(clinic2), transaction.atomic():
        assert cleanup.orphans_remove() == []  # younger than FILE_ORPHAN_GRACE_SECONDS
        settings.FILE_ORPHAN_GRACE_SECONDS = 0
        assert cleanup.orphans_remove() == [later.key]
    assert stored_objects(media) == sorted([logo.key, pdf.key])


def test_a_backup_made_before_files_were_stored_still_restores(
    clinic2: Clinic, media: Path, tmp_path: Path
) -> None:
    backup = backups.clinic_backup_create(clinic=clinic2)
    older = tmp_path / "format-2.tar.gz.enc"
    older.write_bytes(path_of(backup).read_bytes())

    def as_format_2(manifest: dict[str, Any], members: dict[str, bytes]) -> None:
        assert manifest.pop("files") == []
        manifest["format_version"] = 2

    rewrite_archive(older, as_format_2)
    restored = restore.clinic_restore(subdomain="clinica2", file=older, target_subdomain="dos")
    assert table_digests(restored.schema_name) == table_digests(clinic2.schema_name)
    assert rows_of(restored) == []
