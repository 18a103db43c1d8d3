"""Reading billing: balances, statements, receipts and the daily cash report.

Whoever may see billing sees all of it. The selectors that find billing records (receipts,
charges, payments) take the ``actor`` all the same, so that a rule about who sees what has
one place to go. The patient's account (balance, statement, uninvoiced charges) is read for a
patient the caller has already found; the cash report is the whole clinic's, or its totals
would not be the till's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet, Sum
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.billing.errors import BillingError
from backend.billing.models import (
    Charge,
    Payment,
    PaymentKind,
    Receipt,
    ReceiptStatus,
)
from backend.billing.payments import patient_credit
from backend.billing.services import sum_of
from backend.core.dates import local_day_range
from backend.core.error_codes import CommonError
from backend.core.lookups import get_or_not_found
from backend.patients.models import Patient
from tenants_core.context import current_timezone

ZERO = Decimal("0.00")


def receipt_rows(*, actor: User, receipt_id: int | str) -> QuerySet[Receipt]:
    """The receipt ``receipt_get`` answers, as a queryset (empty for ``NOT_FOUND``; a key that
    is not a number raises ``ValueError``): of what ``actor`` may see, all of them. Compiled
    reads select from it."""
    return Receipt.objects.filter(pk=int(receipt_id))


def receipt_get(*, actor: User, receipt_id: int | str) -> Receipt:
    """One receipt, issued or void; ``NOT_FOUND`` when this clinic has no such receipt."""
    try:
        return receipt_rows(actor=actor, receipt_id=receipt_id).get()
    except (Receipt.DoesNotExist, ValueError, TypeError, OverflowError):
        raise ValidationError(_("No such receipt."), code=CommonError.NOT_FOUND) from None


def charge_get(*, actor: User, charge_id: int | str) -> Charge:
    return get_or_not_found(Charge, charge_id, _("No such charge."))


def payment_get(*, actor: User, payment_id: int | str) -> Payment:
    return get_or_not_found(Payment, payment_id, _("No such payment."))


def receipt_list(
    *, actor: User, patient_id: int | None = None, statuses: list[str] | None = None
) -> QuerySet[Receipt]:
    receipts = Receipt.objects.all()
    if patient_id is not None:
        receipts = receipts.filter(patient_id=patient_id)
    if statuses:
        receipts = receipts.filter(status__in=statuses)
    return receipts.order_by("-issued_at", "-id")


def uninvoiced_charges(*, patient_id: int) -> QuerySet[Charge]:
    """The patient's charges that are on no live receipt."""
    return (
        Charge.objects.filter(patient_id=patient_id)
        .exclude(receipt_lines__is_void=False)
        .order_by("created_at", "id")
    )


@dataclass(frozen=True)
class Balance:
    charges: Decimal
    payments: Decimal
    refunds: Decimal
    balance: Decimal  # > 0: the patient owes; < 0: the clinic owes (credit)
    credit: Decimal  # money received and not applied to a live receipt


def patient_balance(patient: Patient) -> Balance:
    """``balance = charges − payments + refunds``, to the cent."""
    charges = sum_of(Charge.objects.filter(patient=patient))
    payments = sum_of(
        Payment.objects.filter(patient=patient, kind=PaymentKind.PAYMENT), "amount_pen"
    )
    refunds = sum_of(Payment.objects.filter(patient=patient, kind=PaymentKind.REFUND), "amount_pen")
    return Balance(
        charges=charges,
        payments=payments,
        refunds=refunds,
        balance=charges - payments + refunds,
        credit=patient_credit(patient),
    )


@dataclass(frozen=True)
class Movement:
    at: dt.datetime
    kind: str  # CHARGE, PAYMENT or REFUND
    description: str
    amount: Decimal  # signed: what it does to the balance
    balance: Decimal  # running balance after it
    reference_id: int


def statement_rows(*, patient_id: int) -> tuple[QuerySet[Charge], QuerySet[Payment]]:
    """The charges and the payments (refunds too) on the patient's statement, as querysets:
    what ``patient_statement`` reads. Compiled reads select from them."""
    charges = Charge.objects.filter(patient_id=patient_id)
    payments = Payment.objects.filter(patient_id=patient_id)
    return charges, payments


def patient_statement(patient: Patient) -> list[Movement]:
    """Every movement in time order (time, charges before payments, then id), with the running
    balance (two SQL statements). A payment lowers the balance and reads as its method's name
    (translated); a refund raises it and reads as its reason."""
    charges, payments = statement_rows(patient_id=patient.pk)
    rows: list[tuple[dt.datetime, int, str, str, Decimal, int]] = []
    for charge in charges.only("created_at", "concept", "amount"):
        rows.append((charge.created_at, 0, "CHARGE", charge.concept, charge.amount, charge.pk))
    for payment in payments.only("paid_at", "kind", "method", "amount_pen", "reason"):
        signed = -payment.amount_pen if payment.kind == PaymentKind.PAYMENT else payment.amount_pen
        text = (
            payment.get_method_display() if payment.kind == PaymentKind.PAYMENT else payment.reason
        )
        rows.append((payment.paid_at, 1, payment.kind, str(text), signed, payment.pk))
    running = ZERO
    movements = []
    for at, _order, kind, text, signed, pk in sorted(rows, key=lambda r: (r[0], r[1], r[5])):
        running += signed
        movements.append(
            Movement(
                at=at, kind=kind, description=text, amount=signed, balance=running, reference_id=pk
            )
        )
    return movements


@dataclass
class CashReport:
    start: dt.datetime
    end: dt.datetime
    by_method: dict[str, tuple[Decimal, Decimal, int]] = field(
        default_factory=dict
    )  # in, out, count
    by_professional: list[tuple[int | None, str, Decimal, int]] = field(default_factory=list)
    issued: list[Receipt] = field(default_factory=list)
    voided: list[Receipt] = field(default_factory=list)


def cash_report(*, date_from: dt.date, date_to: dt.date, tz: ZoneInfo | None = None) -> CashReport:
    """From ``date_from`` 00:00 to the end of ``date_to``, local time: the clinic's, unless
    ``tz`` says otherwise."""
    start, end = local_day_range(
        date_from, date_to, tz or current_timezone(), code=BillingError.INVALID_DATE_RANGE
    )
    report = CashReport(start=start, end=end)
    moves = (
        Payment.objects.filter(paid_at__gte=start, paid_at__lt=end)
        .values("method", "kind")
        .annotate(total=Sum("amount_pen"), n=Count("id"))
    )
    for row in moves:
        received, refunded, count = report.by_method.get(row["method"], (ZERO, ZERO, 0))
        if row["kind"] == PaymentKind.PAYMENT:
            received += row["total"]
        else:
            refunded += row["total"]
        report.by_method[row["method"]] = (received, refunded, count + row["n"])
    production = (
        Charge.objects.filter(created_at__gte=start, created_at__lt=end)
        .values("professional_id", "professional__full_name")
        .annotate(total=Sum("amount"), n=Count("id"))
        .order_by("professional__full_name")
    )
    report.by_professional = [
        (row["professional_id"], row["professional__full_name"] or "", row["total"], row["n"])
        for row in production
    ]
    receipts = Receipt.objects.select_related("patient", "issued_by").prefetch_related(
        "lines__charge"
    )
    report.issued = list(
        receipts.filter(issued_at__gte=start, issued_at__lt=end).order_by("series", "number")
    )
    report.voided = list(
        Receipt.objects.filter(
            status=ReceiptStatus.VOID, voided_at__gte=start, voided_at__lt=end
        ).order_by("series", "number")
    )
    return report
