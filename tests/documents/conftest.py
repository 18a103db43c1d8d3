"""The documents tests' world over real HTTP: two committed clinics (made once for the
module, dropped after), a patient each, a user of each role in the first one, and their
tokens; plus the multipart upload the GraphQL multipart request spec describes."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.db import connection

from backend.accounts.auth import _token_issue
from backend.accounts.models import Role, User
from backend.core.tenancy import clinic_context
from backend.documents.models import PatientDocument
from backend.files.models import StoredFile
from backend.patients.models import Patient
from tenants_core.models import Clinic
from tenants_core.services import clinic_provision
from tests.accounts.matrix_world import distinct_ids
from tests.conftest import TEST_PASSWORD, LiveServer
from tests.ids import global_id

UPLOAD = """
mutation($input: UploadPatientDocumentInput!) {
  uploadPatientDocument(input: $input) {
    __typename
    ... on PatientDocument {
      id kind originalName contentType sizeBytes sha256 takenOn teeth note dicomWarnings
      downloadUrl previewUrl preview { width height } createdBy { fullName }
    }
    ... on OperationInfo { messages { code field message } }
  }
}
"""

LIST = """
query($p: ID!, $kind: DocumentKind, $archived: Boolean) {
  patientDocuments(patientId: $p, kind: $kind, includeArchived: $archived, first: 50) {
    totalCount
    edges { node { id kind originalName contentType sha256 dicomWarnings downloadUrl previewUrl
      archivedAt } }
  }
}
"""


@dataclass
class Site:
    """A committed clinic of the world: its host, users by role, tokens, patient."""

    clinic: Clinic
    host: str
    patient_id: str
    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    a: Site
    b: Site


def _site(subdomain: str, plan: str, patient: dict[str, str], *, apart: bool = False) -> Site:
    clinic = clinic_provision(
        subdomain=subdomain, name=subdomain.title(), legal_id="20600000005",
        email=f"hola@{subdomain}.pe", plan=plan, admin_email=f"admin@{subdomain}.pe",
        admin_password=TEST_PASSWORD,
    )  # fmt: skip
    if apart:
        # Its rows numbered from 500,000: its IDs name nothing in the other clinic, so that
        # finding one there would be a leak, not a clash.
        distinct_ids(clinic)
    with clinic_context(clinic):
        row = Patient.objects.create(document_type="DNI", **patient)
        site = Site(
            clinic, f"{subdomain}.{settings.BASE_DOMAIN}", global_id("Patient", row.pk, clinic)
        )
        site.users["ADMIN"] = User.objects.get(email=f"admin@{subdomain}.pe")
        for role in (Role.DENTIST, Role.ASSISTANT, Role.RECEPTIONIST):
            site.users[role] = User.objects.create_user(
                email=f"{role.lower()}@{subdomain}.pe", password=TEST_PASSWORD, role=role,
                full_name=f"{role.title()} {subdomain}",
            )  # fmt: skip
        site.tokens = {role: _token_issue(user).raw for role, user in site.users.items()}
    return site


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    with django_db_blocker.unblock():
        sites = World(
            a=_site(
                "docs-a", "professional",
                {"first_name": "José", "last_name": "Pérez García", "document_number": "12345678"},
            ),
            b=_site(
                "docs-b", "basic",
                {"first_name": "Ana", "last_name": "Gómez", "document_number": "87654321"},
                apart=True,
            ),
        )  # fmt: skip
    yield sites
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        for site in (sites.a, sites.b):
            site.clinic.delete(force_drop=True)
            # The clinics are gone: their objects too (the storage is the local one here).
            shutil.rmtree(
                Path(settings.MEDIA_ROOT) / "clinics" / site.clinic.schema_name, ignore_errors=True
            )


File = tuple[str, bytes, str]  # name, content, declared type


def multipart(
    server: LiveServer,
    host: str,
    query: str,
    variables: dict[str, Any],
    files: dict[str, File | list[File]],
    *,
    token: str | None = None,
) -> httpx.Response:
    """A GraphQL multipart request: ``files`` maps a variable path ("input.file") to a file,
    or to several (sent as several parts mapped to the same path)."""
    mapping: dict[str, list[str]] = {}
    parts: list[tuple[str, tuple[str, bytes, str]]] = []
    for path, given in files.items():
        for item in given if isinstance(given, list) else [given]:
            key = str(len(parts))
            mapping[key] = [f"variables.{path}"]
            parts.append((key, item))
    headers = {"Host": f"{host}:{server.port}"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    fields = {"operations": json.dumps({"query": query, "variables": variables}),
              "map": json.dumps(mapping)}  # fmt: skip
    if not parts:  # still multipart/form-data: the fields as parts without a file name
        return httpx.post(
            f"{server.url}/graphql",
            files={name: (None, value) for name, value in fields.items()},
            headers=headers,
            timeout=60,
        )
    return httpx.post(
        f"{server.url}/graphql", data=fields, files=parts, headers=headers, timeout=60
    )


def upload(
    server: LiveServer,
    site: Site,
    role: str,
    content: bytes,
    *,
    name: str = "archivo.bin",
    declared: str = "application/octet-stream",
    patient_id: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Upload ``content`` as ``role`` of ``site``; the mutation's payload."""
    variables = {"input": {"patientId": patient_id or site.patient_id, "kind": "XRAY",
                           "file": None, **fields}}  # fmt: skip
    response = multipart(
        server, site.host, UPLOAD, variables, {"input.file": (name, content, declared)},
        token=site.tokens[role],
    )  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]["uploadPatientDocument"]


def listed(server: LiveServer, site: Site, role: str, **variables: Any) -> dict[str, Any]:
    response = server.post(
        site.host,
        {"query": LIST, "variables": {"p": site.patient_id, **variables}},
        headers={"Authorization": f"Bearer {site.tokens[role]}"},
    )
    assert response.status_code == 200, response.text
    return response.json()


def fetch(server: LiveServer, url: str, **kwargs: Any) -> httpx.Response:
    """GET an absolute URL the API returned, through the live server (no credentials)."""
    parsed = httpx.URL(url)
    return httpx.get(
        f"{server.url}{parsed.raw_path.decode()}",
        headers={"Host": parsed.netloc.decode(), **kwargs.pop("headers", {})},
        timeout=30,
        **kwargs,
    )


def stored_objects(clinic: Clinic) -> set[str]:
    """The objects in the clinic's part of the (local) storage."""
    root = Path(settings.MEDIA_ROOT) / "clinics" / clinic.schema_name
    return {
        str(Path(folder, name).relative_to(root))
        for folder, _dirs, names in os.walk(root)
        for name in names
    }


def rows(clinic: Clinic) -> tuple[list[Any], list[Any]]:
    """The clinic's documents and stored files, by key."""
    with clinic_context(clinic):
        return (
            list(PatientDocument.objects.order_by("pk").values_list("pk", "kind", "archived_at")),
            list(StoredFile.objects.order_by("pk").values_list("pk", "key")),
        )
