"""Types of the platform's own operations."""

from __future__ import annotations

import strawberry

from graphql_api.core.big_int import BigInt
from graphql_api.core.docstrings import django_type
from tenants_core import models


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
