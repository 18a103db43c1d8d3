"""Signing in and out: opaque bearer tokens bound to the clinic that issued them, and login
throttling per account and client IP."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.errors import AuthError
from backend.accounts.models import AuthToken, LoginFailure, User
from backend.audit.context import current_origin
from backend.audit.services import audit_record
from backend.core.db_backend.connection import tenant_connection
from backend.core.locks import transaction_lock

TOKEN_PREFIX = "dk_"


def _hash(raw_token: str, schema_name: str) -> str:
    # The schema is part of what is hashed: a token issued by one clinic has no valid hash
    # in any other schema, even if a row were ever copied across.
    return hashlib.sha256(f"{schema_name}:{raw_token}".encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    raw: str
    token: AuthToken


def _throttled(email: str, ip: str | None) -> bool:
    """Too many recent failures for this account from this IP, or from this IP for any
    account (password spraying)."""
    since = timezone.now() - timedelta(seconds=settings.LOGIN_THROTTLE_WINDOW_SECONDS)
    recent = LoginFailure.objects.filter(ip=ip, created_at__gte=since)
    return (
        recent.filter(email=email).count() >= settings.LOGIN_THROTTLE_MAX_FAILURES
        or recent.count() >= settings.LOGIN_THROTTLE_MAX_FAILURES_PER_IP
    )


def _lock_login(email: str, ip: str | None) -> None:
    """Serialize attempts on one (account, IP) so that parallel guesses cannot overshoot."""
    transaction_lock(f"login:{email}:{ip}")


def auth_credentials_check(*, email: str, password: str) -> User:
    """The active user of the current schema with these credentials, throttled per account
    and client IP: the one check behind the API's ``login`` and the platform console's.

    Refused with ``LOGIN_THROTTLED`` after too many recent failures for this account and IP,
    and with ``INVALID_CREDENTIALS`` otherwise (unknown email, wrong password or inactive
    user alike, so that accounts cannot be probed). Failures are recorded and audited even
    though the sign-in is refused; a success clears the account's failures from that IP.
    """
    email = (email or "").strip().lower()[:254]
    origin = current_origin()
    with transaction.atomic():
        _lock_login(email, origin.ip)
        if _throttled(email, origin.ip):
            audit_record(
                actor=None,
                actor_email=email,
                action="auth.login_throttled",
                entity_type="accounts.user",
            )
            refusal = ValidationError(
                _("Too many failed attempts. Try again in %(minutes)d minutes.")
                % {"minutes": settings.LOGIN_THROTTLE_WINDOW_SECONDS // 60},
                code=AuthError.LOGIN_THROTTLED,
            )
        else:
            user = User.objects.filter(email=email).first()
            if user is None or not user.is_active or not user.has_usable_password():
                # Same cost as a real check: the answer time tells nothing about the account.
                make_password(password)
            if user is not None and user.is_active and user.check_password(password):
                LoginFailure.objects.filter(email=email, ip=origin.ip).delete()
                return user
            LoginFailure.objects.create(email=email, ip=origin.ip)
            audit_record(
                actor=None,
                actor_email=email,
                action="auth.login_failed",
                entity_type="accounts.user",
                entity_id=user.pk if user else None,
            )
            refusal = ValidationError(
                _("The email or the password is not correct."),
                code=AuthError.INVALID_CREDENTIALS,
            )
    # Raised after the commit, so that the failure and its audit event are kept.
    raise refusal


def auth_login(*, email: str, password: str) -> IssuedToken:
    """Check the credentials in the current schema (``auth_credentials_check``: throttled,
    failures recorded) and issue a token."""
    # Outside the block below: a refusal must not roll back the failure it recorded.
    user = auth_credentials_check(email=email, password=password)
    with transaction.atomic():
        issued = _token_issue(user)
        audit_record(actor=user, action="auth.login", entity=user)
    return issued


def _token_issue(user: User) -> IssuedToken:
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    origin = current_origin()
    token = AuthToken.objects.create(
        key_hash=_hash(raw, tenant_connection().schema_name),
        user=user,
        expires_at=timezone.now() + timedelta(seconds=settings.AUTH_TOKEN_TTL_SECONDS),
        ip=origin.ip,
        user_agent=origin.user_agent,
    )
    return IssuedToken(raw=raw, token=token)


def token_authenticate(raw_token: str) -> AuthToken | None:
    """The live token in the current schema, with its active user; None otherwise."""
    if not raw_token or not raw_token.startswith(TOKEN_PREFIX) or len(raw_token) > 100:
        return None
    token = (
        AuthToken.objects.select_related("user")
        .filter(
            key_hash=_hash(raw_token, tenant_connection().schema_name),
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    return token


def token_live(user_id: Any, token_id: Any) -> bool:
    """Whether the token ``token_id`` of user ``user_id`` is live in the current schema: not
    revoked (signed out), not expired, its user active. None (no token): never."""
    if token_id is None or user_id is None:
        return False
    return AuthToken.objects.filter(
        pk=token_id,
        user_id=user_id,
        user__is_active=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).exists()


@transaction.atomic
def auth_logout(*, token: AuthToken) -> AuthToken:
    """Revoke the token the request was made with."""
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(actor=token.user, action="auth.logout", entity=token.user)
    return token


def tokens_revoke_for(user: User) -> int:
    """Revoke every live token of ``user`` (on deactivation)."""
    return AuthToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
