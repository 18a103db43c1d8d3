"""Writes on the platform (public schema): provisioning clinics and the public tenant."""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context, tenant_context

from backend.accounts.models import Role
from tenants_core.errors import PlatformError
from tenants_core.models import Clinic, ClinicStatus, Domain, Plan, PlanCode
from tenants_core.validators import validate_ruc, validate_subdomain, validate_timezone

logger = logging.getLogger(__name__)

SCHEMA_PREFIX = "clinic_"
_MAX_IDENTIFIER = 63  # PostgreSQL truncates identifiers longer than this


def schema_name_for(subdomain: str) -> str:
    """Derive a safe PostgreSQL schema name from a validated subdomain.

    The prefix keeps names clear of ``public``, ``pg_*`` and leading digits; ``-`` becomes
    ``_`` (subdomains have no ``_``, so the mapping is one-to-one); long names keep a hash.
    """
    name = SCHEMA_PREFIX + subdomain.replace("-", "_")
    if len(name) > _MAX_IDENTIFIER:
        digest = hashlib.sha256(subdomain.encode()).hexdigest()[:8]
        name = f"{name[: _MAX_IDENTIFIER - 9]}_{digest}"
    return name


def clinic_domain_for(subdomain: str) -> str:
    return f"{subdomain}.{settings.BASE_DOMAIN}"


def _collect(errors: dict[str, list[ValidationError]], field: str, check, value):  # type: ignore[no-untyped-def]
    try:
        return check(value)
    except ValidationError as error:
        errors.setdefault(field, []).append(error)
        return value


def _validate_name(value: str) -> str:
    value = (value or "").strip()
    if not value or len(value) > 200:
        raise ValidationError(
            _("The clinic name is required (at most 200 characters)."),
            code=PlatformError.INVALID_NAME,
        )
    return value


def _validate_email(value: str) -> str:
    value = (value or "").strip().lower()
    try:
        validate_email(value)
    except ValidationError:
        raise ValidationError(
            _("“%(value)s” is not a valid email address.") % {"value": value},
            code=PlatformError.INVALID_EMAIL,
        ) from None
    return value


def _get_plan(code: str) -> Plan:
    try:
        return Plan.objects.get(code=(code or "").lower())
    except Plan.DoesNotExist:
        raise ValidationError(
            _("Unknown plan “%(code)s”. Plans: %(plans)s.")
            % {"code": code, "plans": ", ".join(PlanCode.values)},
            code=PlatformError.PLAN_NOT_FOUND,
        ) from None


@transaction.atomic
def clinic_provision(
    *,
    subdomain: str,
    name: str,
    legal_id: str,
    email: str,
    plan: str = PlanCode.BASIC,
    admin_email: str | None = None,
    admin_password: str,
    admin_full_name: str = "",
    timezone: str = settings.DEFAULT_CLINIC_TIMEZONE,
) -> Clinic:
    """Create a clinic: its schema with every tenant migration, its primary domain
    ``<subdomain>.<BASE_DOMAIN>`` and its first ADMIN user (``admin_email``, by default the
    clinic's email).

    All input is validated before anything is written, and every error is reported at once,
    keyed by field. The whole provisioning is one transaction: PostgreSQL DDL is
    transactional, so a failure at any step leaves no schema, Clinic or Domain behind.
    """
    errors: dict[str, list[ValidationError]] = {}
    subdomain = _collect(errors, "subdomain", validate_subdomain, subdomain)
    name = _collect(errors, "name", _validate_name, name)
    legal_id = _collect(errors, "legal_id", validate_ruc, legal_id)
    email = _collect(errors, "email", _validate_email, email)
    admin_email = _collect(errors, "admin_email", _validate_email, admin_email or email)
    timezone = _collect(errors, "timezone", validate_timezone, timezone)
    plan_obj = _collect(errors, "plan", _get_plan, plan)
    user_model = get_user_model()
    try:
        password_validation.validate_password(
            admin_password, user_model(email=admin_email, full_name=admin_full_name)
        )
    except ValidationError as error:
        errors.setdefault("admin_password", []).append(
            ValidationError(" ".join(error.messages), code=PlatformError.INVALID_PASSWORD)
        )
    if "subdomain" not in errors and (
        Clinic.objects.filter(subdomain=subdomain).exists()
        or Domain.objects.filter(domain=clinic_domain_for(subdomain)).exists()
    ):
        errors["subdomain"] = [
            ValidationError(
                _("The subdomain “%(value)s” is already taken.") % {"value": subdomain},
                code=PlatformError.SUBDOMAIN_TAKEN,
            )
        ]
    if errors:
        raise ValidationError(errors)

    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        clinic = Clinic(
            schema_name=schema_name_for(subdomain),
            subdomain=subdomain,
            name=name,
            legal_id=legal_id,
            email=email,
            plan=plan_obj,
            timezone=timezone,
            status=ClinicStatus.ACTIVE,
        )
        try:
            with transaction.atomic():
                clinic.save(verbosity=0)  # CREATE SCHEMA + tenant migrations, same transaction
                Domain.objects.create(
                    domain=clinic_domain_for(subdomain), tenant=clinic, is_primary=True
                )
        except (IntegrityError, ValidationError) as error:
            # A concurrent sign-up took the subdomain between our check and our insert.
            logger.info("clinic_provision lost a race for %s: %s", subdomain, error)
            raise ValidationError(
                {
                    "subdomain": [
                        ValidationError(
                            _("The subdomain “%(value)s” is already taken.") % {"value": subdomain},
                            code=PlatformError.SUBDOMAIN_TAKEN,
                        )
                    ]
                }
            ) from error

    with tenant_context(clinic):
        _clinic_admin_create(email=admin_email, password=admin_password, full_name=admin_full_name)
    return clinic


def _clinic_admin_create(*, email: str, password: str, full_name: str):  # type: ignore[no-untyped-def]
    """The clinic's first ADMIN; runs inside the clinic's schema."""
    return get_user_model().objects.create_user(
        email=email, password=password, full_name=full_name, role=Role.ADMIN
    )


@transaction.atomic
def public_tenant_ensure(*, domain: str | None = None) -> Clinic:
    """Create the platform's own tenant (schema ``public``) and its domain if missing."""
    domain = (domain or settings.BASE_DOMAIN).lower()
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        public = Clinic.objects.filter(schema_name=settings.PUBLIC_SCHEMA_NAME).first()
        if public is None:
            public = Clinic(
                schema_name=settings.PUBLIC_SCHEMA_NAME,
                subdomain="",
                name="Platform",
                plan=Plan.objects.get(code=PlanCode.ENTERPRISE),
            )
            public.save(verbosity=0)
        Domain.objects.get_or_create(
            domain=domain, defaults={"tenant": public, "is_primary": not public.domains.exists()}
        )
    return public
