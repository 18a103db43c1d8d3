"""Signed confirm/cancel links for patients: ``<clinic's URL>/c/<token>``.

The token names the clinic's schema, the appointment and the notification, signed with
``SECRET_KEY`` (``django.core.signing``, its own salt). Another clinic's domain, a changed
character or an expired link is refused; what the page may still do is decided by the
appointment's state when it is opened."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing

from backend.core.db_backend.connection import tenant_connection

SALT = "notifications.link"
MAX_AGE_SECONDS = 60 * 60 * 24 * 45


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


def link_verify(token: str) -> LinkTarget | None:
    """The target of a genuine, unexpired token for the current clinic; None otherwise."""
    try:
        payload = signing.loads(token, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or payload.get("s") != tenant_connection().schema_name:
        return None
    appointment_id, notification_id = payload.get("a"), payload.get("n")
    if not isinstance(appointment_id, int):
        return None
    if notification_id is not None and not isinstance(notification_id, int):
        return None
    return LinkTarget(tenant_connection().schema_name, appointment_id, notification_id)
