"""The one connection class of the schema: strawberry-django's, with its page arguments
checked first, so that a bad page is ``INVALID_PAGINATION`` input, never an internal error."""

from __future__ import annotations

from typing import Any

import strawberry
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from strawberry import relay
from strawberry.relay.utils import SliceMetadata
from strawberry_django.relay import DjangoListConnection

from backend.core.error_codes import CommonError


@strawberry.type(name="Connection", description="A connection to a list of items.")
class ListConnection(DjangoListConnection[relay.NodeType]):
    @strawberry.field(description="Total quantity of existing nodes.")
    def total_count(self) -> int:
        """strawberry-django's count, non-null: every list of the schema resolves to a
        QuerySet or a list, which it always counts (its None is for other iterables)."""
        count = DjangoListConnection.total_count(self)
        if count is None:
            raise TypeError(f"{type(self.nodes).__name__} cannot be counted")
        return int(count)

    @classmethod
    def resolve_connection(
        cls,
        nodes: Any,
        *,
        info: Any,
        before: str | None = None,
        after: str | None = None,
        first: int | None = None,
        last: int | None = None,
        **kwargs: Any,
    ) -> Any:
        try:
            # strawberry's own reading of the arguments: the same limits and cursor format.
            SliceMetadata.from_arguments(info, before=before, after=after, first=first, last=last)
        except (ValueError, TypeError):
            raise ValidationError(
                _(
                    "Page with “first” or “last” between 0 and %(max)d, and “after” or "
                    "“before” set to a cursor this list returned."
                )
                % {"max": info.schema.config.relay_max_results},
                code=CommonError.INVALID_PAGINATION,
            ) from None
        return super().resolve_connection(
            nodes, info=info, before=before, after=after, first=first, last=last, **kwargs
        )
