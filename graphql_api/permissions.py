"""Declarative permission classes, used as ``extensions=[PermissionExtension([...])]``.

Platform fields answer only on the public domain and clinic fields only on a clinic's domain;
both live in one schema. Each refusal carries a code in the error's ``extensions``.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension

from graphql_api.context import Info


class DomainPermission(BasePermission):
    code: str

    def __init__(self) -> None:
        self.error_extensions = {"code": self.code}


class TenantDomainOnly(DomainPermission):
    """The field exists for clinics: it answers ``TENANT_DOMAIN_ONLY`` on the public domain."""

    code = "TENANT_DOMAIN_ONLY"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if info.context.is_public_domain:
            self.message = _("This field is only available on a clinic's domain.")
            return False
        return True


class PublicDomainOnly(DomainPermission):
    """The field is for platform operators: it answers ``PUBLIC_DOMAIN_ONLY`` on a clinic."""

    code = "PUBLIC_DOMAIN_ONLY"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if not info.context.is_public_domain:
            self.message = _("This field is only available on the platform's domain.")
            return False
        return True


def tenant_only() -> list[FieldExtension]:
    return [PermissionExtension(permissions=[TenantDomainOnly()], use_directives=False)]


def public_only() -> list[FieldExtension]:
    return [PermissionExtension(permissions=[PublicDomainOnly()], use_directives=False)]
