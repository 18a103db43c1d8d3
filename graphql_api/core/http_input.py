"""The request a client sent, read into a GraphQL request, or refused with a coded 4xx.

This replaces strawberry's ``parse_http_body`` (strawberry-graphql 0.341.2,
``strawberry/http/sync_base_view.py``; the override is in ``strawberry_internals``): it called
``data.get(...)`` on whatever the body decoded to, so a body of ``"text"``, ``42`` or ``null``
raised AttributeError (a 500), it let JSON's RecursionError and ValueError (deep nesting, a
5,000-digit number) escape as 500s, and it did not look at the text inside GET parameters.
The entry points are the only ones the view has:

- GET with ``query``, ``variables``, ``operationName`` and ``extensions`` parameters (queries
  only; strawberry refuses a mutation over GET);
- POST with an ``application/json`` body: one JSON object with the same four members.

Anything else (``multipart/form-data``, ``application/graphql``, a form, no content type) is
a 400, as strawberry answered it, and so is a JSON list (a batch: batching is off). Every
JSON text goes through ``safe_input.decode_json``, every plain string through
``safe_input.check_text``.
"""

from __future__ import annotations

from typing import Any

from cross_web import HTTPException, SyncHTTPRequestAdapter
from django.utils.translation import gettext as _
from strawberry.http import GraphQLRequestData

from backend.core.error_codes import CommonError
from graphql_api.core.safe_input import UnsafeInput, check_text, decode_json


class BadRequest(HTTPException):
    """A request refused before GraphQL sees it: an HTTP status, a code and a message."""

    def __init__(
        self, reason: str, status_code: int = 400, code: str = CommonError.BAD_REQUEST
    ) -> None:
        super().__init__(status_code, reason)
        self.code = code


def _json(text: str | bytes) -> Any:
    try:
        return decode_json(text)
    except UnsafeInput as refusal:
        raise BadRequest(str(refusal)) from None


def _query_params(params: dict[str, Any]) -> dict[str, Any]:
    try:
        check_text(*params.values())
    except UnsafeInput as refusal:
        raise BadRequest(str(refusal)) from None
    data = {key: params.get(key) or None for key in ("query", "operationName")}
    for key in ("variables", "extensions"):
        text = params.get(key)
        data[key] = _json(text) if text else None
    return data


def _body(request: SyncHTTPRequestAdapter) -> dict[str, Any]:
    media_type = (request.content_type or "").lower()
    if "application/json" not in media_type:
        raise BadRequest(
            _("Send the request as application/json (POST) or as query parameters (GET).")
        )
    try:
        body = request.body
    except UnicodeDecodeError:
        raise BadRequest(_("The request body is not UTF-8.")) from None
    data = _json(body)
    if isinstance(data, list):
        raise BadRequest(_("Batched requests are not supported: send one operation per request."))
    if not isinstance(data, dict):
        raise BadRequest(_("The request body must be a JSON object."))
    return data


def request_data(request: SyncHTTPRequestAdapter) -> GraphQLRequestData:
    """The GraphQL request in ``request``, or BadRequest."""
    data = _query_params(dict(request.query_params)) if request.method == "GET" else _body(request)
    query, variables = data.get("query"), data.get("variables")
    operation_name, extensions = data.get("operationName"), data.get("extensions")
    if not isinstance(query, str | None):
        raise BadRequest(_("The request's query must be a string."))
    if not isinstance(variables, dict | None):
        raise BadRequest(_("The request's variables must be a JSON object."))
    if not isinstance(operation_name, str | None):
        raise BadRequest(_("The request's operationName must be a string."))
    if not isinstance(extensions, dict | None):
        raise BadRequest(_("The request's extensions must be a JSON object."))
    return GraphQLRequestData(
        query=query, variables=variables, operation_name=operation_name, extensions=extensions
    )
