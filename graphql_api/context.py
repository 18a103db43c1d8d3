"""The typed GraphQL context: the request, and the clinic the Host header resolved to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

import strawberry
from django.conf import settings
from strawberry.django.context import StrawberryDjangoContext

if TYPE_CHECKING:
    from tenants_core.models import Clinic


@dataclass
class Context(StrawberryDjangoContext):
    """What every resolver may use. The tenant is set by the middleware before the view runs."""

    @property
    def tenant(self) -> Clinic:
        return self.request.tenant  # type: ignore[attr-defined]

    @property
    def is_public_domain(self) -> bool:
        return self.tenant.schema_name == settings.PUBLIC_SCHEMA_NAME


Info: TypeAlias = strawberry.Info[Context, None]
