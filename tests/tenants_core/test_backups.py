"""Per-clinic backups ("respaldos"): back up, restore as a new clinic or over the same one,
and refuse damaged or foreign files without writing anything."""

from __future__ import annotations

import hashlib

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django_tenants.utils import schema_exists, tenant_context

from backend.accounts.models import AuthToken, Role
from backend.billing.payments import payment_record
from backend.billing.services import charge_add, receipt_issue
from backend.demo.clinical import clinic_clinical_demo_seed
from backend.demo.front_desk import clinic_demo_data_seed
from backend.patients.models import Patient
from tenants_core import backups, restore
from tenants_core.backup_crypto import MAGIC, generate_key, parse_keys
from tenants_core.models import Clinic, ClinicBackup, Domain
from tenants_core.schema_template import code_fingerprint
from tests.conftest import TEST_PASSWORD, graphql
from tests.tenants_core.backup_support import (
    as_made_before_encryption,
    public_counts,
    sequence_positions,
    table_digests,
)
from tests.tenants_core.backup_support import refused as _refused
from tests.tenants_core.backup_support import rewrite_archive as _rewrite_archive
from tests.tenants_core.backup_support import schemas as _schemas

pytestmark = pytest.mark.django_db

LOGIN = """
mutation($e: String!, $p: String!) {
  login(email: $e, password: $p) {
    __typename ... on AuthToken { token } ... on OperationInfo { messages { code } }
  }
}
"""


@pytest.fixture
def demo_clinic(clinic2, make_staff, token_for):
    """clinica2 with the demo data of scripts/dev, a paid receipt and a live session."""
    clinic_demo_data_seed(clinic2, patients=30)
    clinic_clinical_demo_seed(clinic2, patients_with_records=5)
    cashier = make_staff(clinic2, Role.ADMIN)
    token_for(clinic2, cashier)
    with tenant_context(clinic2):
        patient = Patient.objects.order_by("pk").first()
        charge = charge_add(
            actor=cashier, patient=patient, concept="Profilaxis", quantity=1, unit_price="120.00"
        )
        receipt = receipt_issue(actor=cashier, patient=patient, charges=[charge])
        payment_record(
            actor=cashier, patient=patient, amount="150.00", method="CASH",
            allocations=[(receipt, "120.00")],
        )  # fmt: skip
    return clinic2


def test_a_backup_restores_as_a_new_clinic_with_every_table_identical(client, demo_clinic):
    backup = backups.clinic_backup_create(clinic=demo_clinic)
    path = backups.backup_dir() / backup.file_name
    assert path.is_file()
    assert path.stat().st_size == backup.size_bytes
    assert backup.rows > 100
    assert backup.tables >= 20
    assert len(backup.sha256) == 64
    assert backup.migrations_fingerprint == code_fingerprint()
    assert backup.key_id == backups.backup_keys().primary.key_id
    assert path.read_bytes().startswith(MAGIC)  # sealed, not a readable .tar.gz

    restored = restore.clinic_restore(
        subdomain="clinica2", backup_id=str(backup.id), target_subdomain="clinica2-copia"
    )

    assert restored.schema_name != demo_clinic.schema_name
    restored.refresh_from_db()
    assert restored.migrations_fingerprint == code_fingerprint()  # migrate will skip it
    assert restored.name == demo_clinic.name
    assert restored.plan_id == demo_clinic.plan_id
    assert Domain.objects.filter(tenant=restored, domain="clinica2-copia.localhost").exists()
    original, copy = table_digests(demo_clinic.schema_name), table_digests(restored.schema_name)
    assert set(copy) == set(original)
    assert copy == original
    assert sequence_positions(restored.schema_name) == sequence_positions(demo_clinic.schema_name)

    # The clinic's users sign in on the new domain, and their session works there.
    status, body = graphql(
        client,
        LOGIN,
        host="clinica2-copia.localhost",
        variables={"e": "admin@clinica2.pe", "p": TEST_PASSWORD},
    )
    assert status == 200
    assert body["data"]["login"]["__typename"] == "AuthToken", body
    token = body["data"]["login"]["token"]
    status, body = graphql(client, "{ me { email } }", host="clinica2-copia.localhost", token=token)
    assert body["data"]["me"]["email"] == "admin@clinica2.pe"
    # New rows continue the restored sequences instead of colliding with restored ids.
    with tenant_context(restored):
        patient = Patient.objects.create(
            first_name="Ana", last_name="Nueva", document_type="DNI", document_number="87654321"
        )
        assert patient.pk > Patient.objects.exclude(pk=patient.pk).order_by("-pk")[0].pk


