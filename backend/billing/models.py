"""Billing: charges, receipts numbered without gaps, payments and their allocation.

Money is Decimal with two places, in PEN. Nothing here is ever deleted: a receipt is voided
(keeping its number), an allocation is released, a refund is a movement of its own.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.patients.models import Patient
from backend.resources.models import Professional
from backend.treatments.models import PerformedProcedure

PEN = "PEN"


class BillingSettings(models.Model):
    """The clinic's tax set-up (one row)."""

    igv_rate = models.DecimalField(max_digits=5, decimal_places=4, default=Decimal("0.1800"))
    prices_include_tax = models.BooleanField(default=True)
    boleta_series = models.CharField(max_length=4, default="B001")
    factura_series = models.CharField(max_length=4, default="F001")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(igv_rate__gte=0) & Q(igv_rate__lt=1), name="igv_rate_range"
            ),
            models.CheckConstraint(
                condition=Q(boleta_series__regex=r"^B[0-9A-Z]{3}$"), name="boleta_series_format"
            ),
            models.CheckConstraint(
                condition=Q(factura_series__regex=r"^F[0-9A-Z]{3}$"), name="factura_series_format"
            ),
        ]

    def __str__(self) -> str:
        return f"IGV {self.igv_rate}"


class Charge(models.Model):
    """Something the patient owes: a performed procedure or a manual concept. ``amount`` is
    what the patient pays for it, tax included."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="charges")
    performed_procedure = models.OneToOneField(
        PerformedProcedure, on_delete=models.PROTECT, null=True, blank=True, related_name="charge"
    )
    professional = models.ForeignKey(
        Professional, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    concept = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField(default=1)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    discount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default=PEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["patient", "created_at"], name="charge_patient_time")]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="charge_quantity_positive"),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="charge_price_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(discount__gte=0) & Q(discount__lte=F("unit_price") * F("quantity")),
                name="charge_discount_within_price",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="charge_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.concept} {self.amount}"


class ReceiptType(models.TextChoices):
    BOLETA = "BOLETA", _("Boleta de venta")
    FACTURA = "FACTURA", _("Factura")


class ReceiptStatus(models.TextChoices):
    ISSUED = "ISSUED", _("Issued")
    PARTIALLY_PAID = "PARTIALLY_PAID", _("Partially paid")
    PAID = "PAID", _("Paid")
    VOID = "VOID", _("Void")


class ReceiptSeries(models.Model):
    """The last number issued in a series; locked while a receipt takes the next one, so
    numbers are consecutive with no gaps or duplicates, even under concurrent issuing."""

    receipt_type = models.CharField(max_length=8, choices=ReceiptType.choices)
    series = models.CharField(max_length=4)
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["receipt_type", "series"], name="receipt_series_unique")
        ]

    def __str__(self) -> str:
        return f"{self.series}: {self.last_number}"


class Receipt(models.Model):
    """A boleta or factura for some of a patient's charges."""

    receipt_type = models.CharField(max_length=8, choices=ReceiptType.choices)
    series = models.CharField(max_length=4)
    number = models.PositiveIntegerField()
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="receipts")
    customer_name = models.CharField(max_length=200)
    customer_document = models.CharField(
        max_length=12, blank=True, help_text="DNI, or RUC for a factura."
    )
    igv_rate = models.DecimalField(max_digits=5, decimal_places=4)
    subtotal = models.DecimalField(max_digits=12, decimal_places=2)
    tax = models.DecimalField(max_digits=12, decimal_places=2)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default=PEN)
    status = models.CharField(
        max_length=16, choices=ReceiptStatus.choices, default=ReceiptStatus.ISSUED
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    issued_at = models.DateTimeField(default=timezone.now)
    void_reason = models.CharField(max_length=300, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    voided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        indexes = [
            models.Index(fields=["patient", "issued_at"], name="receipt_patient_time"),
            # The daily metrics rollup counts the receipts issued and voided in a day.
            models.Index(fields=["issued_at"], name="receipt_issued"),
            models.Index(
                fields=["voided_at"],
                name="receipt_voided",
                condition=models.Q(voided_at__isnull=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["receipt_type", "series", "number"], name="receipt_number_unique"
            ),
            models.CheckConstraint(
                condition=Q(total=F("subtotal") + F("tax")), name="receipt_total_sum"
            ),
            models.CheckConstraint(
                condition=~Q(receipt_type="FACTURA")
                | Q(customer_document__regex=r"^(10|15|17|20)[0-9]{9}$"),
                name="factura_has_ruc",
            ),
            models.CheckConstraint(
                condition=Q(status="VOID", voided_at__isnull=False)
                | (~Q(status="VOID") & Q(voided_at__isnull=True)),
                name="receipt_void_consistent",
            ),
        ]

    def __str__(self) -> str:
        return self.full_number

    @property
    def full_number(self) -> str:
        """As printed: ``B001-00000123``."""
        return f"{self.series}-{self.number:08d}"


class ReceiptLine(models.Model):
    """A charge on a receipt. A voided receipt keeps its lines; the charge is free again."""

    receipt = models.ForeignKey(Receipt, on_delete=models.PROTECT, related_name="lines")
    charge = models.ForeignKey(Charge, on_delete=models.PROTECT, related_name="receipt_lines")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    is_void = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            # A charge is on at most one receipt that is not void.
            models.UniqueConstraint(
                fields=["charge"], condition=Q(is_void=False), name="charge_on_one_live_receipt"
            )
        ]

    def __str__(self) -> str:
        return f"{self.receipt_id}: {self.charge_id}"


class PaymentMethod(models.TextChoices):
    CASH = "CASH", _("Cash")
    CARD = "CARD", _("Card")
    TRANSFER = "TRANSFER", _("Bank transfer")
    YAPE = "YAPE", _("Yape")
    PLIN = "PLIN", _("Plin")


class PaymentKind(models.TextChoices):
    PAYMENT = "PAYMENT", _("Payment")
    REFUND = "REFUND", _("Refund")


class Payment(models.Model):
    """Money received from (PAYMENT) or returned to (REFUND) a patient. ``amount_pen`` is what
    counts on the account: the amount, converted at the recorded rate when paid in USD."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="payments")
    kind = models.CharField(max_length=8, choices=PaymentKind.choices, default=PaymentKind.PAYMENT)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default=PEN)
    exchange_rate = models.DecimalField(max_digits=10, decimal_places=4, default=Decimal("1.0000"))
    amount_pen = models.DecimalField(max_digits=12, decimal_places=2)
    method = models.CharField(max_length=10, choices=PaymentMethod.choices)
    paid_at = models.DateTimeField(default=timezone.now)
    reference = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["paid_at", "id"]
        indexes = [
            models.Index(fields=["patient", "paid_at"], name="payment_patient_time"),
            models.Index(fields=["paid_at"], name="payment_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0) & Q(amount_pen__gt=0), name="payment_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(currency__in=["PEN", "USD"]), name="payment_currency"
            ),
            models.CheckConstraint(condition=Q(exchange_rate__gt=0), name="payment_rate_positive"),
            models.CheckConstraint(
                condition=~Q(kind="REFUND") | ~Q(reason=""), name="refund_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency}"


class PaymentAllocation(models.Model):
    """Part of a payment applied to a receipt. Released (not deleted) when the receipt is
    voided: the money becomes the patient's credit again."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="allocations")
    receipt = models.ForeignKey(Receipt, on_delete=models.PROTECT, related_name="allocations")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    released_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_positive")
        ]

    def __str__(self) -> str:
        return f"{self.payment_id} → {self.receipt_id}: {self.amount}"
