"""Fixtures of the fuzz tests, and the per-operation reach report at the end of the run."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import tenant_context
from hypothesis import Phase

from tenants_core.models import Clinic
from tests.conftest import TEST_PASSWORD
from tests.fuzz import reach
from tests.fuzz.world import OTHER_PK_BASE, OTHER_SENTINEL, World, add_backups, build_world

# Reproducible by default: a fixed seed, no example database. FUZZ_SEED=random (or any
# number) for a new hunt; the seed is printed with the report.
_seed_setting = os.environ.get("FUZZ_SEED", "22")
FUZZ_SEED = random.randrange(2**32) if _seed_setting == "random" else int(_seed_setting)
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
# Examples of the sweep that puts another clinic's ID at every ID argument in turn.
SWEEP_EXAMPLES = max(1, FUZZ_EXAMPLES // 20)
# Shrinking a failure to its smallest example takes up to five minutes per operation, which a
# regression in every operation would multiply by 84: only on request (FUZZ_SHRINK=1). The
# report shows the failing example's draws either way.
FUZZ_PHASES = tuple(
    phase
    for phase in Phase
    if phase is not Phase.shrink or os.environ.get("FUZZ_SHRINK") == "1"
    if phase is not Phase.explain or os.environ.get("FUZZ_SHRINK") == "1"
)


@dataclass
class FuzzEnv:
    clinic: Clinic
    other_clinic: Clinic
    world: World
    other: World
    backups: list[str]
    tokens: dict[str, str]


@pytest.fixture(scope="session")
def _counting_resolvers() -> Iterator[None]:
    with reach.counting_resolvers():
        yield


@pytest.fixture
def fuzz_env(
    _counting_resolvers: None, clinic1: Clinic, clinic2: Clinic, token_for: Any, platform_token: str
) -> FuzzEnv:
    world = build_world(clinic1, pk_base=None, label="Fuzz", password=TEST_PASSWORD)
    other = build_world(
        clinic2, pk_base=OTHER_PK_BASE, label=OTHER_SENTINEL, password=TEST_PASSWORD
    )
    with tenant_context(clinic1):
        clashes = [
            (type_name, pk)
            for type_name, pks in world.pks.items()
            for pk in pks
            if pk >= OTHER_PK_BASE
        ]
    assert not clashes, f"clinica1 reached the other clinic's keys: {clashes}"
    connection.set_schema_to_public()
    admin_email, other_admin_email = world.emails[0], other.emails[0]
    from django.contrib.auth import get_user_model

    with tenant_context(clinic1):
        admin = get_user_model().objects.get(email=admin_email)
        tokens = {"clinic": token_for(clinic1, admin)}
    with tenant_context(clinic2):
        tokens["other clinic"] = token_for(
            clinic2, get_user_model().objects.get(email=other_admin_email)
        )
    tokens["platform"] = platform_token
    connection.set_schema_to_public()
    return FuzzEnv(clinic1, clinic2, world, other, add_backups(clinic2), tokens)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = reach.summary_lines()
    if not lines:
        return
    terminalreporter.section(f"fuzzing: examples that reached the resolver (seed {FUZZ_SEED})")
    for line in lines:
        terminalreporter.write_line(line)
