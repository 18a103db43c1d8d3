"""Appointments. PostgreSQL itself refuses double bookings: two active appointments never
overlap for the same professional, nor for the same chair (exclusion constraints)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeOperators
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.core.db import TsTzRange
from backend.patients.models import Patient
from backend.resources.models import Chair, Professional

MAX_DURATION = timedelta(hours=8)


class AppointmentStatus(models.TextChoices):
    SCHEDULED = "SCHEDULED", _("Scheduled")
    CONFIRMED = "CONFIRMED", _("Confirmed")
    CHECKED_IN = "CHECKED_IN", _("Checked in")
    IN_PROGRESS = "IN_PROGRESS", _("In progress")
    COMPLETED = "COMPLETED", _("Completed")
    CANCELLED = "CANCELLED", _("Cancelled")
    NO_SHOW = "NO_SHOW", _("No show")


# Appointments in these states free their slot.
INACTIVE_STATUSES = (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW)
_ACTIVE = ~Q(status__in=INACTIVE_STATUSES)


class Appointment(models.Model):
    """A patient booked with a professional in a chair, for ``[starts_at, ends_at)``."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    professional = models.ForeignKey(
        Professional, on_delete=models.PROTECT, related_name="appointments"
    )
    chair = models.ForeignKey(Chair, on_delete=models.PROTECT, related_name="appointments")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=300, blank=True)
    notes = models.TextField(blank=True)
    status = models.CharField(
        max_length=12, choices=AppointmentStatus.choices, default=AppointmentStatus.SCHEDULED
    )
    cancellation_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [
            models.Index(fields=["starts_at", "id"], name="appointment_agenda"),
            models.Index(fields=["patient", "starts_at"], name="appointment_patient"),
            # The daily metrics rollup counts the appointments created in a day.
            models.Index(fields=["created_at"], name="appointment_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="appointment_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__lte=F("starts_at") + MAX_DURATION),
                name="appointment_max_duration",
            ),
            ExclusionConstraint(
                name="appointment_no_professional_overlap",
                expressions=[
                    (TsTzRange("starts_at", "ends_at"), RangeOperators.OVERLAPS),
                    ("professional", RangeOperators.EQUAL),
                ],
                condition=_ACTIVE,
            ),
            ExclusionConstraint(
                name="appointment_no_chair_overlap",
                expressions=[
                    (TsTzRange("starts_at", "ends_at"), RangeOperators.OVERLAPS),
                    ("chair", RangeOperators.EQUAL),
                ],
                condition=_ACTIVE,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient_id} with {self.professional_id} at {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.status not in INACTIVE_STATUSES
