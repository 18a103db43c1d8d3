"""The typed GraphQL context: the request, the clinic the Host header resolved to, and the
user its bearer token belongs to (in that clinic's schema only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

import strawberry
from django.conf import settings
from strawberry.django.context import StrawberryDjangoContext

from backend.accounts.middleware import request_token

if TYPE_CHECKING:
    from backend.accounts.models import AuthToken, User
    from tenants_core.models import Clinic


@dataclass
class Context(StrawberryDjangoContext):
    """What every resolver may use. The tenant is set by the middleware before the view runs."""

    @property
    def tenant(self) -> Clinic:
        return self.request.tenant  # type: ignore[attr-defined]  # django-tenants: its middleware sets it

    @property
    def is_public_domain(self) -> bool:
        return self.tenant.schema_name == settings.PUBLIC_SCHEMA_NAME

    @property
    def token(self) -> AuthToken | None:
        return request_token(self.request)

    @property
    def user(self) -> User | None:
        """The signed-in user, or None."""
        token = self.token
        return token.user if token is not None else None

    def require_user(self) -> User:
        """The signed-in user; only call it behind ``IsAuthenticated`` or stronger."""
        user = self.user
        if user is None:  # pragma: no cover - the permission extension ran first
            raise PermissionError("not authenticated")
        return user


Info: TypeAlias = strawberry.Info[Context, None]
