"""Staff management: create users, change their role, deactivate them; a user's password."""

from __future__ import annotations

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from backend.accounts.auth import tokens_revoke_for
from backend.accounts.errors import StaffError
from backend.accounts.models import Role, User
from backend.audit.services import audit_record, diff
from backend.core.transactions import atomic_service
from tenants_core.limits import limit_reserve


def _email_taken() -> ValidationError:
    return ValidationError(
        {
            "email": ValidationError(
                _("A user with this email already exists."), code=StaffError.EMAIL_TAKEN
            )
        }
    )


def _validated(*, email: str, full_name: str, password: str) -> tuple[str, str]:
    errors: dict[str, list[ValidationError]] = {}
    email = (email or "").strip().lower()
    full_name = (full_name or "").strip()
    try:
        if len(email) > 254:
            raise ValidationError("too long")
        validate_email(email)
    except ValidationError:
        errors["email"] = [
            ValidationError(_("Enter a valid email address."), code=StaffError.INVALID_EMAIL)
        ]
    if not full_name or len(full_name) > 200:
        errors["full_name"] = [
            ValidationError(
                _("The full name is required (at most 200 characters)."),
                code=StaffError.INVALID_NAME,
            )
        ]
    try:
        password_validation.validate_password(password, User(email=email, full_name=full_name))
    except ValidationError as error:
        errors["password"] = [
            ValidationError(" ".join(error.messages), code=StaffError.INVALID_PASSWORD)
        ]
    if errors:
        raise ValidationError(errors)
    return email, full_name


@atomic_service
def staff_user_create(
    *, actor: User, email: str, full_name: str, role: Role, password: str
) -> User:
    """Create an active staff user in the current clinic. Counts against the plan's user
    limit (``PLAN_LIMIT_REACHED``), under the clinic's lock."""
    email, full_name = _validated(email=email, full_name=full_name, password=password)
    limit_reserve(resource="users")
    if User.objects.filter(email__iexact=email).exists():
        raise _email_taken()
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=email, password=password, full_name=full_name, role=role
            )
    except IntegrityError:
        raise _email_taken() from None
    audit_record(
        actor=actor,
        action="staff.create",
        entity=user,
        changes={"email": email, "full_name": full_name, "role": str(role)},
    )
    return user


def _lock_active_admins() -> list[int]:
    """Lock every active admin row, so that two admins demoting each other at once cannot
    leave the clinic without one."""
    return list(
        User.objects.select_for_update()
        .filter(role=Role.ADMIN, is_active=True)
        .order_by("pk")  # the same order in every transaction: no deadlock between two
        .values_list("pk", flat=True)
    )


def _refuse_if_last_admin(user: User, admins: list[int]) -> None:
    if user.pk in admins and len(admins) == 1:
        raise ValidationError(
            _("%(email)s is the clinic's last active admin. Make another user admin first.")
            % {"email": user.email},
            code=StaffError.LAST_ADMIN,
        )


@transaction.atomic
def staff_role_change(*, actor: User, user: User, role: Role) -> User:
    """Give ``user`` another role. The last active admin cannot be demoted."""
    admins = _lock_active_admins()
    user = User.objects.select_for_update().get(pk=user.pk)
    before = {"role": user.role}
    if user.role != role:
        if role != Role.ADMIN:
            _refuse_if_last_admin(user, admins)
        user.role = role
        user.save(update_fields=["role"])
    audit_record(  # a role given again is audited too, with no change
        actor=actor,
        action="staff.change_role",
        entity=user,
        changes=diff(before, {"role": str(role)}),
    )
    return user


@transaction.atomic
def staff_user_deactivate(*, actor: User, user: User) -> User:
    """Deactivate ``user`` and revoke their tokens. The last active admin cannot go."""
    admins = _lock_active_admins()
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.is_active:
        raise ValidationError(_("This user is already inactive."), code=StaffError.ALREADY_INACTIVE)
    _refuse_if_last_admin(user, admins)
    user.is_active = False
    user.save(update_fields=["is_active"])
    revoked = tokens_revoke_for(user)
    audit_record(
        actor=actor,
        action="staff.deactivate",
        entity=user,
        changes={"is_active": {"from": True, "to": False}, "tokens_revoked": revoked},
    )
    return user


@transaction.atomic
def user_password_change(*, actor: User, user: User, password: str, channel: str) -> User:
    """Set ``user``'s password (Django's validators decide) and revoke every API token they
    hold: whoever had one of them must sign in again with the new password. Audited with the
    channel it came through and how many tokens went."""
    user = User.objects.select_for_update().get(pk=user.pk)
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise ValidationError(
            {
                "password": [
                    ValidationError(" ".join(error.messages), code=StaffError.INVALID_PASSWORD)
                ]
            }
        ) from None
    user.set_password(password)
    user.save(update_fields=["password"])
    revoked = tokens_revoke_for(user)
    audit_record(
        actor=actor,
        action="auth.password_change",
        entity=user,
        changes={"channel": channel, "tokens_revoked": revoked},
    )
    return user


@atomic_service
def platform_operator_create(*, email: str, full_name: str, password: str) -> User:
    """A platform operator: a superuser of the public schema, who signs in on the platform's
    domain (``BASE_DOMAIN``) and uses the operators' mutations and the console. Registers
    the current ``BASE_DOMAIN`` for the platform when it is missing (the first migration
    registered the one set then). Made from the command line (``manage.py create_operator``),
    so the trail records no actor."""
    from django_tenants.utils import schema_context

    from tenants_core.services import public_tenant_ensure

    email, full_name = _validated(email=email, full_name=full_name, password=password)
    public_tenant_ensure()
    with schema_context("public"):
        if User.objects.filter(email__iexact=email).exists():
            raise _email_taken()
        try:
            with transaction.atomic():
                user = User.objects.create_superuser(
                    email=email, password=password, full_name=full_name
                )
        except IntegrityError:
            raise _email_taken() from None
        audit_record(
            actor=None,
            actor_email="manage.py create_operator",
            action="platform.operator_create",
            entity=user,
            changes={"email": email, "full_name": full_name},
        )
    return user
