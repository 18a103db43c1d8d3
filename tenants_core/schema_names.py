"""Naming a new clinic's schema and domain after its subdomain, and claiming them: why a new
clinic (provisioned or restored) cannot take a subdomain whose name or schema is in use."""

from __future__ import annotations

import base64
import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django_tenants.utils import schema_exists

from tenants_core.errors import PlatformError
from tenants_core.models import Clinic, Domain

SCHEMA_PREFIX = "clinic_"
# Names of long subdomains start with "clinic__": a plain name never has "_" right after the
# prefix, since a subdomain cannot start with "-".
_HASHED_PREFIX = SCHEMA_PREFIX + "_"
_DIGEST_CHARACTERS = 26  # base32: 130 bits of the subdomain's SHA-256
_MAX_IDENTIFIER = 63  # PostgreSQL truncates identifiers longer than this


def schema_name_for(subdomain: str) -> str:
    """The PostgreSQL schema name for a new clinic at a validated ``subdomain``; one-to-one.

    - Plain: ``clinic_`` + the subdomain with ``-`` as ``_``, when that fits in 63 characters
      (subdomains of up to 56). Subdomains have no ``_``, so distinct subdomains get distinct
      names, and none of these has ``_`` right after the prefix.
    - Hashed (57 to 63 characters): ``clinic__`` + the first 28 characters + ``_`` + 26 base32
      characters (130 bits) of the subdomain's SHA-256. The double underscore keeps them apart
      from every plain name; two of them meet only if two SHA-256 digests share 130 bits.

    Existing clinics keep the name stored on them: the derivation before this one cut long
    names down into the plain space, so a new clinic's name may be one already in use, which
    provisioning refuses with ``SCHEMA_NAME_TAKEN`` (as it does an orphan schema's).
    """
    plain = subdomain.replace("-", "_")
    if len(SCHEMA_PREFIX) + len(plain) <= _MAX_IDENTIFIER:
        return SCHEMA_PREFIX + plain
    digest = base64.b32encode(hashlib.sha256(subdomain.encode()).digest()).decode().lower()
    head = plain[: _MAX_IDENTIFIER - len(_HASHED_PREFIX) - 1 - _DIGEST_CHARACTERS]
    return f"{_HASHED_PREFIX}{head}_{digest[:_DIGEST_CHARACTERS]}"


def schema_name_in_use(schema_name: str) -> bool:
    """Whether a clinic has this schema name, or a schema of that name exists at all (an
    orphan, the template, a restore's staging schema); compared ignoring case, as
    django-tenants does."""
    return Clinic.objects.filter(schema_name__iexact=schema_name).exists() or schema_exists(
        schema_name, case_sensitive=False
    )


def clinic_claim_refusal(
    subdomain: str, schema_name: str, field: str = "subdomain"
) -> ValidationError | None:
    """Why a new clinic cannot take ``subdomain`` with ``schema_name`` (``SUBDOMAIN_TAKEN``,
    ``SCHEMA_NAME_TAKEN``), or None. Asked before writing, and again after a write lost a
    race, to name what the other writer took."""
    if (
        Clinic.objects.filter(subdomain=subdomain).exists()
        or Domain.objects.filter(domain=clinic_domain_for(subdomain)).exists()
    ):
        message = _("The subdomain “%(value)s” is already taken.") % {"value": subdomain}
        return ValidationError(
            {field: [ValidationError(message, code=PlatformError.SUBDOMAIN_TAKEN)]}
        )
    if schema_name_in_use(schema_name):
        message = _(
            "The subdomain “%(value)s” cannot be used: the database schema “%(schema)s” that it "
            "needs already exists (a clinic's, or an orphan that manage.py check_tenants "
            "reports). Choose another subdomain."
        ) % {"value": subdomain, "schema": schema_name}
        return ValidationError(
            {field: [ValidationError(message, code=PlatformError.SCHEMA_NAME_TAKEN)]}
        )
    return None


def clinic_domain_for(subdomain: str) -> str:
    return f"{subdomain}.{settings.BASE_DOMAIN}"
