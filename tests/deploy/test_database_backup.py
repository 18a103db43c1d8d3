"""Whole-database backups: a real pg_dump of the test database (a committed clinic with a
patient in it), sealed on disk, copied to a real S3 API (moto_server) and checked there,
restored into a NEW empty database owned by a role that is not a superuser, refused with a
wrong key, a damaged file or a target that is not empty; retention on the machine and in the
bucket; the daily job; and a clear failure when pg_dump is missing.

Everything here is committed (pg_dump and pg_restore are other processes): each test deletes
the backup records it made, and the clinic and the databases it created are dropped."""

from __future__ import annotations

import fcntl
import hashlib
import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings

from backend.core.tenancy import clinic_context
from backend.db import database_url_for
from backend.jobs.runtime import app
from backend.jobs.tasks import DATABASE_BACKUP_TASK, DatabaseBackupFailed, database_backup_job
from backend.observability.collector import DatabaseCollector
from backend.settings import database_backup_s3
from tenants_core import backup_crypto, database_backup, database_offsite, database_restore
from tenants_core.backup_archive import backup_keys
from tenants_core.models import DatabaseBackup, OffsiteStatus
from tenants_core.schema_template import pg_dump_path
from tenants_core.services import clinic_provision
from tests.conftest import ROOT, child_env
from tests.factories import TEST_PASSWORD, PatientFactory
from tests.s3_support import S3Server

SUBDOMAIN = "respaldototal"
PATIENT = ("Zoraida", "Backupovich-Quispe")
_names = itertools.count(1)


@dataclass(frozen=True)
class MadeBackup:
    """The module's one backup: its record as made, its file, its bucket."""

    record: DatabaseBackup
    path: Path
    bucket: str
    schema_name: str


def _s3_config(s3_server: S3Server, bucket: str) -> dict[str, Any] | None:
    """What the settings build from the S3_* of file storage plus DATABASE_BACKUP_S3_BUCKET."""
    return database_backup_s3({**s3_server.env(bucket), "DATABASE_BACKUP_S3_BUCKET": bucket})


@pytest.fixture(scope="module")
def made(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: Any, s3_server: S3Server
) -> Iterator[MadeBackup]:
    backup_dir = tmp_path_factory.mktemp("database-backups")
    bucket = s3_server.bucket_new("database-backups")
    with django_db_blocker.unblock():
        clinic = clinic_provision(
            subdomain=SUBDOMAIN, name="Respaldo Total", legal_id="20600000005",
            email=f"hola@{SUBDOMAIN}.pe", plan="basic", admin_email=f"admin@{SUBDOMAIN}.pe",
            admin_password=TEST_PASSWORD,
        )  # fmt: skip
        with clinic_context(clinic):
            PatientFactory(first_name=PATIENT[0], last_name=PATIENT[1])
        try:
            with override_settings(
                BACKUP_DIR=backup_dir, DATABASE_BACKUP_S3=_s3_config(s3_server, bucket)
            ):
                run = database_backup.database_backup_run()
            DatabaseBackup.objects.all().delete()  # each test counts its own records
            yield MadeBackup(
                record=run.backup,
                path=backup_dir / run.backup.file_name,
                bucket=bucket,
                schema_name=clinic.schema_name,
            )
        finally:
            connection.set_schema_to_public()
            clinic.delete(force_drop=True)
            DatabaseBackup.objects.all().delete()


@pytest.fixture
def unblocked(django_db_blocker: Any) -> Iterator[None]:
    """The test commits, as production does; the records it made are deleted after it."""
    with django_db_blocker.unblock():
        DatabaseBackup.objects.all().delete()
        yield
        DatabaseBackup.objects.all().delete()


@pytest.fixture
def backups_here(settings: Any, tmp_path: Path, s3_server: S3Server) -> tuple[Path, str]:
    """This test's own BACKUP_DIR and bucket."""
    settings.BACKUP_DIR = tmp_path / "backups"
    bucket = s3_server.bucket_new("database-backups")
    settings.DATABASE_BACKUP_S3 = _s3_config(s3_server, bucket)
    return settings.BACKUP_DIR / database_backup.SUBDIRECTORY, bucket


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    config: dict[str, Any]


