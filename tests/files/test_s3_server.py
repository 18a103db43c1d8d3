"""A uvicorn server started with ``FILE_STORAGE=s3`` (and the other ``S3_*`` variables, as
the README configures production) serves a clinic's files from the bucket through signed
links, on that clinic's domain only."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from backend.core.tenancy import clinic_context
from backend.files import signing
from backend.files.models import FilePurpose, StoredFile
from backend.files.services import file_store
from tenants_core.models import Clinic
from tests.conftest import ROOT, LiveServer, child_env, running_uvicorn
from tests.s3_support import S3Server

pytestmark = pytest.mark.slow

PDF = b"%PDF-1.7\n% informe de Rosa Quispe\n" + bytes(range(256)) * 32 + b"%%EOF\n"


@pytest.fixture
def bucket(s3_server: S3Server, settings: Any) -> str:
    """A new bucket, this process's default storage on it (the server's is, by environment)."""
    name = s3_server.bucket_new()
    settings.STORAGES = s3_server.storages(name)
    return name


@pytest.fixture
def s3_uvicorn(s3_server: S3Server, bucket: str, django_db_blocker: Any) -> Iterator[LiveServer]:
    env = {**s3_server.env(bucket), "DJANGO_SETTINGS_MODULE": "tests.files.s3_child_settings"}
    with running_uvicorn(django_db_blocker, env=env) as server:
        yield server


def stored_in(clinic: Clinic, django_db_blocker: Any, content: bytes) -> tuple[StoredFile, str]:
    """A committed file of ``clinic`` and a link to it for user 7."""
    with django_db_blocker.unblock(), clinic_context(clinic):
        stored = file_store(
            content=content, purpose=FilePurpose.DOCUMENT, content_type="application/pdf",
            extension=".pdf", original_name="informe.pdf",
        )  # fmt: skip
        url = signing.download_url(stored, user_id=7)
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
    return stored, url


def test_a_server_on_s3_serves_signed_downloads_from_the_bucket_on_the_clinic_domain_only(
    committed_clinic: Any,
    django_db_blocker: Any,
    s3_server: S3Server,
    bucket: str,
    s3_uvicorn: LiveServer,
) -> None:
    norte, sur = committed_clinic("norte-s3"), committed_clinic("sur-s3")
    mine, url = stored_in(norte, django_db_blocker, PDF)
    theirs, their_url = stored_in(sur, django_db_blocker, b"%PDF-1.7 sur")
    assert s3_server.keys(bucket) == sorted([mine.key, theirs.key])  # in the bucket only

    served = s3_uvicorn.request("GET", url, "norte-s3.localhost")
    assert served.status_code == 200, served.text
    assert served.content == PDF
    assert served.headers["cache-control"] == "private, no-store"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-type"] == "application/pdf"

    for path, host in [
        (url, "sur-s3.localhost"),  # another clinic's domain
        (url, "localhost"),  # the platform's
        (their_url, "norte-s3.localhost"),  # another clinic's link, here
        (f"/files/{mine.key}", "norte-s3.localhost"),  # the key is no URL
        (f"/files/{mine.pk}", "norte-s3.localhost"),  # nor the id
    ]:
        refused = s3_uvicorn.request("GET", path, host)
        assert refused.status_code == 404, (path, host, refused.text)
        assert PDF not in refused.content
    with django_db_blocker.unblock(), clinic_context(norte):
        refused_user = signing.download_url(StoredFile.objects.get(pk=mine.pk), user_id=666)
    assert s3_uvicorn.request("GET", refused_user, "norte-s3.localhost").status_code == 403


def test_file_storage_s3_without_a_bucket_refuses_to_start(django_db_blocker: Any) -> None:
    with django_db_blocker.unblock():
        env = child_env(FILE_STORAGE="s3", S3_BUCKET="")
    started = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert started.returncode != 0
    assert "S3_BUCKET" in started.stderr
