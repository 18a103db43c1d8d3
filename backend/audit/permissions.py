"""Permissions of the audit trail."""

from enum import StrEnum

from backend.accounts.models import Role
from backend.accounts.permissions import Grant


class AuditPermission(StrEnum):
    VIEW_AUDIT = "audit.view"


GRANTS = (
    Grant(AuditPermission.VIEW_AUDIT, frozenset({Role.ADMIN}), "Read the clinic's audit trail"),
)
