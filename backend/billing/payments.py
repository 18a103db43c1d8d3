"""Payments, their allocation to receipts, credit and refunds."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.audit.services import audit_record
from backend.billing.errors import BillingError
from backend.billing.models import (
    Payment,
    PaymentAllocation,
    PaymentKind,
    PaymentMethod,
    Receipt,
    ReceiptStatus,
)
from backend.billing.services import (
    amount_of,
    patient_lock,
    receipt_refresh_status,
    sum_of,
)
from backend.core.errors import field_error
from backend.core.money import decimal_or_nan, money
from backend.core.transactions import atomic_service
from backend.patients.models import Patient

CLOCK_SKEW = dt.timedelta(minutes=5)
MAX_BACKDATE = dt.timedelta(days=7)


def receipt_outstanding(receipt: Receipt) -> Decimal:
    if receipt.status == ReceiptStatus.VOID:
        return Decimal("0.00")
    return receipt.total - sum_of(receipt.allocations.filter(released_at__isnull=True))


def patient_credit(patient: Patient) -> Decimal:
    """Money received and not applied to any live receipt, less what was refunded."""
    received = sum_of(
        Payment.objects.filter(patient=patient, kind=PaymentKind.PAYMENT), "amount_pen"
    )
    refunded = sum_of(
        Payment.objects.filter(patient=patient, kind=PaymentKind.REFUND), "amount_pen"
    )
    applied = sum_of(
        PaymentAllocation.objects.filter(payment__patient=patient, released_at__isnull=True)
    )
    return received - applied - refunded


def payment_unallocated(payment: Payment) -> Decimal:
    return payment.amount_pen - sum_of(payment.allocations.filter(released_at__isnull=True))


def _rate(currency: str, exchange_rate: Any) -> Decimal:
    if currency == "PEN":
        if exchange_rate not in (None, "") and decimal_or_nan(exchange_rate) != 1:
            raise field_error(
                "exchange_rate",
                _("Payments in soles have no exchange rate."),
                BillingError.INVALID_CURRENCY,
            )
        return Decimal(1)
    if currency != "USD":
        raise field_error(
            "currency", _("Payments are in PEN or USD."), BillingError.INVALID_CURRENCY
        )
    rate = decimal_or_nan(exchange_rate)
    if exchange_rate is None or not rate.is_finite() or not Decimal("0.1") <= rate <= Decimal(20):
        raise field_error(
            "exchange_rate",
            _("A payment in USD needs its exchange rate (soles per dollar)."),
            BillingError.EXCHANGE_RATE_REQUIRED,
        )
    return rate.quantize(Decimal("0.0001"))


def _paid_at(value: dt.datetime | None) -> dt.datetime:
    now = timezone.now()
    if value is None:
        return now
    if value.tzinfo is None:
        raise field_error(
            "paid_at", _("Give the time with its UTC offset."), BillingError.INVALID_DATE
        )
    if value > now + CLOCK_SKEW:
        raise field_error(
            "paid_at", _("A payment date cannot be in the future."), BillingError.IN_THE_FUTURE
        )
    if value < now - MAX_BACKDATE:
        # Closed days' cash reports must not change behind the cashier's back.
        raise field_error(
            "paid_at",
            _("A payment cannot be dated more than %(days)d days back.")
            % {"days": MAX_BACKDATE.days},
            BillingError.INVALID_DATE,
        )
    return value


def _allocate(payment: Payment, receipt: Receipt, amount: Decimal, field: str) -> PaymentAllocation:
    # As it is now, held; only this patient's: another patient's receipts are locked under
    # that patient's lock, and taking one here could close a cycle.
    held = Receipt.objects.select_for_update().filter(pk=receipt.pk, patient_id=payment.patient_id)
    receipt = held.first()  # type: ignore[assignment]
    if receipt is None:
        raise field_error(
            field, _("This receipt is another patient's."), BillingError.WRONG_PATIENT
        )
    if receipt.status == ReceiptStatus.VOID:
        raise field_error(field, _("This receipt is void."), BillingError.RECEIPT_VOID)
    if amount > receipt_outstanding(receipt):
        raise field_error(
            field,
            _("Receipt %(number)s has %(outstanding)s left to pay.")
            % {"number": receipt.full_number, "outstanding": receipt_outstanding(receipt)},
            BillingError.ALLOCATION_EXCEEDS_BALANCE,
        )
    allocation = PaymentAllocation.objects.create(payment=payment, receipt=receipt, amount=amount)
    receipt_refresh_status(receipt)
    return allocation


@atomic_service
def payment_record(
    *,
    actor: User,
    patient: Patient,
    amount: Any,
    method: str,
    currency: str = "PEN",
    exchange_rate: Any = None,
    paid_at: dt.datetime | None = None,
    reference: str = "",
    allocations: list[tuple[Receipt, Any]] | None = None,
) -> Payment:
    """Record money received. It is applied to the given receipts, or else to the oldest
    receipts still owed; whatever is left over is the patient's credit."""
    patient = patient_lock(patient.pk)
    value = amount_of(amount, "amount", allow_zero=False)
    rate = _rate(currency, exchange_rate)
    method = _method(method)
    reference = (reference or "").strip()
    if len(reference) > 100:
        raise field_error("reference", _("At most 100 characters."), BillingError.TOO_LONG)
    payment = Payment.objects.create(
        patient=patient,
        kind=PaymentKind.PAYMENT,
        amount=value,
        currency=currency,
        exchange_rate=rate,
        amount_pen=money(value * rate),
        method=method,
        paid_at=_paid_at(paid_at),
        reference=reference,
        received_by=actor,
    )
    if allocations is not None:  # an empty list means: keep it all as credit
        remaining = _allocate_as_given(payment, allocations)
    else:
        remaining = _allocate_to_oldest(payment)
    audit_record(
        actor=actor,
        action="billing.record_payment",
        entity=payment,
        changes={
            "patient_id": patient.pk,
            "amount": value,
            "currency": currency,
            "amount_pen": payment.amount_pen,
            "method": method,
            "to_credit": remaining,
        },
    )
    return payment


