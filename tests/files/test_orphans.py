"""No orphans: every object in storage has its row, whatever happened to the transaction that
stored it, to the row, or to the clinic (``backend.files.cleanup``, run hourly by
``backend.files.tasks``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from backend.core.tenancy import clinic_context, public_context
from backend.files import cleanup, storage, tasks
from backend.files.models import FilePurpose, StoredFile
from backend.files.services import file_delete, file_store
from backend.jobs.runtime import app
from tenants_core.models import Clinic
from tests.conftest import stored_objects

LATER = timezone.now() + dt.timedelta(hours=2)  # past the default grace period of an hour


def store(content: bytes = b"%PDF-1.7 hello") -> StoredFile:
    with transaction.atomic():
        return file_store(
            content=content, purpose=FilePurpose.DOCUMENT, content_type="application/pdf",
            extension=".pdf", original_name="informe.pdf",
        )  # fmt: skip


def rolled_back(work: Callable[[], Any]) -> None:
    """Run ``work`` in a transaction that then rolls back (a service failing afterwards)."""

    def failing() -> None:
        with transaction.atomic():
            work()
            raise RuntimeError("the service failed after storing the file")

    with pytest.raises(RuntimeError):
        failing()


def stored_then_rolled_back(content: bytes = b"%PDF-1.7 hello") -> str:
    """The key of an object whose transaction rolled back after ``file_store`` returned."""
    keys: list[str] = []
    rolled_back(lambda: keys.append(store(content).key))
    return keys[0]


@pytest.mark.django_db
def test_the_sweep_removes_the_object_of_a_rolled_back_upload_after_the_grace_period(
    clinic1: Clinic, media: Path
) -> None:
    with tenant_context(clinic1):
        kept = store()
        orphan = stored_then_rolled_back()
        assert not StoredFile.objects.filter(key=orphan).exists()
        assert stored_objects(media) == sorted([kept.key, orphan])
        # An upload may still be inside its transaction: nothing younger than the grace period.
        assert cleanup.orphans_remove() == []
        assert cleanup.orphans_remove(now=LATER) == [orphan]
    assert stored_objects(media) == [kept.key]


@pytest.mark.django_db
def test_the_periodic_job_runs_the_sweep_in_each_clinic_and_touches_only_its_prefix(
    clinic1: Clinic, clinic2: Clinic, media: Path, settings: Any
) -> None:
    with tenant_context(clinic1):
        mine, _orphan = store(), stored_then_rolled_back()
    with tenant_context(clinic2):
        theirs, their_orphan = store(), stored_then_rolled_back()
    settings.FILE_ORPHAN_GRACE_SECONDS = 0

    removed = tasks.sweep_orphans.func(  # type: ignore[attr-defined]
        clinic_id=clinic1.pk, clinic_schema=clinic1.schema_name, timestamp=0
    )

    assert removed == 1
    assert stored_objects(media) == sorted([mine.key, theirs.key, their_orphan])
    assert tasks.sweep_orphans.name == "files.orphans"


@pytest.mark.django_db
def test_a_deleted_row_loses_its_object_at_commit_or_to_the_sweep_if_that_failed(
    clinic1: Clinic, media: Path, monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    with tenant_context(clinic1):
        first, second = store(), store()
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            file_delete(first)
        assert stored_objects(media) == [second.key]  # removed after the commit

        def storage_down(key: str) -> None:
            raise OSError("storage unreachable")

        monkeypatch.setattr(storage, "object_delete", storage_down)
        monkeypatch.setattr("backend.files.services.object_delete", storage_down)
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            file_delete(second)
        assert stored_objects(media) == [second.key]  # the removal failed: an orphan
        monkeypatch.undo()
        assert cleanup.orphans_remove(now=LATER) == [second.key]
    assert stored_objects(media) == []


@pytest.mark.django_db
def test_a_replaced_file_leaves_only_the_new_object(
    clinic1: Clinic, media: Path, django_capture_on_commit_callbacks: Any
) -> None:
    """A row replaced by another (a new logo): the old object goes at commit; a replacement
    rolled back leaves the old row and object, and its new object goes to the sweep."""
    with tenant_context(clinic1):
        old = store(b"old logo")
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            new = store(b"new logo")
            file_delete(old)
        assert stored_objects(media) == [new.key]
        replacing: list[StoredFile] = []

        def replace() -> None:
            replacing.append(store(b"newer logo"))
            file_delete(new)

        rolled_back(replace)
        newer = replacing[0]
        assert StoredFile.objects.get().key == new.key
        assert stored_objects(media) == sorted([new.key, newer.key])
        assert cleanup.orphans_remove(now=LATER) == [newer.key]
    assert stored_objects(media) == [new.key]


def test_a_deleted_clinic_loses_its_whole_prefix(
    committed_clinic: Any, media: Path, django_db_blocker: Any, settings: Any
) -> None:
    """The platform has no operation that deletes a clinic; a clinic deleted with its schema
    (``Clinic.delete(force_drop=True)``, django-tenants' ``delete_tenant``) leaves a prefix
    that no clinic has, which the platform's sweep removes, after the grace period."""
    gone, staying = committed_clinic("se-va"), committed_clinic("se-queda")
    with django_db_blocker.unblock():
        with clinic_context(gone):
            gone_keys = [store().key, store().key]
        with clinic_context(staying):
            staying_key = store().key
            orphan = stored_then_rolled_back()
        connection.set_schema_to_public()
        Clinic.objects.get(pk=gone.pk).delete(force_drop=True)  # (the fixture's copy is kept)
        assert stored_objects(media) == sorted([*gone_keys, staying_key, orphan])

        with public_context():
            assert cleanup.departed_clinics_sweep() == []  # within the grace period
            assert sorted(cleanup.departed_clinics_sweep(now=LATER)) == sorted(gone_keys)
        assert stored_objects(media) == sorted([staying_key, orphan])  # not another clinic's
        settings.FILE_ORPHAN_GRACE_SECONDS = 0
        assert tasks.sweep_departed_clinics.func(timestamp=0) == 0  # type: ignore[attr-defined]
        assert tasks.sweep_departed_clinics.name == "files.departed_clinics"


def test_both_sweeps_are_hourly_periodic_jobs() -> None:
    periodic = {task.periodic_id: task for task in app.periodic_registry.periodic_tasks.values()}
    assert periodic["files.orphans"].cron == "23 * * * *"
    assert periodic["files.orphans"].task.name == "files.orphans.fan_out"  # one job per clinic
    assert periodic["files.departed_clinics"].cron == "47 * * * *"
    assert periodic["files.departed_clinics"].task.name == "files.departed_clinics"
