"""Public-schema models: plans, clinics (tenants) and their domains."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin
from django_tenants.postgresql_backend.base import _check_schema_name
from django_tenants.utils import get_tenant_database_alias, schema_exists

from backend.core.db_backend.connection import tenant_connection


class PlanCode(models.TextChoices):
    BASIC = "basic", _("Basic")
    PROFESSIONAL = "professional", _("Professional")
    ENTERPRISE = "enterprise", _("Enterprise")


class Plan(models.Model):
    """A subscription plan: what a clinic pays each month and how much it may hold."""

    code = models.CharField(max_length=32, unique=True, choices=PlanCode.choices)
    name = models.CharField(max_length=100)
    max_users = models.PositiveIntegerField(help_text="Active staff users allowed.")
    max_patients = models.PositiveIntegerField(help_text="Patients (not archived) allowed.")
    monthly_messages = models.PositiveIntegerField(
        default=0, help_text="WhatsApp and SMS messages a month (email is not counted)."
    )
    max_storage_bytes = models.BigIntegerField(
        default=0, help_text="Bytes of files (logo, patient documents, previews) allowed."
    )
    monthly_price = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD", help_text="ISO 4217 code.")

    class Meta:
        ordering = ["monthly_price"]
        constraints = [
            models.CheckConstraint(
                condition=Q(monthly_price__gte=Decimal("0")), name="plan_price_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="plan_currency_iso"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ClinicStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")


class Clinic(TenantMixin):
    """A dental clinic: one PostgreSQL schema, reached at ``<subdomain>.<BASE_DOMAIN>``.

    The platform itself is the row whose schema is ``public``.
    """

    name = models.CharField(max_length=200)
    subdomain = models.CharField(max_length=63, unique=True)
    legal_id = models.CharField(
        max_length=11, blank=True, help_text="Peruvian RUC (11 digits, SUNAT check digit)."
    )
    email = models.EmailField(blank=True)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="clinics")
    max_users_override = models.PositiveIntegerField(
        null=True, blank=True, help_text="Replaces the plan's user limit for this clinic."
    )
    max_patients_override = models.PositiveIntegerField(
        null=True, blank=True, help_text="Replaces the plan's patient limit for this clinic."
    )
    status = models.CharField(
        max_length=16, choices=ClinicStatus.choices, default=ClinicStatus.ACTIVE
    )
    suspension_reason = models.CharField(max_length=500, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default=settings.DEFAULT_CLINIC_TIMEZONE)
    restrict_notes_to_author = models.BooleanField(
        default=False, help_text="Clinical notes are read only by their author and admins."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    migrations_fingerprint = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="Hash of the tenant migrations applied to the schema; migrate skips a match.",
    )

    # The provisioning service creates the schema inside its own transaction.
    auto_create_schema = True
    auto_drop_schema = False
    if TYPE_CHECKING:  # django-tenants has no types: declared for django-stubs (Plan.clinics)
        _default_manager: ClassVar[models.Manager[Clinic]]

    class Meta:
        ordering = ["subdomain"]
        constraints = [
            models.CheckConstraint(
                condition=Q(schema_name="public") | Q(legal_id__regex=r"^(10|15|17|20)[0-9]{9}$"),
                name="clinic_legal_id_is_ruc",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["active", "suspended"]), name="clinic_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.subdomain})"

    def create_schema(
        self, check_if_exists: bool = False, sync_schema: bool = True, verbosity: int = 1
    ) -> bool:
        """Create the clinic's schema: a copy of the migrated template when it is current
        (``PROVISION_FROM_TEMPLATE``), else by running the tenant migrations. Either way the
        migrations' fingerprint is recorded. Replaces django-tenants' own, which always
        migrates (or clones with known gaps)."""
        from tenants_core.schema_template import clinic_schema_create

        connection = tenant_connection(get_tenant_database_alias())
        _check_schema_name(self.schema_name)
        if check_if_exists and schema_exists(self.schema_name):
            return False
        if sync_schema:
            clinic_schema_create(self, verbosity=verbosity)
        connection.set_schema_to_public()
        return True

    @property
    def is_public(self) -> bool:
        return self.schema_name == settings.PUBLIC_SCHEMA_NAME

    @property
    def is_suspended(self) -> bool:
        return self.status == ClinicStatus.SUSPENDED

    @property
    def max_users(self) -> int:
        """The effective user limit: the clinic's override, else its plan's."""
        if self.max_users_override is not None:
            return self.max_users_override
        return self.plan.max_users

    @property
    def max_patients(self) -> int:
        """The effective patient limit: the clinic's override, else its plan's."""
        if self.max_patients_override is not None:
            return self.max_patients_override
        return self.plan.max_patients

    @property
    def max_storage_bytes(self) -> int:
        """Bytes of files allowed, from the plan."""
        return self.plan.max_storage_bytes

    @property
    def max_monthly_messages(self) -> int:
        """WhatsApp and SMS messages a month, from the plan."""
        return self.plan.monthly_messages


class MessagingChannel(models.TextChoices):
    WHATSAPP = "WHATSAPP", _("WhatsApp")
    SMS = "SMS", _("SMS")


class MessagingSender(models.Model):
    """A clinic's own sender on a provider: its WhatsApp phone number id, or its SMS number.

    The providers' webhooks name the receiving number, never the clinic: this table (public,
    one indexed lookup) routes each inbound message or delivery report to its clinic."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="senders")
    channel = models.CharField(max_length=10, choices=MessagingChannel.choices)
    external_id = models.CharField(
        max_length=64, help_text="WhatsApp phone number id, or the SMS number in E.164."
    )
    display_number = models.CharField(max_length=20, blank=True, help_text="E.164, shown.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["clinic_id", "channel"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "external_id"], name="sender_unique"),
            models.UniqueConstraint(fields=["clinic", "channel"], name="sender_one_per_channel"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.external_id} → {self.clinic_id}"


class Domain(DomainMixin):
    """A host name that routes to a clinic's schema."""


class RoutingVersion(models.Model):
    """One row whose ``version`` changes, by trigger, whenever a clinic, domain or plan does.

    Every process caches host → clinic routing and rereads only this row to know when its
    cache is stale (see ``tenants_core.routing``)."""

    version = models.BigIntegerField(default=0)

    class Meta:
        db_table = "tenants_core_routing_version"

    def __str__(self) -> str:
        return f"routing version {self.version}"


class ClinicBackup(models.Model):
    """A compressed, checksummed, encrypted logical export of one clinic's schema
    ("respaldo")."""

    id = models.UUIDField(primary_key=True, editable=False)
    clinic = models.ForeignKey(
        Clinic, on_delete=models.SET_NULL, null=True, blank=True, related_name="backups"
    )
    subdomain = models.CharField(max_length=63, help_text="The clinic's subdomain at backup time.")
    schema_name = models.CharField(max_length=63)
    file_name = models.CharField(max_length=255)
    size_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    key_id = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="Id of the BACKUP_ENCRYPTION_KEYS key that seals the file; empty for a plain "
        "file made before backups were encrypted.",
    )
    tables = models.PositiveIntegerField()
    rows = models.BigIntegerField()
    migrations_fingerprint = models.CharField(max_length=64)
    created_by = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.subdomain} {self.created_at:%Y-%m-%d %H:%M} ({self.id})"


