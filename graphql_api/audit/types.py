"""The audit trail as seen by clinic admins."""

from __future__ import annotations

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from backend.audit import models
from graphql_api.accounts.types import StaffUser
from graphql_api.core.docstrings import django_type


@django_type(models.AuditEvent)
class AuditEvent(relay.Node):
    """One append-only record: who did what to which entity, from where, and when."""

    actor: StaffUser | None
    actor_email: strawberry.auto
    action: strawberry.auto
    entity_type: strawberry.auto
    entity_id: strawberry.auto
    changes: JSON
    ip: str | None
    user_agent: strawberry.auto
    created_at: strawberry.auto
