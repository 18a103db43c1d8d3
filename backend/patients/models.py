"""Patients of a clinic."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Func, Q, Value
from django.db.models.functions import Concat, Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DocumentType(models.TextChoices):
    DNI = "DNI", _("DNI")
    CE = "CE", _("Foreigner's card (CE)")
    PASSPORT = "PASSPORT", _("Passport")


class Sex(models.TextChoices):
    FEMALE = "FEMALE", _("Female")
    MALE = "MALE", _("Male")
    OTHER = "OTHER", _("Other")


class ImmutableUnaccent(Func):
    """``extensions.immutable_unaccent``: unaccent that indexes and generated columns accept."""

    function = "immutable_unaccent"
    output_field = models.TextField()


# Document number formats; the services give the friendly errors, the database holds the line.
DOCUMENT_PATTERNS: dict[str, str] = {
    DocumentType.DNI: r"^[0-9]{8}$",
    DocumentType.CE: r"^[A-Z0-9]{8,12}$",
    DocumentType.PASSPORT: r"^[A-Z0-9]{6,12}$",
}


FRONT_DESK_ALERT_MAX_LENGTH = 300


class Patient(models.Model):
    """A person the clinic treats."""

    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    document_type = models.CharField(max_length=10, choices=DocumentType.choices)
    document_number = models.CharField(max_length=12)
    birth_date = models.DateField(null=True, blank=True)
    sex = models.CharField(max_length=10, choices=Sex.choices, blank=True)
    phone = models.CharField(max_length=20, blank=True, help_text="E.164, e.g. +51987654321.")
    email = models.EmailField(blank=True)
    address = models.CharField(max_length=300, blank=True)
    emergency_contact_name = models.CharField(max_length=200, blank=True)
    emergency_contact_phone = models.CharField(max_length=20, blank=True)
    notes = models.TextField(blank=True)
    # Health data (Ley 29733): read with clinical.view only, written with clinical.write.
    allergies = models.TextField(blank=True)
    medical_alerts = models.TextField(blank=True)
    # What a clinician chose to tell the front desk, in their own words: every role reads it.
    front_desk_alert = models.CharField(max_length=FRONT_DESK_ALERT_MAX_LENGTH, blank=True)
    front_desk_alert_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    front_desk_alert_at = models.DateTimeField(null=True, blank=True)
    is_archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Lowercase, accent-free "first last document", kept by PostgreSQL, trigram-indexed.
    search_text = models.GeneratedField(
        expression=Lower(
            ImmutableUnaccent(
                Concat(
                    "first_name",
                    Value(" "),
                    "last_name",
                    Value(" "),
                    "document_number",
                    output_field=models.TextField(),
                )
            )
        ),
        output_field=models.TextField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["document_type", "document_number"], name="patient_document_unique"
            ),
            models.CheckConstraint(
                condition=(
                    (Q(document_type="DNI") & Q(document_number__regex=DOCUMENT_PATTERNS["DNI"]))
                    | (Q(document_type="CE") & Q(document_number__regex=DOCUMENT_PATTERNS["CE"]))
                    | (
                        Q(document_type="PASSPORT")
                        & Q(document_number__regex=DOCUMENT_PATTERNS["PASSPORT"])
                    )
                ),
                name="patient_document_format",
            ),
            models.CheckConstraint(
                condition=~Q(first_name="") & ~Q(last_name=""), name="patient_names_required"
            ),
            # An alert always says who wrote it and when; no alert, no author.
            models.CheckConstraint(
                condition=(
                    Q(front_desk_alert="")
                    & Q(front_desk_alert_by__isnull=True)
                    & Q(front_desk_alert_at__isnull=True)
                )
                | (
                    ~Q(front_desk_alert="")
                    & Q(front_desk_alert_by__isnull=False)
                    & Q(front_desk_alert_at__isnull=False)
                ),
                name="patient_front_desk_alert_signed",
            ),
        ]
        indexes = [
            GinIndex(
                fields=["search_text"], opclasses=["gin_trgm_ops"], name="patient_search_trgm"
            ),
            models.Index(fields=["last_name", "first_name", "id"], name="patient_name_order"),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def has_alerts(self) -> bool:
        """Something to check before any act: allergies, medical alerts or a front-desk alert.
        One bit, which every role may read; the alerts themselves are not."""
        return bool(
            self.allergies.strip() or self.medical_alerts.strip() or self.front_desk_alert.strip()
        )
