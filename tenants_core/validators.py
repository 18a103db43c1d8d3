"""Validators for clinic sign-up data (subdomains, Peruvian RUC tax ids, time zones) and for the
host names that the proxy asks certificates for."""

from __future__ import annotations

import functools
import re
import zoneinfo

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from tenants_core.errors import PlatformError

SUBDOMAIN_MIN_LENGTH = 3
SUBDOMAIN_MAX_LENGTH = 63
# A DNS label: lowercase letters, digits and inner hyphens.
_SUBDOMAIN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")

RESERVED_SUBDOMAINS = frozenset(
    {
        "admin", "api", "app", "assets", "auth", "billing", "blog", "cdn", "dashboard",
        "dev", "docs", "ftp", "graphql", "help", "imap", "localhost", "mail", "media",
        "ns1", "ns2", "platform", "pop", "pop3", "public", "root", "smtp", "staging",
        "static", "status", "support", "system", "test", "webmail", "www",
    }
)  # fmt: skip
# Prefixes that clash with IDN labels (xn--) or PostgreSQL's own schemas (pg_).
RESERVED_PREFIXES = ("xn--", "pg-")

# A host name: at most 253 characters (without the root's trailing dot), in labels of 1 to 63
# lowercase letters, digits and inner hyphens (IDNs in their xn-- form, as TLS clients send them).
HOSTNAME_MAX_LENGTH = 253
_HOSTNAME_LABEL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")

RUC_LENGTH = 11
RUC_PREFIXES = ("10", "15", "17", "20")
_RUC_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def validate_subdomain(value: str) -> str:
    """Check that ``value`` is a free-to-use DNS label; return it. Does not check it is taken."""
    if not isinstance(value, str) or not value:
        raise ValidationError(_("The subdomain is required."), code=PlatformError.INVALID_SUBDOMAIN)
    if not SUBDOMAIN_MIN_LENGTH <= len(value) <= SUBDOMAIN_MAX_LENGTH:
        raise ValidationError(
            _("The subdomain must have between %(min)d and %(max)d characters.")
            % {"min": SUBDOMAIN_MIN_LENGTH, "max": SUBDOMAIN_MAX_LENGTH},
            code=PlatformError.INVALID_SUBDOMAIN,
        )
    if value != value.lower():
        raise ValidationError(
            _("The subdomain must be lowercase."), code=PlatformError.INVALID_SUBDOMAIN
        )
    if not _SUBDOMAIN_RE.fullmatch(value):
        raise ValidationError(
            _(
                "The subdomain may only contain letters a-z, digits and hyphens, "
                "and cannot start or end with a hyphen."
            ),
            code=PlatformError.INVALID_SUBDOMAIN,
        )
    if value in RESERVED_SUBDOMAINS or value.startswith(RESERVED_PREFIXES):
        raise ValidationError(
            _("The subdomain “%(value)s” is reserved.") % {"value": value},
            code=PlatformError.SUBDOMAIN_RESERVED,
        )
    return value


def hostname_normalise(value: str) -> str | None:
    """``value`` as a host name in its one stored form (lowercase, no trailing dot), or None
    when it is not one. Nothing else is changed: surrounding spaces, a port or a path make it
    no host name."""
    if not value.isascii():  # before lower(): "\u212a" (Kelvin) would become an ASCII "k"
        return None
    name = value.lower()
    if name.endswith("."):
        name = name[:-1]
    if not name or len(name) > HOSTNAME_MAX_LENGTH:
        return None
    if not all(_HOSTNAME_LABEL_RE.fullmatch(label) for label in name.split(".")):
        return None
    return name


def ruc_check_digit(first_ten: str) -> int:
    """The SUNAT modulo-11 check digit of the first ten digits of a RUC."""
    total = sum(int(digit) * weight for digit, weight in zip(first_ten, _RUC_WEIGHTS, strict=True))
    return (11 - total % 11) % 10


def validate_ruc(value: str) -> str:
    """Check a Peruvian RUC: 11 digits, a known prefix and a valid check digit; return it."""
    if (
        not isinstance(value, str)
        or len(value) != RUC_LENGTH
        or not value.isascii()
        or not value.isdigit()
    ):
        raise ValidationError(
            _("A RUC has exactly 11 digits."), code=PlatformError.RUC_INVALID_FORMAT
        )
    if not value.startswith(RUC_PREFIXES):
        raise ValidationError(
            _("A RUC starts with 10, 15, 17 or 20."), code=PlatformError.RUC_INVALID_PREFIX
        )
    expected = ruc_check_digit(value[:10])
    if int(value[-1]) != expected:
        # A mistyped last digit is the commonest error: say which digit the first ten need.
        raise ValidationError(
            _(
                "The RUC check digit is not valid: after %(first_ten)s the check digit "
                "should be %(digit)d (%(ruc)s)."
            )
            % {"first_ten": value[:10], "digit": expected, "ruc": f"{value[:10]}{expected}"},
            code=PlatformError.RUC_INVALID_CHECK_DIGIT,
        )
    return value


def validate_timezone(value: str) -> str:
    """Check that ``value`` is an IANA time zone name such as ``America/Lima``."""
    if not isinstance(value, str) or value not in _timezones():
        raise ValidationError(
            _("“%(value)s” is not an IANA time zone.") % {"value": value},
            code=PlatformError.INVALID_TIMEZONE,
        )
    return value


@functools.cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())
