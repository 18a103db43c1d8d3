"""The request a client sent, read into a GraphQL request, or refused with a coded 4xx.

This replaces strawberry's ``parse_http_body`` (strawberry-graphql 0.341.2,
``strawberry/http/sync_base_view.py``; the override is in ``strawberry_internals``): it called
``data.get(...)`` on whatever the body decoded to, so a body of ``"text"``, ``42`` or ``null``
raised AttributeError (a 500), it let JSON's RecursionError and ValueError (deep nesting, a
5,000-digit number) escape as 500s, and it did not look at the text inside GET parameters.
The entry points are the only ones the view has:

- GET with ``query``, ``variables``, ``operationName`` and ``extensions`` parameters (queries
  only; strawberry refuses a mutation over GET);
- POST with an ``application/json`` body: one JSON object with the same four members;
- POST with a ``multipart/form-data`` body, as the GraphQL multipart request spec says
  (https://github.com/jaydenseric/graphql-multipart-request-spec): an ``operations`` field
  (that JSON object), a ``map`` field (file field → the variables it fills) and the files.
  Stricter than strawberry's ``replace_placeholders_with_files``, which raised KeyError,
  IndexError or TypeError (500s) on a bad map: every file fills exactly one existing ``null``
  in ``variables``, no variable gets two files, no file is left over.

Any of them may name a persisted document (``documentId``, or the ``persistedQuery``
extension) instead of sending its text: ``persisted_documents`` says which are registered.

Anything else (``application/graphql``, a url-encoded form, no content type) is a 400, as
strawberry answered it, and so is a JSON list (a batch: batching is off). Every JSON text goes
through ``safe_input.decode_json``, every plain string through ``safe_input.check_text``; the
files' bytes are not text and are never checked for NUL.
"""

from __future__ import annotations

import re
from typing import Any

from cross_web import HTTPException, SyncHTTPRequestAdapter
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFilesSent
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from strawberry.http import GraphQLRequestData

from backend.core.error_codes import CommonError
from backend.files.errors import FileError
from graphql_api.core import persisted_documents
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
    data = {key: params.get(key) or None for key in ("query", "operationName", "documentId")}
    for key in ("variables", "extensions"):
        text = params.get(key)
        data[key] = _json(text) if text else None
    return data


def _operations(data: Any) -> dict[str, Any]:
    if isinstance(data, list):
        raise BadRequest(_("Batched requests are not supported: send one operation per request."))
    if not isinstance(data, dict):
        raise BadRequest(_("The request body must be a JSON object."))
    return data


def _fields(request: SyncHTTPRequestAdapter) -> tuple[Any, Any]:
    """The multipart body's form fields and files, parsed by Django."""
    try:
        return request.post_data, request.files
    except TooManyFilesSent:
        raise BadRequest(
            _("The request carries too many files."), code=FileError.TOO_MANY_FILES
        ) from None
    except RequestDataTooBig:
        raise BadRequest(
            _("The request's fields (without the files) are too large."),
            status_code=413,
            code=CommonError.REQUEST_TOO_LARGE,
        ) from None
    except (MultiPartParserError, SuspiciousOperation, UnicodeDecodeError, ValueError):
        raise BadRequest(_("The multipart body cannot be read.")) from None


def _one_field(fields: Any, name: str) -> str:
    values = fields.getlist(name) if hasattr(fields, "getlist") else [fields.get(name)]
    values = [value for value in values if value is not None]
    if len(values) != 1 or not isinstance(values[0], str):
        raise BadRequest(
            _("A multipart request needs exactly one “%(field)s” field.") % {"field": name}
        )
    return values[0]


_INDEX = re.compile(r"[0-9]{1,6}")  # ASCII digits only: "²".isdigit() is True, int("²") fails


def _place(operations: dict[str, Any], path: str, upload: Any) -> None:
    """Put ``upload`` where ``path`` (``variables.file``, ``variables.files.0``) has a null."""
    keys = path.split(".") if isinstance(path, str) else []
    if len(keys) < 2 or keys[0] != "variables":
        raise BadRequest(
            _("The map may only name variables (“variables.<name>”), not “%(path)s”.")
            % {"path": path}
        )
    target: Any = operations
    for key in keys[:-1]:
        target = _step(target, key, path)
    last = keys[-1]
    if isinstance(target, list) and _INDEX.fullmatch(last) and int(last) < len(target):
        index: int | str = int(last)
    elif isinstance(target, dict) and last in target:
        index = last
    else:
        raise BadRequest(
            _("The map names “%(path)s”, which the variables do not have.") % {"path": path}
        )
    if target[index] is not None:
        raise BadRequest(
            _("“%(path)s” already holds a value or a file: one file per field.") % {"path": path},
            code=FileError.TOO_MANY_FILES,
        )
    target[index] = upload


