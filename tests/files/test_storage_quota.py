"""The plan's storage quota: usage and limit in the platform's ``clinics`` list, and uploads
at the same moment that cannot together exceed it (the clinic's row lock of
``limit_reserve``), with real parallel connections."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test import Client
from django_tenants.utils import tenant_context

from backend.core.tenancy import clinic_context
from backend.files.models import FilePurpose, StoredFile
from backend.files.services import file_store
from tenants_core.limits import usage_by_schema
from tenants_core.models import Clinic, Plan
from tests.conftest import graphql, stored_objects
from tests.deadlocks.support import in_thread

CLINICS = """
query($search: String) {
  clinics(first: 5, search: $search) {
    edges { node { subdomain maxStorageBytes plan { code } usage { users patients storageBytes } } }
  }
}
"""
GIB = 1024**3


def store(content: bytes) -> StoredFile:
    with transaction.atomic():
        return file_store(
            content=content, purpose=FilePurpose.DOCUMENT, content_type="application/pdf",
            extension=".pdf", original_name="informe.pdf",
        )  # fmt: skip


@pytest.mark.django_db
def test_the_platform_clinics_list_shows_storage_used_and_the_limit(
    client: Client, platform_token: str, clinic1: Clinic, clinic2: Clinic, media: Path
) -> None:
    with tenant_context(clinic1):
        store(b"a" * 1000)
        store(b"b" * 234)
    status, body = graphql(
        client, CLINICS, host="localhost", token=platform_token, variables={"search": "clinica"}
    )
    assert status == 200, body
    nodes = {edge["node"]["subdomain"]: edge["node"] for edge in body["data"]["clinics"]["edges"]}
    assert nodes["clinica1"]["usage"]["storageBytes"] == 1234
    assert nodes["clinica1"]["maxStorageBytes"] == 10 * GIB  # professional
    assert nodes["clinica2"]["usage"]["storageBytes"] == 0
    assert nodes["clinica2"]["maxStorageBytes"] == GIB  # basic
    # The same figure the quota counts.
    assert usage_by_schema([clinic1.schema_name])[clinic1.schema_name]["storage_bytes"] == 1234


@pytest.fixture
def small_quota(committed_clinic: Any, django_db_blocker: Any, media: Path) -> Iterator[Clinic]:
    """A committed clinic on a plan of its own that allows 250 bytes (the shared plans are left
    alone: tests running at the same time upload on them). Database access without a test
    transaction: each upload is the outermost transaction of its own connection."""
    clinic = committed_clinic("cupo-archivos")
    with django_db_blocker.unblock():
        before = clinic.plan_id
        plan = Plan.objects.create(
            code="test-small-storage", name="Cupo de prueba", max_users=5, max_patients=50,
            max_storage_bytes=250, monthly_price=0,
        )  # fmt: skip
        Clinic.objects.filter(pk=clinic.pk).update(plan=plan)
        clinic.refresh_from_db()
        try:
            yield clinic
        finally:
            connection.set_schema_to_public()
            Clinic.objects.filter(pk=clinic.pk).update(plan_id=before)
            plan.delete()


def upload(clinic: Clinic, size: int, *, hold: threading.Event | None = None,
           stored: threading.Event | None = None, pid: list[int] | None = None) -> str:  # fmt: skip
    """On this thread's own connection: store ``size`` bytes in one transaction (waiting for
    ``hold`` before committing); the key, or the refusal's code."""
    try:
        with clinic_context(clinic):
            if pid is not None:
                pid.append(connection.connection.get_backend_pid())  # type: ignore[union-attr]
            key = store(bytes(size)).key
            if stored is not None and hold is not None:
                stored.set()
                assert hold.wait(10)
            return key
    except ValidationError as refusal:
        return str(refusal.code)
    finally:
        connection.close()


def blocked_by(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", [pid]
        )
        return cursor.fetchone() is not None


def test_an_upload_waits_for_the_one_in_flight_and_then_counts_it(
    small_quota: Clinic, media: Path
) -> None:
    """200 bytes in flight (stored, not yet committed) and 100 more at once: the second waits
    for the first's lock on the clinic, then sees its 200 bytes and is refused.

    Without the lock, the second counts 0 bytes used and both are stored: 300 of 250."""
    hold, stored, pid = threading.Event(), threading.Event(), []
    first = in_thread(lambda: upload(small_quota, 200, hold=hold, stored=stored, pid=pid))
    assert stored.wait(10), first.result() if first.done() else "first never stored"
    second = in_thread(lambda: upload(small_quota, 100))
    deadline = time.monotonic() + 10
    while not blocked_by(pid[0]) and not second.done() and time.monotonic() < deadline:
        time.sleep(0.01)
    waited = blocked_by(pid[0])
    hold.set()
    assert waited, "the second upload did not wait for the first"
    assert first.result(timeout=10).startswith("clinics/clinic_cupo_archivos/")
    assert second.result(timeout=10) == "PLAN_LIMIT_REACHED"
    used = usage_by_schema([small_quota.schema_name])[small_quota.schema_name]
    assert used["storage_bytes"] == 200
    assert stored_objects(media) == [first.result()]  # the refused one never reached storage


def test_uploads_at_the_same_moment_never_exceed_the_quota(
    small_quota: Clinic, media: Path
) -> None:
    start = threading.Barrier(6)

    def at_once() -> str:
        start.wait(10)
        return upload(small_quota, 100)

    results = [future.result(timeout=30) for future in [in_thread(at_once) for _ in range(6)]]
    keys = [result for result in results if result.startswith("clinics/")]
    assert len(keys) == 2, results  # 2 × 100 of 250 bytes
    assert sorted(set(results) - set(keys)) == ["PLAN_LIMIT_REACHED"]
    used = usage_by_schema([small_quota.schema_name])[small_quota.schema_name]
    with clinic_context(small_quota):
        assert sorted(StoredFile.objects.values_list("key", flat=True)) == sorted(keys)
    assert used["storage_bytes"] == 200
    assert stored_objects(media) == sorted(keys)
