"""Persisted documents over HTTP (graphql_api/core/persisted_documents.py): off by default;
with a manifest, a client may send a registered document's sha256 instead of its text; with
GRAPHQL_PERSISTED_ONLY, nothing else runs. Refusals are coded 400s that run nothing."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from backend.core.tenancy import clinic_context
from backend.patients.models import Patient
from graphql_api.core import persisted_documents
from tests.clients.conftest import MANIFEST, KitWorld
from tests.conftest import ROOT, LiveServer, child_env, error_code, host_for, http_login
from tests.factories import TEST_PASSWORD

REGISTERED = json.loads(MANIFEST.read_text(encoding="utf-8"))
WHO_AM_I = next(key for key, text in REGISTERED.items() if text.startswith("query WhoAmI "))
WHO_AM_I_HEX = WHO_AM_I.removeprefix("sha256:")
LOGIN = next(key for key, text in REGISTERED.items() if text.startswith("mutation Login("))
UNKNOWN = "sha256:" + hashlib.sha256(b"query { me { email } }").hexdigest()
CREATE_PATIENT = (
    'mutation { createPatient(input: {firstName: "Intrusa", lastName: "Texto", '
    'documentType: DNI, documentNumber: "55500011"}) { __typename } }'
)


def host(world: KitWorld) -> str:
    return host_for(world.clinic.subdomain)


def token(server: LiveServer, world: KitWorld) -> str:
    return str(http_login(server, host(world), world.reception_email, TEST_PASSWORD)["token"])


def persisted_token(server: LiveServer, world: KitWorld) -> str:
    """Sign in with the registered Login document: a persisted-only server takes no text."""
    variables = {"email": world.reception_email, "password": TEST_PASSWORD}
    response = server.post(host(world), {"documentId": LOGIN, "variables": variables})
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["login"]["token"])


def post(
    server: LiveServer, world: KitWorld, body: dict[str, Any], bearer: str | None = None
) -> Any:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return server.post(host(world), body, headers=headers)


def patients_named_intrusa(world: KitWorld, django_db_blocker: Any) -> int:
    with django_db_blocker.unblock(), clinic_context(world.clinic):
        return Patient.objects.filter(first_name="Intrusa").count()


# --- off by default --------------------------------------------------------------------------


def test_a_document_id_is_not_found_when_no_manifest_is_set(
    uvicorn_server: LiveServer, kit_world: KitWorld
) -> None:
    response = post(uvicorn_server, kit_world, {"documentId": WHO_AM_I})
    assert response.status_code == 400
    assert error_code(response.json()) == "PERSISTED_DOCUMENT_NOT_FOUND"


# --- a manifest, texts still allowed -----------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"documentId": WHO_AM_I},
        {"documentId": WHO_AM_I_HEX},
        {"documentId": WHO_AM_I.upper().replace("SHA256:", "sha256:")},
        {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": WHO_AM_I_HEX}}},
    ],
    ids=["documentId", "bare-hex", "upper-hex", "apq-extension"],
)
def test_a_registered_document_runs_by_its_hash(
    persisted_server: LiveServer, kit_world: KitWorld, body: dict[str, Any]
) -> None:
    response = post(persisted_server, kit_world, body, token(persisted_server, kit_world))
    assert response.status_code == 200, response.text
    assert response.json()["data"]["me"] == {
        "email": kit_world.reception_email,
        "role": "RECEPTIONIST",
    }


def test_a_registered_query_runs_over_get(
    persisted_server: LiveServer, kit_world: KitWorld
) -> None:
    bearer = token(persisted_server, kit_world)
    response = persisted_server.request(
        "GET", "/graphql", host(kit_world), params={"documentId": WHO_AM_I},
        headers={"Authorization": f"Bearer {bearer}", "Accept": "application/json"},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json()["data"]["currentClinic"]["name"] == "Kit Desk 1"


def test_texts_still_run_when_persisted_only_is_off(
    persisted_server: LiveServer, kit_world: KitWorld
) -> None:
    response = post(persisted_server, kit_world, {"query": "{ currentClinic { name } }"})
    assert response.status_code == 200
    assert response.json()["data"]["currentClinic"]["name"] == "Kit Desk 1"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"documentId": UNKNOWN}, "PERSISTED_DOCUMENT_NOT_FOUND"),
        (
            {"extensions": {"persistedQuery": {"sha256Hash": UNKNOWN[7:]}}},
            "PERSISTED_DOCUMENT_NOT_FOUND",
        ),
        ({"documentId": "md5:0123456789abcdef"}, "BAD_REQUEST"),
        ({"documentId": 42}, "BAD_REQUEST"),
        ({"extensions": {"persistedQuery": "yes"}}, "BAD_REQUEST"),
        # A text with a hash that is not the text's: refused, neither is run.
        ({"query": CREATE_PATIENT, "documentId": WHO_AM_I}, "BAD_REQUEST"),
    ],
    ids=["unknown", "unknown-apq", "not-sha256", "not-a-string", "bad-extension", "hash-mismatch"],
)
def test_a_bad_document_id_is_a_coded_400_that_runs_nothing(
    persisted_server: LiveServer,
    kit_world: KitWorld,
    django_db_blocker: Any,
    body: dict[str, Any],
    code: str,
) -> None:
    response = post(persisted_server, kit_world, body, token(persisted_server, kit_world))
    assert response.status_code == 400, response.text
    assert error_code(response.json()) == code
    assert "data" not in response.json()
    assert patients_named_intrusa(kit_world, django_db_blocker) == 0


def test_a_text_with_its_own_hash_runs(persisted_server: LiveServer, kit_world: KitWorld) -> None:
    """What an APQ client sends after a miss: the text and its sha256 (nothing is registered)."""
    query = "{ currentClinic { subdomain } }"
    digest = hashlib.sha256(query.encode()).hexdigest()
    response = post(persisted_server, kit_world, {"query": query, "documentId": digest})
    assert response.status_code == 200
    assert response.json()["data"]["currentClinic"]["subdomain"] == kit_world.clinic.subdomain
    again = post(persisted_server, kit_world, {"documentId": digest})
    assert error_code(again.json()) == "PERSISTED_DOCUMENT_NOT_FOUND"


# --- persisted only --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"query": CREATE_PATIENT},
        {
            "query": CREATE_PATIENT,
            "documentId": hashlib.sha256(CREATE_PATIENT.encode()).hexdigest(),
        },
        {},
    ],
    ids=["text", "text-with-its-hash", "nothing"],
)
def test_persisted_only_refuses_anything_but_a_registered_document(
    persisted_only_server: LiveServer,
    kit_world: KitWorld,
    django_db_blocker: Any,
    body: dict[str, Any],
) -> None:
    response = post(
        persisted_only_server, kit_world, body, persisted_token(persisted_only_server, kit_world)
    )
    assert response.status_code == 400, response.text
    assert error_code(response.json()) == "PERSISTED_DOCUMENT_REQUIRED"
    assert "documentId" in response.json()["errors"][0]["message"]
    assert patients_named_intrusa(kit_world, django_db_blocker) == 0


def test_persisted_only_refuses_text_over_get(
    persisted_only_server: LiveServer, kit_world: KitWorld
) -> None:
    response = persisted_only_server.request(
        "GET", "/graphql", host(kit_world), params={"query": "{ currentClinic { name } }"},
        headers={"Accept": "application/json"},
    )  # fmt: skip
    assert response.status_code == 400
    assert error_code(response.json()) == "PERSISTED_DOCUMENT_REQUIRED"


def test_persisted_only_runs_registered_documents(
    persisted_only_server: LiveServer, kit_world: KitWorld
) -> None:
    response = post(
        persisted_only_server,
        kit_world,
        {"documentId": WHO_AM_I},
        persisted_token(persisted_only_server, kit_world),
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["currentClinic"]["name"] == "Kit Desk 1"
    unknown = post(persisted_only_server, kit_world, {"documentId": UNKNOWN})
    assert unknown.status_code == 400
    assert error_code(unknown.json()) == "PERSISTED_DOCUMENT_NOT_FOUND"


# --- the manifest --------------------------------------------------------------------------


def test_the_example_manifest_loads_with_every_operation() -> None:
    documents = persisted_documents.load_manifest(str(MANIFEST))
    assert len(documents) == len(REGISTERED) >= 8
    assert all(hashlib.sha256(text.encode()).hexdigest() == key for key, text in documents.items())


@pytest.mark.parametrize(
    "content",
    [
        json.dumps({"sha256:" + "0" * 64: "query { me { email } }"}),
        json.dumps({"query { me { email } }": "query { me { email } }"}),
        json.dumps(["query { me { email } }"]),
        "{not json",
    ],
    ids=["wrong-hash", "not-a-hash", "not-an-object", "not-json"],
)
def test_a_manifest_whose_keys_are_not_its_documents_hashes_is_refused(
    tmp_path: Path, content: str
) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ImproperlyConfigured, match="GRAPHQL_PERSISTED_DOCUMENTS"):
        persisted_documents.load_manifest(str(path))


def test_persisted_only_without_a_manifest_is_a_configuration_error(settings: Any) -> None:
    settings.GRAPHQL_PERSISTED_DOCUMENTS = ""
    settings.GRAPHQL_PERSISTED_ONLY = True
    with pytest.raises(ImproperlyConfigured, match="GRAPHQL_PERSISTED_ONLY"):
        persisted_documents.registry()


def test_a_registered_mutation_does_not_run_over_get(
    persisted_server: LiveServer, kit_world: KitWorld
) -> None:
    """A hash makes a mutation no more GET-able than its text (a link must not sign out)."""
    logout = next(key for key, text in REGISTERED.items() if text.startswith("mutation Logout "))
    bearer = token(persisted_server, kit_world)
    response = persisted_server.request(
        "GET", "/graphql", host(kit_world), params={"documentId": logout},
        headers={"Authorization": f"Bearer {bearer}", "Accept": "application/json"},
    )  # fmt: skip
    assert response.status_code in (400, 405), response.text
    assert "data" not in response.json()
    still = post(persisted_server, kit_world, {"documentId": WHO_AM_I}, bearer)
    assert still.json()["data"]["me"]["email"] == kit_world.reception_email


def test_a_server_with_a_bad_manifest_does_not_start(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"sha256:" + "0" * 64: "{ me { email } }"}), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True,
        env=child_env(GRAPHQL_PERSISTED_DOCUMENTS=str(manifest)), timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "is not the sha256" in result.stderr
