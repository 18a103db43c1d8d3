"""Persisted (trusted) documents: a client sends a registered document's sha256 instead of its
text, and the server may refuse every document that is not registered. Off by default.

``GRAPHQL_PERSISTED_DOCUMENTS`` names a manifest, ``{"sha256:<hex>": "<document text>"}`` (or
bare ``<hex>`` keys): the file ``@graphql-codegen/client-preset`` writes with
``persistedDocuments`` (``docs/clients/front-desk/src/gql/persisted-documents.json``). Every
key is checked to be the sha256 of its text when the manifest is loaded, so a manifest edited by
hand cannot map a hash to another document. ``GRAPHQL_PERSISTED_ONLY`` then refuses any
request that carries no registered document: the API answers the first-party apps'
operations and nothing else.

A request names a document in either shape a client library sends:

- ``{"documentId": "sha256:<hex>"}`` (or the bare ``<hex>``), the GraphQL-over-HTTP
  persisted-documents proposal; as a GET parameter too;
- ``{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}}``, what Apollo
  Client and urql's ``persistedExchange`` send. Nothing is ever registered by a request (no
  "automatic persisted queries"): only the manifest registers.

The manifest holds query texts, never a clinic's data, so one registry serves every clinic."""

from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_HEX = re.compile(r"[0-9a-f]{64}")


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@lru_cache(maxsize=4)
def load_manifest(path: str) -> dict[str, str]:
    """The manifest at ``path``, each key checked against its text; ImproperlyConfigured if not."""
    try:
        manifest: Any = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ImproperlyConfigured(
            f"GRAPHQL_PERSISTED_DOCUMENTS: cannot read {path}: {error}"
        ) from None
    if not isinstance(manifest, dict):
        raise ImproperlyConfigured(f"GRAPHQL_PERSISTED_DOCUMENTS: {path} is not a JSON object.")
    documents: dict[str, str] = {}
    for key, text in manifest.items():
        hex_key = key.removeprefix("sha256:")
        if not isinstance(text, str) or not _HEX.fullmatch(hex_key) or sha256_hex(text) != hex_key:
            raise ImproperlyConfigured(
                f"GRAPHQL_PERSISTED_DOCUMENTS: in {path}, {key!r} is not the sha256 (lowercase "
                "hex, optionally after “sha256:”) of its document."
            )
        documents[hex_key] = text
    return documents


def registry() -> dict[str, str] | None:
    """The registered documents (hash → text), or None when the feature is off."""
    path = settings.GRAPHQL_PERSISTED_DOCUMENTS
    if not path:
        if settings.GRAPHQL_PERSISTED_ONLY:
            raise ImproperlyConfigured(
                "GRAPHQL_PERSISTED_ONLY needs GRAPHQL_PERSISTED_DOCUMENTS (the manifest's path)."
            )
        return None
    return load_manifest(str(path))


def document_hash(document_id: Any, extensions: Any) -> str | None:
    """The lowercase hex the request names (``documentId`` first), "" when it names one that
    is not a sha256, None when it names none."""
    if document_id is None and isinstance(extensions, dict):
        persisted = extensions.get("persistedQuery")
        if persisted is not None:
            document_id = persisted.get("sha256Hash") if isinstance(persisted, dict) else ""
    if document_id is None:
        return None
    if not isinstance(document_id, str):
        return ""
    value = document_id.strip().lower().removeprefix("sha256:")
    return value if _HEX.fullmatch(value) else ""
