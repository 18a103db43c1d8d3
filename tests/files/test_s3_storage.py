"""The files core on a real S3 API (moto's server, ``tests/s3_support.py``), configured as
``FILE_STORAGE=s3`` configures it: store, read, signed download, delete after commit, the
orphan sweep and the backup round trip; keys prefixed by clinic and unguessable; objects
private, read only through the app, never across clinics."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import httpx
import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.test import Client
from django_tenants.utils import tenant_context

from backend.files import cleanup, signing
from backend.files.models import FilePurpose, StoredFile
from backend.files.services import file_delete, file_store
from backend.files.storage import file_read
from tenants_core import backups, restore
from tenants_core.models import Clinic
from tests.files.test_orphans import stored_then_rolled_back
from tests.s3_support import S3Server
from tests.tenants_core.backup_support import archive_members, unseal

pytestmark = pytest.mark.django_db

HOST, HOST2 = "clinica1.localhost", "clinica2.localhost"
TOKEN = r"[A-Za-z0-9_-]{32}"  # 192 random bits, URL-safe base64
PDF = b"%PDF-1.7\n% radiografia de Rosa Quispe\n" + bytes(range(256)) * 64 + b"%%EOF\n"


@pytest.fixture
def s3_bucket(s3_server: S3Server, settings: Any) -> str:
    """The default storage on a new bucket of moto's S3, as ``FILE_STORAGE=s3`` builds it."""
    bucket = s3_server.bucket_new()
    storages = s3_server.storages(bucket)
    assert storages["default"]["BACKEND"] == "storages.backends.s3.S3Storage"
    settings.STORAGES = storages
    return bucket


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, Any]]:
    """A read hook for documents that records each read (and refuses user 666)."""
    seen: list[tuple[int, Any]] = []

    def hook(stored: StoredFile, user_id: Any) -> None:
        if user_id == 666:
            raise PermissionDenied
        seen.append((stored.pk, user_id))

    monkeypatch.setitem(signing._READ_HOOKS, FilePurpose.DOCUMENT, hook)
    monkeypatch.setattr(signing, "_credential_check", [lambda user_id, token: True])
    return seen


def store(content: bytes = PDF, purpose: str = FilePurpose.DOCUMENT) -> StoredFile:
    with transaction.atomic():
        return file_store(
            content=content, purpose=purpose, content_type="application/pdf",
            extension=".pdf", original_name="rx.pdf",
        )  # fmt: skip


def test_a_file_is_stored_read_and_deleted_after_commit_in_the_bucket(
    clinic1: Clinic, s3_server: S3Server, s3_bucket: str, django_capture_on_commit_callbacks: Any
) -> None:
    with tenant_context(clinic1):
        stored = store()
        assert re.fullmatch(rf"clinics/clinic_clinica1/document/{TOKEN}\.pdf", stored.key)
        assert s3_server.keys(s3_bucket) == [stored.key]
        assert s3_server.body(s3_bucket, stored.key) == PDF
        assert file_read(stored) == PDF
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            file_delete(stored)
            assert s3_server.keys(s3_bucket) == [stored.key]  # not before the commit
    assert s3_server.keys(s3_bucket) == []


def test_objects_are_private_in_the_bucket(
    clinic1: Clinic, s3_server: S3Server, s3_bucket: str
) -> None:
    with tenant_context(clinic1):
        stored = store()
    grants = s3_server.client().get_object_acl(Bucket=s3_bucket, Key=stored.key)["Grants"]
    assert [grant["Permission"] for grant in grants] == ["FULL_CONTROL"]  # the owner alone
    assert all(grant["Grantee"]["Type"] == "CanonicalUser" for grant in grants)
    # Nobody reads it straight from the bucket without the app's credentials.
    anonymous = httpx.get(f"{s3_server.endpoint_url}/{s3_bucket}/{stored.key}", timeout=10)
    assert anonymous.status_code == 403
    assert PDF not in anonymous.content


