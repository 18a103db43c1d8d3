"""Writes on the platform (public schema): provisioning clinics and the public tenant."""

from __future__ import annotations

import logging
import re
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, ProgrammingError, transaction
from django.utils.timezone import now as timezone_now
from django.utils.translation import gettext as _
from django_tenants.models import TenantMixin
from django_tenants.signals import post_schema_sync
from django_tenants.utils import schema_context, tenant_context

from backend.core.changes import diff
from tenants_core import clinic_hooks, limits, routing
from tenants_core.clinic_hooks import NewClinic
from tenants_core.errors import PlatformError
from tenants_core.models import (
    Clinic,
    ClinicStatus,
    Domain,
    MessagingChannel,
    MessagingSender,
    Plan,
    PlanCode,
)
from tenants_core.schema_names import clinic_claim_refusal, clinic_domain_for, schema_name_for
from tenants_core.validators import (
    hostname_normalise,
    validate_ruc,
    validate_subdomain,
    validate_timezone,
)

logger = logging.getLogger(__name__)

_password_hashing = ThreadPoolExecutor(max_workers=2, thread_name_prefix="password-hash")


def _collect(errors: dict[str, list[ValidationError]], field: str, check, value):
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
        if len(value) > 254:
            raise ValidationError("too long")
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


@dataclass
class _ClinicRequest:
    """A sign-up: as given, then as ``_clinic_request_validate`` normalised it."""

    subdomain: str
    name: str
    legal_id: str
    email: str
    admin_email: str
    admin_full_name: str
    timezone: str
    plan_code: str
    plan: Plan | None = None  # once validated
    schema_name: str = ""  # once validated


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
    actor: Any = None,
) -> Clinic:
    """Create a clinic: its schema with every tenant migration, its primary domain
    ``<subdomain>.<BASE_DOMAIN>`` and, through the clinic apps' provisioning steps
    (``tenants_core.clinic_hooks``), its first ADMIN user (``admin_email``, by default the
    clinic's email).

    All input is validated before anything is written, and every error is reported at once,
    keyed by field. The whole provisioning is one transaction: PostgreSQL DDL is
    transactional, so a failure at any step leaves no schema, Clinic or Domain behind.
    """
    request = _ClinicRequest(
        subdomain=subdomain,
        name=name,
        legal_id=legal_id,
        email=email,
        admin_email=admin_email or email,
        admin_full_name=admin_full_name,
        timezone=timezone,
        plan_code=plan,
    )
    _clinic_request_validate(request, admin_password)
    # Hashing the admin's password (Argon2: deliberately slow) overlaps the schema copy;
    # argon2-cffi releases the GIL while it works.
    admin_password_hash = _password_hashing.submit(make_password, admin_password)
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        clinic = _clinic_schema_create(request)
        _clinic_create_audit(request, clinic, actor)
    with tenant_context(clinic):
        _clinic_schema_populate(
            NewClinic(
                clinic=clinic,
                admin_email=request.admin_email,
                admin_full_name=request.admin_full_name,
                admin_password_hash=admin_password_hash.result(),
                actor=actor,
            )
        )
    return clinic


def _clinic_request_validate(request: _ClinicRequest, admin_password: str) -> None:
    """Normalise every field of ``request`` in place, collecting every error keyed by field;
    then check that the subdomain and its schema name are free. Raises them all at once."""
    errors: dict[str, list[ValidationError]] = {}
    request.subdomain = _collect(errors, "subdomain", validate_subdomain, request.subdomain)
    request.name = _collect(errors, "name", _validate_name, request.name)
    request.legal_id = _collect(errors, "legal_id", validate_ruc, request.legal_id)
    request.email = _collect(errors, "email", _validate_email, request.email)
    # An admin email left out is the clinic's (normalising it twice changes nothing).
    request.admin_email = _collect(errors, "admin_email", _validate_email, request.admin_email)
    request.timezone = _collect(errors, "timezone", validate_timezone, request.timezone)
    request.plan = _collect(errors, "plan", _get_plan, request.plan_code)
    _admin_password_check(errors, admin_password, request.admin_email, request.admin_full_name)
    if "subdomain" not in errors:
        request.schema_name = schema_name_for(request.subdomain)
        refusal = clinic_claim_refusal(request.subdomain, request.schema_name)
        if refusal is not None:
            errors.update(refusal.error_dict)
    if errors:
        raise ValidationError(errors)


def _admin_password_check(
    errors: dict[str, list[ValidationError]], password: str, email: str, full_name: str
) -> None:
    """Django's password validators, against a user like the admin to be (so that "too
    similar to the email" works)."""
    try:
        password_validation.validate_password(
            password, get_user_model()(email=email, full_name=full_name)
        )
    except ValidationError as error:
        errors.setdefault("admin_password", []).append(
            ValidationError(" ".join(error.messages), code=PlatformError.INVALID_PASSWORD)
        )


