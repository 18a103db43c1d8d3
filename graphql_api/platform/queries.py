"""Platform queries: public domain, superusers only."""

from __future__ import annotations

from typing import Any, cast

import strawberry

from graphql_api.clinic_settings.types import ClinicStatus, Plan
from graphql_api.core.context import Info
from graphql_api.core.pagination import ListConnection
from graphql_api.core.permissions import platform_admin
from graphql_api.platform.types import ClinicBackup, ManagedClinic
from tenants_core import backups, selectors

# strawberry bounds a connection's node type to relay.Node; clinics are paged by subdomain, with
# no global ID (the schema must not change), and the connection works the same.
ClinicConnection = ListConnection[ManagedClinic]  # type: ignore[type-var]


def _selects(selections: list[Any], name: str) -> bool:
    """Whether ``name`` is selected anywhere below ``selections`` (fragments included)."""
    return any(
        getattr(selection, "name", None) == name
        or _selects(getattr(selection, "selections", []), name)
        for selection in selections
    )


@strawberry.type
class Query:
    @strawberry.field(extensions=platform_admin(), description="The subscription plans.")
    def plans(self, info: Info) -> list[Plan]:
        return cast(list[Plan], list(selectors.plan_list()))

    @strawberry.field(
        extensions=platform_admin(),
        description="Clinics, by subdomain. `search` matches name, subdomain, RUC or email.",
    )
    def clinics(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        search: str | None = None,
        status: ClinicStatus | None = None,
    ) -> ClinicConnection:
        clinics = (
            selectors.clinic_list(search=search, status=status.value if status else None)
            .select_related("plan")
            .prefetch_related("domains")
        )
        if _selects(info.selected_fields, "messagingSenders"):
            clinics = clinics.prefetch_related("senders")  # one statement for the page
        connection = ListConnection.resolve_connection(clinics, info=info, first=first, after=after)
        # Usage of the whole page in one statement, whatever its size.
        selectors.clinics_with_usage([edge.node for edge in connection.edges])
        return connection

    @strawberry.field(
        extensions=platform_admin(),
        description="A clinic's backups, newest first, with size and checksum.",
    )
    def clinic_backups(self, info: Info, subdomain: str) -> list[ClinicBackup]:
        return cast(list[ClinicBackup], backups.backup_list(subdomain=subdomain))
