"""Permissions of billing."""

from enum import StrEnum

from backend.accounts.models import Role
from backend.accounts.permissions import Grant


class BillingPermission(StrEnum):
    VIEW_BILLING = "billing.view"
    MANAGE_BILLING = "billing.manage"
    VOID_AND_REFUND = "billing.void_refund"


GRANTS = (
    Grant(
        BillingPermission.VIEW_BILLING,
        frozenset({Role.ADMIN, Role.RECEPTIONIST, Role.DENTIST}),
        "See charges, receipts, payments, balances, statements and the cash report",
    ),
    Grant(
        BillingPermission.MANAGE_BILLING,
        frozenset({Role.ADMIN, Role.RECEPTIONIST}),
        "Add charges, issue receipts, record and allocate payments",
    ),
    Grant(
        BillingPermission.VOID_AND_REFUND,
        frozenset({Role.ADMIN}),
        "Void receipts and refund payments",
    ),
)