def _step(target: Any, key: str, path: str) -> Any:
    if isinstance(target, dict) and key in target:
        return target[key]
    if isinstance(target, list) and _INDEX.fullmatch(key) and int(key) < len(target):
        return target[int(key)]
    raise BadRequest(
        _("The map names “%(path)s”, which the variables do not have.") % {"path": path}
    )


def _multipart(request: SyncHTTPRequestAdapter) -> dict[str, Any]:
    fields, files = _fields(request)
    operations = _operations(_json(_one_field(fields, "operations")))
    files_map = _json(_one_field(fields, "map"))
    if not isinstance(files_map, dict) or not all(
        isinstance(paths, list) and paths and all(isinstance(p, str) for p in paths)
        for paths in files_map.values()
    ):
        raise BadRequest(
            _("The “map” field must be a JSON object of file field → list of variable paths.")
        )
    if not isinstance(operations.get("variables"), dict):
        raise BadRequest(_("A multipart request's operations need their variables."))
    for name in files:
        if name not in files_map:
            raise BadRequest(
                _("The file “%(name)s” is not in the map.") % {"name": name},
                code=FileError.TOO_MANY_FILES,
            )
    for name, paths in files_map.items():
        uploads = files.getlist(name) if hasattr(files, "getlist") else [files.get(name)]
        uploads = [upload for upload in uploads if upload is not None]
        if not uploads:
            raise BadRequest(
                _("The map names the file “%(name)s”, which the request does not carry.")
                % {"name": name},
                code=FileError.FILE_MISSING,
            )
        if len(uploads) > 1:
            raise BadRequest(
                _("The request carries %(count)d files named “%(name)s”: one file per field.")
                % {"count": len(uploads), "name": name},
                code=FileError.TOO_MANY_FILES,
            )
        for path in paths:
            _place(operations, path, uploads[0])
    return operations


def _body(request: SyncHTTPRequestAdapter) -> dict[str, Any]:
    media_type = (request.content_type or "").lower()
    if media_type.startswith("multipart/form-data"):
        return _multipart(request)
    if "application/json" not in media_type:
        raise BadRequest(
            _(
                "Send the request as application/json (POST), as multipart/form-data (POST, "
                "with files) or as query parameters (GET)."
            )
        )
    try:
        body = request.body
    except UnicodeDecodeError:
        raise BadRequest(_("The request body is not UTF-8.")) from None
    return _operations(_json(body))


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
    query = _document(query, data.get("documentId"), extensions)
    return GraphQLRequestData(
        query=query, variables=variables, operation_name=operation_name, extensions=extensions
    )


def _document(query: str | None, document_id: Any, extensions: dict[str, Any] | None) -> str | None:
    """The text to run: ``query``, or the persisted document the request names."""
    hash_hex = persisted_documents.document_hash(document_id, extensions)
    documents = persisted_documents.registry()
    if hash_hex is None:
        if settings.GRAPHQL_PERSISTED_ONLY:
            raise BadRequest(
                _(
                    "This server runs registered documents only: send the document's "
                    "“documentId” instead of its text."
                ),
                code=CommonError.PERSISTED_DOCUMENT_REQUIRED,
            )
        return query
    if not hash_hex:
        raise BadRequest(
            _("A documentId is “sha256:” followed by the document's SHA-256 in hexadecimal.")
        )
    registered = documents.get(hash_hex) if documents is not None else None
    if query is not None and query != registered:
        # Text and hash together (an APQ client's retry): the hash must be the text's, and a
        # text is run only where texts are allowed.
        if settings.GRAPHQL_PERSISTED_ONLY:
            raise BadRequest(
                _(
                    "This server runs registered documents only: send the document's "
                    "“documentId” instead of its text."
                ),
                code=CommonError.PERSISTED_DOCUMENT_REQUIRED,
            )
        if persisted_documents.sha256_hex(query) != hash_hex:
            raise BadRequest(_("The documentId is not the SHA-256 of the query sent with it."))
        return query
    if registered is None:
        raise BadRequest(
            _("No registered document has this documentId."),
            code=CommonError.PERSISTED_DOCUMENT_NOT_FOUND,
        )
    return registered
