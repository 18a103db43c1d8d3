"""The clinic's logo over real HTTP (uvicorn, a committed clinic): an admin uploads it as a
GraphQL multipart request; anyone fetches it without a token, cached for a year under its
content hash; a replacement or a removal takes the old objects away after commit; each bad
upload is refused with its code and leaves nothing in the database or in storage."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from backend.accounts.models import Role, User
from backend.audit.models import AuditEvent
from backend.core.tenancy import clinic_context
from tests.branding import images
from tests.branding.support import (
    CURRENT,
    REMOVE,
    UPLOAD,
    Site,
    codes,
    objects_removed,
    payload,
    signed_in_site,
    state,
    stored_objects,
    without_typename,
)
from tests.conftest import TEST_PASSWORD, http_login

pytestmark = pytest.mark.slow

ONE_YEAR = "public, max-age=31536000, immutable"


@pytest.fixture
def clinic_site(uvicorn_server, committed_clinic) -> Iterator[Any]:
    """``clinic_site(subdomain)``: a committed clinic, its admin signed in, its storage empty
    before and after the test."""
    made: list[Site] = []

    def make(subdomain: str) -> Site:
        # A name of its own each time: the server's routing cache may still hold the clinic
        # that the previous test dropped under the same name (up to TENANT_CACHE_CHECK_SECONDS
        # in another process), and would route this test to a clinic that no longer exists.
        subdomain = f"{subdomain}-{uuid.uuid4().hex[:8]}"
        made.append(signed_in_site(uvicorn_server, committed_clinic(subdomain)))
        objects_removed(made[-1].clinic)
        return made[-1]

    yield make
    for site in made:
        objects_removed(site.clinic)


@pytest.fixture
def site(clinic_site) -> Site:
    return clinic_site("logotipo")


def _near(pixel: Any, expected: tuple[int, int, int]) -> bool:
    """Equal but for JPEG's rounding (the upload was a JPEG)."""
    return all(abs(a - b) <= 6 for a, b in zip(pixel, expected, strict=True))


def _until(condition: Any, seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_an_admins_upload_is_served_without_a_token_with_cache_headers(site, django_db_blocker):
    logo = payload(site.upload(images.jpeg_with_gps(1200, 900), filename="foto.jpg",
                               content_type="image/jpeg"))  # fmt: skip
    assert (logo["width"], logo["height"]) == (512, 384)
    [large, small] = logo["sizes"]
    assert (large["size"], large["url"], large["width"], large["height"]) == (
        512, logo["url"], 512, 384,
    )  # fmt: skip
    assert (small["size"], small["width"], small["height"]) == (128, 128, 96)
    origin = f"http://{site.host}:{site.server.port}"
    assert logo["url"].startswith(f"{origin}/logo/")
    assert logo["url"].endswith("-512.png")
    assert small["url"] == logo["url"].replace("-512.png", "-128.png")

    # Public: the clinic's card, and the image itself, without a token.
    card = site.graphql(CURRENT)["data"]["currentClinic"]
    assert card["logo"] == without_typename(logo)
    for version in (large, small):
        response = site.get(version["url"])
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/png"
        assert response.headers["cache-control"] == ONE_YEAR
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-security-policy"] == "default-src 'none'"
        etag = response.headers["etag"]
        image = images.opened(response.content)
        assert (image.format, image.size) == ("PNG", (version["width"], version["height"]))
        # The pixels survived (left half red, right half blue); the metadata did not.
        rgb = image.convert("RGB")
        assert _near(rgb.getpixel((2, 2)), (220, 30, 30))
        assert _near(rgb.getpixel((version["width"] - 3, 2)), (30, 30, 220))
        assert images.exif_of(response.content) == {}
        assert b"PhoneMaker" not in response.content
        # A cached copy is revalidated by its ETag without the bytes again.
        again = site.get(version["url"], headers={"If-None-Match": etag})
        assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)

    after = state(site.clinic, django_db_blocker)
    assert len(after["objects"]) == 2
    assert all(key.startswith(f"clinics/{site.clinic.schema_name}/") for key in after["objects"])
    assert sorted(f["key"] for f in after["files"]) == after["objects"]
    assert [action for _, action in after["trail"]][-1] == "clinic_logo.set"


