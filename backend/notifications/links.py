"""Signed confirm/cancel links for patients: ``<clinic's URL>/c/<token>``.

The token names the clinic's schema, the appointment and the notification, signed with
``SECRET_KEY`` (``django.core.signing``, its own salt). Another clinic's domain, a changed
character or an expired link is refused; what the page may still do is decided by the
appointment's state when it is opened.

The page's forms carry a second signed value (``form_key``), bound to the token and short-lived:
a form is only good for the link it was served for, for ``FORM_MAX_AGE_SECONDS``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing

from backend.core.db_backend.connection import tenant_connection

SALT = "notifications.link"
MAX_AGE_SECONDS = 60 * 60 * 24 * 45
FORM_SALT = "notifications.link.form"
FORM_MAX_AGE_SECONDS = 60 * 60 * 2


class LinkInvalid(Exception):
    """Forged, changed, or another clinic's: nothing about it is revealed."""


class LinkExpired(LinkInvalid):
    """Genuine and this clinic's, but older than ``MAX_AGE_SECONDS``."""


@dataclass(frozen=True)
class LinkTarget:
    schema_name: str
    appointment_id: int
    notification_id: int | None


def clinic_base_url(domain: str) -> str:
    """The clinic's own URL: PUBLIC_BASE_URL's scheme and port, the clinic's host."""
    public = urlsplit(settings.PUBLIC_BASE_URL)
    port = f":{public.port}" if public.port else ""
    return f"{public.scheme}://{domain}{port}"


def link_token(*, appointment_id: int, notification_id: int | None = None) -> str:
    payload = {"s": tenant_connection().schema_name, "a": appointment_id, "n": notification_id}
    return signing.dumps(payload, salt=SALT, compress=True)


def link_url(*, domain: str, appointment_id: int, notification_id: int | None = None) -> str:
    token = link_token(appointment_id=appointment_id, notification_id=notification_id)
    return f"{clinic_base_url(domain)}/c/{token}"


def link_resolve(token: str) -> LinkTarget:
    """The target of a genuine, unexpired token for the current clinic; ``LinkExpired`` for
    one of this clinic's that is too old, ``LinkInvalid`` for anything else (another clinic's
    expired token is just invalid: its age says nothing to this clinic)."""
    schema_name = tenant_connection().schema_name
    try:
        payload = signing.loads(token, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.SignatureExpired:
        expired = _payload_ignoring_age(token)
        if _target(expired, schema_name) is not None:
            raise LinkExpired from None
        raise LinkInvalid from None
    except signing.BadSignature:
        raise LinkInvalid from None
    target = _target(payload, schema_name)
    if target is None:
        raise LinkInvalid
    return target


def link_verify(token: str) -> LinkTarget | None:
    """The target of a genuine, unexpired token for the current clinic; None otherwise."""
    try:
        return link_resolve(token)
    except LinkInvalid:
        return None


def _payload_ignoring_age(token: str) -> object:
    try:
        return signing.loads(token, salt=SALT)
    except signing.BadSignature:  # pragma: no cover - its signature was just checked
        return None


def _target(payload: object, schema_name: str) -> LinkTarget | None:
    if not isinstance(payload, dict) or payload.get("s") != schema_name:
        return None
    appointment_id, notification_id = payload.get("a"), payload.get("n")
    if not isinstance(appointment_id, int) or isinstance(appointment_id, bool):
        return None
    if notification_id is not None and (
        not isinstance(notification_id, int) or isinstance(notification_id, bool)
    ):
        return None
    return LinkTarget(schema_name, appointment_id, notification_id)


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def form_key(token: str) -> str:
    """The value the page's forms carry: signed, timestamped, bound to ``token``."""
    return signing.TimestampSigner(salt=FORM_SALT).sign(_token_digest(token))


def form_key_valid(token: str, key: str) -> bool:
    try:
        value = signing.TimestampSigner(salt=FORM_SALT).unsign(key, max_age=FORM_MAX_AGE_SECONDS)
    except signing.BadSignature:
        return False
    return value == _token_digest(token)
