"""Which kinds of document a role may read and upload: the permission matrix, by kind."""

from __future__ import annotations

from backend.accounts.models import User
from backend.accounts.roles import role_has_permission
from backend.documents.models import ADMINISTRATIVE_KINDS, CLINICAL_KINDS, DocumentKind
from backend.documents.permissions import DocumentPermission


def _kinds(user: User, clinical: DocumentPermission, administrative: DocumentPermission):
    kinds: set[str] = set()
    if user.is_active and role_has_permission(user.role, clinical):
        kinds |= CLINICAL_KINDS
    if user.is_active and role_has_permission(user.role, administrative):
        kinds |= ADMINISTRATIVE_KINDS
    return frozenset(kinds)


def readable_kinds(user: User) -> frozenset[str]:
    return _kinds(user, DocumentPermission.VIEW_CLINICAL, DocumentPermission.VIEW_ADMINISTRATIVE)


def writable_kinds(user: User) -> frozenset[str]:
    return _kinds(
        user, DocumentPermission.UPLOAD_CLINICAL, DocumentPermission.UPLOAD_ADMINISTRATIVE
    )


def may_read(user: User, kind: str | DocumentKind) -> bool:
    return str(kind) in readable_kinds(user)


def may_write(user: User, kind: str | DocumentKind) -> bool:
    return str(kind) in writable_kinds(user)
