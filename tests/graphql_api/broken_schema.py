"""A test-only schema whose resolvers misbehave the way server bugs do, served through the
project's GraphQL view and error handling (the public schema stays as it is).

It is built as the real schema is (same schema class, same extensions), so what the client
gets and what the log records are the project's, not a copy's. Tests use this module as
their URLconf (``@pytest.mark.urls``): the project's URLs plus ``/broken-graphql``.
"""

from __future__ import annotations

from collections.abc import Iterator

import strawberry
from django.core.exceptions import PermissionDenied
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from strawberry.extensions import SchemaExtension

from backend import urls as project_urls
from graphql_api.core.big_int import BigInt
from graphql_api.core.views import ClinicGraphQLView
from graphql_api.schema import schema as project_schema

URL = "/broken-graphql"
CRASHING_URL = "/crashing-graphql"
TOO_BIG_FOR_INT = 2**40


@strawberry.type
class BrokenQuery:
    @strawberry.field(description="A server bug: more than an Int can hold.")
    def too_big(self) -> int | None:
        return TOO_BIG_FOR_INT

    @strawberry.field(description="Django's own refusal, raised by a resolver.")
    def denied(self) -> str:
        raise PermissionDenied("an internal detail the client must not read")

    @strawberry.field(description="A server bug: more than even a bigint holds.")
    def too_big_for_big_int(self) -> BigInt | None:
        return BigInt(2**63)

    @strawberry.field(description="The BigInt it was given.")
    def echo(self, value: BigInt) -> BigInt:
        return value

    @strawberry.field(description="A plain answer, next to the broken ones.")
    def fine(self) -> str:
        return "fine"


class CrashingHook(SchemaExtension):
    """A server bug around the operation, before it runs: no field, no path."""

    def on_validate(self) -> Iterator[None]:
        raise RuntimeError("a hook broke")
        yield  # pragma: no cover


broken_schema = type(project_schema)(
    query=BrokenQuery, extensions=project_schema.extensions, config=project_schema.config
)
crashing_schema = type(project_schema)(
    query=BrokenQuery,
    extensions=[*project_schema.extensions, CrashingHook],
    config=project_schema.config,
)

urlpatterns = [
    path(URL.lstrip("/"), csrf_exempt(ClinicGraphQLView.as_view(schema=broken_schema))),
    path(
        CRASHING_URL.lstrip("/"),
        csrf_exempt(ClinicGraphQLView.as_view(schema=crashing_schema)),
    ),
    *project_urls.urlpatterns,
]
handler400 = project_urls.handler400
handler403 = project_urls.handler403
handler404 = project_urls.handler404
handler500 = project_urls.handler500
