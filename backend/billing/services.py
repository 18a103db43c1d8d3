"""Charges and receipts: performed procedures and manual concepts become charges; charges
become receipts numbered per type and series without gaps.

Lock order, for every service of billing: the patient's row first (``patient_lock``), then
that patient's charges or receipts in id order, then the series row. No service waits for a
lock while it holds one that comes later in that order, so none can deadlock with another;
``@atomic_service`` runs the transaction again should PostgreSQL report a deadlock anyway.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.audit.services import audit_record, diff
from backend.billing.errors import BillingError
from backend.billing.models import (
    BillingSettings,
    Charge,
    Receipt,
    ReceiptLine,
    ReceiptSeries,
    ReceiptStatus,
    ReceiptType,
)
from backend.billing.tax import charge_amount, split_total
from backend.core.errors import field_error
from backend.core.money import CENT, MAX_AMOUNT, decimal_or_nan
from backend.core.transactions import atomic_service
from backend.patients.models import Patient
from backend.treatments.models import PerformedProcedure
from tenants_core.validators import validate_ruc


def amount_of(value: Any, field: str, *, allow_zero: bool = True) -> Decimal:
    """A positive (or zero) amount with at most two decimals, up to ``MAX_AMOUNT``."""
    parsed = decimal_or_nan(value)
    if parsed.is_finite() and parsed > MAX_AMOUNT:  # first: 1e30 has too many digits to quantize
        raise _too_large(field)
    if (
        not parsed.is_finite()
        or parsed < 0
        or (parsed == 0 and not allow_zero)
        or parsed != parsed.quantize(CENT)
    ):
        message = (
            _("Give an amount of zero or more, with at most two decimals.")
            if allow_zero
            else _("Give an amount greater than zero, with at most two decimals.")
        )
        raise field_error(field, message, BillingError.INVALID_AMOUNT)
    return parsed.quantize(CENT)


def _too_large(field: str) -> ValidationError:
    return field_error(
        field, _("At most %(max)s.") % {"max": MAX_AMOUNT}, BillingError.AMOUNT_TOO_LARGE
    )


def sum_of(queryset: Any, field: str = "amount") -> Decimal:
    """The sum of ``field`` over ``queryset``, 0.00 when empty."""
    return queryset.aggregate(s=Sum(field))["s"] or Decimal("0.00")


def patient_lock(patient_id: int) -> Patient:
    """Lock the patient's row. Every money movement of a patient takes this lock first, then
    the receipts: credit and what is owed cannot change between a service's check and its
    write, and two services never wait for each other in opposite orders. ``NO KEY``: it
    still excludes every other money movement and any update of the patient, but not a
    booking or a note that merely references the patient."""
    return Patient.objects.select_for_update(no_key=True).get(pk=patient_id)


def billing_settings() -> BillingSettings:
    settings_row, _created = BillingSettings.objects.get_or_create(pk=1)
    return settings_row


@atomic_service
def billing_settings_update(
    *, actor: User, igv_rate: Any = None, prices_include_tax: bool | None = None
) -> BillingSettings:
    """Change the IGV rate (a fraction: 0.18) or whether prices include it. Receipts already
    issued keep the rate they were issued with."""
    row = BillingSettings.objects.select_for_update().get(pk=billing_settings().pk)
    before = {"igv_rate": str(row.igv_rate), "prices_include_tax": row.prices_include_tax}
    if igv_rate is not None:
        rate = decimal_or_nan(igv_rate)
        if (
            not rate.is_finite()
            or not Decimal(0) <= rate < Decimal("0.5")
            or rate != rate.quantize(Decimal("0.0001"))
        ):
            raise field_error(
                "igv_rate", _("A rate from 0 to 0.5, such as 0.18."), BillingError.INVALID_AMOUNT
            )
        row.igv_rate = rate
    if prices_include_tax is not None:
        row.prices_include_tax = prices_include_tax
    row.save()
    after = {"igv_rate": str(row.igv_rate), "prices_include_tax": row.prices_include_tax}
    audit_record(
        actor=actor, action="billing.update_settings", entity=row, changes=diff(before, after)
    )
    return row


# --- charges -------------------------------------------------------------------------------


@atomic_service
def charges_from_performed(*, actor: User, patient: Patient) -> list[Charge]:
    """A charge for each performed procedure of the patient that has none yet."""
    patient_lock(patient.pk)  # one charging run per patient at a time
    settings_row = billing_settings()
    pending = PerformedProcedure.objects.filter(
        patient=patient, charge__isnull=True
    ).select_related("procedure")
    charges = []
    for performed in pending:
        charges.append(
            Charge.objects.create(
                patient=patient,
                performed_procedure=performed,
                professional_id=performed.professional_id,
                concept=performed.procedure.name
                + (f" (pieza {performed.tooth})" if performed.tooth else ""),
                quantity=1,
                unit_price=performed.price,
                amount=charge_amount(
                    performed.price,
                    rate=settings_row.igv_rate,
                    prices_include_tax=settings_row.prices_include_tax,
                ),
                created_by=actor,
                created_at=performed.performed_at,
            )
        )
    audit_record(  # a run that found nothing to charge is audited too
        actor=actor,
        action="billing.charge_performed",
        entity=patient,
        changes={
            "charges": [c.pk for c in charges],
            "total": sum((c.amount for c in charges), Decimal("0.00")),
        },
    )
    return charges


@atomic_service
def charge_add(
    *,
    actor: User,
    patient: Patient,
    concept: str,
    quantity: int,
    unit_price: Any,
    discount: Any = 0,
) -> Charge:
    """A manual charge: a concept, a quantity, a unit price and a discount."""
    concept = " ".join((concept or "").split())
    if not concept or len(concept) > 200:
        raise field_error(
            "concept",
            _("Say what is charged (at most 200 characters)."),
            BillingError.INVALID_CONCEPT,
        )
    if not isinstance(quantity, int) or not 1 <= quantity <= 1000:
        raise field_error(
            "quantity", _("A quantity from 1 to 1000."), BillingError.INVALID_QUANTITY
        )
    unit = amount_of(unit_price, "unit_price")
    off = amount_of(discount or 0, "discount")
    base = unit * quantity - off
    if base < 0:
        raise field_error(
            "discount",
            _("The discount is greater than the price."),
            BillingError.DISCOUNT_EXCEEDS_PRICE,
        )
    if base > MAX_AMOUNT:
        raise _too_large("unit_price")
    settings_row = billing_settings()
    charge = Charge.objects.create(
        patient=patient,
        concept=concept,
        quantity=quantity,
        unit_price=unit,
        discount=off,
        amount=charge_amount(
            base, rate=settings_row.igv_rate, prices_include_tax=settings_row.prices_include_tax
        ),
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action="billing.add_charge",
        entity=charge,
        changes={"patient_id": patient.pk, "concept": concept, "amount": charge.amount},
    )
    return charge


# --- receipts ------------------------------------------------------------------------------


def _next_number(receipt_type: str, series: str) -> int:
    """Take the next number of the series under a row lock, inside the issuing transaction:
    a rolled-back issue gives its number back, so numbers have no gaps and no duplicates."""
    # A new series continues after any receipt already numbered in it (imported history).
    existing = Receipt.objects.filter(receipt_type=receipt_type, series=series).aggregate(
        n=Max("number")
    )
    ReceiptSeries.objects.get_or_create(
        receipt_type=receipt_type, series=series, defaults={"last_number": existing["n"] or 0}
    )
    row = ReceiptSeries.objects.select_for_update().get(receipt_type=receipt_type, series=series)
    row.last_number += 1
    row.save(update_fields=["last_number"])
    return row.last_number


def receipt_refresh_status(receipt: Receipt) -> Receipt:
    """ISSUED, PARTIALLY_PAID or PAID, from what is allocated to it (VOID stays VOID)."""
    if receipt.status == ReceiptStatus.VOID:
        return receipt
    paid = sum_of(receipt.allocations.filter(released_at__isnull=True))
    if paid >= receipt.total:  # a receipt for nothing (total 0) is paid from the start
        status = ReceiptStatus.PAID
    elif paid == 0:
        status = ReceiptStatus.ISSUED
    else:
        status = ReceiptStatus.PARTIALLY_PAID
    if status != receipt.status:
        receipt.status = status
        receipt.save(update_fields=["status"])
    return receipt


@atomic_service
def receipt_issue(
    *,
    actor: User,
    patient: Patient,
    charges: Iterable[Charge],
    receipt_type: str = ReceiptType.BOLETA,
    customer_name: str = "",
    customer_document: str = "",
) -> Receipt:
    """Issue a boleta (consumer) or factura (company: needs the customer's RUC) for some of the
    patient's charges that are not on a live receipt."""
    receipt_type = ReceiptType(receipt_type)
    charge_ids = sorted({c.pk for c in charges})
    if not charge_ids:
        raise field_error("charge_ids", _("Choose at least one charge."), BillingError.NO_CHARGES)
    # The patient first, as every money movement of the patient does: no payment of the
    # patient can then hold this issue up while it holds the series row, which every issue
    # of the clinic needs.
    patient = patient_lock(patient.pk)
    locked = _charges_to_invoice(patient, charge_ids)
    customer = _customer(receipt_type, patient, customer_name, customer_document)
    receipt = _receipt_create(actor, patient, receipt_type, customer, locked)
    changes = {"number": receipt.full_number, "charges": charge_ids, "total": receipt.total}
    audit_record(actor=actor, action="billing.issue_receipt", entity=receipt, changes=changes)
    return receipt


def _charges_to_invoice(patient: Patient, charge_ids: list[int]) -> list[Charge]:
    """The charges, locked in id order, once each is known to be the patient's and on no
    live receipt."""
    locked = list(
        Charge.objects.select_for_update()
        .filter(pk__in=charge_ids, patient_id=patient.pk)  # never another patient's rows
        .order_by("pk")
    )
    if len(locked) != len(charge_ids):
        raise field_error(
            "charge_ids", _("Every charge must be this patient's."), BillingError.WRONG_PATIENT
        )
    if ReceiptLine.objects.filter(charge_id__in=charge_ids, is_void=False).exists():
        raise field_error(
            "charge_ids",
            _("A charge is already on a receipt."),
            BillingError.CHARGE_ALREADY_INVOICED,
        )
    return locked


def _customer(
    receipt_type: ReceiptType, patient: Patient, name: str, document: str
) -> tuple[str, str]:
    """The customer's name and document as the receipt shows them: the patient's unless
    given; a factura's document is a valid RUC."""
    name = " ".join((name or "").split()) or patient.full_name
    document = (document or "").strip()
    if len(name) > 200:
        raise field_error(
            "customer_name", _("At most 200 characters."), BillingError.INVALID_CUSTOMER
        )
    if receipt_type == ReceiptType.FACTURA:
        if not document:
            raise field_error(
                "customer_document",
                _("A factura needs the customer's RUC."),
                BillingError.CUSTOMER_RUC_REQUIRED,
            )
        try:
            validate_ruc(document)
        except ValidationError as invalid:
            raise ValidationError({"customer_document": invalid}) from None
        return name, document
    document = document or patient.document_number
    if len(document) > 12:
        raise field_error(
            "customer_document", _("At most 12 characters."), BillingError.INVALID_CUSTOMER
        )
    return name, document


def _receipt_create(
    actor: User,
    patient: Patient,
    receipt_type: ReceiptType,
    customer: tuple[str, str],
    charges: list[Charge],
) -> Receipt:
    """The receipt for ``charges``, numbered next in its series (the series row is the last
    lock taken), with a line per charge, and its status."""
    settings_row = billing_settings()
    series = (
        settings_row.factura_series
        if receipt_type == ReceiptType.FACTURA
        else settings_row.boleta_series
    )
    split = split_total(sum((c.amount for c in charges), Decimal(0)), rate=settings_row.igv_rate)
    customer_name, customer_document = customer
    receipt = Receipt.objects.create(
        receipt_type=receipt_type,
        series=series,
        number=_next_number(receipt_type, series),
        patient=patient,
        customer_name=customer_name,
        customer_document=customer_document,
        igv_rate=settings_row.igv_rate,
        subtotal=split.subtotal,
        tax=split.tax,
        total=split.total,
        issued_by=actor,
    )
    ReceiptLine.objects.bulk_create(
        ReceiptLine(receipt=receipt, charge=c, amount=c.amount) for c in charges
    )
    receipt_refresh_status(receipt)
    return receipt


@atomic_service
def receipt_void(*, actor: User, receipt: Receipt, reason: str) -> Receipt:
    """Void a receipt: it keeps its number, its charges are free again, and what was paid on it
    becomes the patient's credit."""
    patient_lock(receipt.patient_id)
    receipt = Receipt.objects.select_for_update().get(pk=receipt.pk)
    reason = " ".join((reason or "").split())
    if not reason or len(reason) > 300:
        raise field_error(
            "reason",
            _("Say why the receipt is voided (at most 300 characters)."),
            BillingError.REASON_REQUIRED,
        )
    if receipt.status == ReceiptStatus.VOID:
        raise field_error(None, _("This receipt is already void."), BillingError.ALREADY_VOID)
    now = timezone.now()
    receipt.status = ReceiptStatus.VOID
    receipt.void_reason, receipt.voided_by, receipt.voided_at = reason, actor, now
    receipt.save(update_fields=["status", "void_reason", "voided_by", "voided_at"])
    receipt.lines.update(is_void=True)
    released = receipt.allocations.filter(released_at__isnull=True).update(released_at=now)
    audit_record(
        actor=actor,
        action="billing.void_receipt",
        entity=receipt,
        changes={"number": receipt.full_number, "reason": reason, "allocations_released": released},
    )
    return receipt