def _method(method: str) -> PaymentMethod:
    try:
        return PaymentMethod(method)
    except ValueError:
        raise field_error(
            "method", _("Unknown payment method."), BillingError.INVALID_METHOD
        ) from None


def _allocate_as_given(payment: Payment, allocations: list[tuple[Receipt, Any]]) -> Decimal:
    """Apply the payment to each receipt the amount given for it; what is left of it."""
    remaining = payment.amount_pen
    for index, (receipt, share) in enumerate(allocations):
        share = amount_of(share, f"allocations.{index}.amount", allow_zero=False)
        if share > remaining:
            raise field_error(
                f"allocations.{index}.amount",
                _("More than the payment."),
                BillingError.ALLOCATION_EXCEEDS_PAYMENT,
            )
        _allocate(payment, receipt, share, f"allocations.{index}.receipt_id")
        remaining -= share
    return remaining


def _allocate_to_oldest(payment: Payment) -> Decimal:
    """Apply the payment to the patient's receipts still owed, oldest first; what is left."""
    remaining = payment.amount_pen
    owed = Receipt.objects.filter(
        patient_id=payment.patient_id,
        status__in=[ReceiptStatus.ISSUED, ReceiptStatus.PARTIALLY_PAID],
    ).order_by("issued_at", "id")
    for receipt in owed:
        if remaining <= 0:
            break
        share = min(remaining, receipt_outstanding(receipt))
        if share > 0:
            _allocate(payment, receipt, share, "allocations")
            remaining -= share
    return remaining


@atomic_service
def payment_allocate(
    *, actor: User, payment: Payment, receipt: Receipt, amount: Any
) -> PaymentAllocation:
    """Apply credit left on an earlier payment to a receipt."""
    patient_lock(payment.patient_id)
    if payment.kind != PaymentKind.PAYMENT:
        raise field_error(
            "payment_id", _("A refund cannot be allocated."), BillingError.INVALID_AMOUNT
        )
    share = amount_of(amount, "amount", allow_zero=False)
    # Refunds come out of the patient's credit, not out of one payment: both must allow it.
    if share > min(payment_unallocated(payment), patient_credit(payment.patient)):
        raise field_error(
            "amount",
            _("More than what is left of the payment."),
            BillingError.ALLOCATION_EXCEEDS_PAYMENT,
        )
    allocation = _allocate(payment, receipt, share, "receipt_id")
    audit_record(
        actor=actor,
        action="billing.allocate_payment",
        entity=payment,
        changes={"receipt": receipt.full_number, "amount": share},
    )
    return allocation


@atomic_service
def refund_record(
    *, actor: User, patient: Patient, amount: Any, method: str, reason: str
) -> Payment:
    """Give back part of the patient's credit: a movement of its own, with its reason."""
    patient = patient_lock(patient.pk)
    value = amount_of(amount, "amount", allow_zero=False)
    reason = " ".join((reason or "").split())
    if not reason or len(reason) > 300:
        raise field_error(
            "reason", _("Say why the money is refunded."), BillingError.REASON_REQUIRED
        )
    method = _method(method)
    credit = patient_credit(patient)
    if value > credit:
        raise field_error(
            "amount",
            _("The patient's credit is %(credit)s.") % {"credit": credit},
            BillingError.REFUND_EXCEEDS_CREDIT,
        )
    refund = Payment.objects.create(
        patient=patient,
        kind=PaymentKind.REFUND,
        amount=value,
        amount_pen=value,
        method=method,
        reason=reason,
        received_by=actor,
    )
    audit_record(
        actor=actor,
        action="billing.refund",
        entity=refund,
        changes={"amount": value, "reason": reason},
    )
    return refund
