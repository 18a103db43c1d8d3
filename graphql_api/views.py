"""The GraphQL endpoint: strawberry's sync Django view with our typed context."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from strawberry.django.views import GraphQLView

from graphql_api.context import Context
from graphql_api.schema import schema


class ClinicGraphQLView(GraphQLView):
    def get_context(self, request: HttpRequest, response: HttpResponse) -> Context:  # type: ignore[override]
        return Context(request=request, response=response)


# Clients authenticate with bearer tokens, not cookies, so the endpoint needs no CSRF token.
graphql_view = csrf_exempt(
    ClinicGraphQLView.as_view(
        schema=schema,
        graphql_ide="graphiql" if settings.GRAPHIQL else None,
        allow_queries_via_get=True,
    )
)