class DatabaseBackupStatus(models.TextChoices):
    DONE = "done", "Done"
    FAILED = "failed", "Failed"  # no file: the error says why


class OffsiteStatus(models.TextChoices):
    NOT_CONFIGURED = "not_configured", "Not configured"  # no DATABASE_BACKUP_S3_BUCKET
    PENDING = "pending", "Pending"
    COPIED = "copied", "Copied"  # uploaded, and the bucket's copy checked against the file
    FAILED = "failed", "Failed"  # the next run tries again, while the file is kept
    DELETED = "deleted", "Deleted"  # removed from the bucket by retention


class DatabaseBackup(models.Model):
    """One dump of the whole database (the platform's tables, every clinic's schema, the
    template, the job queue), sealed under ``BACKUP_ENCRYPTION_KEYS``.

    The record is what operators and retention read (the console lists it; a failed dump or
    copy off the machine shows here); restoring needs only the file, which names its key. It
    is written once the dump has ended, so a dump never holds its own record."""

    id = models.UUIDField(primary_key=True, editable=False)
    status = models.CharField(max_length=16, choices=DatabaseBackupStatus.choices)
    file_name = models.CharField(max_length=255, blank=True, help_text="Relative to BACKUP_DIR.")
    size_bytes = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    key_id = models.CharField(max_length=64, blank=True)
    server_version = models.CharField(max_length=32, blank=True)
    error = models.TextField(blank=True)
    local_deleted_at = models.DateTimeField(
        null=True, blank=True, help_text="When retention deleted the file on this machine."
    )
    offsite_status = models.CharField(
        max_length=16, choices=OffsiteStatus.choices, default=OffsiteStatus.NOT_CONFIGURED
    )
    offsite_url = models.CharField(max_length=1024, blank=True, help_text="s3://bucket/key")
    offsite_error = models.TextField(blank=True)
    offsite_copied_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["-created_at"], name="database_backup_created")]

    def __str__(self) -> str:
        return f"database {self.created_at:%Y-%m-%d %H:%M} ({self.status}, {self.offsite_status})"