def test_restoring_over_the_same_clinic_needs_confirmation_then_replaces_its_data(demo_clinic):
    backup = backups.clinic_backup_create(clinic=demo_clinic)
    before = table_digests(demo_clinic.schema_name)
    with tenant_context(demo_clinic):
        Patient.objects.create(
            first_name="Luis", last_name="Después", document_type="DNI", document_number="11112222"
        )
    after_change = table_digests(demo_clinic.schema_name)

    with pytest.raises(ValidationError) as refused:
        restore.clinic_restore(
            subdomain="clinica2", backup_id=str(backup.id), target_subdomain="clinica2"
        )
    assert refused.value.error_dict["confirm_overwrite"][0].code == "CONFIRMATION_REQUIRED"
    assert table_digests(demo_clinic.schema_name) == after_change

    counts = public_counts()
    restore.clinic_restore(
        subdomain="clinica2",
        backup_id=str(backup.id),
        target_subdomain="clinica2",
        confirm_overwrite=True,
    )
    restored = table_digests(demo_clinic.schema_name)
    token_table = AuthToken._meta.db_table
    assert {k: v for k, v in restored.items() if k != token_table} == {
        k: v for k, v in before.items() if k != token_table
    }
    with tenant_context(demo_clinic):
        assert not Patient.objects.filter(last_name="Después").exists()
        # Sessions from before the restore are over.
        assert not AuthToken.objects.filter(revoked_at__isnull=True).exists()
    assert public_counts() == counts
    # No staging schema is left behind.
    left = [s for s in _schemas() if s.startswith(("_restore_", demo_clinic.schema_name))]
    assert left == [demo_clinic.schema_name]


def test_a_corrupted_backup_file_is_refused_and_changes_nothing(clinic2):
    backup = backups.clinic_backup_create(clinic=clinic2)
    path = backups.backup_dir() / backup.file_name
    original = path.read_bytes()
    # A flipped byte anywhere in the sealed chunks, the last one's tag included.
    for offset in (len(original) // 3, len(original) // 2, len(original) - 6, len(original) - 2):
        data = bytearray(original)
        data[offset] ^= 0xFF
        path.write_bytes(bytes(data))
        _refused(
            "BACKUP_CORRUPTED",
            subdomain="clinica2",
            backup_id=str(backup.id),
            target_subdomain="clinica2-bis",
        )
        # Even given as a file, without the recorded checksum, a damaged archive is refused.
        _refused(
            "BACKUP_CORRUPTED", subdomain="clinica2", file=path, target_subdomain="clinica2-bis"
        )
    # The recorded checksum also catches a change the archive format would not notice.
    data = bytearray(original)
    data[len(MAGIC) + 3] ^= 0xFF  # in the header's key id
    path.write_bytes(bytes(data))
    _refused(
        "BACKUP_CORRUPTED", subdomain="clinica2", backup_id=str(backup.id), target_subdomain="b2"
    )


def test_a_truncated_or_missing_backup_is_refused(clinic2):
    backup = backups.clinic_backup_create(clinic=clinic2)
    path = backups.backup_dir() / backup.file_name
    path.write_bytes(path.read_bytes()[:200])
    _refused("BACKUP_CORRUPTED", subdomain="clinica2", file=path, target_subdomain="otra")
    path.unlink()
    _refused(
        "BACKUP_NOT_FOUND", subdomain="clinica2", backup_id=str(backup.id), target_subdomain="x1"
    )


def test_a_foreign_backup_is_refused_and_changes_nothing(clinic1, clinic2, tmp_path):
    # Made by another installation: its backup keys are not ours. Another key id is unknown,
    # the same key id with other key material is the wrong key.
    for keys, code in [
        (generate_key("otra-instalacion"), "BACKUP_KEY_UNKNOWN"),
        (generate_key(backups.backup_keys().primary.key_id), "BACKUP_KEY_WRONG"),
    ]:
        with override_settings(BACKUP_ENCRYPTION_KEYS=keys):
            other = backups.clinic_backup_create(clinic=clinic2)
        _refused(
            code,
            subdomain="clinica2",
            file=backups.backup_dir() / other.file_name,
            target_subdomain="intrusa",
        )
    # A backup from before encryption signed by another installation (another SECRET_KEY).
    legacy = backups.clinic_backup_create(clinic=clinic2)
    legacy_path = as_made_before_encryption(legacy, secret="another-platform-" + "x" * 40)
    _refused("BACKUP_FOREIGN", subdomain="clinica2", file=legacy_path, target_subdomain="intrusa")
    _refused(
        "BACKUP_FOREIGN",
        subdomain="clinica2",
        backup_id=str(legacy.id),
        target_subdomain="intrusa",
    )
    # A backup of clinica1 offered as clinica2's.
    mine = backups.clinic_backup_create(clinic=clinic1)
    _refused(
        "BACKUP_FOREIGN",
        subdomain="clinica2",
        file=backups.backup_dir() / mine.file_name,
        target_subdomain="intrusa",
    )
    # ...or asked for under another clinic's subdomain.
    _refused(
        "BACKUP_NOT_FOUND", subdomain="clinica2", backup_id=str(mine.id), target_subdomain="x2"
    )

    # Rows slipped into a table, with the manifest edited to match: sealed again by someone
    # without our key, under our key id, it is the wrong key; in a backup from before
    # encryption, it breaks the signature.
    def add_row(manifest, members):  # type: ignore[no-untyped-def]
        table = next(t for t in manifest["tables"] if t["name"] == "accounts_user")
        members[table["file"]] += b"999\tpbkdf2$x\t\\N\tf\tevil@x.pe\tEvil\tADMIN\tt\tt\t\\N\n"
        table["sha256"] = hashlib.sha256(members[table["file"]]).hexdigest()

    tampered = tmp_path / "tampered.tar.gz.enc"
    tampered.write_bytes((backups.backup_dir() / mine.file_name).read_bytes())
    forger = parse_keys(generate_key(backups.backup_keys().primary.key_id)).primary
    _rewrite_archive(tampered, add_row, key=forger)
    _refused("BACKUP_KEY_WRONG", subdomain="clinica1", file=tampered, target_subdomain="intrusa")
    mine_legacy = as_made_before_encryption(mine)
    _rewrite_archive(mine_legacy, add_row, sealed=False)
    _refused("BACKUP_FOREIGN", subdomain="clinica1", file=mine_legacy, target_subdomain="intrusa")
    # Not a backup at all.
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"hello")
    _refused("BACKUP_CORRUPTED", subdomain="clinica1", file=junk, target_subdomain="intrusa")


