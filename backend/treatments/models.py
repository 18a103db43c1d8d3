"""The procedure catalog, treatment plans and the procedures performed."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from backend.clinical.models import Finding, FindingCondition, Material
from backend.patients.models import Patient
from backend.resources.models import Professional
from backend.scheduling.models import Appointment

CURRENCY = "PEN"


class Category(models.TextChoices):
    DIAGNOSIS = "DIAGNOSIS", _("Diagnosis")
    PREVENTION = "PREVENTION", _("Prevention")
    RESTORATIVE = "RESTORATIVE", _("Restorative")
    ENDODONTICS = "ENDODONTICS", _("Endodontics")
    PERIODONTICS = "PERIODONTICS", _("Periodontics")
    SURGERY = "SURGERY", _("Oral surgery")
    PROSTHODONTICS = "PROSTHODONTICS", _("Prosthodontics")
    ORTHODONTICS = "ORTHODONTICS", _("Orthodontics")
    IMPLANTS = "IMPLANTS", _("Implants")
    AESTHETICS = "AESTHETICS", _("Aesthetics")


class Procedure(models.Model):
    """A procedure of the clinic's catalog, with its default price in soles."""

    code = models.CharField(max_length=20)
    name = models.CharField(max_length=150)
    category = models.CharField(max_length=20, choices=Category.choices)
    default_price = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3, default=CURRENCY)
    default_duration_minutes = models.PositiveIntegerField(default=30)
    requires_tooth = models.BooleanField(default=False)
    # What the procedure leaves on the odontogram once done (a resin → a resin restoration).
    result_condition = models.CharField(max_length=24, choices=FindingCondition.choices, blank=True)
    result_material = models.CharField(max_length=16, choices=Material.choices, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["category", "name"]
        constraints = [
            models.UniqueConstraint(fields=["code"], name="procedure_code_unique"),
            models.CheckConstraint(
                condition=Q(default_price__gte=0), name="procedure_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class PlanStatus(models.TextChoices):
    DRAFT = "DRAFT", pgettext_lazy("treatment plan", "Draft")
    PRESENTED = "PRESENTED", pgettext_lazy("treatment plan", "Presented")
    ACCEPTED = "ACCEPTED", pgettext_lazy("treatment plan", "Accepted")
    REJECTED = "REJECTED", pgettext_lazy("treatment plan", "Rejected")
    IN_PROGRESS = "IN_PROGRESS", pgettext_lazy("treatment plan", "In progress")
    COMPLETED = "COMPLETED", pgettext_lazy("treatment plan", "Completed")


class TreatmentPlan(models.Model):
    """What a dentist proposes for a patient, item by item, and carries out once accepted."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="treatment_plans")
    dentist = models.ForeignKey(
        Professional, on_delete=models.PROTECT, related_name="treatment_plans"
    )
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=12, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    currency = models.CharField(max_length=3, default=CURRENCY)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["patient", "status"], name="plan_patient_status")]

    def __str__(self) -> str:
        return f"{self.title} ({self.status})"


class ItemStatus(models.TextChoices):
    PLANNED = "PLANNED", pgettext_lazy("plan item", "Planned")
    DONE = "DONE", pgettext_lazy("plan item", "Done")
    CANCELLED = "CANCELLED", pgettext_lazy("plan item", "Cancelled")


class TreatmentPlanItem(models.Model):
    """One procedure of a plan, on a tooth and surfaces where it applies."""

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.CASCADE, related_name="items")
    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="+")
    tooth = models.PositiveSmallIntegerField(null=True, blank=True)
    surfaces = ArrayField(models.CharField(max_length=1), default=list, blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    discount = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    phase = models.PositiveSmallIntegerField(default=1)
    sequence = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=10, choices=ItemStatus.choices, default=ItemStatus.PLANNED)
    # The PLANNED finding this item put on the odontogram; it becomes EXISTING when done.
    planned_finding = models.ForeignKey(
        Finding, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["phase", "sequence", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="item_price_not_negative"),
            models.CheckConstraint(
                condition=Q(discount__gte=0) & Q(discount__lte=F("price")),
                name="item_discount_within_price",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.procedure_id} on {self.tooth or '-'} ({self.status})"

    @property
    def net(self) -> Decimal:
        return self.price - self.discount


class PerformedProcedure(models.Model):
    """A procedure carried out: who, when, where in the mouth, and at what price. Billing
    charges these."""

    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="performed_procedures"
    )
    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="+")
    plan_item = models.OneToOneField(
        TreatmentPlanItem, on_delete=models.PROTECT, null=True, blank=True, related_name="performed"
    )
    appointment = models.ForeignKey(
        Appointment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="performed_procedures",
    )
    professional = models.ForeignKey(Professional, on_delete=models.PROTECT, related_name="+")
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    performed_at = models.DateTimeField(default=timezone.now)
    tooth = models.PositiveSmallIntegerField(null=True, blank=True)
    surfaces = ArrayField(models.CharField(max_length=1), default=list, blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3, default=CURRENCY)

    class Meta:
        ordering = ["-performed_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="performed_price_not_negative")
        ]

    def __str__(self) -> str:
        return f"{self.procedure_id} for {self.patient_id} at {self.performed_at:%Y-%m-%d}"
