"""The clinic's own profile (one row), its weekly opening hours and its closures.

The trade name and the time zone are ``Clinic.name`` and ``Clinic.timezone`` (public schema);
the RUC is ``Clinic.legal_id``. Everything here is in the clinic's schema."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

PROFILE_PK = 1
DEFAULT_CURRENCY = "PEN"
DEFAULT_APPOINTMENT_MINUTES = 30


class ClinicProfile(models.Model):
    """How patients find and reach the clinic, and its defaults. A singleton (pk 1), created
    with empty values by a migration."""

    legal_name = models.CharField(max_length=200, blank=True, help_text="Razón social.")
    address_line = models.CharField(max_length=200, blank=True)
    reference = models.CharField(max_length=300, blank=True, help_text="How to get there.")
    department = models.CharField(max_length=100, blank=True)
    province = models.CharField(max_length=100, blank=True)
    district = models.CharField(max_length=100, blank=True)
    ubigeo = models.CharField(max_length=6, blank=True, help_text="INEI code, 6 digits.")
    phone = models.CharField(max_length=16, blank=True, help_text="E.164.")
    whatsapp = models.CharField(max_length=16, blank=True, help_text="E.164.")
    email = models.CharField(max_length=254, blank=True)
    website = models.CharField(max_length=300, blank=True)
    currency = models.CharField(max_length=3, default=DEFAULT_CURRENCY, help_text="ISO 4217.")
    default_appointment_minutes = models.PositiveSmallIntegerField(
        default=DEFAULT_APPOINTMENT_MINUTES
    )
    description = models.CharField(max_length=1000, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(pk=PROFILE_PK), name="clinic_profile_singleton"),
            models.CheckConstraint(
                condition=Q(ubigeo="") | Q(ubigeo__regex=r"^(0[1-9]|1[0-9]|2[0-5])[0-9]{4}$"),
                name="clinic_profile_ubigeo",
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="clinic_profile_currency"
            ),
            models.CheckConstraint(
                condition=Q(default_appointment_minutes__gte=5)
                & Q(default_appointment_minutes__lte=480),
                name="clinic_profile_default_minutes",
            ),
        ]

    def __str__(self) -> str:
        return self.legal_name or "clinic profile"

    @property
    def address_text(self) -> str:
        """The address on one line, as messages and the assistant show it: "Av. Larco 123,
        Miraflores, Lima" (the parts that are set, the province only when it differs)."""
        parts = [self.address_line, self.district]
        if self.province and self.province not in parts:
            parts.append(self.province)
        return ", ".join(part for part in parts if part)


class OpeningShift(models.Model):
    """One range of the clinic's weekly opening hours, in its local time. A day with a
    lunch break has two rows."""

    weekday = models.PositiveSmallIntegerField(help_text="ISO: 1 = Monday … 7 = Sunday.")
    opens_at = models.TimeField()
    closes_at = models.TimeField()

    class Meta:
        ordering = ["weekday", "opens_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(weekday__gte=1) & Q(weekday__lte=7), name="opening_shift_weekday"
            ),
            models.CheckConstraint(
                condition=Q(closes_at__gt=F("opens_at")), name="opening_shift_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.weekday} {self.opens_at:%H:%M}-{self.closes_at:%H:%M}"


class ClinicClosure(models.Model):
    """Days the clinic is closed (a holiday, a renovation), both ends included."""

    starts_on = models.DateField()
    ends_on = models.DateField()
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["starts_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="clinic_closure_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.starts_on}–{self.ends_on} {self.reason}"
