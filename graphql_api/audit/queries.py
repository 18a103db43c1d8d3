"""Reading the clinic's audit trail."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated

import strawberry
import strawberry_django
from strawberry import relay

from backend.accounts.models import User
from backend.accounts.selectors import staff_user_get
from backend.audit import selectors
from backend.audit.models import AuditEvent as AuditEventModel
from backend.audit.permissions import AuditPermission
from graphql_api.audit.types import AuditEvent
from graphql_api.core.context import Info
from graphql_api.core.ids import decode_id
from graphql_api.core.pagination import ListConnection
from graphql_api.core.permissions import clinic_permission


@strawberry.type
class Query:
    @strawberry_django.connection(
        ListConnection[AuditEvent],
        extensions=clinic_permission(AuditPermission.VIEW_AUDIT),
        description="The clinic's audit trail, newest first. `from` is inclusive, `to` is not.",
    )
    def audit_events(
        self,
        info: Info,
        entity_type: str | None = None,
        actor: relay.GlobalID | None = None,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
    ) -> Iterable[AuditEventModel]:
        reader = info.context.require_user()
        return selectors.audit_event_list(
            actor=reader,
            entity_type=entity_type,
            actor_id=_staff_user_id(reader, actor) if actor else None,
            since=from_,
            until=to,
        )


def _staff_user_id(reader: User, actor: relay.GlobalID) -> int:
    """The id of one of this clinic's staff: NOT_FOUND for any other, not an empty trail."""
    return staff_user_get(actor=reader, user_id=decode_id(actor, "StaffUser", field="actor")).pk