def test_a_new_logo_has_new_urls_and_the_old_objects_go_after_commit(site, django_db_blocker):
    first = payload(site.upload(images.png(800, 400)))
    first_objects = stored_objects(site.clinic)
    second = payload(
        site.upload(images.webp(300, 300), filename="b.webp", content_type="image/webp")
    )
    assert second["url"] != first["url"]
    assert (second["width"], second["height"]) == (300, 300)  # never upscaled
    assert [s["width"] for s in second["sizes"]] == [300, 128]
    # The old objects are gone once the replacement committed; the new ones are there.
    assert _until(lambda: not set(first_objects) & set(stored_objects(site.clinic)))
    assert len(stored_objects(site.clinic)) == 2
    for old in first["sizes"]:
        response = site.get(old["url"])
        assert response.status_code == 404
        assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert site.get(second["url"]).status_code == 200
    assert site.graphql(CURRENT)["data"]["currentClinic"]["logo"]["url"] == second["url"]

    removed = site.graphql(REMOVE, token=site.token)["data"]["removeClinicLogo"]
    assert removed == {"__typename": "Clinic", "logo": None}
    assert _until(lambda: stored_objects(site.clinic) == [])
    assert site.get(second["url"]).status_code == 404
    assert site.graphql(CURRENT)["data"]["currentClinic"]["logo"] is None
    after = state(site.clinic, django_db_blocker)
    assert (after["logo"], after["files"]) == ([], [])
    actions = [action for _, action in after["trail"]]
    assert actions[-3:] == ["clinic_logo.set", "clinic_logo.set", "clinic_logo.remove"]
    # Nothing left to remove: coded, and nothing written.
    assert codes(site.graphql(REMOVE, token=site.token)) == ["NOT_FOUND"]
    assert state(site.clinic, django_db_blocker) == after


BAD_UPLOADS = {
    # what: (content, filename, declared type, code)
    "a GIF (not a logo format)": (images.gif, "logo.gif", "image/gif", "FILE_TYPE_NOT_ALLOWED"),
    "an SVG with a script": (
        lambda: images.SVG_WITH_SCRIPT, "logo.svg", "image/svg+xml", "FILE_TYPE_NOT_ALLOWED",
    ),
    "an SVG named .png": (
        lambda: images.SVG_WITH_SCRIPT, "logo.png", "image/png", "FILE_TYPE_NOT_ALLOWED",
    ),
    "a zip renamed .png": (images.zip_renamed_png, "logo.png", "image/png", "FILE_TYPE_NOT_ALLOWED"),
    "a truncated PNG": (images.truncated_png, "logo.png", "image/png", "FILE_CORRUPT"),
    "a decompression bomb": (images.bomb_png, "logo.png", "image/png", "IMAGE_TOO_LARGE"),
    "3 MB (over 2 MB)": (images.noise_png, "logo.png", "image/png", "FILE_TOO_LARGE"),
    "an empty file": (lambda: b"", "logo.png", "image/png", "FILE_MISSING"),
}  # fmt: skip


def test_each_bad_upload_is_refused_with_its_code_and_leaves_nothing(site, django_db_blocker):
    current = payload(site.upload(images.png(200, 100)))  # a logo to keep through it all
    before = state(site.clinic, django_db_blocker)
    answers = {}
    for what, (make, filename, declared, _code) in BAD_UPLOADS.items():
        refusal = payload(site.upload(make(), filename=filename, content_type=declared))
        assert refusal["__typename"] == "OperationInfo", (what, refusal)
        answers[what] = [(m["code"], m["field"]) for m in refusal["messages"]]
    assert answers == {what: [(case[3], "file")] for what, case in BAD_UPLOADS.items()}
    assert state(site.clinic, django_db_blocker) == before
    assert site.graphql(CURRENT)["data"]["currentClinic"]["logo"] == without_typename(current)


def test_a_multipart_request_without_its_one_file_is_refused_and_leaves_nothing(
    site, django_db_blocker
):
    before = state(site.clinic, django_db_blocker)
    part = ("logo.png", images.png(64, 64), "image/png")
    answers = {
        "no file part": site.upload_without_files({}),
        "mapped, not sent": site.upload_without_files({"0": ["variables.file"]}),
        "two files for one field": site.upload(
            None,
            raw_map={"0": ["variables.file"], "1": ["variables.file"]},
            raw_files=[("0", part), ("1", part)],
        ),
        "one part sent twice": site.upload(
            None, raw_map={"0": ["variables.file"]}, raw_files=[("0", part), ("0", part)]
        ),
        "a part no field takes": site.upload(
            None, raw_map={"0": ["variables.file"]}, raw_files=[("0", part), ("1", part)]
        ),
    }
    # JSON, with a string where the file belongs: it reaches the resolver, which wants a file.
    answers["a name, not a file (JSON)"] = site.server.post(
        site.host,
        {"query": UPLOAD, "variables": {"file": "logo.png"}},
        headers={"Authorization": f"Bearer {site.token}"},
    )
    refused = {what: (r.status_code, codes(r)) for what, r in answers.items()}
    assert refused == EXPECTED_MULTIPART_REFUSALS, refused
    assert state(site.clinic, django_db_blocker) == before


