"""The files core: objects under the clinic's prefix with unguessable keys, the plan's storage
quota, deletion after commit, and signed download links that work only on their clinic's
domain, for their lifetime, through the purpose's read hook."""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.test import Client
from django_tenants.utils import tenant_context

from backend.files import signing
from backend.files.models import FilePurpose, StoredFile
from backend.files.services import clean_name, file_delete, file_store
from backend.files.storage import file_read
from tenants_core.limits import usage_by_schema
from tenants_core.models import Clinic
from tests.conftest import stored_objects

pytestmark = pytest.mark.django_db
HOST = "clinica1.localhost"
HOST2 = "clinica2.localhost"
LIVE = "live"  # a sign-in the fake credential check takes for live
KEY = re.compile(r"^clinics/clinic_clinica1/document/[A-Za-z0-9_-]{32}\.pdf$")


def store(content: bytes = b"%PDF-1.7 hello", **kwargs: Any) -> StoredFile:
    with transaction.atomic():
        return file_store(
            content=content,
            purpose=kwargs.pop("purpose", FilePurpose.DOCUMENT),
            content_type="application/pdf",
            extension=".pdf",
            original_name=kwargs.pop("original_name", "informe.pdf"),
            **kwargs,
        )


def test_an_object_lives_under_its_clinic_with_an_unguessable_key(
    clinic1: Clinic, media: Path
) -> None:
    with tenant_context(clinic1):
        first, second = store(), store()
        assert KEY.match(first.key)
        assert KEY.match(second.key)
        assert first.key != second.key
        assert first.sha256 == hashlib.sha256(b"%PDF-1.7 hello").hexdigest()
        assert first.size_bytes == 14
        assert file_read(first) == b"%PDF-1.7 hello"
    assert stored_objects(media) == sorted([first.key, second.key])


def test_names_are_cleaned_for_display_and_headers() -> None:
    assert clean_name("C:\\fakepath\\radiografía 1.dcm") == "radiografía 1.dcm"
    assert clean_name("../../etc/passwd") == "passwd"
    assert clean_name("a\x00b\r\nc.png") == "a_b_c.png"
    assert clean_name("informe\u202efdp.exe") == "informe_fdp.exe"  # no right-to-left override
    assert len(clean_name("x" * 400 + ".pdf")) == 255


def test_the_plan_quota_counts_bytes_and_refuses_beyond_it(clinic1: Clinic, media: Path) -> None:
    plan = clinic1.plan
    plan.max_storage_bytes = 30
    plan.save(update_fields=["max_storage_bytes"])
    with tenant_context(clinic1):
        store(b"a" * 20)
        with pytest.raises(ValidationError) as refused:
            store(b"b" * 11)
        assert refused.value.code == "PLAN_LIMIT_REACHED"
        store(b"c" * 10)  # exactly at the limit
        assert StoredFile.objects.count() == 2
    assert usage_by_schema([clinic1.schema_name])[clinic1.schema_name]["storage_bytes"] == 30
    assert len(stored_objects(media)) == 2  # the refused one never reached storage


def test_default_plans_carry_their_storage(clinic1: Clinic) -> None:
    from tenants_core.models import Plan

    gib = 1024**3
    assert dict(Plan.objects.values_list("code", "max_storage_bytes")) == {
        "basic": gib,
        "professional": 10 * gib,
        "enterprise": 100 * gib,
    }


def test_delete_removes_the_object_only_after_commit(
    clinic1: Clinic, media: Path, django_capture_on_commit_callbacks: Any
) -> None:
    with tenant_context(clinic1):
        kept, gone = store(), store()
        kept_id, kept_key = kept.pk, kept.key
        with pytest.raises(RuntimeError):
            delete_then_fail(kept)
        assert StoredFile.objects.filter(pk=kept_id).exists()
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            file_delete(gone)
            assert gone.key in stored_objects(media)  # not before the commit
    assert stored_objects(media) == [kept_key]


def delete_then_fail(stored: StoredFile) -> None:
    with transaction.atomic():
        file_delete(stored)
        raise RuntimeError("rolled back")


