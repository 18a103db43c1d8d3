"""The TypeScript front-desk example (docs/clients/front-desk) as CI runs it: its generated
client is fresh, it compiles under strict TypeScript, and it does the front desk's day against
a real uvicorn, with full documents and with persisted documents only."""

from __future__ import annotations

import filecmp
import subprocess
import time
from pathlib import Path
from typing import Any

from backend.core.tenancy import clinic_context
from backend.scheduling.models import Appointment
from tests.clients.conftest import FRONT_DESK, BuiltExample, KitWorld, npm_run
from tests.conftest import ROOT, LiveServer
from tests.factories import TEST_PASSWORD

REASON = "Control (front-desk example)"


def example_env(world: KitWorld, server: LiveServer, **extra: str) -> dict[str, str]:
    return {
        "FRONT_DESK_API": world.url(server),
        "FRONT_DESK_OTHER_API": world.url(server, world.other),
        "FRONT_DESK_EMAIL": world.reception_email,
        "FRONT_DESK_PASSWORD": TEST_PASSWORD,
        "FRONT_DESK_SEARCH": world.patient_search,
        **extra,
    }


def booked(world: KitWorld, django_db_blocker: Any) -> int:
    with django_db_blocker.unblock(), clinic_context(world.clinic):
        return Appointment.objects.filter(reason=REASON).count()


def assert_front_desk_day(result: subprocess.CompletedProcess[str], world: KitWorld) -> None:
    out = result.stdout
    assert result.returncode == 0, f"{out}\n{result.stderr}"
    assert f"signed in as {world.reception_email} (RECEPTIONIST)" in out
    assert "clinic: Kit Desk 1 (America/Lima)" in out
    assert "first: Rosa Quispe Huamán" in out
    assert "professional: Dra. Elena Kit; chair: Sillón 1" in out
    assert "booked " in out
    assert "(SCHEDULED)" in out
    # DateTime values carry the clinic's offset (Lima: -05:00).
    assert "-05:00 to " in out
    assert "the new one included" in out
    assert "refused with UNAUTHENTICATED (expected)" in out
    assert "signed out; the old token is refused with UNAUTHENTICATED" in out
    assert out.rstrip().endswith("[front-desk] OK")


def test_generated_client_is_fresh(front_desk_modules: BuiltExample, tmp_path: Path) -> None:
    """codegen from schema.graphql now writes exactly the committed src/gql/ (like
    ``export_schema --check``): rerun ``npm run codegen`` after changing the schema."""
    started = time.monotonic()
    out = tmp_path / "gql"
    npm_run(
        front_desk_modules.npm, "run", "codegen",
        env={"CODEGEN_OUT": f"{out}/", "CODEGEN_SCHEMA": str(ROOT / "schema.graphql")},
    )  # fmt: skip
    front_desk_modules.timings["codegen"] = time.monotonic() - started
    committed = FRONT_DESK / "src" / "gql"
    names = sorted(p.name for p in committed.iterdir())
    assert names == sorted(p.name for p in out.iterdir())
    assert "persisted-documents.json" in names
    _, mismatch, errors = filecmp.cmpfiles(committed, out, names, shallow=False)
    stale = mismatch + errors
    assert not stale, f"src/gql is stale ({stale}): run `npm run codegen` in {FRONT_DESK}"


def test_front_desk_example_runs_against_the_server(
    front_desk: BuiltExample,
    kit_world: KitWorld,
    persisted_server: LiveServer,
    django_db_blocker: Any,
) -> None:
    before = booked(kit_world, django_db_blocker)
    started = time.monotonic()
    result = front_desk.run(env=example_env(kit_world, persisted_server))
    front_desk.timings["example"] = time.monotonic() - started
    print(result.stdout)
    assert_front_desk_day(result, kit_world)
    assert "full documents against http://kitdesk1" in result.stdout
    assert booked(kit_world, django_db_blocker) == before + 1
    print("front-desk timings (s):", {k: round(v, 1) for k, v in front_desk.timings.items()})


def test_front_desk_example_runs_with_persisted_documents_only(
    front_desk: BuiltExample,
    kit_world: KitWorld,
    persisted_only_server: LiveServer,
    django_db_blocker: Any,
) -> None:
    before = booked(kit_world, django_db_blocker)
    result = front_desk.run("--persisted", env=example_env(kit_world, persisted_only_server))
    assert_front_desk_day(result, kit_world)
    assert "persisted documents (sha256 only)" in result.stdout
    assert booked(kit_world, django_db_blocker) == before + 1


def test_front_desk_example_without_persisted_documents_is_refused_by_a_persisted_only_server(
    front_desk: BuiltExample, kit_world: KitWorld, persisted_only_server: LiveServer
) -> None:
    result = front_desk.run(env=example_env(kit_world, persisted_only_server))
    assert result.returncode == 1
    assert "FAILED (unexpected answer): login failed" in result.stderr
    assert "[front-desk] OK" not in result.stdout


def test_front_desk_example_exits_non_zero_on_an_unexpected_answer(
    front_desk: BuiltExample, kit_world: KitWorld, persisted_server: LiveServer
) -> None:
    env = example_env(kit_world, persisted_server, FRONT_DESK_PASSWORD="not-the-password")
    result = front_desk.run(env=env)
    assert result.returncode == 1
    assert "FAILED (unexpected answer): login refused: INVALID_CREDENTIALS" in result.stderr
    assert "signed in" not in result.stdout
