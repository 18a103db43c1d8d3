"""Platform tables the console shows but never writes: each has a service that writes it
(a domain is added, a backup made, a sender set through the clinic's actions), or, for
plans, nothing in the console may change them (prices and limits ship as migrations)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from backend.audit.models import AuditEvent
from backend.console.base import ConsoleAdmin
from tenants_core.models import ClinicBackup, DatabaseBackup, Domain, MessagingSender, Plan


class ReadOnlyAdmin(ConsoleAdmin):
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DomainAdmin(ReadOnlyAdmin):
    list_display = ("domain", "tenant", "is_primary")
    list_select_related = ("tenant",)
    search_fields = ("domain", "tenant__subdomain")
    list_filter = ("is_primary",)


class PlanAdmin(ReadOnlyAdmin):
    list_display = (
        "code",
        "name",
        "monthly_price",
        "currency",
        "max_users",
        "max_patients",
        "monthly_messages",
        "max_storage_bytes",
    )


class ClinicBackupAdmin(ReadOnlyAdmin):
    list_display = (
        "subdomain",
        "created_at",
        "size_bytes",
        "tables",
        "rows",
        "key_id",
        "created_by",
    )
    search_fields = ("subdomain",)
    date_hierarchy = "created_at"


class DatabaseBackupAdmin(ReadOnlyAdmin):
    """Whole-database backups (``manage.py backup_database`` and its daily job): a failed dump
    or a failed copy off the machine shows here, with its error."""

    list_display = (
        "created_at",
        "status",
        "size_bytes",
        "key_id",
        "offsite_status",
        "offsite_url",
        "local_deleted_at",
    )
    list_filter = ("status", "offsite_status")
    date_hierarchy = "created_at"


class MessagingSenderAdmin(ReadOnlyAdmin):
    list_display = ("clinic", "channel", "external_id", "display_number", "created_at")
    list_select_related = ("clinic",)
    list_filter = ("channel",)
    search_fields = ("external_id", "clinic__subdomain")


class PlatformAuditAdmin(ReadOnlyAdmin):
    """The platform's own trail (the public schema): what operators did, and sign-ins."""

    list_display = ("created_at", "actor_email", "action", "entity_type", "entity_id", "ip")
    list_filter = ("action",)
    search_fields = ("actor_email", "action", "entity_id")
    date_hierarchy = "created_at"


def register(site: admin.AdminSite) -> None:
    site.register(Domain, DomainAdmin)
    site.register(Plan, PlanAdmin)
    site.register(ClinicBackup, ClinicBackupAdmin)
    site.register(DatabaseBackup, DatabaseBackupAdmin)
    site.register(MessagingSender, MessagingSenderAdmin)
    site.register(AuditEvent, PlatformAuditAdmin)
