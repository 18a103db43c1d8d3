"""Validators of the clinic's profile. Each raises a coded ValidationError and returns the
normalized value."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext as _

from backend.clinic_admin.errors import ClinicAdminError
from backend.core.text import invisible

# The patients' numbers are read the same way (backend.patients.validators): a Peruvian
# number may omit +51.
# INEI's ubigeo: department (01–25), province, district, two digits each.
UBIGEO = re.compile(r"^(0[1-9]|1[0-9]|2[0-5])[0-9]{4}$")
# ISO 4217 codes in circulation (funds and precious metals left out).
_CURRENCY_CODES = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP
GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR
KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK
MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR
SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS
UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWG
"""
CURRENCIES = frozenset(_CURRENCY_CODES.split())


def validate_text(value: str | None, *, max_length: int) -> str:
    """Free text over several lines (a description): no NUL or other control characters
    than line breaks and tabs."""
    value = (value or "").strip()
    if any(invisible(char) and char not in "\n\t" for char in value):
        raise ValidationError(
            _("Remove the control characters."), code=ClinicAdminError.INVALID_TEXT
        )
    if len(value) > max_length:
        raise ValidationError(
            _("At most %(max)d characters.") % {"max": max_length}, code=ClinicAdminError.TOO_LONG
        )
    return value


def validate_ubigeo(value: str | None) -> str:
    value = (value or "").strip()
    if value and not UBIGEO.match(value):
        raise ValidationError(
            _("A ubigeo has 6 digits, the first two a department from 01 to 25."),
            code=ClinicAdminError.INVALID_UBIGEO,
        )
    return value


def validate_website(value: str | None) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    try:
        if len(value) > 300:
            raise ValidationError("too long")
        URLValidator(schemes=["http", "https"])(value)
    except ValidationError:
        raise ValidationError(
            _("Enter a web address that starts with http:// or https://."),
            code=ClinicAdminError.INVALID_URL,
        ) from None
    return value


def validate_currency(value: str | None) -> str:
    value = (value or "").strip().upper()
    if value not in CURRENCIES:
        raise ValidationError(
            _("Give an ISO 4217 currency code, such as PEN or USD."),
            code=ClinicAdminError.INVALID_CURRENCY,
        )
    return value


def validate_appointment_minutes(value: int | None) -> int:
    if value is None or not 5 <= value <= 480 or value % 5:
        raise ValidationError(
            _("Between 5 and 480 minutes, in steps of 5."),
            code=ClinicAdminError.INVALID_DURATION,
        )
    return value
