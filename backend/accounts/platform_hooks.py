"""What accounts does for the platform (``tenants_core.clinic_hooks``), registered in
``AccountsConfig.ready``: the platform knows no clinic app, so the app that owns staff users
creates a new clinic's first ADMIN and retires the tokens a restored backup still had live."""

from __future__ import annotations

from django.db import connection
from django.db.backends.utils import CursorWrapper

from backend.accounts.models import AuthToken, Role, User
from backend.audit.services import audit_record
from tenants_core.clinic_hooks import NewClinic


def first_admin_create(new_clinic: NewClinic) -> None:
    """Provisioning step, inside the new clinic's schema: its first ADMIN, audited on the
    clinic's own trail as created by the platform."""
    admin = _clinic_admin_create(
        email=new_clinic.admin_email,
        password_hash=new_clinic.admin_password_hash,
        full_name=new_clinic.admin_full_name,
    )
    audit_record(
        actor=None,
        actor_email=getattr(new_clinic.actor, "email", "") or "system",
        action="staff.create",
        entity=admin,
        changes={"email": admin.email, "role": str(Role.ADMIN), "by": "platform"},
    )


def _clinic_admin_create(*, email: str, password_hash: str, full_name: str) -> User:
    """The clinic's first ADMIN, with an already hashed password; runs inside the clinic's
    schema."""
    users = User.objects
    admin = users.model(
        email=users.normalize_email(email).lower(), full_name=full_name, role=Role.ADMIN
    )
    admin.password = password_hash
    admin.save()
    return admin


def restored_tokens_revoke(cursor: CursorWrapper, schema_name: str) -> None:
    """Restore step: a token revoked after the backup was taken must not come back to life."""
    quote = connection.ops.quote_name
    tokens = f"{quote(schema_name)}.{quote(AuthToken._meta.db_table)}"
    cursor.execute(f"UPDATE {tokens} SET revoked_at = now() WHERE revoked_at IS NULL")  # noqa: S608
