"""Declarative permissions for GraphQL fields: ``extensions=[*clinic_permission(...)]``.

Every refusal is a top-level GraphQL error whose ``extensions.code`` says why:

- ``TENANT_DOMAIN_ONLY`` / ``PUBLIC_DOMAIN_ONLY``: the field lives on the other side.
- ``UNAUTHENTICATED``: no token, or one that this clinic did not issue, or expired, revoked,
  or of a deactivated user.
- ``FORBIDDEN``: the user's role lacks the permission (see ``docs/permissions.md``).

Input and business errors are not refusals: mutations return them as ``OperationInfo``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, NoReturn

from django.utils.translation import gettext as _
from graphql import GraphQLError
from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension

from backend.accounts.roles import role_has_permission
from backend.core.error_codes import CommonError
from graphql_api.core.context import Info


class CodedPermission(BasePermission):
    """A permission whose refusal carries ``extensions.code``.

    It raises instead of returning False: the instance is shared by every request, so the
    refusal's (translated) message must not be stored on it.
    """

    def refuse(self, message: str, code: str) -> NoReturn:
        raise GraphQLError(message, extensions={"code": code})


class TenantDomainOnly(CodedPermission):
    """The field exists for clinics: it answers ``TENANT_DOMAIN_ONLY`` on the public domain."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if info.context.is_public_domain:
            return self.refuse(
                _("This field is only available on a clinic's domain."),
                CommonError.TENANT_DOMAIN_ONLY,
            )
        return True


class PublicDomainOnly(CodedPermission):
    """The field is for platform operators: it answers ``PUBLIC_DOMAIN_ONLY`` on a clinic."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if not info.context.is_public_domain:
            return self.refuse(
                _("This field is only available on the platform's domain."),
                CommonError.PUBLIC_DOMAIN_ONLY,
            )
        return True


class IsAuthenticated(CodedPermission):
    """A live token issued by this domain's clinic (or by the platform, on its domain)."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if info.context.user is None:
            return self.refuse(
                _("Sign in first: send a valid token as “Authorization: Bearer <token>”."),
                CommonError.UNAUTHENTICATED,
            )
        return True


class HasPermission(CodedPermission):
    """The user's clinic role holds one of ``permissions`` in the permission matrix. Row
    rules (a dentist changing only their own appointments) are the services' to check."""

    def __init__(self, *permissions: StrEnum) -> None:
        self.permissions = permissions

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        user = info.context.user
        if user is None or not any(role_has_permission(user.role, p) for p in self.permissions):
            return self.refuse(_("Your role does not allow this."), CommonError.FORBIDDEN)
        return True


class IsPlatformAdmin(CodedPermission):
    """A platform operator: a superuser of the public schema."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        user = info.context.user
        # A superuser of a clinic schema is not a platform operator.
        if user is None or not user.is_superuser or not info.context.is_public_domain:
            return self.refuse(_("Only platform operators can do this."), CommonError.FORBIDDEN)
        return True


def _extension(*permissions: BasePermission) -> list[FieldExtension]:
    # The checks run in order and stop at the first refusal.
    return [PermissionExtension(permissions=list(permissions), use_directives=False)]


def tenant_only() -> list[FieldExtension]:
    """A clinic field open to anyone (``currentClinic``, ``login``)."""
    return _extension(TenantDomainOnly())


def signed_in() -> list[FieldExtension]:
    """Any signed-in user, on any domain (``me``, ``logout``)."""
    return _extension(IsAuthenticated())


def clinic_permission(*permissions: StrEnum) -> list[FieldExtension]:
    """A clinic field for users whose role holds one of ``permissions``."""
    return _extension(TenantDomainOnly(), IsAuthenticated(), HasPermission(*permissions))


def platform_admin() -> list[FieldExtension]:
    """A platform field for superusers, on the public domain only."""
    return _extension(PublicDomainOnly(), IsAuthenticated(), IsPlatformAdmin())