@pytest.fixture
def empty_database(django_db_blocker: Any) -> Iterator[Target]:
    """A new database on the test server, owned by a login role that is no superuser (as on a
    managed PostgreSQL), dropped after the test with the role."""
    name = f"restore_{os.getpid()}_{next(_names)}"
    role = f"restorer_{os.getpid()}"
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE')
            cursor.execute(f'CREATE DATABASE "{name}" OWNER "{role}"')
        config = {**connection.settings_dict, "USER": role, "PASSWORD": ""}
        url = database_url_for(config, name)
        try:
            yield Target(name, url, database_restore.target_settings(url))
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                cursor.execute(f'DROP OWNED BY "{role}"')
                cursor.execute(f'DROP ROLE IF EXISTS "{role}"')


def _query(target: Target, sql: str) -> list[tuple[Any, ...]]:
    connection_ = database_restore._connect(target.config)
    try:
        with connection_.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()
    finally:
        connection_.close()


def _plaintext(path: Path) -> bytes:
    with path.open("rb") as file:
        return backup_crypto.OpeningReader(file, backup_keys()).read()


def _gauges() -> dict[str, float]:
    families = {family.name: family for family in DatabaseCollector().collect()}
    family = families["dental_database_backup_last_timestamp_seconds"]
    return {sample.labels["what"]: sample.value for sample in family.samples}


# --- the dump ---------------------------------------------------------------------------------


def test_the_dump_is_sealed_on_disk_and_holds_every_schema(made: MadeBackup) -> None:
    sealed = made.path.read_bytes()
    plaintext = _plaintext(made.path)
    # What the archive holds, as SQL (pg_restore without a database prints it).
    sql = subprocess.run(
        [database_backup.pg_restore_path(), "--file=-"],
        input=plaintext,
        capture_output=True,
        check=True,
    ).stdout

    assert sealed.startswith(backup_crypto.MAGIC)
    assert plaintext.startswith(b"PGDMP")
    # The archive's table of contents is plain SQL, and the patient is in its data: neither is
    # on disk.
    for clear in (b"PGDMP", b"CREATE TABLE", made.schema_name.encode(), PATIENT[1].encode()):
        assert clear in plaintext + sql
        assert clear not in sealed
    # Every clinic's schema, the template, the platform's tables and the job queue.
    for schema in (made.schema_name, "clinic_clinica1", "clinic_cerrada", "_clinic_template"):
        assert f"CREATE TABLE {schema}.patients_patient (".encode() in sql
    assert b"CREATE TABLE public.tenants_core_clinic (" in sql
    assert b"CREATE TABLE public.procrastinate_jobs (" in sql
    assert PATIENT[0].encode() in sql


def test_the_record_names_the_file_its_size_checksum_and_key(made: MadeBackup) -> None:
    record = made.record

    assert record.status == "done"
    assert made.path.parent.name == "database"
    assert made.path.name.endswith(".pgdump.enc")
    assert made.path.stat().st_mode & 0o777 == 0o600
    assert record.size_bytes == made.path.stat().st_size
    assert record.sha256 == hashlib.sha256(made.path.read_bytes()).hexdigest()
    assert record.key_id == backup_keys().primary.key_id
    assert record.server_version.split(".")[0].isdigit()
    assert [p.name for p in made.path.parent.iterdir() if p.name != ".lock"] == [made.path.name]


def test_the_sealed_file_is_copied_to_the_bucket_and_checked(
    made: MadeBackup, s3_server: S3Server
) -> None:
    key = f"database/{made.path.name}"
    head = s3_server.client().head_object(Bucket=made.bucket, Key=key)

    assert made.record.offsite_status == OffsiteStatus.COPIED
    assert made.record.offsite_url == f"s3://{made.bucket}/{key}"
    assert made.record.offsite_copied_at is not None
    assert s3_server.keys(made.bucket) == [key]
    assert s3_server.body(made.bucket, key) == made.path.read_bytes()
    assert head["Metadata"]["sha256"] == made.record.sha256


# --- restoring --------------------------------------------------------------------------------


