"""Recording audit events. Call ``audit_record`` inside the service's transaction: a write
that rolls back leaves no event, and a committed one always has its event."""

from __future__ import annotations

from typing import Any

from django.db import models

from backend.audit.context import current_origin
from backend.audit.models import AuditEvent
from backend.core.changes import diff

__all__ = ["assign", "audit_record", "diff"]


def audit_record(
    *,
    actor: Any | None,
    action: str,
    entity: models.Model | None = None,
    entity_type: str | None = None,
    entity_id: str | int | None = None,
    changes: dict[str, Any] | None = None,
    actor_email: str = "",
) -> AuditEvent:
    """Append one event to the current schema's trail."""
    if entity is not None:
        entity_type = entity_type or entity._meta.label_lower
        entity_id = entity.pk if entity_id is None else entity_id
    origin = current_origin()
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    return AuditEvent.objects.create(
        actor=actor if is_user else None,
        actor_email=(actor.email if actor is not None and is_user else actor_email)[:254],
        action=action,
        entity_type=entity_type or "",
        entity_id="" if entity_id is None else str(entity_id),
        changes=changes or {},
        ip=origin.ip,
        user_agent=origin.user_agent,
    )


def assign(instance: models.Model, values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Set ``values`` on ``instance`` and return what changed, for the audit event (compared
    as text, as the trail stores it)."""
    before = {name: str(getattr(instance, name)) for name in values}
    for name, value in values.items():
        setattr(instance, name, value)
    return diff(before, {name: str(value) for name, value in values.items()})