def test_keys_are_prefixed_by_clinic_and_unguessable(
    clinic1: Clinic, clinic2: Clinic, s3_server: S3Server, s3_bucket: str
) -> None:
    with tenant_context(clinic1):
        mine = [store(b"%PDF-1.7 " + bytes([i])).key for i in range(10)]
    with tenant_context(clinic2):
        theirs = [store(b"%PDF-1.7 " + bytes([i])).key for i in range(10)]
    assert s3_server.keys(s3_bucket) == sorted(mine + theirs)
    assert all(key.startswith("clinics/clinic_clinica1/document/") for key in mine)
    assert all(key.startswith("clinics/clinic_clinica2/document/") for key in theirs)
    tokens = [key.rsplit("/", 1)[1].removesuffix(".pdf") for key in mine + theirs]
    assert all(re.fullmatch(TOKEN, token) for token in tokens)
    assert len(set(tokens)) == 20  # random, not derived from the content or a counter


def test_a_signed_link_serves_the_object_from_the_bucket_only_on_its_clinic(
    clinic1: Clinic, clinic2: Clinic, s3_bucket: str, reads: list[Any], client: Client
) -> None:
    with tenant_context(clinic1):
        stored = store()
        url = signing.download_url(stored, user_id=7)
    with tenant_context(clinic2):
        theirs = store(b"%PDF-1.7 clinica2")  # perhaps with the same id
        their_url = signing.download_url(theirs, user_id=7)

    response = client.get(url, HTTP_HOST=HOST)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert reads == [(stored.pk, 7)]

    # Not on another clinic's domain, nor the platform's; not by key, id or storage path.
    for path, host in [
        (url, HOST2),
        (url, "localhost"),
        (their_url, HOST),
        (f"/files/{stored.key}", HOST),
        (f"/files/{stored.pk}", HOST),
        (f"/media/{stored.key}", HOST),
        (f"/{stored.key}", HOST),
    ]:
        refused = client.get(path, HTTP_HOST=host)
        assert refused.status_code == 404, (path, host)
        assert PDF not in refused.content
    assert reads == [(stored.pk, 7)]


def test_the_sweep_removes_orphans_from_the_bucket(
    clinic1: Clinic, s3_server: S3Server, s3_bucket: str, settings: Any
) -> None:
    with tenant_context(clinic1):
        kept = store()
        orphan = stored_then_rolled_back(b"%PDF-1.7 orphan")
        assert s3_server.keys(s3_bucket) == sorted([kept.key, orphan])
        assert cleanup.orphans_remove() == []  # within the grace period
        settings.FILE_ORPHAN_GRACE_SECONDS = 0
        assert cleanup.orphans_remove() == [orphan]
    assert s3_server.keys(s3_bucket) == [kept.key]


def test_a_backup_round_trip_carries_the_files_through_the_bucket(
    clinic2: Clinic, s3_server: S3Server, s3_bucket: str
) -> None:
    from PIL import Image

    image = io.BytesIO()
    Image.new("RGB", (40, 30), (250, 200, 0)).save(image, "PNG")
    with tenant_context(clinic2):
        logo = store(image.getvalue(), purpose=FilePurpose.LOGO)
        pdf = store()
    backup = backups.clinic_backup_create(clinic=clinic2)
    members = archive_members(unseal((backups.backup_dir() / backup.file_name).read_bytes()))
    manifest = json.loads(members["manifest.json"])
    assert [(f["key"], f["sha256"]) for f in manifest["files"]] == [
        (logo.key, logo.sha256),
        (pdf.key, pdf.sha256),
    ]

    restored = restore.clinic_restore(
        subdomain="clinica2", backup_id=str(backup.id), target_subdomain="clinica2-s3"
    )

    with tenant_context(restored):
        copies = list(StoredFile.objects.order_by("id"))
        assert [file_read(row) for row in copies] == [image.getvalue(), PDF]
    assert all(row.key.startswith("clinics/clinic_clinica2_s3/") for row in copies)
    assert s3_server.keys(s3_bucket) == sorted([logo.key, pdf.key, *(r.key for r in copies)])
    assert s3_server.body(s3_bucket, copies[1].key) == PDF
