"""Billing types. Amounts are Decimal strings in PEN unless a currency says otherwise."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import Enum

import strawberry
import strawberry_django
from strawberry import relay

from backend.billing import models
from backend.billing.models import PaymentKind, PaymentMethod, ReceiptStatus, ReceiptType
from graphql_api.accounts.types import StaffMember
from graphql_api.core.docstrings import django_type, graphql_type
from graphql_api.patients.types import Patient
from graphql_api.resources.types import Professional

# The models' choices are the GraphQL enums: one source for their names and values.
strawberry.enum(ReceiptType, description="BOLETA (to a person) or FACTURA (to a company, by RUC).")
strawberry.enum(
    ReceiptStatus, description="ISSUED, PARTIALLY_PAID, PAID (by what is allocated) or VOID."
)
strawberry.enum(PaymentMethod, description="How a payment was made.")
strawberry.enum(PaymentKind, description="A PAYMENT received, or a REFUND given back.")


@strawberry.enum(description="A currency a payment is made in.")
class Currency(Enum):
    PEN = "PEN"
    USD = "USD"


@django_type(models.Charge)
class Charge(relay.Node):
    """Something the patient owes; ``amount`` includes IGV."""

    concept: strawberry.auto
    quantity: strawberry.auto
    unit_price: Decimal
    discount: Decimal
    amount: Decimal
    currency: strawberry.auto
    professional: Professional | None
    created_at: strawberry.auto


@graphql_type
class NewCharges:
    """The charges just created."""

    charges: list[Charge]


@django_type(models.ReceiptLine)
class ReceiptLine:
    """A charge on a receipt."""

    charge: Charge
    amount: Decimal


@django_type(models.Receipt)
class Receipt(relay.Node):
    """A boleta or factura, numbered per type and series with no gaps."""

    @strawberry_django.field(
        only=["series", "number"], description="As printed, e.g. B001-00000123."
    )
    def full_number(self, root: models.Receipt) -> str:
        return root.full_number

    @strawberry_django.field(only=["receipt_type"])
    def receipt_type(self, root: models.Receipt) -> ReceiptType:
        return ReceiptType(root.receipt_type)

    series: strawberry.auto
    number: strawberry.auto
    patient: Patient
    customer_name: strawberry.auto
    customer_document: strawberry.auto
    igv_rate: Decimal
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    currency: strawberry.auto

    @strawberry_django.field(only=["status"])
    def status(self, root: models.Receipt) -> ReceiptStatus:
        return ReceiptStatus(root.status)

    issued_at: strawberry.auto
    issued_by: StaffMember
    void_reason: strawberry.auto
    voided_at: dt.datetime | None
    lines: list[ReceiptLine]


@django_type(models.Payment)
class Payment(relay.Node):
    """Money received (PAYMENT) or returned (REFUND)."""

    @strawberry_django.field(only=["kind"])
    def kind(self, root: models.Payment) -> PaymentKind:
        return PaymentKind(root.kind)

    amount: Decimal
    currency: strawberry.auto
    exchange_rate: Decimal
    amount_pen: Decimal = strawberry_django.field(description="What counts on the account.")

    @strawberry_django.field(only=["method"])
    def method(self, root: models.Payment) -> PaymentMethod:
        return PaymentMethod(root.method)

    paid_at: strawberry.auto
    reference: strawberry.auto
    reason: strawberry.auto
    received_by: StaffMember


@graphql_type
class Balance:
    """``balance = charges − payments + refunds``. Positive: the patient owes."""

    charges: Decimal
    payments: Decimal
    refunds: Decimal
    balance: Decimal
    credit: Decimal = strawberry.field(description="Received and not applied to a live receipt.")


@graphql_type
class Movement:
    """One line of the account statement."""

    at: dt.datetime
    kind: str
    description: str
    amount: Decimal = strawberry.field(description="Signed: + raises the balance, − lowers it.")
    balance: Decimal = strawberry.field(description="The running balance after this movement.")


@graphql_type
class MethodTotal:
    """What came in and went out by one payment method, and how many payments."""

    method: PaymentMethod
    received: Decimal
    refunded: Decimal
    net: Decimal
    count: int


@graphql_type
class ProfessionalTotal:
    """Charges produced in the period, by the professional who performed them."""

    professional_name: str | None
    total: Decimal
    count: int


@graphql_type
class CashReport:
    """Money and receipts of a period of local days."""

    start: dt.datetime
    end: dt.datetime
    by_method: list[MethodTotal]
    by_professional: list[ProfessionalTotal]
    receipts_issued: list[Receipt]
    receipts_voided: list[Receipt]
    total_received: Decimal
    total_refunded: Decimal


@django_type(models.BillingSettings)
class BillingSettings:
    """The clinic's tax set-up."""

    igv_rate: Decimal = strawberry_django.field(description="A fraction: 0.18 is 18%.")
    prices_include_tax: strawberry.auto
    boleta_series: strawberry.auto
    factura_series: strawberry.auto
