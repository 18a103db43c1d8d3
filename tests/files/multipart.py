"""GraphQL multipart requests (https://github.com/jaydenseric/graphql-multipart-request-spec)
for tests: through Django's test client, or over real HTTP to a uvicorn ``LiveServer``.

``files`` maps a variable path (``"file"``, ``"input.file"``, ``"files.0"``) to
``(name, content, content_type)``; the helper puts a ``null`` there, names the part ``"0"``,
``"1"``… and writes the map. ``raw_map``/``raw_files`` send a body exactly as given instead
(to test bad maps, missing or duplicate files)."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
from django.core.files.uploadedfile import SimpleUploadedFile

FileSpec = tuple[str, bytes, str]


def _with_nulls(variables: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    variables = copy.deepcopy(variables)
    for path in paths:
        *parents, last = path.split(".")
        target: Any = variables
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target.setdefault(key, {})
        if isinstance(target, list):
            target[int(last)] = None
        else:
            target[last] = None
    return variables


def multipart_parts(
    query: str,
    variables: dict[str, Any] | None = None,
    files: dict[str, FileSpec] | None = None,
    *,
    raw_map: Any = None,
    raw_files: list[tuple[str, FileSpec]] | None = None,
) -> tuple[dict[str, str], list[tuple[str, FileSpec]]]:
    """The form fields (operations, map) and the file parts."""
    files = files or {}
    paths = list(files)
    operations = {"query": query, "variables": _with_nulls(variables or {}, paths)}
    if raw_map is None:
        raw_map = {str(i): [f"variables.{path}"] for i, path in enumerate(paths)}
    parts = (
        raw_files if raw_files is not None else [(str(i), files[p]) for i, p in enumerate(paths)]
    )
    fields = {"operations": json.dumps(operations), "map": json.dumps(raw_map)}
    return fields, parts


def upload_graphql(
    client: Any,
    query: str,
    *,
    host: str,
    variables: dict[str, Any] | None = None,
    files: dict[str, FileSpec] | None = None,
    token: str | None = None,
    raw_map: Any = None,
    raw_files: list[tuple[str, FileSpec]] | None = None,
) -> tuple[int, dict[str, Any]]:
    """POST a multipart GraphQL request through Django's test client (full middleware)."""
    fields, parts = multipart_parts(query, variables, files, raw_map=raw_map, raw_files=raw_files)
    data: dict[str, Any] = dict(fields)
    for name, (filename, content, content_type) in parts:
        upload = SimpleUploadedFile(filename, content, content_type=content_type)
        existing = data.get(name)
        data[name] = (
            [*existing, upload]
            if isinstance(existing, list)
            else ([existing, upload] if existing is not None else upload)
        )
    headers = {"HTTP_HOST": host}
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    response = client.post("/graphql", data=data, **headers)
    return response.status_code, response.json()


def upload_http(
    server: Any,
    query: str,
    *,
    host: str,
    variables: dict[str, Any] | None = None,
    files: dict[str, FileSpec] | None = None,
    token: str | None = None,
    raw_map: Any = None,
    raw_files: list[tuple[str, FileSpec]] | None = None,
    timeout: float = 30,
) -> httpx.Response:
    """The same request over real HTTP to ``server`` (a ``tests.conftest.LiveServer``)."""
    fields, parts = multipart_parts(query, variables, files, raw_map=raw_map, raw_files=raw_files)
    headers = {"Host": f"{host}:{server.port}"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(
        f"{server.url}/graphql", data=fields, files=parts, headers=headers, timeout=timeout
    )
