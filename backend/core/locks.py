"""Advisory locks held until the transaction ends."""

from __future__ import annotations

from django.db import connection

from backend.core.db_backend.connection import tenant_connection


def transaction_lock(key: str) -> None:
    """Wait for, then hold until commit or rollback, the lock named ``key`` in the current
    schema (the schema is part of the name: two clinics never wait for each other)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"{tenant_connection().schema_name}:{key}"],
        )
