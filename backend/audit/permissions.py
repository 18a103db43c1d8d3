"""Permissions of the audit trail. Who holds them is in the matrix's accounts rows
(``backend.accounts.permissions``): roles belong to accounts, which sits above the audit app
(every app records events; the audit app knows no role)."""

from enum import StrEnum


class AuditPermission(StrEnum):
    VIEW_AUDIT = "audit.view"
