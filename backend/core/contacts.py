"""Phone numbers and email addresses as every app stores them: E.164 and lower case, or a
coded refusal (``INVALID_PHONE``, ``INVALID_EMAIL``). "" stays "" (the field is optional)."""

from __future__ import annotations

from enum import StrEnum

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

DEFAULT_PHONE_REGION = "PE"  # a number written without +51 is Peruvian


class ContactError(StrEnum):
    INVALID_PHONE = "INVALID_PHONE"
    """Not a valid phone number (Peruvian without +51, or any E.164 number)."""
    INVALID_EMAIL = "INVALID_EMAIL"
    """Not a valid email address."""


def normalize_phone(value: str | None, *, region: str = DEFAULT_PHONE_REGION) -> str:
    """An E.164 phone number (``+51987654321``), or "" when none is given."""
    value = (value or "").strip()
    if not value:
        return ""
    number = None
    if len(value) <= 30:
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _("“%(value)s” is not a valid phone number.") % {"value": value[:30]},
            code=ContactError.INVALID_PHONE,
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(value: str | None) -> str:
    """The address in lower case, or "" when none is given."""
    value = (value or "").strip().lower()
    if not value:
        return ""
    try:
        if len(value) > 254:
            raise ValidationError("too long")
        validate_email(value)
    except ValidationError:
        raise ValidationError(
            _("Enter a valid email address."), code=ContactError.INVALID_EMAIL
        ) from None
    return value
