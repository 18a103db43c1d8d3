"""``logo_set`` and ``logo_remove``, in a clinic's schema: what is kept of an upload (two PNG
versions, no metadata, never upscaled), what each refusal leaves (nothing), the audit trail,
and ``Clinic.logo`` through GraphQL."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from backend.audit.models import AuditEvent
from backend.branding import services
from backend.branding.models import ClinicLogo
from backend.files.models import StoredFile
from backend.files.storage import file_read
from tenants_core.models import Plan
from tests.branding import images
from tests.conftest import error_code, graphql, stored_objects

pytestmark = pytest.mark.django_db


def _code(error: ValidationError) -> str | None:
    if hasattr(error, "error_dict"):
        [errors] = error.error_dict.values()
        return errors[0].code
    return error.error_list[0].code


def _state(media: Any) -> tuple[Any, ...]:
    return (
        stored_objects(media),
        list(ClinicLogo.objects.values()),
        list(StoredFile.objects.order_by("pk").values("pk", "key")),
        list(AuditEvent.objects.order_by("pk").values_list("pk", "action")),
    )


def test_a_phone_photo_is_kept_as_two_pngs_turned_upright_without_its_exif(
    clinic1, clinic1_admin, media
):
    # Stored 1200×900, shown 900×1200 (EXIF orientation 6), with a GPS position.
    photo = images.jpeg_with_gps(1200, 900, orientation=6)
    assert images.exif_of(photo)[0x8825]  # the fixture carries GPS
    with tenant_context(clinic1):
        logo = services.logo_set(actor=clinic1_admin, content=photo, name="IMG_0001.jpg")
        large, small = logo.large, logo.small
        assert (large.width, large.height, small.width, small.height) == (384, 512, 96, 128)
        for stored in (large, small):
            content = file_read(stored)
            image = images.opened(content)
            assert (image.format, image.size) == ("PNG", (stored.width, stored.height))
            assert (stored.content_type, stored.purpose) == ("image/png", "logo")
            assert images.exif_of(content) == {}
            assert b"PhoneMaker" not in content
        assert logo.sha256 == large.sha256
        [event] = AuditEvent.objects.filter(action="clinic_logo.set")
        assert event.actor_id == clinic1_admin.pk
        assert event.changes["sha256"] == {"from": None, "to": logo.sha256}


def test_a_small_logo_is_never_upscaled_and_png_text_is_dropped(clinic1, clinic1_admin, media):
    with tenant_context(clinic1):
        logo = services.logo_set(actor=clinic1_admin, content=images.png(100, 40), name="a.png")
        assert (logo.large.width, logo.large.height) == (100, 40)
        assert (logo.small.width, logo.small.height) == (100, 40)
        assert b"Dr. Secret" not in file_read(logo.large)


def test_the_same_image_again_keeps_its_files_but_is_audited(clinic1, clinic1_admin, media):
    content = images.webp(300, 200)
    with tenant_context(clinic1):
        first = services.logo_set(actor=clinic1_admin, content=content, name="a.webp")
        files = list(StoredFile.objects.values_list("pk", flat=True))
        again = services.logo_set(actor=clinic1_admin, content=content, name="b.webp")
        assert again.sha256 == first.sha256
        assert list(StoredFile.objects.values_list("pk", flat=True)) == files
        assert list(
            AuditEvent.objects.filter(action__startswith="clinic_logo.").values_list(
                "action", flat=True
            )
        ) == ["clinic_logo.set", "clinic_logo.set"]


def test_a_replacement_and_a_removal_delete_the_old_rows_and_objects_after_commit(
    clinic1, clinic1_admin, media, django_capture_on_commit_callbacks
):
    with tenant_context(clinic1):
        first = services.logo_set(actor=clinic1_admin, content=images.png(64, 64), name="")
        old = {first.large_id, first.small_id}
        old_keys = {first.large.key, first.small.key}
        with django_capture_on_commit_callbacks(execute=True):
            second = services.logo_set(actor=clinic1_admin, content=images.png(64, 32), name="")
        # The old objects go once the replacement commits; the new ones are the only ones.
        assert stored_objects(media) == sorted([second.large.key, second.small.key])
        assert not old_keys & set(stored_objects(media))
        assert second.sha256 != first.sha256
        assert set(StoredFile.objects.values_list("pk", flat=True)) == {
            second.large_id,
            second.small_id,
        }
        assert not StoredFile.objects.filter(pk__in=old).exists()
        with django_capture_on_commit_callbacks(execute=True):
            services.logo_remove(actor=clinic1_admin)
        assert (ClinicLogo.objects.count(), StoredFile.objects.count()) == (0, 0)
        assert stored_objects(media) == []
        assert list(
            AuditEvent.objects.filter(action__startswith="clinic_logo.")
            .order_by("pk")
            .values_list("action", "entity_type", "entity_id")
        ) == [
            ("clinic_logo.set", "branding.cliniclogo", "1"),
            ("clinic_logo.set", "branding.cliniclogo", "1"),
            ("clinic_logo.remove", "branding.cliniclogo", "1"),
        ]


REFUSED = {
    "GIF": (images.gif, "FILE_TYPE_NOT_ALLOWED"),
    "SVG with a script": (lambda: images.SVG_WITH_SCRIPT, "FILE_TYPE_NOT_ALLOWED"),
    "zip renamed .png": (images.zip_renamed_png, "FILE_TYPE_NOT_ALLOWED"),
    "truncated PNG": (images.truncated_png, "FILE_CORRUPT"),
    "decompression bomb": (images.bomb_png, "IMAGE_TOO_LARGE"),
    "3 MB": (images.noise_png, "FILE_TOO_LARGE"),
    "empty": (lambda: b"", "FILE_MISSING"),
}


@pytest.mark.parametrize("what", REFUSED)
def test_a_refused_upload_has_its_code_and_changes_nothing(clinic1, clinic1_admin, media, what):
    make, code = REFUSED[what]
    with tenant_context(clinic1):
        services.logo_set(actor=clinic1_admin, content=images.png(64, 64), name="")
        before = _state(media)
        with pytest.raises(ValidationError) as refused:
            services.logo_set(actor=clinic1_admin, content=make(), name="logo.png")
        assert _code(refused.value) == code
        assert _state(media) == before


def test_a_logo_over_the_storage_quota_is_refused_and_stores_nothing(clinic1, clinic1_admin, media):
    content = images.png(600, 300)
    with tenant_context(clinic1):
        before = _state(media)
    Plan.objects.filter(pk=clinic1.plan_id).update(max_storage_bytes=1000)
    with tenant_context(clinic1):
        with pytest.raises(ValidationError) as refused:
            services.logo_set(actor=clinic1_admin, content=content, name="logo.png")
        assert _code(refused.value) == "PLAN_LIMIT_REACHED"
        assert _state(media) == before


def test_removing_no_logo_is_not_found(clinic1, clinic1_admin, media):
    with tenant_context(clinic1):
        before = _state(media)
        with pytest.raises(ValidationError) as refused:
            services.logo_remove(actor=clinic1_admin)
        assert _code(refused.value) == "NOT_FOUND"
        assert _state(media) == before


LOGO = "{ currentClinic { logo { url width height sizes { size url width height } } } }"


def test_the_logo_is_public_on_the_clinics_domain(client, clinic1, clinic1_admin, media):
    status, body = graphql(client, LOGO, host="clinica1.localhost")
    assert (status, body) == (200, {"data": {"currentClinic": {"logo": None}}})
    with tenant_context(clinic1):
        logo = services.logo_set(actor=clinic1_admin, content=images.png(600, 300), name="")
    status, body = graphql(client, LOGO, host="clinica1.localhost")
    name = f"http://clinica1.localhost/logo/{logo.sha256}"
    assert body == {
        "data": {
            "currentClinic": {
                "logo": {
                    "url": f"{name}-512.png",
                    "width": 512,
                    "height": 256,
                    "sizes": [
                        {"size": 512, "url": f"{name}-512.png", "width": 512, "height": 256},
                        {"size": 128, "url": f"{name}-128.png", "width": 128, "height": 64},
                    ],
                }
            }
        }
    }
    # Another clinic's card shows its own (none), never this one.
    status, body = graphql(client, LOGO, host="clinica2.localhost")
    assert body == {"data": {"currentClinic": {"logo": None}}}


def test_the_platforms_list_of_clinics_has_no_logo_field(
    client, clinic1, clinic1_admin, platform_token, media
):
    """The platform's domain reads no clinic's schema: its clinics have no ``logo``."""
    with tenant_context(clinic1):
        services.logo_set(actor=clinic1_admin, content=images.png(64, 64), name="")
    status, body = graphql(
        client,
        "{ clinics(first: 5) { edges { node { subdomain logo { url } } } } }",
        host="localhost",
        token=platform_token,
    )
    assert status == 400, body
    assert error_code(body) == "GRAPHQL_VALIDATION_FAILED"
    assert "logo" in body["errors"][0]["message"]
