"""What each GraphQL operation requires, read from the permission extensions on the schema's
fields. Drives ``docs/permissions.md``, so that it cannot drift from the code. The role-matrix
tests do not read it: they hold their own table (``tests/spec/permissions.py``), written from
the document, so that a change of permission shows as a difference."""

from __future__ import annotations

from dataclasses import dataclass

import strawberry
from strawberry.permission import PermissionExtension
from strawberry.types.base import StrawberryObjectDefinition

from backend.accounts.models import Role
from backend.accounts.roles import permissions_markdown, role_has_permission
from graphql_api.core.permissions import (
    HasPermission,
    IsAuthenticated,
    IsPlatformAdmin,
    PublicDomainOnly,
    TenantDomainOnly,
)


@dataclass(frozen=True)
class OperationRule:
    operation: str  # "query staff", "mutation login"
    field: str
    domain: str  # "clinic", "platform" or "any"
    signed_in: bool
    permissions: tuple[str, ...]  # any one of them is enough
    platform_admin: bool

    def allows(self, role: Role) -> bool:
        """Whether a signed-in clinic user with ``role`` may call it on a clinic domain."""
        if self.domain == "platform" or self.platform_admin:
            return False
        return not self.permissions or any(role_has_permission(role, p) for p in self.permissions)


def operation_rules(schema: strawberry.Schema) -> list[OperationRule]:
    """What each root field of ``schema`` requires."""
    rules = []
    for kind, type_name in (("query", "Query"), ("mutation", "Mutation")):
        definition = schema.get_type_by_name(type_name)
        assert isinstance(definition, StrawberryObjectDefinition)
        for field in definition.fields:
            permissions = [
                permission
                for extension in field.extensions
                if isinstance(extension, PermissionExtension)
                for permission in extension.permissions
            ]
            kinds = {type(p) for p in permissions}
            domain = "any"
            if TenantDomainOnly in kinds:
                domain = "clinic"
            elif PublicDomainOnly in kinds:
                domain = "platform"
            needed = tuple(
                str(needed)
                for p in permissions
                if isinstance(p, HasPermission)
                for needed in p.permissions
            )
            name = schema.config.name_converter.get_graphql_name(field)
            rules.append(
                OperationRule(
                    operation=f"{kind} {name}",
                    field=name,
                    domain=domain,
                    signed_in=bool(kinds & {IsAuthenticated, HasPermission, IsPlatformAdmin}),
                    permissions=needed,
                    platform_admin=IsPlatformAdmin in kinds,
                )
            )
    return rules


def operations_markdown(schema: strawberry.Schema) -> str:
    roles = list(Role)
    lines = [
        "## Operations",
        "",
        "Read from the permission extensions on each GraphQL field.",
        "",
        "| Operation | Domain | Requires | " + " | ".join(r.value for r in roles) + " |",
        "|---|---|---|" + "---|" * len(roles),
    ]
    for rule in operation_rules(schema):
        if rule.platform_admin:
            requires = "platform superuser"
        elif rule.permissions:
            requires = " or ".join(f"`{p}`" for p in rule.permissions)
        elif rule.signed_in:
            requires = "signed in"
        else:
            requires = "nothing"
        if rule.domain == "platform":
            cells = ["—"] * len(roles)
        else:
            cells = ["✅" if rule.allows(role) else "—" for role in roles]
        lines.append(
            f"| `{rule.operation}` | {rule.domain} | {requires} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines) + "\n"


# Rules that depend on the row (or on the field) and are checked after loading it, on top of
# the operation's permission. The code that holds each one is named, so that a reader can
# check it; tests/clinical and tests/test_health_data.py test them.
ROW_RULES: tuple[tuple[str, str], ...] = (
    (
        "A draft note is changed or signed only by its author or an admin "
        "(`backend/clinical/services.py`)",
        "`NOT_NOTE_AUTHOR`",
    ),
    (
        "An addendum is added only by the note's author or an admin: it corrects or completes "
        "that note. Another clinician writes a note of their own "
        "(`backend/clinical/services.py`, `addendum_add`)",
        "`NOT_NOTE_AUTHOR`",
    ),
    (
        "With `restrictNotesToAuthor`, a note is read only by its author and admins "
        "(`backend/clinical/selectors.py`)",
        "`NOT_FOUND`",
    ),
    (
        "A dentist without `agenda.manage` changes the status of their own appointments only "
        "(`backend/scheduling/services.py`, `appointment_change_status`)",
        "`FORBIDDEN`",
    ),
    (
        "A patient's `allergies` and `medicalAlerts` are health data: a role without "
        "`clinical.view` reads null there, and the rest of its query answers "
        "(`backend/patients/selectors.py`, `reads_health_data`)",
        "null",
    ),
    (
        "`createPatient` and `updatePatient` write `allergies` and `medicalAlerts` only for a "
        "role with `clinical.write`; otherwise nothing is written "
        "(`backend/patients/services.py`)",
        "`FORBIDDEN` on the field",
    ),
    (
        "A patient's `frontDeskAlert` (who wrote it, when) and `hasAlerts` are read by every "
        "role that reads patients; only `clinical.write` sets the alert "
        "(`setPatientFrontDeskAlert`)",
        "`FORBIDDEN`",
    ),
)


def row_rules_markdown() -> str:
    lines = [
        "## Row and field rules",
        "",
        "Checked on top of the operation's permission: on the row once it is loaded, or on",
        "the field.",
        "",
        "| Rule | Otherwise |",
        "|---|---|",
        *(f"| {rule} | {refusal} |" for rule, refusal in ROW_RULES),
    ]
    return "\n".join(lines) + "\n"


def permissions_document(schema: strawberry.Schema) -> str:
    return permissions_markdown() + "\n" + row_rules_markdown() + "\n" + operations_markdown(schema)
