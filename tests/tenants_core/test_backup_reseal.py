"""``backup_clinic --reseal``: backups in plaintext (made before encryption) or sealed with a key
being retired are verified and sealed again with the primary key, and then restore with that
key alone. A failure at any point leaves the backup as it was. ``check_tenants`` warns about
the backups that need it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from backend.audit.models import AuditEvent
from tenants_core import backup_crypto, backup_reseal, backups, clinic_hooks, restore
from tenants_core.models import ClinicBackup
from tests.tenants_core.backup_support import (
    archive_members,
    as_made_before_encryption,
    table_digests,
    unseal,
)

pytestmark = pytest.mark.django_db

KEY_A = backup_crypto.generate_key("clave-a")
KEY_B = backup_crypto.generate_key("clave-b")
OTHER_SECRET_KEY = "reseal-test-" + "s" * 30 + "0123456789abcdef"


def _path(backup: ClinicBackup) -> Path:
    return backups.backup_dir() / backup.file_name


def _files(directory: Path) -> set[str]:
    return {path.name for path in directory.iterdir()}


def _state(backup: ClinicBackup) -> tuple:
    backup.refresh_from_db()
    return backup.file_name, backup.sha256, backup.size_bytes, backup.key_id


def _assert_sealed_and_recorded(backup: ClinicBackup, key_id: str) -> bytes:
    backup.refresh_from_db()
    data = _path(backup).read_bytes()
    assert data.startswith(backup_crypto.MAGIC)
    assert backup.key_id == key_id
    assert backup.size_bytes == len(data)
    assert backup.sha256 == hashlib.sha256(data).hexdigest()
    return data


def test_a_plain_backup_is_resealed_then_restores_with_only_the_new_key(
    clinic2, capsys, django_capture_on_commit_callbacks
):
    backup = backups.clinic_backup_create(clinic=clinic2)
    plain_path = as_made_before_encryption(backup)
    directory = plain_path.parent
    files = _files(directory)  # the session's other backups share BACKUP_DIR

    with (
        override_settings(BACKUP_ENCRYPTION_KEYS=KEY_B),
        django_capture_on_commit_callbacks(execute=True),
    ):
        call_command("backup_clinic", "--reseal", "clinica2")
    out = capsys.readouterr().out
    assert "resealed (was key (none: unencrypted))" in out
    assert str(backup.id) in out

    data = _assert_sealed_and_recorded(backup, "clave-b")
    assert not plain_path.exists()  # no plaintext left behind
    assert _files(directory) == (files - {plain_path.name}) | {_path(backup).name}
    manifest = archive_members(unseal(data, backup_crypto.parse_keys(KEY_B)))["manifest.json"]
    assert b'"format_version": 3' in manifest
    assert b'"key_id": "clave-b"' in manifest
    event = AuditEvent.objects.get(action="clinic.backup_reseal", entity_id=str(backup.id))
    assert event.changes["key_id"] == {"from": "", "to": "clave-b"}

    # Restorable with the new key alone, whatever SECRET_KEY is now.
    with override_settings(
        BACKUP_ENCRYPTION_KEYS=KEY_B, SECRET_KEY=OTHER_SECRET_KEY, SECRET_KEY_FALLBACKS=[]
    ):
        restored = restore.clinic_restore(
            subdomain="clinica2", backup_id=str(backup.id), target_subdomain="resellada"
        )
        # Again: nothing to do, nothing changes.
        before = _state(backup)
        call_command("backup_clinic", "--reseal", "--all")
        assert _state(backup) == before
    assert "0 of 0 backups needing it resealed." in capsys.readouterr().out
    assert table_digests(restored.schema_name) == table_digests(clinic2.schema_name)


def test_a_backup_under_key_a_is_resealed_under_b_and_restores_with_only_b(
    clinic1, clinic2, capsys, django_capture_on_commit_callbacks
):
    with override_settings(BACKUP_ENCRYPTION_KEYS=KEY_A):
        old = backups.clinic_backup_create(clinic=clinic2)
        other_clinic = backups.clinic_backup_create(clinic=clinic1)
    old_path = _path(old)
    with override_settings(BACKUP_ENCRYPTION_KEYS=KEY_B):
        current = backups.clinic_backup_create(clinic=clinic2)
    untouched = _state(current)

    with (
        override_settings(BACKUP_ENCRYPTION_KEYS=f"{KEY_B},{KEY_A}"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        call_command("backup_clinic", "--reseal", "--all")
    assert "2 of 2 backups needing it resealed." in capsys.readouterr().out

    _assert_sealed_and_recorded(old, "clave-b")
    _assert_sealed_and_recorded(other_clinic, "clave-b")
    assert _state(current) == untouched  # already under the primary key: not rewritten
    assert not old_path.exists()
    with override_settings(BACKUP_ENCRYPTION_KEYS=KEY_B):  # key A retired
        restored = restore.clinic_restore(
            subdomain="clinica2", backup_id=str(old.id), target_subdomain="de-a-b"
        )
    assert table_digests(restored.schema_name) == table_digests(clinic2.schema_name)


def test_a_reseal_whose_rename_fails_leaves_the_original_intact_and_restorable(
    clinic2, monkeypatch, capsys, django_capture_on_commit_callbacks
):
    backup = backups.clinic_backup_create(clinic=clinic2)
    as_made_before_encryption(backup)
    before, original = _state(backup), _path(backup).read_bytes()
    directory = _path(backup).parent
    files = _files(directory)
    real_replace = os.replace

    def crash(source, target, *args, **kwargs):  # type: ignore[no-untyped-def]
        if Path(target).resolve().parent == directory.resolve():
            raise OSError(28, "No space left on device")
        return real_replace(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", crash)
    with (
        override_settings(BACKUP_ENCRYPTION_KEYS=KEY_B),
        django_capture_on_commit_callbacks(execute=True),
    ):
        with pytest.raises(OSError, match="No space left"):
            backup_reseal.backup_reseal(backup=backup)
        with pytest.raises(CommandError, match="0 of 1 backups"):
            call_command("backup_clinic", "--reseal", "--all")
    assert "left as it was" in capsys.readouterr().err
    monkeypatch.undo()

    assert _state(backup) == before
    assert _path(backup).read_bytes() == original
    assert _files(directory) == files  # no partial or new file left
    assert not AuditEvent.objects.filter(action="clinic.backup_reseal").exists()
    restored = restore.clinic_restore(
        subdomain="clinica2", backup_id=str(backup.id), target_subdomain="intacta"
    )
    assert table_digests(restored.schema_name) == table_digests(clinic2.schema_name)


def test_a_reseal_whose_record_cannot_be_written_leaves_the_original_intact(
    clinic2, monkeypatch, django_capture_on_commit_callbacks
):
    with override_settings(BACKUP_ENCRYPTION_KEYS=KEY_A):
        backup = backups.clinic_backup_create(clinic=clinic2)
    before, original = _state(backup), _path(backup).read_bytes()
    files = _files(_path(backup).parent)

    def crash(**kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("database went away")

    monkeypatch.setattr(clinic_hooks, "event_record", crash)
    with (
        override_settings(BACKUP_ENCRYPTION_KEYS=f"{KEY_B},{KEY_A}"),
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
    ):
        backup_reseal.backup_reseal(backup=backup)
    assert _state(backup) == before
    assert _path(backup).read_bytes() == original
    assert _files(_path(backup).parent) == files


def test_a_reseal_that_loses_a_race_for_the_same_backup_discards_its_own_file(
    clinic2, monkeypatch, django_capture_on_commit_callbacks
):
    with override_settings(BACKUP_ENCRYPTION_KEYS=KEY_A):
        backup = backups.clinic_backup_create(clinic=clinic2)
    old_path = _path(backup)
    files = _files(old_path.parent)
    reseal_into = backup_reseal._reseal_into

    def another_run_commits_first(*args, **kwargs):  # type: ignore[no-untyped-def]
        reseal_into(*args, **kwargs)
        ClinicBackup.objects.filter(pk=backup.pk).update(
            file_name="clinica2/theirs.tar.gz.enc", sha256="f" * 64, key_id="clave-b"
        )

    monkeypatch.setattr(backup_reseal, "_reseal_into", another_run_commits_first)
    with (
        override_settings(BACKUP_ENCRYPTION_KEYS=f"{KEY_B},{KEY_A}"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        outcome = backup_reseal.backup_reseal(backup=backup)
    assert not outcome.resealed
    assert outcome.backup.sha256 == "f" * 64  # theirs stands
    assert _files(old_path.parent) == files  # ours is gone; the old file is theirs to delete
    assert not AuditEvent.objects.filter(action="clinic.backup_reseal").exists()


def test_a_damaged_or_unopenable_backup_is_reported_and_left_as_it_was(
    clinic1, clinic2, capsys, django_capture_on_commit_callbacks
):
    with override_settings(BACKUP_ENCRYPTION_KEYS=KEY_A):
        damaged = backups.clinic_backup_create(clinic=clinic2)
        good = backups.clinic_backup_create(clinic=clinic1)
    data = bytearray(_path(damaged).read_bytes())
    data[len(data) // 2] ^= 0x01
    _path(damaged).write_bytes(bytes(data))
    before = _state(damaged)

    with override_settings(BACKUP_ENCRYPTION_KEYS=f"{KEY_B},{KEY_A}"):
        with pytest.raises(ValidationError) as refusal:
            backup_reseal.backup_reseal(backup=damaged)
        assert refusal.value.error_dict["backup_id"][0].code == "BACKUP_CORRUPTED"
        with (
            django_capture_on_commit_callbacks(execute=True),
            pytest.raises(CommandError, match="1 of 2 backups"),
        ):
            call_command("backup_clinic", "--reseal", "--all")
    assert "[BACKUP_CORRUPTED]" in capsys.readouterr().err
    assert _state(damaged) == before
    assert _path(damaged).read_bytes() == bytes(data)
    _assert_sealed_and_recorded(good, "clave-b")  # the others go on

    # A backup whose key is no longer configured: a coded refusal too.
    with override_settings(BACKUP_ENCRYPTION_KEYS=KEY_A):
        stale = backups.clinic_backup_create(clinic=clinic1)
    before = _state(stale)
    with override_settings(BACKUP_ENCRYPTION_KEYS=KEY_B), pytest.raises(ValidationError) as unknown:
        backup_reseal.backup_reseal(backup=stale)
    assert unknown.value.error_dict["backup_id"][0].code == "BACKUP_KEY_UNKNOWN"
    assert _state(stale) == before


def test_check_tenants_warns_about_plaintext_and_non_primary_backups(clinic1, clinic2, capsys):
    plain = backups.clinic_backup_create(clinic=clinic2)
    as_made_before_encryption(plain)
    with override_settings(BACKUP_ENCRYPTION_KEYS=KEY_A):
        older_key = backups.clinic_backup_create(clinic=clinic1)
    with override_settings(BACKUP_ENCRYPTION_KEYS=f"{KEY_B},{KEY_A}"):
        call_command("check_tenants")  # warnings only: it does not fail
        out = capsys.readouterr().out
        assert f"backup {plain.id} of clinica2 is not encrypted" in out
        assert f"backup {older_key.id} of clinica1 is sealed with the key clave-a" in out
        assert "backup_clinic --reseal --all" in out
        assert "All clinics are consistent." in out

        call_command("backup_clinic", "--reseal", "--all")
        capsys.readouterr()
        call_command("check_tenants")
    out = capsys.readouterr().out
    assert "warning" not in out
    assert "All clinics are consistent." in out


def test_the_reseal_command_takes_a_subdomain_or_all():
    for arguments in (["--reseal"], ["--reseal", "clinica2", "--all"], ["--all", "clinica2"], []):
        with pytest.raises(CommandError):
            call_command("backup_clinic", *arguments)
