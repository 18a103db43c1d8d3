"""The permission matrix: every domain's grants, in one place.

Each domain app declares its permission enum and its ``GRANTS``; add the module here and
its rows appear in the GraphQL checks and in ``docs/permissions.md``
(``manage.py export_permissions``).
"""

from __future__ import annotations

from importlib import import_module

from backend.accounts.models import Role
from backend.accounts.permissions import Grant

GRANT_MODULES = (
    "backend.accounts.permissions",
    "backend.patients.permissions",
    "backend.resources.permissions",
    "backend.scheduling.permissions",
    "backend.clinical.permissions",
    "backend.treatments.permissions",
    "backend.documents.permissions",
    "backend.billing.permissions",
    "backend.notifications.permissions",
    "backend.assistant.permissions",
    "backend.reports.permissions",
)


def grants() -> tuple[Grant, ...]:
    return tuple(grant for module in GRANT_MODULES for grant in import_module(module).GRANTS)


_MATRIX: dict[str, frozenset[Role]] = {str(g.permission): g.roles for g in grants()}


def role_has_permission(role: str | None, permission: str) -> bool:
    """True when ``role`` holds ``permission``. Unknown permissions are held by nobody."""
    return role is not None and role in _MATRIX.get(str(permission), frozenset())


def permissions_markdown() -> str:
    """``docs/permissions.md``, generated from the matrix so that the two never disagree."""
    roles = list(Role)
    header = "| Permission | What it allows | " + " | ".join(r.value for r in roles) + " |"
    rule = "|---|---|" + "---|" * len(roles)
    rows = [
        f"| `{g.permission}` | {g.description} | "
        + " | ".join("✅" if role in g.roles else "—" for role in roles)
        + " |"
        for g in grants()
    ]
    return "\n".join(
        [
            "# Permission matrix",
            "",
            "Generated from `backend/accounts/roles.py` by `python manage.py export_permissions`;",
            "a test fails when this file and the code disagree.",
            "",
            "Roles are per clinic. Every clinic operation also needs a valid token issued by",
            "that clinic (`UNAUTHENTICATED` otherwise); a role without the permission gets",
            "`FORBIDDEN`. `login`, `logout` and `me` need no permission beyond being signed in.",
            "Platform operations (`createClinic`, `changeClinicPlan`, `suspendClinic`,",
            "`reactivateClinic`, `addClinicDomain`, `clinics`, `plans`) answer only on the",
            "public domain and only to platform superusers.",
            "",
            header,
            rule,
            *rows,
            "",
        ]
    )
