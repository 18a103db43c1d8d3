"""Types of the platform's own operations: clinics as operators see them, and backups."""

from __future__ import annotations

import strawberry
import strawberry_django

from graphql_api.clinic_settings.types import ClinicBase
from graphql_api.core.big_int import BigInt
from graphql_api.core.docstrings import django_type, graphql_type
from tenants_core import models
from tenants_core.limits import usage_by_schema
from tenants_core.models import MessagingChannel

strawberry.enum(MessagingChannel, description="A channel the platform gives clinics a sender on.")


@django_type(models.ClinicBackup)
class ClinicBackup:
    """A backup ("respaldo") of one clinic's schema: a compressed logical export, encrypted at
    rest, checked by its SHA-256 before any restore."""

    id: strawberry.ID
    subdomain: str = strawberry.field(description="The clinic it was taken from.")
    created_at: strawberry.auto
    size_bytes: BigInt = strawberry.field(description="Size of the compressed file, in bytes.")
    sha256: str = strawberry.field(description="SHA-256 of the file, hex.")
    key_id: str = strawberry.field(
        description="Id of the BACKUP_ENCRYPTION_KEYS key it needs to be restored; empty for a "
        "backup made before backups were encrypted."
    )
    tables: int = strawberry.field(description="Tables exported.")
    rows: BigInt = strawberry.field(description="Rows exported, all tables together.")
    created_by: str = strawberry.field(description="Who asked for it.")


@graphql_type
class Usage:
    """How much of its limits a clinic uses."""

    users: int = strawberry.field(description="Active staff users.")
    patients: int = strawberry.field(description="Patients that are not archived.")
    storage_bytes: BigInt = strawberry.field(
        description="Bytes of stored files (logo, patient documents, previews)."
    )


@django_type(models.MessagingSender)
class MessagingSender:
    """A clinic's own sender on a provider: the provider's webhooks that name it reach the
    clinic."""

    @strawberry_django.field(only=["channel"])
    def channel(self, root: models.MessagingSender) -> MessagingChannel:
        return MessagingChannel(root.channel)

    external_id: str = strawberry_django.field(
        description="WhatsApp: the phone-number id; SMS: the number in E.164."
    )
    display_number: str = strawberry_django.field(description="E.164, as shown; may be empty.")
    created_at: strawberry.auto


@django_type(models.Clinic)
class ManagedClinic(ClinicBase):
    """A clinic as platform operators see it: with its domains, usage and suspension."""

    legal_id: str = strawberry_django.field(description="The clinic's RUC.")
    email: strawberry.auto
    suspension_reason: strawberry.auto
    suspended_at: strawberry.auto

    @strawberry_django.field(prefetch_related=["domains"], description="Host names routed here.")
    def domains(self, root: models.Clinic) -> list[str]:
        return [d.domain for d in root.domains.all()]

    @strawberry_django.field(
        prefetch_related=["senders"],
        description="Its WhatsApp and SMS senders (at most one a channel).",
    )
    def messaging_senders(self, root: models.Clinic) -> list[MessagingSender]:
        return list(root.senders.all())

    @strawberry.field(description="Current usage, counted in the clinic's schema.")
    def usage(self, root: models.Clinic) -> Usage:
        # The platform resolvers load usage for a whole page in one statement.
        counts = getattr(root, "usage_counts", None)
        if counts is None:
            counts = usage_by_schema([root.schema_name])[root.schema_name]
        return Usage(
            users=counts.get("users", 0),
            patients=counts.get("patients", 0),
            storage_bytes=BigInt(counts.get("storage_bytes", 0)),
        )

    @strawberry_django.field(
        only=["plan__max_storage_bytes"], description="Bytes of stored files allowed: the plan's."
    )
    def max_storage_bytes(self, root: models.Clinic) -> BigInt:
        return BigInt(root.max_storage_bytes)
