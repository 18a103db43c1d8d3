"""Validators of patient data. Each raises ValidationError with a code, and returns the
normalized value."""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.patients.errors import PatientError
from backend.patients.models import DOCUMENT_PATTERNS, DocumentType
from tenants_core.context import current_timezone


def validate_name(value: str | None, *, max_length: int = 100) -> str:
    value = " ".join((value or "").split())
    if not value:
        raise ValidationError(_("This name is required."), code=PatientError.INVALID_NAME)
    if len(value) > max_length:
        raise ValidationError(
            _("At most %(max)d characters.") % {"max": max_length}, code=PatientError.TOO_LONG
        )
    return value


def validate_document(document_type: str, number: str | None) -> str:
    """Normalize (no spaces, dots or dashes; uppercase) and check the format per type."""
    value = re.sub(r"[\s.\-]", "", number or "").upper()
    pattern = DOCUMENT_PATTERNS.get(DocumentType(document_type))
    if pattern is None or not re.match(pattern, value):
        messages = {
            DocumentType.DNI: _("A DNI has exactly 8 digits."),
            DocumentType.CE: _("A foreigner's card (CE) has 8 to 12 letters or digits."),
            DocumentType.PASSPORT: _("A passport number has 6 to 12 letters or digits."),
        }
        raise ValidationError(
            messages[DocumentType(document_type)], code=PatientError.INVALID_DOCUMENT
        )
    return value


def validate_birth_date(value: dt.date | None, *, today: dt.date | None = None) -> dt.date | None:
    if value is None:
        return None
    today = today or timezone.localdate(timezone=current_timezone())
    if value > today:
        raise ValidationError(
            _("The birth date cannot be in the future."), code=PatientError.INVALID_BIRTH_DATE
        )
    if value.year < 1900:
        raise ValidationError(
            _("The birth date is too far in the past."), code=PatientError.INVALID_BIRTH_DATE
        )
    return value


def validate_text(value: str | None, *, max_length: int) -> str:
    value = (value or "").strip()
    if len(value) > max_length:
        raise ValidationError(
            _("At most %(max)d characters.") % {"max": max_length}, code=PatientError.TOO_LONG
        )
    return value
