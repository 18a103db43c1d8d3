"""The GraphQL endpoint: strawberry's sync Django view with our typed context, our reading of
the request (http_input: one safe JSON decoder for every entry point) and JSON errors for
requests that never reach GraphQL (bad JSON, empty body, a GET mutation…)."""

from __future__ import annotations

import json
from typing import Any

from cross_web import SyncHTTPRequestAdapter
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from strawberry.django.views import GraphQLView, HTTPException
from strawberry.http import GraphQLRequestData

from backend.core.responses import json_error
from graphql_api import http_input, safe_input
from graphql_api.context import Context
from graphql_api.schema import schema


class ClinicGraphQLView(GraphQLView):
    def get_context(self, request: HttpRequest, response: HttpResponse) -> Context:  # type: ignore[override]
        return Context(request=request, response=response)

    def parse_http_body(self, request: SyncHTTPRequestAdapter) -> GraphQLRequestData:  # type: ignore[override]
        return http_input.request_data(request)

    def decode_json(self, data: str | bytes) -> object:
        # Not reached by our parse_http_body; any other strawberry path decodes safely too.
        try:
            return safe_input.decode_json(data)
        except safe_input.UnsafeInput as refusal:
            raise http_input.BadRequest(str(refusal)) from None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:  # type: ignore[override]
        try:
            response = self.run(request=request)
        except HTTPException as error:
            code = getattr(error, "code", "BAD_REQUEST")
            return json_error(error.status_code, code, error.reason)
        return _request_errors_are_400(response)  # type: ignore[arg-type]


def _request_errors_are_400(response: HttpResponse) -> HttpResponse:
    """A document that never ran (it does not parse, or fails validation: too deep, too many
    aliases, unknown fields) is the client's error: 400, not 200. Errors raised while running
    (they have a ``path``) keep 200, with whatever data could be resolved."""
    head = response.content[:16].replace(b" ", b"")
    if response.status_code != 200 or (
        not head.startswith(b'{"data":null') and b"DATABASE_UNAVAILABLE" not in response.content
    ):
        return response
    try:
        body = json.loads(response.content)
    except ValueError:
        return response
    errors = body.get("errors") or []
    if any((e.get("extensions") or {}).get("code") == "DATABASE_UNAVAILABLE" for e in errors):
        return JsonResponse(body, status=503)
    if body.get("data") is None and errors and all("path" not in error for error in errors):
        for error in errors:
            error.setdefault("extensions", {}).setdefault("code", "GRAPHQL_VALIDATION_FAILED")
        return JsonResponse(body, status=400)
    return response


# Clients authenticate with bearer tokens, not cookies, so the endpoint needs no CSRF token:
# a cross-site page cannot attach another site's bearer token.
graphql_view = csrf_exempt(
    ClinicGraphQLView.as_view(
        schema=schema,
        graphql_ide="graphiql" if settings.GRAPHIQL else None,
        allow_queries_via_get=True,
    )
)
