"""Billing inputs. Amounts are Decimal strings ("150.00")."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry
from strawberry import relay

from graphql_api.billing.types import Currency, PaymentMethod, ReceiptType


@strawberry.input(description="A manual charge.")
class ChargeInput:
    patient_id: relay.GlobalID
    concept: str
    quantity: int = 1
    unit_price: Decimal = Decimal("0")
    discount: Decimal = Decimal("0")


@strawberry.input(description="A receipt for some of a patient's charges.")
class IssueReceiptInput:
    patient_id: relay.GlobalID
    charge_ids: list[relay.GlobalID]
    receipt_type: ReceiptType
    customer_name: str = ""
    customer_document: str = strawberry.field(
        default="", description="The customer's RUC for a factura."
    )


@strawberry.input(description="Part of a payment applied to one receipt.")
class AllocationInput:
    receipt_id: relay.GlobalID
    amount: Decimal


@strawberry.input(
    description="Money received. Without allocations it pays the oldest receipts first; "
    "the rest is credit."
)
class PaymentInput:
    patient_id: relay.GlobalID
    amount: Decimal
    method: PaymentMethod
    currency: Currency = Currency.PEN
    exchange_rate: Decimal | None = None
    paid_at: dt.datetime | None = None
    reference: str = ""
    allocations: list[AllocationInput] | None = None


@strawberry.input(description="Money returned from the patient's credit.")
class RefundInput:
    patient_id: relay.GlobalID
    amount: Decimal
    method: PaymentMethod
    reason: str