def test_a_restore_into_a_new_database_brings_back_the_platform(
    made: MadeBackup, empty_database: Target, capsys: Any
) -> None:
    call_command("restore_database", str(made.path), target_url=empty_database.url)

    out = capsys.readouterr().out
    clinics = {
        row[0] for row in _query(empty_database, "SELECT subdomain FROM tenants_core_clinic")
    }
    patients = _query(
        empty_database, f'SELECT first_name, last_name FROM "{made.schema_name}".patients_patient'
    )
    assert f"Restored into {empty_database.name}" in out
    assert {"clinica1", "clinica2", "cerrada", SUBDOMAIN} <= clinics
    assert PATIENT in patients
    # The restored database belongs to the role that restored it, not to the dump's owner.
    owners = _query(
        empty_database,
        "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class "
        f"WHERE relnamespace = '{made.schema_name}'::regnamespace",
    )
    assert owners == [(empty_database.config["USER"],)]
    # The platform starts on it: its migrations are all there, every clinic consistent.
    env = child_env(DATABASE_URL=empty_database.url)
    for command in (["migrate_schemas", "--noinput"], ["check_tenants"]):
        result = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "All clinics are consistent." in result.stdout


def test_a_wrong_key_is_refused_clearly_and_restores_nothing(
    made: MadeBackup, empty_database: Target
) -> None:
    key_id = made.record.key_id
    other_material = backup_crypto.generate_key(key_id)

    with (
        override_settings(BACKUP_ENCRYPTION_KEYS=other_material),
        pytest.raises(CommandError) as wrong,
    ):
        call_command("restore_database", str(made.path), target_url=empty_database.url)
    with (
        override_settings(BACKUP_ENCRYPTION_KEYS=backup_crypto.generate_key("otra-clave")),
        pytest.raises(CommandError) as unknown,
    ):
        call_command("restore_database", str(made.path), target_url=empty_database.url)

    assert str(wrong.value).startswith("Nothing was restored:")
    assert f"another key than the one configured as “{key_id}”" in str(wrong.value)
    assert f"the key “{key_id}”, which is not configured" in str(unknown.value)
    assert database_restore.target_contents(empty_database.config) == []


