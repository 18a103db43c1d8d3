"""Backups at rest: sealed with a key from BACKUP_ENCRYPTION_KEYS, rotated by listing old keys,
and refused with a code (writing nothing) when the key is unknown (BACKUP_KEY_UNKNOWN) or
wrong (BACKUP_KEY_WRONG), or when the sealed file was altered, cut, reordered or swapped
(BACKUP_CORRUPTED)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import secrets
from pathlib import Path

import pytest
from django.test import override_settings
from django_tenants.utils import tenant_context

from backend.patients.models import Patient
from tenants_core import backup_crypto, backups, restore
from tenants_core.models import ClinicBackup
from tests.tenants_core.backup_support import (
    archive_members,
    as_made_before_encryption,
    refused,
    rewrite_archive,
    table_digests,
    unseal,
)

pytestmark = pytest.mark.django_db

KEY_A = backup_crypto.generate_key("clave-2025")
KEY_B = backup_crypto.generate_key("clave-2026")
KEY_A_OTHER_MATERIAL = backup_crypto.generate_key("clave-2025")
PATIENT = ("Zoraida", "Quispe-Huamán")
SEALED_CHUNK = backup_crypto.CHUNK_SIZE + backup_crypto.TAG_SIZE


@pytest.fixture
def patient_clinic(clinic2):
    """clinica2 with a patient whose name the tests look for, and enough incompressible data
    in her notes for the sealed file to span several chunks."""
    with tenant_context(clinic2):
        Patient.objects.create(
            first_name=PATIENT[0],
            last_name=PATIENT[1],
            document_type="DNI",
            document_number="40112233",
            notes=secrets.token_urlsafe(300_000),
        )
    return clinic2


def _file(backup: ClinicBackup) -> Path:
    return backups.backup_dir() / backup.file_name


def _chunks(data: bytes) -> tuple[bytes, list[bytes]]:
    """A sealed file split into its header and its sealed chunks."""
    _key_id, _size, header = backup_crypto.read_header(io.BytesIO(data))
    body = data[len(header) :]
    return header, [body[i : i + SEALED_CHUNK] for i in range(0, len(body), SEALED_CHUNK)]


def _name_in(data: bytes) -> bool:
    return any(part.encode() in data for part in PATIENT)


def test_the_file_on_disk_holds_no_plaintext_and_opens_with_its_key(patient_clinic):
    backup = backups.clinic_backup_create(clinic=patient_clinic)
    data = _file(backup).read_bytes()

    assert data.startswith(backup_crypto.MAGIC)
    assert not _name_in(data)
    with pytest.raises(gzip.BadGzipFile):
        gzip.decompress(data)
    for path in backups.backup_dir().rglob("*"):
        assert not (path.is_file() and _name_in(path.read_bytes())), path
    # The recorded checksum and size are those of the sealed file on disk.
    assert backup.sha256 == hashlib.sha256(data).hexdigest()
    assert backup.size_bytes == len(data)
    # With the key, the patient is there: the check above could have found her.
    members = archive_members(unseal(data))
    assert _name_in(members["data/patients_patient.tsv"])
    manifest = json.loads(members["manifest.json"])
    assert manifest["key_id"] == backup.key_id == backups.backup_keys().primary.key_id
    assert manifest["format_version"] == 3
    assert len(_chunks(data)[1]) >= 3


def test_no_plaintext_reaches_the_disk_while_a_backup_is_made(patient_clinic, monkeypatch):
    """Tables are spooled before they go into the archive: the spool is sealed too."""
    seen: list[Path] = []
    write_archive = backups.write_archive

    def looking(*args, **kwargs):  # type: ignore[no-untyped-def]
        for path in backups.backup_dir().rglob("*"):
            if path.is_file():
                seen.append(path)
                assert not _name_in(path.read_bytes()), f"plaintext in {path}"
        return write_archive(*args, **kwargs)

    monkeypatch.setattr(backups, "write_archive", looking)
    backups.clinic_backup_create(clinic=patient_clinic)
    assert any(path.name == "patients_patient.tsv.enc" for path in seen)


def test_a_rotated_key_still_restores_old_backups_while_it_is_listed(patient_clinic):
    with override_settings(BACKUP_ENCRYPTION_KEYS=KEY_A):
        old = backups.clinic_backup_create(clinic=patient_clinic)
    assert old.key_id == "clave-2025"

    with override_settings(BACKUP_ENCRYPTION_KEYS=f"{KEY_B},{KEY_A}"):
        new = backups.clinic_backup_create(clinic=patient_clinic)
        restored = restore.clinic_restore(
            subdomain="clinica2", backup_id=str(old.id), target_subdomain="rotada"
        )
    assert new.key_id == "clave-2026"  # the first key seals
    assert _file(new).read_bytes().startswith(backup_crypto.MAGIC)
    assert table_digests(restored.schema_name) == table_digests(patient_clinic.schema_name)

    with override_settings(BACKUP_ENCRYPTION_KEYS=KEY_B):
        refusal = refused(
            "BACKUP_KEY_UNKNOWN",
            subdomain="clinica2",
            backup_id=str(old.id),
            target_subdomain="destino-4",
        )
        assert "clave-2025" in refusal.messages[0]
        refused(
            "BACKUP_KEY_UNKNOWN",
            subdomain="clinica2",
            file=_file(old),
            target_subdomain="destino-4",
        )
        # The new key's backups are unaffected.
        restore.clinic_restore(
            subdomain="clinica2", backup_id=str(new.id), target_subdomain="rotada-2"
        )


def test_the_wrong_key_under_a_known_id_is_refused_as_the_wrong_key(patient_clinic):
    with override_settings(BACKUP_ENCRYPTION_KEYS=KEY_A):
        backup = backups.clinic_backup_create(clinic=patient_clinic)
    with override_settings(BACKUP_ENCRYPTION_KEYS=KEY_A_OTHER_MATERIAL):
        refusal = refused(
            "BACKUP_KEY_WRONG",
            subdomain="clinica2",
            backup_id=str(backup.id),
            target_subdomain="destino-5",
        )
        assert "clave-2025" in refusal.messages[0]
        refused("BACKUP_KEY_WRONG", subdomain="clinica2", file=_file(backup), target_subdomain="d5")


def test_the_wrong_key_is_told_before_any_chunk_is_opened(patient_clinic):
    """The header's key check answers alone: with every chunk cut off, the wrong key is
    still the wrong key, and the right key opens the header (the cut shows when reading)."""
    with override_settings(BACKUP_ENCRYPTION_KEYS=KEY_A):
        backup = backups.clinic_backup_create(clinic=patient_clinic)
    header = _chunks(_file(backup).read_bytes())[0]
    wrong = backup_crypto.parse_keys(KEY_A_OTHER_MATERIAL)
    with pytest.raises(backup_crypto.BackupKeyWrong):
        backup_crypto.OpeningReader(io.BytesIO(header), wrong)
    reader = backup_crypto.OpeningReader(io.BytesIO(header), backup_crypto.parse_keys(KEY_A))
    with pytest.raises(backup_crypto.BackupCorrupted):
        reader.read()


def _flipped(data: bytes, offset: int) -> bytes:
    altered = bytearray(data)
    altered[offset] ^= 0x01
    return bytes(altered)


def _tampered(data: bytes, other: bytes) -> dict[str, bytes]:
    header, chunks = _chunks(data)
    _other_header, other_chunks = _chunks(other)
    middle = len(chunks) // 2
    flipped = bytearray(chunks[middle])
    flipped[100] ^= 0x01
    check_at = len(header) - backup_crypto.KEY_CHECK_SIZE
    salt_at = check_at - backup_crypto.NONCE_PREFIX_SIZE - backup_crypto.SALT_SIZE
    return {
        # The key check is part of the header, so altering it is damage, not a wrong key.
        "a flipped byte in the header's key check": _flipped(data, check_at + 3),
        "a flipped byte in the header's salt": _flipped(data, salt_at + 3),
        "a flipped byte in the header's nonce prefix": _flipped(data, check_at - 2),
        "a flipped byte in a middle chunk": header
        + b"".join([*chunks[:middle], bytes(flipped), *chunks[middle + 1 :]]),
        "two chunks swapped": header + b"".join([chunks[1], chunks[0], *chunks[2:]]),
        "the last chunk dropped (cut at a chunk boundary)": header + b"".join(chunks[:-1]),
        "cut inside a chunk": data[: len(header) + SEALED_CHUNK + 5000],
        "a chunk repeated": header + b"".join([chunks[0], *chunks]),
        "bytes appended": data + b"\x00" * 32,
        "a chunk of another backup (same key) in its place": header
        + b"".join([chunks[0], other_chunks[1], *chunks[2:]]),
        "the other backup's header": _chunks(other)[0] + b"".join(chunks),
    }


def test_altered_cut_reordered_or_swapped_chunks_are_refused(patient_clinic, tmp_path):
    backup = backups.clinic_backup_create(clinic=patient_clinic)
    other = backups.clinic_backup_create(clinic=patient_clinic)
    data, path = _file(backup).read_bytes(), _file(backup)
    for case, altered in _tampered(data, _file(other).read_bytes()).items():
        # Given as a file, no recorded checksum helps: the chunks' tags catch it.
        given = tmp_path / "altered.tar.gz.enc"
        given.write_bytes(altered)
        try:
            refused(
                "BACKUP_CORRUPTED", subdomain="clinica2", file=given, target_subdomain="destino-6"
            )
        except AssertionError as error:
            raise AssertionError(f"{case}: {error}") from None
    # And over a recorded backup, the file's checksum refuses it first.
    path.write_bytes(_tampered(data, data)["two chunks swapped"])
    refused(
        "BACKUP_CORRUPTED",
        subdomain="clinica2",
        backup_id=str(backup.id),
        target_subdomain="destino-7",
    )


def test_an_unencrypted_backup_from_before_encryption_still_restores(patient_clinic):
    """Decision: plain .tar.gz backups made before encryption restore as before, checked by
    their recorded checksum and signature; new ones are always sealed."""
    sealed = backups.clinic_backup_create(clinic=patient_clinic)
    unsealed_copy = _file(sealed).read_bytes()
    plain_path = as_made_before_encryption(sealed)
    assert sealed.key_id == ""
    restored = restore.clinic_restore(
        subdomain="clinica2", backup_id=str(sealed.id), target_subdomain="vieja"
    )
    assert table_digests(restored.schema_name) == table_digests(patient_clinic.schema_name)

    # A plain file whose manifest says it was sealed was decrypted by someone: refused.
    downgraded = plain_path.with_name("downgraded.tar.gz")
    downgraded.write_bytes(unsealed_copy)
    rewrite_archive(downgraded, lambda manifest, members: None, sealed=False)
    refused("BACKUP_CORRUPTED", subdomain="clinica2", file=downgraded, target_subdomain="destino-8")


def test_a_file_swapped_between_verification_and_loading_loads_nothing(patient_clinic, monkeypatch):
    """The restore reads the file twice (verify, then load): the load checks every table
    against the verified manifest, so another backup slipped in meanwhile is refused."""
    backup = backups.clinic_backup_create(clinic=patient_clinic)
    with tenant_context(patient_clinic):
        Patient.objects.filter(last_name=PATIENT[1]).update(first_name="Otra")
    other = backups.clinic_backup_create(clinic=patient_clinic)
    verify = restore.backup_verify_file

    def verify_then_swap(path, **kwargs):  # type: ignore[no-untyped-def]
        verified = verify(path, **kwargs)
        path.write_bytes(_file(other).read_bytes())
        return verified

    monkeypatch.setattr(restore, "backup_verify_file", verify_then_swap)
    refused(
        "BACKUP_CORRUPTED",
        subdomain="clinica2",
        backup_id=str(backup.id),
        target_subdomain="destino-9",
    )
