"""A patient's documents: radiographs (DICOM too), photos, consents, ID documents, lab
results. Health records: archived, never deleted (the stored files are PROTECTed)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.clinical.teeth import ALL_TEETH
from backend.files.models import StoredFile
from backend.patients.models import Patient


class DocumentKind(models.TextChoices):
    XRAY = "XRAY", _("Radiograph")
    PHOTO = "PHOTO", _("Photo")
    CONSENT = "CONSENT", _("Signed consent")
    ID_DOCUMENT = "ID_DOCUMENT", _("ID document")
    LAB = "LAB", _("Lab result")
    OTHER = "OTHER", _("Other")


# Health data, read by the clinical staff; the rest is what the front desk collects.
CLINICAL_KINDS = frozenset({DocumentKind.XRAY, DocumentKind.PHOTO, DocumentKind.LAB,
                            DocumentKind.OTHER})  # fmt: skip
ADMINISTRATIVE_KINDS = frozenset({DocumentKind.CONSENT, DocumentKind.ID_DOCUMENT})

NOTE_MAX_LENGTH = 2000


class PatientDocument(models.Model):
    """One file of a patient's record, with what it shows (kind, date, teeth) and, for a
    DICOM, what its header said that did not match the patient."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(max_length=16, choices=DocumentKind.choices)
    original = models.ForeignKey(StoredFile, on_delete=models.PROTECT, related_name="+")
    # A JPEG thumbnail of an image, a PNG of a DICOM's pixels; none for a PDF, or a DICOM
    # whose pixel data does not decode.
    preview = models.ForeignKey(
        StoredFile, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    taken_on = models.DateField(null=True, blank=True)
    teeth = ArrayField(models.PositiveSmallIntegerField(), default=list, blank=True)
    note = models.TextField(blank=True)
    dicom_warnings = ArrayField(models.TextField(), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)
    archived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["patient", "-created_at", "-id"], name="document_patient_time")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=DocumentKind.values), name="document_kind_known"
            ),
            models.CheckConstraint(
                condition=Q(teeth__contained_by=sorted(ALL_TEETH)), name="document_fdi_teeth"
            ),
            models.CheckConstraint(
                condition=Q(archived_at__isnull=True, archived_by__isnull=True)
                | Q(archived_at__isnull=False, archived_by__isnull=False),
                name="document_archive_signed",
            ),
            models.UniqueConstraint(fields=["original"], name="document_original_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of patient {self.patient_id}"

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None