# --- signed links --------------------------------------------------------------------------


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, Any]]:
    """A read hook for documents that records each read (and refuses user 666)."""
    seen: list[tuple[int, Any]] = []

    def hook(stored: StoredFile, user_id: Any) -> None:
        if user_id == 666:
            raise PermissionDenied
        seen.append((stored.pk, user_id))

    monkeypatch.setitem(signing._READ_HOOKS, FilePurpose.DOCUMENT, hook)
    # The sign-in each link was made for: "live" is, anything else was signed out (the real
    # check, the accounts app's, is tested with real tokens in tests/documents).
    monkeypatch.setattr(signing, "_credential_check", [lambda user_id, token: token == "live"])
    return seen


def link(
    clinic: Clinic, stored: StoredFile, user_id: Any = 7, token_id: Any = LIVE, **kwargs: Any
) -> str:
    with tenant_context(clinic):
        return signing.download_url(stored, user_id=user_id, token_id=token_id, **kwargs)


def test_a_link_serves_the_bytes_once_the_hook_agreed(
    clinic1: Clinic, media: Path, reads: list[Any], client: Client
) -> None:
    with tenant_context(clinic1):
        stored = store(b"%PDF-1.7 report", original_name="Informe médico.pdf")
    url = link(clinic1, stored)
    assert url.startswith("/files/")
    response = client.get(url, HTTP_HOST=HOST)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.7 report"
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "Informe%20m%C3%A9dico.pdf" in response["Content-Disposition"]
    assert reads == [(stored.pk, 7)]


@pytest.mark.parametrize("host", [HOST2, "localhost"], ids=["other-clinic", "public"])
def test_a_link_is_worthless_on_any_other_domain(
    clinic1: Clinic, clinic2: Clinic, media: Path, reads: list[Any], client: Client, host: str
) -> None:
    with tenant_context(clinic1):
        stored = store()
    with tenant_context(clinic2):
        store()  # clinica2 has a file with, perhaps, the same id
    response = client.get(link(clinic1, stored), HTTP_HOST=host)
    assert response.status_code == 404
    assert response.json()["errors"][0]["extensions"]["code"] == "LINK_INVALID"
    assert reads == []


def test_tampered_expired_and_refused_links(
    clinic1: Clinic, media: Path, reads: list[Any], client: Client, monkeypatch: Any
) -> None:
    with tenant_context(clinic1):
        stored = store()
    url = link(clinic1, stored)
    tampered = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    assert client.get(tampered, HTTP_HOST=HOST).json()["errors"][0]["extensions"]["code"] == (
        "LINK_INVALID"
    )
    signed_out = client.get(link(clinic1, stored, token_id="revoked"), HTTP_HOST=HOST)
    assert signed_out.status_code == 403
    refused = client.get(link(clinic1, stored, user_id=666), HTTP_HOST=HOST)
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["extensions"]["code"] == ("FORBIDDEN")
    assert client.post(url, HTTP_HOST=HOST).status_code == 405
    later = time.time() + 301
    monkeypatch.setattr("django.core.signing.time.time", lambda: later)
    expired = client.get(url, HTTP_HOST=HOST)
    assert expired.status_code == 410
    assert expired.json()["errors"][0]["extensions"]["code"] == "LINK_EXPIRED"
    assert reads == []


def test_a_purpose_without_a_read_hook_cannot_be_downloaded(
    clinic1: Clinic, media: Path, client: Client
) -> None:
    with tenant_context(clinic1):
        logo = store(purpose=FilePurpose.LOGO)
    assert client.get(link(clinic1, logo), HTTP_HOST=HOST).status_code == 404


def test_a_deleted_file_s_link_is_invalid(
    clinic1: Clinic, media: Path, reads: list[Any], client: Client
) -> None:
    with tenant_context(clinic1):
        stored = store()
        url = signing.download_url(stored, user_id=1, token_id="live")
        with transaction.atomic():
            file_delete(stored)
    assert client.get(url, HTTP_HOST=HOST).status_code == 404
    assert connection.schema_name == "public"


def test_a_missing_object_is_a_coded_503_and_the_name_follows_the_real_type(
    clinic1: Clinic, media: Path, reads: list[Any], client: Client
) -> None:
    with tenant_context(clinic1):
        stored = store(b"%PDF-1.7 x", original_name="resultado.html")
    response = client.get(link(clinic1, stored), HTTP_HOST=HOST)
    assert 'filename="resultado.pdf"' in response["Content-Disposition"]
    (media / stored.key).unlink()
    gone = client.get(link(clinic1, stored), HTTP_HOST=HOST)
    assert gone.status_code == 503
    assert gone.json()["errors"][0]["extensions"]["code"] == "FILE_UNAVAILABLE"
