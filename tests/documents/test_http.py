"""Patient documents over real HTTP (uvicorn, committed clinics): multipart uploads of each
accepted type, the list, downloads by the signed URL alone compared byte for byte, DICOM
headers, the front desk's view, and every bad upload coded and leaving nothing behind."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import time
from typing import Any

import pytest
from django.utils import timezone
from PIL import Image

from backend.accounts.auth import _token_issue
from backend.accounts.models import AuthToken
from backend.audit.models import AuditEvent
from backend.core.tenancy import clinic_context
from tests.documents import samples
from tests.documents.conftest import (
    UPLOAD,
    fetch,
    listed,
    multipart,
    rows,
    stored_objects,
    upload,
)
from tests.files.images import bomb_png
from tests.ids import pk_of

pytestmark = pytest.mark.slow


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def actions_since(clinic, last: int) -> list[tuple[str, str]]:
    with clinic_context(clinic):
        return list(
            AuditEvent.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("action", "actor__email")
        )


def last_event(clinic) -> int:
    with clinic_context(clinic):
        return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def codes(payload: dict[str, Any]) -> list[str]:
    assert payload["__typename"] == "OperationInfo", payload
    return [message["code"] for message in payload["messages"]]


# --- the issue's "done when" ---------------------------------------------------------------


def test_a_dentist_uploads_a_radiograph_and_downloads_it_again(
    uvicorn_server, world, django_db_blocker
):
    content = samples.jpeg()
    site = world.a
    with django_db_blocker.unblock():
        mark = last_event(site.clinic)
    document = upload(
        uvicorn_server, site, "DENTIST", content, name="periapical 26.jpg",
        declared="image/jpeg", takenOn="2026-11-02", teeth=[26, 25], note="Control endodoncia",
    )  # fmt: skip
    assert document["__typename"] == "PatientDocument", document
    assert document["kind"] == "XRAY"
    assert document["originalName"] == "periapical 26.jpg"
    assert document["contentType"] == "image/jpeg"
    assert document["sizeBytes"] == len(content)
    assert document["sha256"] == sha256(content)
    assert (document["takenOn"], document["teeth"]) == ("2026-11-02", [25, 26])
    assert document["dicomWarnings"] == []
    assert max(document["preview"]["width"], document["preview"]["height"]) == 256

    listing = listed(uvicorn_server, site, "DENTIST")["data"]["patientDocuments"]
    assert document["id"] in [edge["node"]["id"] for edge in listing["edges"]]

    # The signed URL alone (no token, no cookie) gives the same bytes back.
    response = fetch(uvicorn_server, document["downloadUrl"])
    assert response.status_code == 200, response.text
    assert sha256(response.content) == sha256(content)
    assert response.headers["content-type"].startswith("image/jpeg")
    assert "no-store" in response.headers["cache-control"]
    assert response.headers["x-content-type-options"] == "nosniff"
    preview = fetch(uvicorn_server, document["previewUrl"])
    assert preview.status_code == 200
    assert Image.open(io.BytesIO(preview.content)).format == "JPEG"

    dentist = site.users["DENTIST"].email
    with django_db_blocker.unblock():
        assert actions_since(site.clinic, mark) == [
            ("patient_document.upload", dentist),
            ("patient_document.read", dentist),
            ("patient_document.read", dentist),
        ]


@pytest.mark.parametrize(
    ("make", "kind", "mime", "preview_format"),
    [
        (samples.png, "PHOTO", "image/png", "JPEG"),
        (samples.webp, "PHOTO", "image/webp", "JPEG"),
        (samples.pdf, "LAB", "application/pdf", None),
        (samples.dicom, "XRAY", "application/dicom", "PNG"),
    ],
    ids=["png", "webp", "pdf", "dicom"],
)
def test_each_accepted_type_round_trips_by_its_signed_url(
    uvicorn_server, world, make, kind, mime, preview_format
):
    content = make()
    # The declared type and the name are ignored: the content says what it is.
    document = upload(
        uvicorn_server, world.a, "ADMIN", content, kind=kind, name="scan", declared="text/plain"
    )
    assert document["__typename"] == "PatientDocument", document
    assert document["contentType"] == mime
    assert document["dicomWarnings"] == []
    response = fetch(uvicorn_server, document["downloadUrl"])
    assert response.status_code == 200
    assert response.content == content
    if preview_format is None:
        assert document["previewUrl"] is None
        assert document["preview"] is None
    else:
        preview = fetch(uvicorn_server, document["previewUrl"])
        assert preview.status_code == 200
        image = Image.open(io.BytesIO(preview.content))
        assert image.format == preview_format
        assert (image.width, image.height) == (
            document["preview"]["width"],
            document["preview"]["height"],
        )


def test_a_dicom_preview_shows_its_pixels_in_grey(uvicorn_server, world):
    document = upload(uvicorn_server, world.a, "DENTIST", samples.dicom(rows=60, columns=80))
    preview = Image.open(io.BytesIO(fetch(uvicorn_server, document["previewUrl"]).content))
    assert (preview.mode, preview.size) == ("L", (80, 60))
    # The gradient goes from black (top left) to white (bottom right).
    assert preview.getpixel((0, 0)) == 0
    assert preview.getpixel((79, 59)) == 255


def test_a_dicom_of_someone_else_is_kept_with_warnings_shown_on_the_document(uvicorn_server, world):
    content = samples.dicom(name="GOMEZ^ANA", patient_id="99999999")
    document = upload(uvicorn_server, world.a, "DENTIST", content)
    assert document["__typename"] == "PatientDocument", document
    assert document["dicomWarnings"] == [
        "The DICOM header names “GOMEZ ANA”, not José Pérez García.",
        "The DICOM header's patient ID is “99999999”, not the patient's 12345678.",
    ]
    listing = listed(uvicorn_server, world.a, "ASSISTANT")["data"]["patientDocuments"]
    node = next(e["node"] for e in listing["edges"] if e["node"]["id"] == document["id"])
    assert node["dicomWarnings"] == document["dicomWarnings"]
    assert fetch(uvicorn_server, document["downloadUrl"]).content == content


def test_a_dicom_whose_pixels_do_not_decode_is_kept_without_a_preview(uvicorn_server, world):
    content = samples.dicom(compressed_garbage=True)
    document = upload(uvicorn_server, world.a, "DENTIST", content)
    assert document["__typename"] == "PatientDocument", document
    assert document["previewUrl"] is None
    assert len(document["dicomWarnings"]) == 1
    assert "could not be decoded" in document["dicomWarnings"][0]
    assert fetch(uvicorn_server, document["downloadUrl"]).content == content


# --- the front desk ------------------------------------------------------------------------


def test_the_receptionist_files_an_id_document_but_never_sees_a_radiograph(
    uvicorn_server, world, django_db_blocker
):
    from backend.documents.models import PatientDocument
    from backend.files.signing import download_url

    site = world.a
    xray = upload(uvicorn_server, site, "DENTIST", samples.png(), kind="XRAY")
    id_document = upload(uvicorn_server, site, "RECEPTIONIST", samples.jpeg(), kind="ID_DOCUMENT")
    assert id_document["__typename"] == "PatientDocument", id_document
    refused = multipart(
        uvicorn_server, site.host, UPLOAD,
        {"input": {"patientId": site.patient_id, "kind": "XRAY", "file": None}},
        {"input.file": ("rx.png", samples.png(), "image/png")},
        token=site.tokens["RECEPTIONIST"],
    ).json()  # fmt: skip
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN", refused
    assert refused["data"] is None

    kinds = {
        edge["node"]["kind"]
        for edge in listed(uvicorn_server, site, "RECEPTIONIST")["data"]["patientDocuments"][
            "edges"
        ]
    }
    assert "ID_DOCUMENT" in kinds
    assert kinds <= {"ID_DOCUMENT", "CONSENT"}
    asked = listed(uvicorn_server, site, "RECEPTIONIST", kind="XRAY")["data"]
    assert asked["patientDocuments"] == {"totalCount": 0, "edges": []}
    assert fetch(uvicorn_server, id_document["downloadUrl"]).status_code == 200

    # A link made out to the receptionist for the radiograph is refused when used: the
    # download checks the role again (and so for a user deactivated since).
    receptionist = site.users["RECEPTIONIST"]
    with django_db_blocker.unblock(), clinic_context(site.clinic):
        document = PatientDocument.objects.select_related("original").get(pk=pk_of(xray["id"]))
        url = download_url(
            document.original, user_id=receptionist.pk, token_id=live_token(receptionist)
        )
        mark = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    response = uvicorn_server.request("GET", url, site.host)
    assert response.status_code == 403, response.text
    with django_db_blocker.unblock():
        assert actions_since(site.clinic, mark) == []


def test_a_link_of_a_user_deactivated_since_is_refused(uvicorn_server, world, django_db_blocker):
    from backend.accounts.models import User

    site = world.a
    with django_db_blocker.unblock(), clinic_context(site.clinic):
        assistant = User.objects.create_user(
            email=f"temporal{timezone.now().timestamp()}@docs-a.pe", password="x", role="ASSISTANT"
        )
        from backend.accounts.auth import _token_issue

        token = _token_issue(assistant).raw
    site.tokens["TEMP"] = token
    document = upload(uvicorn_server, site, "TEMP", samples.png(), kind="PHOTO")
    assert document["__typename"] == "PatientDocument", document
    assert fetch(uvicorn_server, document["downloadUrl"]).status_code == 200
    with django_db_blocker.unblock(), clinic_context(site.clinic):
        User.objects.filter(pk=assistant.pk).update(is_active=False)
    assert fetch(uvicorn_server, document["downloadUrl"]).status_code == 403


# --- signed links that must not work -------------------------------------------------------


def test_a_tampered_or_foreign_link_is_refused_with_a_code(uvicorn_server, world):
    mine = upload(uvicorn_server, world.a, "DENTIST", samples.png())
    theirs = upload(uvicorn_server, world.b, "DENTIST", samples.png(colour=(1, 2, 3)))
    assert theirs["__typename"] == "PatientDocument", theirs
    # Clinic B's link, asked on clinic A's domain.
    path = httpx_path(theirs["downloadUrl"])
    on_mine = uvicorn_server.request("GET", path, world.a.host)
    assert on_mine.status_code == 404
    assert _first_code(on_mine.json()) == "LINK_INVALID"
    # One character changed anywhere in the token.
    path = httpx_path(mine["downloadUrl"])
    for position in (len("/files/") + 3, len(path) - 2):
        flipped = "A" if path[position] != "A" else "B"
        tampered = path[:position] + flipped + path[position + 1 :]
        response = uvicorn_server.request("GET", tampered, world.a.host)
        assert response.status_code == 404, tampered
        assert _first_code(response.json()) == "LINK_INVALID"


def test_an_expired_link_is_refused_with_its_own_code_and_reads_nothing(
    uvicorn_server, world, django_db_blocker
):
    from unittest import mock

    from django.conf import settings

    from backend.documents.models import PatientDocument
    from backend.files.models import StoredFile
    from backend.files.signing import download_url

    site = world.a
    document = upload(uvicorn_server, site, "DENTIST", samples.png())
    past = time.time() - settings.FILE_URL_SECONDS - 5
    with django_db_blocker.unblock(), clinic_context(site.clinic):
        stored = StoredFile.objects.get(
            pk=PatientDocument.objects.get(pk=pk_of(document["id"])).original_id
        )
        with mock.patch("django.core.signing.time.time", return_value=past):
            dentist = site.users["DENTIST"]
            url = download_url(stored, user_id=dentist.pk, token_id=live_token(dentist))
        mark = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    response = uvicorn_server.request("GET", url, site.host)
    assert response.status_code == 410
    assert _first_code(response.json()) == "LINK_EXPIRED"
    with django_db_blocker.unblock():
        assert actions_since(site.clinic, mark) == []
    # The same file by a fresh link: the refusal was the link's age, nothing else.
    assert fetch(uvicorn_server, document["downloadUrl"]).status_code == 200


def httpx_path(url: str) -> str:
    import httpx

    return httpx.URL(url).raw_path.decode()


# --- bad uploads: coded, and nothing left behind -------------------------------------------


def _refused_leaving_nothing(server, site, django_db_blocker, send) -> list[str]:
    with django_db_blocker.unblock():
        before = (rows(site.clinic), stored_objects(site.clinic), last_event(site.clinic))
    payload = send()
    with django_db_blocker.unblock():
        after = (rows(site.clinic), stored_objects(site.clinic), last_event(site.clinic))
    assert after == before
    return payload


@pytest.mark.parametrize(
    ("content", "name", "code"),
    [
        (b"hola, esto no es una imagen\n", "nota.png", "FILE_TYPE_NOT_ALLOWED"),
        (samples.zip_file(), "radiografia.png", "FILE_TYPE_NOT_ALLOWED"),
        (samples.jpeg()[:2000], "cortada.jpg", "FILE_CORRUPT"),
        (samples.pdf()[:-10], "cortado.pdf", "FILE_CORRUPT"),
        (samples.dicom()[:-100], "cortado.dcm", "FILE_CORRUPT"),
        (b"", "vacio.png", "FILE_MISSING"),
        (bomb_png(), "bomba.png", "IMAGE_TOO_LARGE"),
    ],
    ids=[
        "text",
        "zip-renamed-png",
        "truncated-jpeg",
        "truncated-pdf",
        "truncated-dicom",
        "empty",
        "decompression-bomb",
    ],
)
def test_a_bad_file_is_refused_with_its_code_and_leaves_nothing(
    uvicorn_server, world, django_db_blocker, content, name, code
):
    payload = _refused_leaving_nothing(
        uvicorn_server, world.a, django_db_blocker,
        lambda: upload(uvicorn_server, world.a, "DENTIST", content, name=name, declared="image/png"),
    )  # fmt: skip
    assert codes(payload) == [code]


def test_an_oversize_file_is_refused_and_leaves_nothing(uvicorn_server, world, django_db_blocker):
    from django.conf import settings

    content = samples.png() + b"\0" * settings.MAX_UPLOAD_BYTES
    payload = _refused_leaving_nothing(
        uvicorn_server, world.a, django_db_blocker,
        lambda: multipart(
            uvicorn_server, world.a.host, UPLOAD,
            {"input": {"patientId": world.a.patient_id, "kind": "XRAY", "file": None}},
            {"input.file": ("grande.png", content, "image/png")},
            token=world.a.tokens["DENTIST"],
        ),
    )  # fmt: skip
    assert payload.status_code in (200, 413), payload.text
    body = payload.json()
    assert _first_code(body) in ("FILE_TOO_LARGE", "REQUEST_TOO_LARGE"), body


def test_an_upload_without_a_file_or_with_two_for_one_field_is_refused(
    uvicorn_server, world, django_db_blocker
):
    site = world.a
    variables = {"input": {"patientId": site.patient_id, "kind": "XRAY", "file": None}}

    def send(files):
        return multipart(
            uvicorn_server, site.host, UPLOAD, variables, files, token=site.tokens["DENTIST"]
        ).json()

    # No file part at all: the required `file` is null, which GraphQL itself refuses.
    none = _refused_leaving_nothing(uvicorn_server, site, django_db_blocker, lambda: send({}))
    assert _first_code(none) == "GRAPHQL_VALIDATION_FAILED", none
    assert ".file" in none["errors"][0]["message"]
    # A JSON request with text where the file belongs.
    text = _refused_leaving_nothing(
        uvicorn_server, site, django_db_blocker,
        lambda: uvicorn_server.post(
            site.host,
            {"query": UPLOAD, "variables": {"input": {**variables["input"], "file": "rx.png"}}},
            headers={"Authorization": f"Bearer {site.tokens['DENTIST']}"},
        ).json(),
    )  # fmt: skip
    assert _first_code(text) == "FILE_MISSING", text
    two = _refused_leaving_nothing(
        uvicorn_server, site, django_db_blocker,
        lambda: send({"input.file": [("a.png", samples.png(), "image/png"),
                                     ("b.png", samples.webp(), "image/webp")]}),
    )  # fmt: skip
    assert _first_code(two) == "TOO_MANY_FILES", two


def _first_code(body: dict[str, Any]) -> str | None:
    """The code of a top-level error, or the first of a mutation's OperationInfo."""
    if body.get("errors"):
        return body["errors"][0]["extensions"]["code"]
    return codes(next(iter(body["data"].values())))[0]


