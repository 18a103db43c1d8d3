"""``migrate`` is ``migrate_schemas`` here, as in django-tenants (whose ``migrate`` this one
replaces): a clinic migrated, or unmigrated, by either name keeps a truthful fingerprint."""

from tenants_core.management.commands.migrate_schemas import Command

__all__ = ["Command"]
