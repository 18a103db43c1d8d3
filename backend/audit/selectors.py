"""Reading the audit trail."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet

from backend.audit.models import AuditEvent


def audit_event_list(
    *,
    actor: AbstractBaseUser,
    entity_type: str | None = None,
    actor_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    """Events of the current schema that ``actor`` may read (all of them), newest first;
    ``actor_id`` keeps the events of one staff user, whom the caller looked up among the
    clinic's staff (``staff_user_get``: one this clinic does not have is NOT_FOUND, not an
    empty trail; the audit app sits below accounts). Callers check the permission."""
    events = AuditEvent.objects.all()
    if entity_type:
        events = events.filter(entity_type=entity_type)
    if actor_id is not None:
        events = events.filter(actor_id=actor_id)
    if since is not None:
        events = events.filter(created_at__gte=since)
    if until is not None:
        events = events.filter(created_at__lt=until)
    return events.order_by("-created_at", "-id")