def test_restore_never_overwrites_another_clinic_and_validates_the_target(clinic1, clinic2):
    backup = backups.clinic_backup_create(clinic=clinic2)
    before = table_digests(clinic1.schema_name)
    _refused(
        "SUBDOMAIN_TAKEN",
        subdomain="clinica2",
        backup_id=str(backup.id),
        target_subdomain="clinica1",
    )
    assert table_digests(clinic1.schema_name) == before
    _refused(
        "INVALID_SUBDOMAIN",
        subdomain="clinica2",
        backup_id=str(backup.id),
        target_subdomain="Mal Nombre!",
    )
    _refused(
        "BACKUP_NOT_FOUND", subdomain="clinica2", backup_id="not-a-uuid", target_subdomain="x3"
    )


def test_a_failure_midway_leaves_no_clinic_and_no_schema(clinic2, monkeypatch):
    backup = backups.clinic_backup_create(clinic=clinic2)
    counts = public_counts()

    def explode(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(restore, "_record_fingerprint", explode)
    with pytest.raises(RuntimeError):
        restore.clinic_restore(
            subdomain="clinica2", backup_id=str(backup.id), target_subdomain="a-medias"
        )
    assert public_counts() == counts
    assert not schema_exists("clinic_a_medias")


def test_backup_clinic_command_lists_size_and_checksum(clinic2, capsys):
    call_command("backup_clinic", "clinica2")
    made = ClinicBackup.objects.get(subdomain="clinica2")
    out = capsys.readouterr().out
    assert str(made.id) in out
    assert made.sha256 in out
    assert str(made.size_bytes) in out
    call_command("backup_clinic", "clinica2", "--list")
    listed = capsys.readouterr().out
    assert str(made.id) in listed
    assert made.sha256 in listed


def test_restore_clinic_command_restores_as_a_new_clinic(clinic2, capsys):
    backup = backups.clinic_backup_create(clinic=clinic2)
    call_command("restore_clinic", "clinica2", str(backup.id), "clinica2-cmd")
    restored = Clinic.objects.get(subdomain="clinica2-cmd")
    assert table_digests(restored.schema_name) == table_digests(clinic2.schema_name)
    assert "clinica2-cmd" in capsys.readouterr().out


def test_an_older_backup_is_restored_then_migrated_forward(clinic2, tmp_path):
    """A backup taken before a migration existed restores after an upgrade: the schema is
    built at the backup's state, loaded, then migrated to the code's state."""
    made = backups.clinic_backup_create(clinic=clinic2)
    older = tmp_path / "older.tar.gz"
    older.write_bytes((backups.backup_dir() / made.file_name).read_bytes())
    later = ["accounts", "0002_loginfailure_authtoken"]
    # The migrations after it in the app (an index on its table) go with it.
    after = [["accounts", name] for name in ("0003_authtoken_created",)]
    later_tables = {"accounts_authtoken", "accounts_loginfailure"}

    def as_before_the_migration(manifest, members):  # type: ignore[no-untyped-def]
        for migration in [later, *after]:
            manifest["migrations"].remove(migration)
        for table in [t for t in manifest["tables"] if t["name"] in later_tables]:
            manifest["tables"].remove(table)
            del members[table["file"]]
        manifest["sequences"] = {
            name: position
            for name, position in manifest["sequences"].items()
            if not name.startswith(tuple(later_tables))
        }
        recorded = next(t for t in manifest["tables"] if t["name"] == "django_migrations")
        lines = members[recorded["file"]].splitlines(keepends=True)
        names = [later[1], *(name for _, name in after)]
        lines = [line for line in lines if not any(n.encode() in line for n in names)]
        members[recorded["file"]] = b"".join(lines)
        recorded["rows"] = len(lines)
        recorded["sha256"] = hashlib.sha256(members[recorded["file"]]).hexdigest()

    _rewrite_archive(older, as_before_the_migration)  # sealed again with this platform's key
    restored = restore.clinic_restore(
        subdomain="clinica2", file=older, target_subdomain="clinica2-antigua"
    )

    original, copy = table_digests(clinic2.schema_name), table_digests(restored.schema_name)
    assert set(copy) == set(original)
    unchanged = set(original) - later_tables - {"django_migrations"}
    assert {t: copy[t] for t in unchanged} == {t: original[t] for t in unchanged}
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT count(*) FROM "{restored.schema_name}".django_migrations '
            "WHERE app = %s AND name = %s",
            later,
        )
        assert cursor.fetchone()[0] == 1
    with tenant_context(restored):
        assert AuthToken.objects.count() == 0  # the table the migration created, empty


