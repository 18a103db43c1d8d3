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

    concept: strawberry.auto = strawberry_django.field(description="What is charged.")
    quantity: strawberry.auto = strawberry_django.field(description="How many, 1 to 1000.")
    unit_price: Decimal = strawberry_django.field(description="The price of one.")
    discount: Decimal = strawberry_django.field(description="Off the whole line.")
    amount: Decimal = strawberry_django.field(
        description="What the patient pays: quantity × unitPrice − discount, with IGV added when "
        "prices exclude it."
    )
    currency: strawberry.auto = strawberry_django.field(description="ISO 4217, e.g. PEN.")
    professional: Professional | None = strawberry_django.field(
        description="Who performed it; null for a concept of nobody in particular."
    )
    created_at: strawberry.auto = strawberry_django.field(description="When it was charged.")


@graphql_type
class NewCharges:
    """The charges just created."""

    charges: list[Charge]


@django_type(models.ReceiptLine)
class ReceiptLine:
    """A charge on a receipt."""

    charge: Charge = strawberry_django.field(description="The charge invoiced.")
    amount: Decimal = strawberry_django.field(description="Its amount on this receipt.")


@django_type(models.Receipt)
class Receipt(relay.Node):
    """A boleta or factura, numbered per type and series with no gaps."""

    @strawberry_django.field(
        only=["series", "number"], description="As printed, e.g. B001-00000123."
    )
    def full_number(self, root: models.Receipt) -> str:
        return root.full_number

    @strawberry_django.field(only=["receipt_type"], description="BOLETA or FACTURA.")
    def receipt_type(self, root: models.Receipt) -> ReceiptType:
        return ReceiptType(root.receipt_type)

    series: strawberry.auto = strawberry_django.field(description="e.g. B001 or F001.")
    number: strawberry.auto = strawberry_django.field(
        description="Consecutive in its series, with no gaps."
    )
    patient: Patient = strawberry_django.field(description="Whose charges it invoices.")
    customer_name: strawberry.auto = strawberry_django.field(
        description="Who it is made out to (the patient, or a company for a factura)."
    )
    customer_document: strawberry.auto = strawberry_django.field(
        description="The customer's DNI or RUC (a factura's RUC)."
    )
    igv_rate: Decimal = strawberry_django.field(description="The IGV rate applied, e.g. 0.18.")
    subtotal: Decimal = strawberry_django.field(description="Before IGV.")
    tax: Decimal = strawberry_django.field(description="The IGV.")
    total: Decimal = strawberry_django.field(description="subtotal + tax.")
    currency: strawberry.auto = strawberry_django.field(description="ISO 4217, e.g. PEN.")

    @strawberry_django.field(only=["status"], description="Issued, paid in part or whole, or void.")
    def status(self, root: models.Receipt) -> ReceiptStatus:
        return ReceiptStatus(root.status)

    issued_at: strawberry.auto = strawberry_django.field(description="When it was issued.")
    issued_by: StaffMember = strawberry_django.field(description="Who issued it.")
    void_reason: strawberry.auto = strawberry_django.field(description="Empty unless VOID.")
    voided_at: dt.datetime | None = strawberry_django.field(description="Null unless VOID.")
    lines: list[ReceiptLine] = strawberry_django.field(description="The charges it invoices.")


@django_type(models.Payment)
class Payment(relay.Node):
    """Money received (PAYMENT) or returned (REFUND)."""

    @strawberry_django.field(only=["kind"], description="PAYMENT or REFUND.")
    def kind(self, root: models.Payment) -> PaymentKind:
        return PaymentKind(root.kind)

    amount: Decimal = strawberry_django.field(description="In its currency, always positive.")
    currency: strawberry.auto = strawberry_django.field(description="PEN or USD.")
    exchange_rate: Decimal = strawberry_django.field(description="Soles per dollar; 1 for PEN.")
    amount_pen: Decimal = strawberry_django.field(description="What counts on the account.")

    @strawberry_django.field(only=["method"], description="How it was paid.")
    def method(self, root: models.Payment) -> PaymentMethod:
        return PaymentMethod(root.method)

    paid_at: strawberry.auto = strawberry_django.field(description="When it was paid.")
    reference: strawberry.auto = strawberry_django.field(
        description="The operation number of a card, transfer or wallet; may be empty."
    )
    reason: strawberry.auto = strawberry_django.field(description="Why a refund; else empty.")
    received_by: StaffMember = strawberry_django.field(description="Who recorded it.")


@graphql_type
class Balance:
    """``balance = charges − payments + refunds``. Positive: the patient owes."""

    charges: Decimal = strawberry.field(description="Every charge, IGV included.")
    payments: Decimal = strawberry.field(description="Every payment received (amountPen).")
    refunds: Decimal = strawberry.field(description="Every refund given back (amountPen).")
    balance: Decimal = strawberry.field(description="charges − payments + refunds.")
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