def test_a_damaged_file_restores_nothing(
    made: MadeBackup, empty_database: Target, tmp_path: Path
) -> None:
    damaged = tmp_path / "damaged.pgdump.enc"
    data = bytearray(made.path.read_bytes())
    data[len(data) // 2] ^= 0x01
    damaged.write_bytes(bytes(data))

    with pytest.raises(CommandError) as refusal:
        call_command("restore_database", str(damaged), target_url=empty_database.url)
    with pytest.raises(CommandError) as check:
        call_command("restore_database", str(damaged), "--check")

    assert "damaged or was altered" in str(refusal.value)
    assert "damaged or was altered" in str(check.value)
    assert database_restore.target_contents(empty_database.config) == []


def test_a_target_that_is_not_empty_is_refused(made: MadeBackup, empty_database: Target) -> None:
    connection_ = database_restore._connect(empty_database.config)
    with connection_, connection_.cursor() as cursor:
        cursor.execute("CREATE TABLE earlier_work (id int)")
    connection_.close()

    with pytest.raises(CommandError) as refusal:
        call_command("restore_database", str(made.path), target_url=empty_database.url)

    assert "is not empty (relation public.earlier_work)" in str(refusal.value)
    assert database_restore.target_contents(empty_database.config) == [
        "relation public.earlier_work"
    ]


def test_check_opens_the_whole_file_without_a_target(made: MadeBackup, capsys: Any) -> None:
    call_command("restore_database", str(made.path), "--check")

    out = capsys.readouterr().out
    assert "The backup opens and is whole" in out
    assert f"key {made.record.key_id}, {made.record.size_bytes} bytes sealed" in out


# --- copies off the machine, retention ----------------------------------------------------------


def test_a_failed_copy_is_an_error_the_file_stays_and_the_next_run_copies_it(
    unblocked: None, backups_here: tuple[Path, str], s3_server: S3Server, settings: Any
) -> None:
    directory, _bucket = backups_here
    missing = f"no-such-bucket-{next(_names)}"
    settings.DATABASE_BACKUP_S3 = _s3_config(s3_server, missing)

    with pytest.raises(CommandError) as failure:
        call_command("backup_database")
    first = DatabaseBackup.objects.get()
    gauges_after_failure = _gauges()
    s3_server.client().create_bucket(Bucket=missing)
    call_command("backup_database")

    assert "1 problems" in str(failure.value)
    assert first.offsite_status == OffsiteStatus.FAILED
    assert "NoSuchBucket" in first.offsite_error
    assert (directory.parent / first.file_name).is_file()  # the local copy stays
    assert gauges_after_failure["made"] > 0
    assert gauges_after_failure["copied"] == 0
    rows = list(DatabaseBackup.objects.order_by("created_at"))
    assert [row.offsite_status for row in rows] == [OffsiteStatus.COPIED] * 2
    assert s3_server.keys(missing) == sorted(f"database/{Path(r.file_name).name}" for r in rows)
    assert (
        s3_server.body(missing, f"database/{Path(first.file_name).name}")
        == (directory.parent / first.file_name).read_bytes()
    )
    assert _gauges()["copied"] == max(r.offsite_copied_at for r in rows).timestamp() // 1


def test_retention_keeps_the_newest_on_the_machine_and_in_the_bucket(
    unblocked: None, backups_here: tuple[Path, str], s3_server: S3Server, settings: Any
) -> None:
    directory, bucket = backups_here
    settings.DATABASE_BACKUP_KEEP = 2

    runs = [database_backup.database_backup_run() for _ in range(3)]

    names = [Path(run.backup.file_name).name for run in runs]
    assert sorted(p.name for p in directory.glob("*.pgdump.enc")) == sorted(names[1:])
    assert s3_server.keys(bucket) == sorted(f"database/{name}" for name in names[1:])
    assert runs[2].deleted_files == [str(directory / names[0])]
    assert runs[2].deleted_objects == [f"s3://{bucket}/database/{names[0]}"]
    assert set(DatabaseBackup.objects.values_list("id", flat=True)) == {
        run.backup.id for run in runs[1:]
    }


def test_the_multipart_etag_is_the_bucket_s_and_another_etag_is_checked_by_reading_back(
    s3_server: S3Server, tmp_path: Path, monkeypatch: Any
) -> None:
    """Large files go up in parts; the ETag computed here must be S3's, or every large copy
    would be read back (or refused). Where the ETag is no MD5, the bytes decide."""
    monkeypatch.setattr(database_offsite, "PART_SIZE", 5 * 1024 * 1024)
    bucket = s3_server.bucket_new("database-backups")
    target = database_offsite.OffsiteTarget(**_s3_config(s3_server, bucket))  # type: ignore[arg-type]
    path = tmp_path / "large.pgdump.enc"
    path.write_bytes(os.urandom(12 * 1024 * 1024 + 3))
    size, sha256 = path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest()

    database_offsite.offsite_copy(target, path, "database/large", size=size, sha256=sha256)
    etag = s3_server.client().head_object(Bucket=bucket, Key="database/large")["ETag"]
    expected = database_offsite.expected_etag(path, size)
    monkeypatch.setattr(database_offsite, "expected_etag", lambda path, size: "not-an-md5")
    database_offsite.offsite_copy(target, path, "database/large", size=size, sha256=sha256)
    with pytest.raises(database_offsite.OffsiteError, match="differs from the file"):
        database_offsite.offsite_copy(target, path, "database/large", size=size, sha256="0" * 64)

    assert etag.strip('"') == expected
    assert expected.endswith("-3")  # three parts: 5 MiB, 5 MiB, the rest


# --- one at a time, the job, failures -----------------------------------------------------------


def test_two_runs_never_overlap(unblocked: None, backups_here: tuple[Path, str]) -> None:
    directory, _bucket = backups_here
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(database_backup.DatabaseBackupError, match="Another whole-database"):
            database_backup.database_backup_run()

    assert not DatabaseBackup.objects.exists()
    assert [p.name for p in directory.iterdir()] == [".lock"]


def test_the_daily_job_is_registered_and_runs_the_backup(
    unblocked: None, backups_here: tuple[Path, str], s3_server: S3Server
) -> None:
    directory, bucket = backups_here
    periodic = {task.periodic_id: task for task in app.periodic_registry.periodic_tasks.values()}

    backup_id = database_backup_job.func(timestamp=1_700_000_000)

    assert periodic[DATABASE_BACKUP_TASK].cron == settings.DATABASE_BACKUP_CRON == "30 3 * * *"
    assert periodic[DATABASE_BACKUP_TASK].task is database_backup_job
    # At most one waiting and one running, and no retry (a retry would dump again).
    assert database_backup_job.queueing_lock == DATABASE_BACKUP_TASK
    assert database_backup_job.lock == DATABASE_BACKUP_TASK
    assert database_backup_job.retry_strategy is None
    record = DatabaseBackup.objects.get()
    assert str(record.id) == backup_id
    assert (directory.parent / record.file_name).is_file()
    assert s3_server.keys(bucket) == [f"database/{Path(record.file_name).name}"]


def test_the_job_fails_when_the_copy_fails(
    unblocked: None, backups_here: tuple[Path, str], s3_server: S3Server, settings: Any
) -> None:
    settings.DATABASE_BACKUP_S3 = _s3_config(s3_server, f"no-such-bucket-{next(_names)}")

    with pytest.raises(DatabaseBackupFailed, match="not copied off the machine"):
        database_backup_job.func(timestamp=1_700_000_000)

    assert DatabaseBackup.objects.get().offsite_status == OffsiteStatus.FAILED


def test_a_missing_pg_dump_fails_clearly_with_the_exit_code(
    unblocked: None, tmp_path: Path
) -> None:
    env = child_env(PG_DUMP=str(tmp_path / "no" / "pg_dump"), BACKUP_DIR=str(tmp_path / "b"))

    result = subprocess.run(
        [sys.executable, "manage.py", "backup_database"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1, result.stdout + result.stderr
    assert "No database backup was made: pg_dump could not be run" in result.stderr
    assert "set PG_DUMP" in result.stderr
    failed = DatabaseBackup.objects.get()
    assert failed.status == "failed"
    assert "pg_dump could not be run" in failed.error
    assert [p.name for p in (tmp_path / "b" / "database").iterdir()] == [".lock"]


def test_a_failing_pg_dump_is_reported_in_its_own_words_and_leaves_no_file(
    unblocked: None, backups_here: tuple[Path, str], settings: Any
) -> None:
    """DATABASE_BACKUP_URL is the database pg_dump reads (PostgreSQL itself, past a pooler):
    here one that does not exist."""
    directory, _bucket = backups_here
    settings.DATABASE_BACKUP_URL = database_url_for(connection.settings_dict, "no_such_database")

    with pytest.raises(CommandError) as failure:
        call_command("backup_database")

    assert "No database backup was made: pg_dump failed (exit status 1)" in str(failure.value)
    assert 'database "no_such_database" does not exist' in str(failure.value)
    failed = DatabaseBackup.objects.get()
    assert (failed.status, failed.file_name, failed.size_bytes) == ("failed", "", None)
    assert 'database "no_such_database" does not exist' in failed.error
    assert [p.name for p in directory.iterdir()] == [".lock"]


def test_pg_dump_is_the_bundled_one_at_least_as_new_as_the_server() -> None:
    """A pg_dump older than the server refuses to dump it."""
    version = subprocess.run(
        [pg_dump_path(), "--version"], capture_output=True, text=True, check=True
    ).stdout
    restore_version = subprocess.run(
        [database_backup.pg_restore_path(), "--version"], capture_output=True, text=True, check=True
    ).stdout

    assert int(version.split()[-1].split(".")[0]) >= 18
    assert version.split()[-1] == restore_version.split()[-1]


def test_the_bucket_settings_fall_back_to_file_storage_s_and_may_be_overridden() -> None:
    base = {
        "S3_ENDPOINT_URL": "https://files.example",
        "S3_REGION": "us-east-1",
        "S3_ACCESS_KEY_ID": "files-key",
        "S3_SECRET_ACCESS_KEY": "files-secret",
    }

    assert database_backup_s3(base) is None
    inherited = database_backup_s3({**base, "DATABASE_BACKUP_S3_BUCKET": "b"})
    own = database_backup_s3(
        {
            **base,
            "DATABASE_BACKUP_S3_BUCKET": "b",
            "DATABASE_BACKUP_S3_PREFIX": "/platform/nightly",
            "DATABASE_BACKUP_S3_ENDPOINT_URL": "https://backups.example",
            "DATABASE_BACKUP_S3_ACCESS_KEY_ID": "backup-key",
            "DATABASE_BACKUP_S3_SECRET_ACCESS_KEY": "backup-secret",
        }
    )
    assert inherited == {
        "bucket": "b",
        "prefix": "database/",
        "endpoint_url": "https://files.example",
        "region_name": "us-east-1",
        "access_key": "files-key",
        "secret_key": "files-secret",
    }
    assert own is not None
    assert own["prefix"] == "platform/nightly/"
    assert (own["endpoint_url"], own["region_name"]) == ("https://backups.example", "us-east-1")
    assert (own["access_key"], own["secret_key"]) == ("backup-key", "backup-secret")
