"""The client kit's world: two clinics of its own (committed, so uvicorn sees them) with what
the front-desk example needs, servers with and without persisted documents, and the example
built with Node (``npm ci``, codegen, ``tsc``)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from backend.accounts.models import Role
from backend.core.tenancy import clinic_context
from tenants_core.models import Clinic
from tenants_core.services import clinic_provision
from tests.conftest import ROOT, LiveServer, running_uvicorn
from tests.factories import (
    TEST_PASSWORD,
    ChairFactory,
    PatientFactory,
    ProfessionalFactory,
    StaffFactory,
    weekly,
)

FRONT_DESK = ROOT / "docs" / "clients" / "front-desk"
MANIFEST = FRONT_DESK / "src" / "gql" / "persisted-documents.json"
NODE_MAJOR_MIN = 20


@dataclass(frozen=True)
class KitWorld:
    clinic: Clinic
    other: Clinic
    reception_email: str
    patient_search: str

    def url(self, server: LiveServer, clinic: Clinic | None = None) -> str:
        """The clinic's real URL (its name, not 127.0.0.1): what a front end is given."""
        subdomain = (clinic or self.clinic).subdomain
        return f"http://{subdomain}.{settings.BASE_DOMAIN}:{server.port}/graphql"


@pytest.fixture(scope="session")
def kit_world(django_db_setup: None, django_db_blocker: Any) -> Iterator[KitWorld]:
    """Two committed clinics of the kit tests' own; the first has a receptionist, a patient,
    a professional working every day 08:00–18:00 and a chair. Dropped afterwards."""
    stamp = f"{os.getpid() % 10_000}{int(time.time()) % 1000}"
    created: list[Clinic] = []
    with django_db_blocker.unblock():
        for n in (1, 2):
            subdomain = f"kitdesk{n}x{stamp}"
            made = clinic_provision(
                subdomain=subdomain, name=f"Kit Desk {n}", legal_id="20600000005",
                email=f"hola@{subdomain}.pe", plan="basic",
                admin_email=f"admin@{subdomain}.pe", admin_password=TEST_PASSWORD,
            )  # fmt: skip
            created.append(made)
        clinic, other = created
        reception = f"reception@{clinic.subdomain}.pe"
        with clinic_context(clinic):
            StaffFactory(email=reception, role=Role.RECEPTIONIST)
            PatientFactory(first_name="Rosa", last_name="Quispe Huamán")
            ProfessionalFactory(full_name="Dra. Elena Kit", hours=weekly(range(7), (8, 18)))
            ChairFactory(name="Sillón 1")
    try:
        yield KitWorld(clinic, other, reception, patient_search="quispe")
    finally:
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            for clinic_made in created:
                clinic_made.delete(force_drop=True)


@pytest.fixture(scope="session")
def persisted_server(kit_world: KitWorld, django_db_blocker: Any) -> Iterator[LiveServer]:
    """uvicorn with the example's manifest registered (persisted documents optional)."""
    env = {"GRAPHQL_PERSISTED_DOCUMENTS": str(MANIFEST)}
    with running_uvicorn(django_db_blocker, env=env) as server:
        yield server


@pytest.fixture(scope="module")
def persisted_only_server(kit_world: KitWorld, django_db_blocker: Any) -> Iterator[LiveServer]:
    """uvicorn that runs the manifest's documents and nothing else."""
    env = {"GRAPHQL_PERSISTED_DOCUMENTS": str(MANIFEST), "GRAPHQL_PERSISTED_ONLY": "1"}
    with running_uvicorn(django_db_blocker, env=env) as server:
        yield server


def node_tool(name: str) -> str:
    """Node or npm, at least Node 20; fails (never skips) when missing: scripts/test installs
    them."""
    found = shutil.which(name) or (
        f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None
    )
    if not found:
        pytest.fail(f"{name} is not installed: scripts/test installs Node ≥ {NODE_MAJOR_MIN}.")
    if name == "node":
        version = subprocess.run([found, "--version"], capture_output=True, text=True).stdout
        major = int(version.strip().lstrip("v").split(".")[0] or 0)
        if major < NODE_MAJOR_MIN:
            pytest.fail(f"Node {version.strip()} is too old: the kit needs ≥ {NODE_MAJOR_MIN}.")
    return found


@dataclass(frozen=True)
class BuiltExample:
    node: str
    npm: str
    timings: dict[str, float]

    def run(
        self, *args: str, env: dict[str, str], timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.node, "dist/main.js", *args], cwd=FRONT_DESK, env={**os.environ, **env},
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip


def npm_run(
    npm: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [npm, *args], cwd=FRONT_DESK, env={**os.environ, **(env or {})},
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, f"npm {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def front_desk_modules() -> BuiltExample:
    """``npm ci`` from the committed lockfile (npm's cache under .data/). A checkout whose
    node_modules came from this very lockfile keeps it (``npm ci`` takes ~40 s here)."""
    node, npm = node_tool("node"), node_tool("npm")
    started = time.monotonic()
    lock = hashlib.sha256((FRONT_DESK / "package-lock.json").read_bytes()).hexdigest()
    stamp = FRONT_DESK / "node_modules" / ".installed-from-lock"
    if not stamp.exists() or stamp.read_text() != lock:
        cache = settings.DATA_DIR / "npm-cache"
        npm_run(npm, "ci", "--no-audit", "--no-fund", "--prefer-offline", "--cache", str(cache))
        stamp.write_text(lock)
    return BuiltExample(node, npm, {"npm ci": time.monotonic() - started})


@pytest.fixture(scope="module")
def front_desk(front_desk_modules: BuiltExample) -> BuiltExample:
    """The example compiled by ``tsc`` (strict) into dist/: it type-checks or this fails."""
    started = time.monotonic()
    npm_run(front_desk_modules.npm, "run", "build")
    front_desk_modules.timings["tsc"] = time.monotonic() - started
    return front_desk_modules
