"""Public-schema tables of the per-clinic daily rollup (``backend.metrics.rollup``).

Platform views read only these rows: no request ever scans a clinic's schema."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from tenants_core.models import Clinic


class ClinicDayMetrics(models.Model):
    """One clinic's figures for one of its local days (its own timezone).

    Figures "at the end of the day" are derived from timestamps, so re-running a past day
    gives the same numbers; where the schema keeps no history (a user deactivated, a patient
    archived, a file deleted), the first row computed after the day ended is kept (see
    ``backend.metrics.rollup``)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="day_metrics")
    day = models.DateField(help_text="The clinic's local day.")
    # The clinic's plan and status when the row was computed (kept once the day is final).
    plan_code = models.CharField(max_length=32)
    status = models.CharField(max_length=16)
    plan_monthly_price = models.DecimalField(max_digits=10, decimal_places=2)
    plan_currency = models.CharField(max_length=3)
    users = models.PositiveIntegerField(help_text="Active staff accounts at the end of the day.")
    active_users = models.PositiveIntegerField(help_text="Distinct staff who signed in that day.")
    patients = models.PositiveIntegerField(help_text="Patients not archived at the end of the day.")
    new_patients = models.PositiveIntegerField(help_text="Patients created that day.")
    appointments_created = models.PositiveIntegerField(help_text="Booked that day (created_at).")
    appointments_completed = models.PositiveIntegerField(help_text="Starting that day, COMPLETED.")
    appointments_cancelled = models.PositiveIntegerField(help_text="Starting that day, CANCELLED.")
    appointments_no_show = models.PositiveIntegerField(help_text="Starting that day, NO_SHOW.")
    no_show_rate = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="no_show ÷ (completed + no_show); null when both are 0.",
    )
    payments_collected = models.DecimalField(
        max_digits=14, decimal_places=2, help_text="PAYMENTs received that day, PEN (gross)."
    )
    refunds = models.DecimalField(
        max_digits=14, decimal_places=2, help_text="REFUNDs paid back that day, PEN."
    )
    currency = models.CharField(max_length=3, default="PEN")
    receipts_issued = models.PositiveIntegerField(help_text="Issued that day (voided later too).")
    receipts_voided = models.PositiveIntegerField(help_text="Voided that day.")
    storage_bytes = models.BigIntegerField(help_text="Bytes of stored files at the end of the day.")
    messages_sent = models.PositiveIntegerField(help_text="Notifications sent that day.")
    messages_whatsapp = models.PositiveIntegerField()
    messages_sms = models.PositiveIntegerField()
    messages_email = models.PositiveIntegerField()
    messages_metered_month = models.PositiveIntegerField(
        default=0,
        help_text="WhatsApp and SMS messages the plan's quota counted in the day's month so far "
        "(the clinic's own meter, which a resend never rewinds).",
    )
    last_activity_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Newest sign-in or audit event by a staff user up to the day's end (the "
        "clinic's own jobs, e.g. retention, do not count as activity).",
    )
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["clinic_id", "day"]
        verbose_name_plural = "clinic day metrics"
        constraints = [
            models.UniqueConstraint(fields=["clinic", "day"], name="metrics_clinic_day_unique"),
            models.CheckConstraint(
                condition=Q(no_show_rate__isnull=True)
                | (Q(no_show_rate__gte=0) & Q(no_show_rate__lte=1)),
                name="metrics_no_show_rate_fraction",
            ),
        ]
        indexes = [models.Index(fields=["day"], name="metrics_day")]
        # (clinic, day) is indexed by the unique constraint.

    def __str__(self) -> str:
        return f"{self.clinic_id} {self.day}"


class MetricsRollupRun(models.Model):
    """One rollup of one day over the clinics, in clinic-id order. ``cursor`` is the last
    clinic done: each clinic's upsert advances it in the same statement, so a run that
    crashed resumes after it."""

    day = models.DateField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    clinics_total = models.PositiveIntegerField(default=0)
    clinics_done = models.PositiveIntegerField(default=0)
    cursor = models.BigIntegerField(default=0, help_text="Id of the last clinic rolled up.")
    abandoned = models.BooleanField(default=False, help_text="Restarted from scratch instead.")
    clinics_failed = models.PositiveIntegerField(default=0)
    failures = models.JSONField(
        default=list,
        blank=True,
        help_text="The clinics whose rollup failed in this run: id, schema and the error's class "
        "(the next run of the day tries them again).",
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["day"],
                condition=Q(finished_at__isnull=True, abandoned=False),
                name="metrics_one_open_run_per_day",
            )
        ]

    def __str__(self) -> str:
        return f"rollup {self.day} {self.clinics_done}/{self.clinics_total}"
