"""Professionals (who treat) and chairs (where), the resources an appointment books."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeOperators
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from backend.core.db import TsTzRange


class Professional(models.Model):
    """A dentist or specialist whose agenda the clinic books."""

    full_name = models.CharField(max_length=200)
    license_number = models.CharField(max_length=10, help_text="COP (Colegio Odontológico).")
    specialty = models.CharField(max_length=100, blank=True)
    color = models.CharField(max_length=7, default="#3B82F6", help_text="Calendar colour, #RRGGBB.")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="professional",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["full_name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["license_number"], name="professional_license_unique"),
            models.CheckConstraint(
                condition=Q(color__regex=r"^#[0-9A-Fa-f]{6}$"), name="professional_color_hex"
            ),
        ]

    def __str__(self) -> str:
        return self.full_name


class WorkingHours(models.Model):
    """One range of a professional's weekly hours, in the clinic's local time."""

    professional = models.ForeignKey(
        Professional, on_delete=models.CASCADE, related_name="working_hours"
    )
    weekday = models.PositiveSmallIntegerField(help_text="0 = Monday … 6 = Sunday.")
    start_time = models.TimeField()
    end_time = models.TimeField()

    class Meta:
        ordering = ["weekday", "start_time"]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="working_hours_weekday"),
            models.CheckConstraint(
                condition=Q(end_time__gt=F("start_time")), name="working_hours_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.weekday} {self.start_time}-{self.end_time}"


class TimeOff(models.Model):
    """A period when a professional cannot be booked (holidays, a course, sick leave)."""

    professional = models.ForeignKey(
        Professional, on_delete=models.CASCADE, related_name="time_off"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="time_off_order"),
            ExclusionConstraint(
                name="time_off_no_overlap",
                expressions=[
                    (TsTzRange("starts_at", "ends_at"), RangeOperators.OVERLAPS),
                    ("professional", RangeOperators.EQUAL),
                ],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.professional_id}: {self.starts_at:%Y-%m-%d %H:%M} – {self.ends_at:%H:%M}"


class Chair(models.Model):
    """A dental chair (operatory, “sillón”)."""

    name = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["name"], name="chair_name_unique")]

    def __str__(self) -> str:
        return self.name
