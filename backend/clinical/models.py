"""Clinical records: the versioned anamnesis, visit notes (signed notes never change) and the
odontogram, kept as a history of findings so that it can be read as of any date."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.clinical.teeth import ALL_TEETH
from backend.patients.models import Patient
from backend.scheduling.models import Appointment


class Condition(models.TextChoices):
    """Systemic conditions of the anamnesis checklist."""

    HYPERTENSION = "HYPERTENSION", _("Hypertension")
    DIABETES = "DIABETES", _("Diabetes")
    HEART_DISEASE = "HEART_DISEASE", _("Heart disease")
    ASTHMA = "ASTHMA", _("Asthma")
    EPILEPSY = "EPILEPSY", _("Epilepsy")
    HEPATITIS = "HEPATITIS", _("Hepatitis")
    HIV = "HIV", _("HIV")
    KIDNEY_DISEASE = "KIDNEY_DISEASE", _("Kidney disease")
    BLEEDING_DISORDER = "BLEEDING_DISORDER", _("Bleeding disorder")
    THYROID_DISEASE = "THYROID_DISEASE", _("Thyroid disease")
    CANCER = "CANCER", _("Cancer")


class MedicalHistory(models.Model):
    """One version of a patient's anamnesis. Updates add a version; none is ever changed."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="medical_history")
    version = models.PositiveIntegerField()
    conditions = ArrayField(
        models.CharField(max_length=20, choices=Condition.choices), default=list
    )
    conditions_notes = models.TextField(blank=True)
    medications = models.TextField(blank=True)
    allergies = models.TextField(blank=True)
    is_pregnant = models.BooleanField(null=True)
    is_smoker = models.BooleanField(default=False)
    takes_anticoagulants = models.BooleanField(default=False)
    last_dental_visit = models.DateField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["patient", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "version"], name="medical_history_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.patient_id} v{self.version}"


class NoteStatus(models.TextChoices):
    DRAFT = "DRAFT", _("Draft")
    SIGNED = "SIGNED", _("Signed")


class ClinicalNote(models.Model):
    """A visit note in SOAP form. Once signed it is immutable (a trigger holds the line);
    corrections are addenda."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="clinical_notes")
    appointment = models.OneToOneField(
        Appointment, on_delete=models.PROTECT, null=True, blank=True, related_name="clinical_note"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    subjective = models.TextField(blank=True)
    objective = models.TextField(blank=True)
    assessment = models.TextField(blank=True)
    plan = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=NoteStatus.choices, default=NoteStatus.DRAFT)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["patient", "created_at"], name="note_patient_time")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="DRAFT", signed_at__isnull=True)
                | Q(status="SIGNED", signed_at__isnull=False, signed_by__isnull=False),
                name="note_signature_consistent",
            )
        ]

    def __str__(self) -> str:
        return f"note {self.pk} of {self.patient_id} ({self.status})"


class NoteAddendum(models.Model):
    """A signed, timestamped correction or complement to a signed note."""

    note = models.ForeignKey(ClinicalNote, on_delete=models.PROTECT, related_name="addenda")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    signed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["signed_at", "id"]

    def __str__(self) -> str:
        return f"addendum {self.pk} to note {self.note_id}"


class FindingCondition(models.TextChoices):
    CARIES = "CARIES", _("Caries")
    RESTORATION = "RESTORATION", _("Restoration")
    SEALANT = "SEALANT", _("Sealant")
    CROWN = "CROWN", _("Crown")
    BRIDGE_ABUTMENT = "BRIDGE_ABUTMENT", _("Bridge abutment")
    BRIDGE_PONTIC = "BRIDGE_PONTIC", _("Bridge pontic")
    ROOT_CANAL = "ROOT_CANAL", _("Root canal treatment")
    IMPLANT = "IMPLANT", _("Implant")
    MISSING = "MISSING", _("Missing")
    EXTRACTION_INDICATED = "EXTRACTION_INDICATED", _("Extraction indicated")
    FRACTURE = "FRACTURE", _("Fracture")
    ORTHODONTIC_APPLIANCE = "ORTHODONTIC_APPLIANCE", _("Orthodontic appliance")


class Material(models.TextChoices):
    AMALGAM = "AMALGAM", _("Amalgam")
    RESIN = "RESIN", _("Composite resin")
    GLASS_IONOMER = "GLASS_IONOMER", _("Glass ionomer")
    CERAMIC = "CERAMIC", _("Ceramic")
    METAL = "METAL", _("Metal")
    ZIRCONIA = "ZIRCONIA", _("Zirconia")
    OTHER = "OTHER", _("Other")


class FindingState(models.TextChoices):
    EXISTING = "EXISTING", _("Existing")
    PLANNED = "PLANNED", _("Planned")


# Which conditions are on surfaces, and which on the whole tooth.
SURFACE_CONDITIONS = frozenset({"CARIES", "RESTORATION", "SEALANT"})
WHOLE_TOOTH_CONDITIONS = frozenset(
    {"CROWN", "BRIDGE_ABUTMENT", "BRIDGE_PONTIC", "ROOT_CANAL", "IMPLANT", "MISSING",
     "EXTRACTION_INDICATED", "ORTHODONTIC_APPLIANCE"}
)  # fmt: skip
MATERIAL_CONDITIONS = frozenset({"RESTORATION", "CROWN"})


class Finding(models.Model):
    """One entry of the odontogram, valid from ``recorded_at`` until ``resolved_at``.

    A change never edits a finding: it resolves it and records the new one (``replaces``), so
    the chart as of any date is the findings valid at that moment.
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="findings")
    tooth = models.PositiveSmallIntegerField(help_text="FDI notation.")
    surfaces = ArrayField(models.CharField(max_length=1), default=list, blank=True)
    condition = models.CharField(max_length=24, choices=FindingCondition.choices)
    material = models.CharField(max_length=16, choices=Material.choices, blank=True)
    state = models.CharField(max_length=10, choices=FindingState.choices)
    notes = models.CharField(max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    replaces = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replaced_by"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolution = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["tooth", "recorded_at", "id"]
        indexes = [models.Index(fields=["patient", "recorded_at"], name="finding_patient_time")]
        constraints = [
            models.CheckConstraint(
                condition=Q(tooth__in=sorted(ALL_TEETH)),
                name="finding_fdi_tooth",
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(resolved_at__gte=F("recorded_at")),
                name="finding_resolved_after_recorded",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tooth} {self.condition} {''.join(self.surfaces)} ({self.state})"