EXPECTED_MULTIPART_REFUSALS = {
    "no file part": (400, ["GRAPHQL_VALIDATION_FAILED"]),  # null for an Upload!
    "mapped, not sent": (400, ["FILE_MISSING"]),
    "two files for one field": (400, ["TOO_MANY_FILES"]),
    "one part sent twice": (400, ["TOO_MANY_FILES"]),
    "a part no field takes": (400, ["TOO_MANY_FILES"]),
    "a name, not a file (JSON)": (200, ["FILE_MISSING"]),
}


def test_only_an_admin_of_this_clinic_on_its_domain_may_upload(
    site, clinic_site, django_db_blocker
):
    other = clinic_site("logotipo-otra")
    with django_db_blocker.unblock(), clinic_context(site.clinic):
        for role in (Role.DENTIST, Role.ASSISTANT, Role.RECEPTIONIST):
            User.objects.create_user(
                email=f"{role.lower()}@{site.host}", password=TEST_PASSWORD, role=role
            )
    tokens = {
        role: http_login(site.server, site.host, f"{role.lower()}@{site.host}")["token"]
        for role in ("DENTIST", "ASSISTANT", "RECEPTIONIST")
    }
    before = state(site.clinic, django_db_blocker)
    content = images.png(64, 64)
    answers = {role: codes(site.upload(content, token=token)) for role, token in tokens.items()}
    answers["no token"] = codes(site.upload(content, token=None))
    answers["another clinic's admin"] = codes(site.upload(content, token=other.token))
    answers["the platform's domain"] = codes(site.upload(content, host=settings.BASE_DOMAIN))
    assert answers == {
        "DENTIST": ["FORBIDDEN"],
        "ASSISTANT": ["FORBIDDEN"],
        "RECEPTIONIST": ["FORBIDDEN"],
        "no token": ["UNAUTHENTICATED"],
        "another clinic's admin": ["UNAUTHENTICATED"],
        "the platform's domain": ["TENANT_DOMAIN_ONLY"],
    }
    assert state(site.clinic, django_db_blocker) == before
    assert codes(site.graphql(REMOVE, token=other.token)) == ["UNAUTHENTICATED"]
    with django_db_blocker.unblock(), clinic_context(site.clinic):
        assert not AuditEvent.objects.filter(action__startswith="clinic_logo.").exists()


def test_a_logo_url_answers_on_its_own_clinics_domain_only(site, clinic_site):
    other = clinic_site("logotipo-otra")
    logo = payload(site.upload(images.png(64, 64)))
    theirs = payload(other.upload(images.png(64, 64, mode="RGB")))
    path = "/" + logo["url"].split("/", 3)[3]
    name = path.rsplit("/", 1)[1]
    sha = name.split("-")[0]
    refused = {
        "another clinic's domain": site.get(path, host=other.host),
        "the platform's domain": site.get(path, host=settings.BASE_DOMAIN),
        "another clinic's logo on this domain": site.get(
            "/" + theirs["url"].split("/", 3)[3], host=site.host
        ),
        "a size not kept": site.get(f"/logo/{sha}-256.png"),
        "another extension": site.get(f"/logo/{sha}-512.webp"),
        "a made-up hash": site.get(f"/logo/{'0' * 64}-512.png"),
        "not a name": site.get("/logo/logo.png"),
    }
    answers = {
        what: (
            r.status_code,
            r.headers["content-type"],
            r.json()["errors"][0]["extensions"]["code"],
        )
        for what, r in refused.items()
    }
    assert answers == {what: (404, "application/json", "NOT_FOUND") for what in refused}
    posted = site.server.request("POST", path, site.host)
    assert (posted.status_code, posted.headers["allow"]) == (405, "GET, HEAD")
    assert posted.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert site.get(path).status_code == 200
    assert other.get("/" + theirs["url"].split("/", 3)[3]).status_code == 200
