"""Setting and removing the clinic's logo.

The upload is checked from its content, never its name (``files.images.image_inspect``: PNG,
JPEG or WebP; an SVG, a zip renamed ``.png``, a truncated image or a decompression bomb is
refused with its code) and re-encoded as PNG at 512 and 128 px on the longer side (never
upscaled). Re-encoding keeps only the pixels: EXIF (a phone's GPS position), ICC profiles and
text chunks are gone, and whatever the upload carried besides an image never reaches a
browser.

PNG rather than WebP: a logo is flat colour and lettering, which PNG keeps exactly (lossy
WebP and JPEG smear edges), it keeps transparency, and every consumer reads it, including the
e-mail clients and PDF libraries that still do not read WebP. At 512 px it stays small.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.audit.services import audit_record
from backend.branding.models import LARGE, SMALL, ClinicLogo
from backend.core.error_codes import CommonError
from backend.core.errors import field_error
from backend.files.errors import FileError
from backend.files.images import image_inspect, image_reencode
from backend.files.models import FilePurpose
from backend.files.services import clean_name, file_delete, file_store
from tenants_core import limits

# The limit: a product rule, not a deployment setting.
LOGO_MAX_BYTES = 2 * 1024 * 1024
LOGO_FORMATS = ("PNG", "JPEG", "WEBP")
OUTPUT_FORMAT = "PNG"


@transaction.atomic
def logo_set(*, actor: Any, content: bytes, name: str = "") -> ClinicLogo:
    """Make ``content`` the clinic's logo, replacing the one it had (whose stored objects are
    removed once this commits). The same image again changes nothing but is audited, like
    every successful call."""
    if not content:
        raise field_error("file", _("Choose an image file."), FileError.FILE_MISSING)
    if len(content) > LOGO_MAX_BYTES:
        raise field_error(
            "file",
            _("A logo is at most %(mb)s MB.") % {"mb": _megabytes(LOGO_MAX_BYTES)},
            FileError.FILE_TOO_LARGE,
        )
    try:
        image_inspect(content, formats=LOGO_FORMATS)
        large = image_reencode(content, max_side=LARGE, format=OUTPUT_FORMAT, formats=LOGO_FORMATS)
        small = image_reencode(content, max_side=SMALL, format=OUTPUT_FORMAT, formats=LOGO_FORMATS)
    except ValidationError as refused:  # the file's refusal, on the argument that carried it
        [error] = refused.error_list
        raise field_error("file", " ".join(error.messages), str(error.code)) from None
    name = clean_name(name)
    sha256 = _sha256(large.content)

    # The clinic's row first, as every service that reserves quota takes it: concurrent uploads
    # (and the quota they reserve) are serialised, and two first logos cannot both insert.
    limits.clinic_lock(connection.tenant)  # type: ignore[attr-defined]
    current = _locked_logo()
    before = current.sha256 if current is not None else None
    if current is not None and current.sha256 == sha256:
        audit_record(actor=actor, action="clinic_logo.set", entity=current, changes={})
        return current
    # Both versions' quota at once, before either is written: a clinic short of space gets
    # PLAN_LIMIT_REACHED with nothing in storage (a refusal between the two writes would
    # leave the first object to the orphan sweep). The old logo counts until this commits.
    limits.limit_reserve(resource="storage_bytes", adding=len(large.content) + len(small.content))

    stored = {
        size: file_store(
            content=encoded.content,
            purpose=FilePurpose.LOGO,
            content_type=encoded.mime,
            extension=encoded.extension,
            original_name=name,
            actor=actor,
            width=encoded.width,
            height=encoded.height,
        )
        for size, encoded in ((LARGE, large), (SMALL, small))
    }
    logo = current or ClinicLogo(pk=1)
    old = (current.large, current.small) if current is not None else ()
    logo.large, logo.small = stored[LARGE], stored[SMALL]
    logo.sha256 = sha256
    logo.updated_at = timezone.now()
    logo.updated_by = actor
    logo.save(force_insert=current is None)
    for previous in old:
        file_delete(previous)
    audit_record(
        actor=actor,
        action="clinic_logo.set",
        entity=logo,
        changes={
            "sha256": {"from": before, "to": sha256},
            "original_name": {"from": None, "to": name},
        },
    )
    return logo


@transaction.atomic
def logo_remove(*, actor: Any) -> None:
    """Remove the clinic's logo; its stored objects go once this commits. ``NOT_FOUND`` when
    the clinic has none."""
    limits.clinic_lock(connection.tenant)  # type: ignore[attr-defined]
    current = _locked_logo()
    if current is None:
        raise field_error(None, _("The clinic has no logo."), CommonError.NOT_FOUND)
    large, small = current.large, current.small
    audit_record(
        actor=actor,
        action="clinic_logo.remove",
        entity=current,
        changes={"sha256": {"from": current.sha256, "to": None}},
    )
    current.delete()
    file_delete(large)
    file_delete(small)


def _locked_logo() -> ClinicLogo | None:
    """The logo row, locked (taken after the clinic's row, as every writer of it does)."""
    rows = ClinicLogo.objects.select_for_update(of=("self",)).select_related("large", "small")
    return rows.first()


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g}"