def _clinic_schema_create(request: _ClinicRequest) -> Clinic:
    """The Clinic row, its schema (every tenant migration) and its primary domain, in the
    public schema. A concurrent sign-up or restore that took the subdomain or the schema
    name first turns into the same field errors as the validation's."""
    clinic = Clinic(
        schema_name=request.schema_name,
        subdomain=request.subdomain,
        name=request.name,
        legal_id=request.legal_id,
        email=request.email,
        plan=request.plan,
        timezone=request.timezone,
        status=ClinicStatus.ACTIVE,
    )
    # The schema is created below, never found: django-tenants' own save() would skip
    # CREATE SCHEMA when one of that name exists, and the clinic would adopt an orphan.
    clinic.auto_create_schema = False
    try:
        with transaction.atomic():
            clinic.save(verbosity=0)
            clinic.create_schema(check_if_exists=False, verbosity=0)  # same transaction
            Domain.objects.create(
                domain=clinic_domain_for(request.subdomain), tenant=clinic, is_primary=True
            )
        routing.invalidate()
    except (IntegrityError, ProgrammingError, ValidationError) as error:
        # A concurrent sign-up or restore took the subdomain or the schema name between
        # our check and our writes (unique keys, DUPLICATE_SCHEMA, django-tenants' check).
        refusal = clinic_claim_refusal(request.subdomain, request.schema_name)
        if refusal is None:
            raise
        logger.info("clinic_provision lost a race for %s: %s", request.subdomain, error)
        raise refusal from error
    post_schema_sync.send(sender=TenantMixin, tenant=clinic.serializable_fields())
    return clinic


def _clinic_create_audit(request: _ClinicRequest, clinic: Clinic, actor: Any) -> None:
    """``clinic.create`` on the platform's trail (the public schema)."""
    clinic_hooks.event_record(
        actor=actor,
        actor_email="" if actor else "system",
        action="clinic.create",
        entity=clinic,
        changes={
            "subdomain": request.subdomain,
            "name": request.name,
            "legal_id": request.legal_id,
            "plan": request.plan.code,  # type: ignore[union-attr]  # validated
            "admin_email": request.admin_email,
        },
    )


def _clinic_schema_populate(new_clinic: NewClinic) -> None:
    """Inside the new clinic's schema, the clinic apps' provisioning steps, in registration
    order (``backend.accounts``: the first ADMIN and its ``staff.create`` event)."""
    for step in clinic_hooks.provisioning_steps():
        step(new_clinic)


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
    routing.invalidate()
    return public


@transaction.atomic
def clinic_plan_change(*, actor: Any, clinic: Clinic, plan: str) -> Clinic:
    """Move the clinic to another plan. A plan below the clinic's current usage is refused
    with ``PLAN_BELOW_USAGE``, saying what must go first. Holds the clinic's lock, so no
    creation can slip in between the check and the change."""
    new_plan = _get_plan(plan)
    clinic = limits.clinic_lock(clinic)
    old_code = clinic.plan.code
    usage = limits.usage_by_schema([clinic.schema_name])[clinic.schema_name]
    clinic.plan = new_plan
    problems = []
    for resource in limits.resources():
        limit = getattr(clinic, resource.limit_attribute)
        used = usage[resource.name]
        if used > limit:
            problems.append(
                _("remove %(excess)d %(what)s (%(used)d now, the %(plan)s plan allows %(limit)d)")
                % {
                    "excess": used - limit,
                    "what": resource.label,
                    "used": used,
                    "plan": new_plan.get_code_display(),
                    "limit": limit,
                }
            )
    if problems:
        raise ValidationError(
            {
                "plan": ValidationError(
                    _("The clinic uses more than the new plan allows. First %(what)s.")
                    % {"what": "; ".join(problems)},
                    code=PlatformError.PLAN_BELOW_USAGE,
                )
            }
        )
    clinic.save(update_fields=["plan"])
    routing.invalidate()
    clinic_hooks.event_record(
        actor=actor,
        action="clinic.change_plan",
        entity=clinic,
        changes=diff({"plan": old_code}, {"plan": new_plan.code}),
    )
    return clinic


@transaction.atomic
def clinic_suspend(*, actor: Any, clinic: Clinic, reason: str) -> Clinic:
    """Suspend the clinic: its domains answer ``CLINIC_SUSPENDED`` and its tokens stop
    working. Nothing of its data is touched."""
    reason = (reason or "").strip()
    if not reason or len(reason) > 500:
        raise ValidationError(
            {
                "reason": ValidationError(
                    _("Give a reason (at most 500 characters)."), code=PlatformError.INVALID_REASON
                )
            }
        )
    clinic = limits.clinic_lock(clinic)
    if clinic.is_suspended:
        raise ValidationError(
            _("The clinic is already suspended."), code=PlatformError.ALREADY_SUSPENDED
        )
    clinic.status = ClinicStatus.SUSPENDED
    clinic.suspension_reason = reason
    clinic.suspended_at = timezone_now()
    clinic.save(update_fields=["status", "suspension_reason", "suspended_at"])
    routing.invalidate()
    clinic_hooks.event_record(
        actor=actor,
        action="clinic.suspend",
        entity=clinic,
        changes={
            "status": {"from": ClinicStatus.ACTIVE, "to": ClinicStatus.SUSPENDED},
            "reason": reason,
        },
    )
    return clinic


