"""The mutation tooling itself: its table names what exists, and its operators make the
mutations that issue 22's audit made by hand (so a mutation run repeats that audit)."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import parso
import pytest
from cosmic_ray.ast import ast_nodes
from cosmic_ray.mutating import mutate_code

from backend.accounts.models import Role
from backend.scheduling.models import AppointmentStatus
from backend.treatments.models import PlanStatus
from tests.mutation.operators import EnumSetMember, FlipMembership
from tests.mutation.plan import TARGETS
from tests.mutation.selection import Selector, definition_spans

ROOT = Path(__file__).resolve().parents[2]


def all_mutants(path: str, operator: object) -> list[str]:
    """Every mutant ``operator`` makes of ``path``, each as its changed lines."""
    source = (ROOT / path).read_text(encoding="utf-8")
    count = sum(
        1 for node in ast_nodes(parso.parse(source)) for _ in operator.mutation_positions(node)
    )
    mutants = []
    for occurrence in range(count):
        mutated = mutate_code(source, operator, occurrence)
        changed = difflib.unified_diff(source.splitlines(), mutated.splitlines(), n=0)
        added = [line[1:].strip() for line in changed if line[:1] == "+" and line[:3] != "+++"]
        mutants.append(" ".join(added))
    return mutants


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_every_file_definition_and_test_the_table_names_exists(target):
    for source in target.sources:
        path = ROOT / source.path
        assert path.is_file(), source.path
        missing = set(source.only or ()) - set(definition_spans(path.read_text()))
        assert not missing, f"{source.path} has no {missing}"
    for test in (*target.tests, *target.added, *target.deselect):
        file, _, name = test.partition("::")
        assert (ROOT / file).is_file(), file
        if name:
            assert re.search(rf"^def {name}\(", (ROOT / file).read_text(), re.M), test


@pytest.mark.parametrize("operator", [EnumSetMember, FlipMembership])
def test_the_project_operators_make_their_documented_mutations(operator):
    for example in operator.examples():
        mutated = mutate_code(
            example.pre_mutation_code, operator(**example.operator_args), example.occurrence
        )
        assert mutated == example.post_mutation_code


def test_the_audits_transition_mutations_are_among_the_mutants():
    statuses = {"S": [s.name for s in AppointmentStatus]}
    appointment = all_mutants("backend/scheduling/services.py", EnumSetMember(statuses))
    assert "S.CANCELLED: frozenset({S.SCHEDULED})," in appointment
    assert "S.COMPLETED: frozenset({S.SCHEDULED})," in appointment
    plans = all_mutants(
        "backend/treatments/services.py",
        EnumSetMember({"PlanStatus": [s.name for s in PlanStatus]}),
    )
    assert "PlanStatus.COMPLETED: frozenset({PlanStatus.DRAFT})," in plans


def test_the_audits_permission_mutation_is_among_the_mutants():
    """voidReceipt for any manager: the receptionist gains ``billing.void_refund``."""
    grants = all_mutants(
        "backend/billing/permissions.py", EnumSetMember({"Role": [r.name for r in Role]})
    )
    assert "frozenset({Role.ADMIN, Role.RECEPTIONIST})," in grants
    # Every role is taken from, and given to, every grant: 3 grants x 4 roles.
    assert len(grants) == 12


def test_annotations_and_unchosen_definitions_are_not_mutated(tmp_path):
    module = tmp_path / "module.py"
    module.write_text(
        "def chosen(x: int | None) -> int | None:\n"
        "    return x + 1\n"
        "\n"
        "def other(x):\n"
        "    return x + 1\n"
    )
    selector = Selector.for_file(module, only=("chosen",))
    add = "core/ReplaceBinaryOperator_Add_Sub"
    assert selector.runs(add, (2, 13), (2, 14))
    assert not selector.runs(add, (5, 13), (5, 14))  # outside ``chosen``
    assert not selector.runs("core/ReplaceBinaryOperator_BitOr_BitAnd", (1, 18), (1, 19))
    assert not selector.runs("core/ReplaceBinaryOperator_Add_LShift", (2, 13), (2, 14))
