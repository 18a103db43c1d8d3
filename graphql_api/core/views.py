"""The GraphQL endpoint: strawberry's sync Django view with our typed context, our reading of
the request (http_input: one safe JSON decoder for every entry point) and JSON errors for
requests that never reach GraphQL (bad JSON, empty body, a GET mutation…).

The HTTP status of an operation's errors (400 for a document refused before it ran, 503 when
the database is down) is chosen with their codes, in ``errors.CodedErrorsSchema``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from strawberry.django.views import GraphQLView, HTTPException
from strawberry.types import ExecutionResult

from backend.core.error_codes import CommonError
from backend.core.responses import json_error
from backend.core.views import not_found
from graphql_api.core.compiled import fast_path
from graphql_api.core.context import Context
from graphql_api.core.strawberry_internals import SafeRequestParsing
from graphql_api.graphiql import graphiql_page


class ClinicGraphQLView(SafeRequestParsing, GraphQLView[Context, None]):
    def render_graphql_ide(self, request: HttpRequest) -> HttpResponse:
        """Our self-hosted GraphiQL page (``graphql_api.graphiql``), not strawberry's template,
        which loads its files from a public CDN and keeps pasted headers in localStorage.
        ``settings.GRAPHIQL`` is read per request, so a test can turn it off; off, the page
        is the JSON 404 of any unknown path."""
        if not settings.GRAPHIQL:
            return not_found(request)
        return graphiql_page(request)

    def get_context(self, request: HttpRequest, response: HttpResponse) -> Context:
        return Context(request=request, response=response)

    def execute_single(
        self,
        request: HttpRequest,
        request_adapter: Any,
        sub_response: Any,
        context: Context,
        root_value: Any,
        request_data: Any,
    ) -> ExecutionResult:
        """A planned, known-valid query straight from its compiled plan (compiled/fast_path),
        else strawberry's execution."""
        compiled = fast_path.answer(self.schema, request_data, context)
        if compiled is not None:
            return compiled
        return super().execute_single(
            request=request,
            request_adapter=request_adapter,
            sub_response=sub_response,
            context=context,
            root_value=root_value,
            request_data=request_data,
        )

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return self.run(request=request)
        except HTTPException as error:
            code = getattr(error, "code", CommonError.BAD_REQUEST)
            return json_error(error.status_code, code, error.reason)


def graphql_view(schema: strawberry.Schema) -> Callable[..., HttpResponseBase]:
    """The endpoint serving ``schema`` (``backend/urls.py`` serves ``graphql_api.schema``).

    Clients authenticate with bearer tokens, not cookies, so the endpoint needs no CSRF token:
    a cross-site page cannot attach another site's bearer token."""
    return csrf_exempt(
        ClinicGraphQLView.as_view(
            schema=schema,
            graphql_ide="graphiql",  # rendered by render_graphql_ide when settings.GRAPHIQL
            allow_queries_via_get=True,
            # File uploads (GraphQL multipart request spec), read by http_input. No CSRF
            # token is needed: an upload needs a bearer token, which no cross-site form sends.
            multipart_uploads_enabled=True,
        )
    )