@transaction.atomic
def clinic_reactivate(*, actor: Any, clinic: Clinic) -> Clinic:
    """Lift a suspension."""
    clinic = limits.clinic_lock(clinic)
    if not clinic.is_suspended:
        raise ValidationError(_("The clinic is not suspended."), code=PlatformError.NOT_SUSPENDED)
    clinic.status = ClinicStatus.ACTIVE
    clinic.suspension_reason = ""
    clinic.suspended_at = None
    clinic.save(update_fields=["status", "suspension_reason", "suspended_at"])
    routing.invalidate()
    clinic_hooks.event_record(
        actor=actor,
        action="clinic.reactivate",
        entity=clinic,
        changes={"status": {"from": ClinicStatus.SUSPENDED, "to": ClinicStatus.ACTIVE}},
    )
    return clinic


# Special-use names (RFC 6761, 2606, 6762, 8375; ICANN's .internal): no certificate
# authority signs them and no public DNS resolves them, so a clinic could never be reached
# there. Names under the platform's own BASE_DOMAIN are always allowed (development's is
# localhost).
_RESERVED_SUFFIXES = (
    "localhost", "local", "internal", "test", "invalid", "example", "onion", "arpa",
    "example.com", "example.net", "example.org",
)  # fmt: skip


def _domain_reserved(domain: str) -> bool:
    base = settings.BASE_DOMAIN
    if domain == base or domain.endswith(f".{base}"):
        return False
    if all(label.isdigit() for label in domain.split(".")):
        return True  # an IPv4 address
    return any(domain == suffix or domain.endswith(f".{suffix}") for suffix in _RESERVED_SUFFIXES)


def _validate_domain(domain: str) -> str:
    # The one host-name rule (the TLS ask reads names with it too), and at least two labels.
    given = (domain or "").strip()
    normalised = hostname_normalise(given)
    if normalised is None or "." not in normalised:
        raise ValidationError(
            {
                "domain": ValidationError(
                    _("“%(value)s” is not a valid host name.") % {"value": given.lower()},
                    code=PlatformError.INVALID_DOMAIN,
                )
            }
        )
    domain = normalised
    if _domain_reserved(domain):
        raise ValidationError(
            {
                "domain": ValidationError(
                    _(
                        "“%(value)s” cannot be a clinic's address: it is an IP address or a "
                        "name reserved for tests and private networks."
                    )
                    % {"value": domain},
                    code=PlatformError.DOMAIN_NOT_ALLOWED,
                )
            }
        )
    return domain


@transaction.atomic
def clinic_domain_add(*, actor: Any, clinic: Clinic, domain: str) -> Domain:
    """Route another host name to the clinic (it stays non-primary)."""
    domain = _validate_domain(domain)
    taken = ValidationError(
        {
            "domain": ValidationError(
                _("“%(value)s” is already in use.") % {"value": domain},
                code=PlatformError.DOMAIN_TAKEN,
            )
        }
    )
    if Domain.objects.filter(domain=domain).exists():
        raise taken
    try:
        with transaction.atomic():
            added = Domain.objects.create(domain=domain, tenant=clinic, is_primary=False)
        routing.invalidate()
    except IntegrityError:
        raise taken from None
    clinic_hooks.event_record(
        actor=actor, action="clinic.add_domain", entity=clinic, changes={"domain": domain}
    )
    return added


@transaction.atomic
def clinic_settings_update(*, actor: Any, clinic: Clinic, restrict_notes_to_author: bool) -> Clinic:
    """A clinic admin's own settings (today: who reads clinical notes)."""
    clinic = limits.clinic_lock(clinic)
    before = {"restrict_notes_to_author": clinic.restrict_notes_to_author}
    clinic.restrict_notes_to_author = restrict_notes_to_author
    clinic.save(update_fields=["restrict_notes_to_author"])
    routing.invalidate()
    clinic_hooks.event_record(
        actor=actor,
        action="clinic.update_settings",
        entity=clinic,
        changes=diff(before, {"restrict_notes_to_author": restrict_notes_to_author}),
    )
    return clinic