def test_restoring_over_a_clinic_refuses_a_backup_of_a_former_clinic_with_its_subdomain(db):
    from tenants_core.services import clinic_provision

    def provision() -> Clinic:
        return clinic_provision(
            subdomain="reciclada", name="Reciclada", legal_id="20600000005",
            email="a@reciclada.pe", admin_password=TEST_PASSWORD,
        )  # fmt: skip

    former = provision()
    backup = backups.clinic_backup_create(clinic=former)
    former.delete(force_drop=True)
    current = provision()  # a new customer, given the freed subdomain
    before = table_digests(current.schema_name)
    _refused(
        "BACKUP_FOREIGN",
        subdomain="reciclada",
        backup_id=str(backup.id),
        target_subdomain="reciclada",
        confirm_overwrite=True,
    )
    assert table_digests(current.schema_name) == before


def test_restoring_over_a_clinic_held_by_a_long_transaction_is_refused_as_busy(clinic2, settings):
    import psycopg2

    backup = backups.clinic_backup_create(clinic=clinic2)
    settings.RESTORE_LOCK_TIMEOUT_MS = 300
    params = connection.get_connection_params()
    holder = psycopg2.connect(**params)
    try:
        with holder.cursor() as cursor:  # a session in the middle of a transaction
            cursor.execute(
                f'LOCK TABLE "{clinic2.schema_name}".patients_patient IN ACCESS SHARE MODE'
            )
        before = table_digests(clinic2.schema_name)
        _refused(
            "CLINIC_BUSY",
            subdomain="clinica2",
            backup_id=str(backup.id),
            target_subdomain="clinica2",
            confirm_overwrite=True,
        )
        assert table_digests(clinic2.schema_name) == before
    finally:
        holder.rollback()
        holder.close()