def test_another_clinics_patient_is_not_found_and_nothing_is_stored(
    uvicorn_server, world, django_db_blocker
):
    payload = _refused_leaving_nothing(
        uvicorn_server, world.a, django_db_blocker,
        lambda: upload(
            uvicorn_server, world.a, "DENTIST", samples.png(), patient_id=world.b.patient_id
        ),
    )  # fmt: skip
    assert codes(payload) == ["NOT_FOUND"]


def test_bad_teeth_or_a_future_date_store_nothing(uvicorn_server, world, django_db_blocker):
    tomorrow = (timezone.localdate() + dt.timedelta(days=2)).isoformat()
    for fields, code in (
        ({"teeth": [11, 19]}, "INVALID_TOOTH"),
        ({"teeth": [99]}, "INVALID_TOOTH"),
        ({"takenOn": tomorrow}, "INVALID_DATE"),
        ({"note": "x" * 2001}, "TOO_LONG"),
    ):
        payload = _refused_leaving_nothing(
            uvicorn_server, world.a, django_db_blocker,
            lambda fields=fields: upload(
                uvicorn_server, world.a, "DENTIST", samples.png(), **fields
            ),
        )  # fmt: skip
        assert codes(payload) == [code], fields


def live_token(user) -> int:
    """The id of the user's sign-in (the token the world issued them)."""
    return AuthToken.objects.filter(user=user, revoked_at__isnull=True).latest("pk").pk


def test_a_link_dies_with_the_sign_in_it_was_made_for(uvicorn_server, world, django_db_blocker):
    """Signing out (or any revocation of the token) ends the links made with it, within their
    lifetime too; the user's other sign-ins keep theirs."""
    site = world.a
    document = upload(uvicorn_server, site, "DENTIST", samples.pdf())
    assert fetch(uvicorn_server, document["downloadUrl"]).status_code == 200
    with django_db_blocker.unblock(), clinic_context(site.clinic):
        AuthToken.objects.filter(user=site.users["DENTIST"]).update(revoked_at=timezone.now())
        mark = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    try:
        response = fetch(uvicorn_server, document["downloadUrl"])
        assert response.status_code == 403, response.text
        with django_db_blocker.unblock():
            assert actions_since(site.clinic, mark) == []  # no read audited
    finally:
        with django_db_blocker.unblock(), clinic_context(site.clinic):
            site.tokens["DENTIST"] = _token_issue(site.users["DENTIST"]).raw