@transaction.atomic
def clinic_identity_validate(
    *, name: str | None = None, timezone: str | None = None
) -> dict[str, str]:
    """The trade name and time zone, cleaned (None: not given); a ValidationError naming every
    bad one otherwise."""
    changes: dict[str, str] = {}
    errors: dict[str, ValidationError] = {}
    if name is not None:
        printable = not any(
            unicodedata.category(char) in ("Cc", "Cs", "Cf") for char in name.strip()
        )
        name = " ".join(name.split())
        if not printable or not name or len(name) > 200:
            errors["name"] = ValidationError(
                _("Give the clinic's name on one line, at most 200 characters."),
                code=PlatformError.INVALID_NAME,
            )
        changes["name"] = name
    if timezone is not None:
        try:
            changes["timezone"] = validate_timezone(timezone)
        except ValidationError as error:
            errors["timezone"] = error
    if errors:
        raise ValidationError(errors)
    return changes


def clinic_identity_update(
    *, actor: Any, clinic: Clinic, name: str | None = None, timezone: str | None = None
) -> Clinic:
    """A clinic admin renames the clinic (its trade name) or changes its time zone; None
    leaves a field as it is. The RUC (``legal_id``) is never changed here."""
    changes = clinic_identity_validate(name=name, timezone=timezone)
    clinic = limits.clinic_lock(clinic)
    before = {field: getattr(clinic, field) for field in changes}
    for field, value in changes.items():
        setattr(clinic, field, value)
    if changes and before != changes:
        clinic.save(update_fields=list(changes))
        routing.invalidate()
        clinic_hooks.event_record(
            actor=actor, action="clinic.update_identity", entity=clinic,
            changes=diff(before, changes),
        )  # fmt: skip
    return clinic


_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_WHATSAPP_PHONE_NUMBER_ID = re.compile(r"^\d{5,64}$")


def _sender_invalid(field: str, message: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=PlatformError.INVALID_SENDER)})


def _sender_taken() -> ValidationError:
    return ValidationError(
        {
            "external_id": ValidationError(
                _("Another clinic already uses this sender."), code=PlatformError.SENDER_TAKEN
            )
        }
    )


@transaction.atomic
def clinic_messaging_sender_set(
    *, actor: Any, clinic: Clinic, channel: str, external_id: str, display_number: str = ""
) -> MessagingSender:
    """Give ``clinic`` its sender on ``channel`` (replacing the one it had): a WhatsApp
    phone-number id, or an SMS number in E.164. Webhooks naming it are routed to the clinic;
    one sender belongs to one clinic (``SENDER_TAKEN``)."""
    external_id, display_number = external_id.strip(), display_number.strip()
    if channel not in MessagingChannel.values:
        raise _sender_invalid("channel", _("WhatsApp or SMS."))
    pattern = _E164 if channel == MessagingChannel.SMS else _WHATSAPP_PHONE_NUMBER_ID
    if not pattern.match(external_id):
        raise _sender_invalid(
            "external_id",
            _("An SMS sender is a number in E.164 (+51987654321).")
            if channel == MessagingChannel.SMS
            else _("A WhatsApp sender is its phone number id: digits only."),
        )
    if display_number and not _E164.match(display_number):
        raise _sender_invalid("display_number", _("A number in E.164 (+51987654321)."))
    clinic = limits.clinic_lock(clinic)
    current = MessagingSender.objects.filter(clinic=clinic, channel=channel).first()
    before = {"external_id": current.external_id if current else None}
    taken = MessagingSender.objects.filter(channel=channel, external_id=external_id)
    if taken.exclude(clinic=clinic).exists():  # checked first: a refusal writes nothing
        raise _sender_taken()
    try:
        with transaction.atomic():
            sender, _created = MessagingSender.objects.update_or_create(
                clinic=clinic,
                channel=channel,
                defaults={"external_id": external_id, "display_number": display_number},
            )
    except IntegrityError:  # two operators at once
        raise _sender_taken() from None
    clinic_hooks.event_record(
        actor=actor,
        action="clinic.set_messaging_sender",
        entity=clinic,
        changes={"channel": channel, **diff(before, {"external_id": external_id})},
    )
    return sender


@transaction.atomic
def clinic_messaging_sender_remove(*, actor: Any, clinic: Clinic, channel: str) -> Clinic:
    """Take ``clinic``'s sender on ``channel`` away: its webhooks stop reaching the clinic."""
    clinic = limits.clinic_lock(clinic)
    deleted, _rows = MessagingSender.objects.filter(clinic=clinic, channel=channel).delete()
    if not deleted:
        raise ValidationError(
            {
                "channel": ValidationError(
                    _("The clinic has no sender on this channel."),
                    code=PlatformError.SENDER_NOT_FOUND,
                )
            }
        )
    clinic_hooks.event_record(
        actor=actor,
        action="clinic.remove_messaging_sender",
        entity=clinic,
        changes={"channel": channel},
    )
    return clinic
