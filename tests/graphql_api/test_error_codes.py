"""The list of error codes in docs/clients.md is every code the code can answer, each with
its meaning and where it comes from (graphql_api/core/error_catalog.py)."""

from __future__ import annotations

import ast
from enum import StrEnum

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from graphql_api.core import error_catalog
from graphql_api.core.error_catalog import (
    ERROR_ENUMS,
    error_codes,
    operation_codes,
    project_modules,
)
from graphql_api.core.error_docs import END, START, error_codes_markdown, replace_block
from graphql_api.core.error_sources import attributes_named_in, parsed
from graphql_api.schema import schema

REGISTERED = {enum.__name__: enum for enum in ERROR_ENUMS}
# Calls whose argument at this position is an error code (besides any ``code=`` keyword).
CODE_ARGUMENT = {"ValidationError": 1, "field_error": 2, "json_error": 1, "refuse": 1}


def _error_enum_classes() -> dict[str, str]:
    """Every ``class *Error(StrEnum)`` of the project, with its module."""
    found = {}
    for module in project_modules():
        for node in ast.walk(parsed(module)):
            if (
                isinstance(node, ast.ClassDef)
                and node.name.endswith("Error")
                and any(getattr(base, "id", None) == "StrEnum" for base in node.bases)
            ):
                found[node.name] = module
    return found


def test_every_error_enum_of_the_code_is_in_the_catalog():
    found = _error_enum_classes()
    assert len(found) >= 20
    assert set(found) == set(REGISTERED), "list the new enum in error_catalog.ERROR_ENUMS"


def test_every_code_has_a_meaning():
    codes = error_codes()
    assert len(codes) == sum(len(enum) for enum in ERROR_ENUMS)
    assert [c.code for c in codes if not c.meaning] == []


def _raised_codes() -> list[tuple[str, int, ast.expr]]:
    """Every expression passed as an error code at a place that raises or answers one."""
    raised = []
    for module in project_modules():
        for node in ast.walk(parsed(module)):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else None
                name = name or getattr(node.func, "id", None)
                raised += [(module, node.lineno, k.value) for k in node.keywords if k.arg == "code"]
                position = CODE_ARGUMENT.get(name or "")
                if position is not None and len(node.args) > position:
                    raised.append((module, node.lineno, node.args[position]))
    return raised


def test_every_code_the_code_raises_is_a_listed_member():
    """A code given as ``SomeError.MEMBER`` names a listed enum's member; a code given as a
    string literal is a listed code. (Variables pass a code on: they hold members.)"""
    listed = {code.code for code in error_codes()}
    members, literals = 0, []
    for module, line, expression in _raised_codes():
        if isinstance(expression, ast.Attribute) and expression.attr == "value":
            expression = expression.value
        if isinstance(expression, ast.Attribute) and isinstance(expression.value, ast.Name):
            enum = expression.value.id
            if enum.endswith("Error"):
                assert enum in REGISTERED, f"{module}:{line}: {enum} is not in ERROR_ENUMS"
                assert expression.attr in REGISTERED[enum].__members__, f"{module}:{line}"
                members += 1
        elif isinstance(expression, ast.Constant) and isinstance(expression.value, str):
            literals.append((module, line, expression.value))
    assert members > 200
    # The only string literals passed as ``code=`` are not error codes: notification
    # placeholders and report rows (they are refused here once they look like one).
    assert [lit for lit in literals if lit[2].isupper() and lit[2] not in listed] == []
    assert all(not lit[2].isupper() or lit[2] in listed for lit in literals)


def test_every_member_the_code_names_is_listed_with_a_source():
    """Each member that code outside the enums names is listed as coming from somewhere."""
    sources = error_catalog.code_sources()
    named = {
        (name, REGISTERED[name][attribute].value)
        for module in project_modules()
        if not module.endswith((".errors", "error_codes"))
        for name, attribute in attributes_named_in(module)
        if name in REGISTERED and attribute in REGISTERED[name].__members__
    }
    assert len(named) > 150
    assert sorted(key for key in named if key not in sources) == []
    listed = {(code.enum, code.code) for code in error_codes()}
    assert set(sources) <= listed
    # And no member is dead: each comes from somewhere (a code no code raises is a lie in the
    # list; a domain answering a shared code uses the shared member).
    assert sorted(listed - set(sources)) == []


def test_operations_get_their_refusals_and_their_domain_codes():
    by_name = {op.operation: op for op in operation_codes(schema)}
    schedule = by_name["mutation scheduleAppointment"]
    assert schedule.refusals == ("TENANT_DOMAIN_ONLY", "UNAUTHENTICATED", "FORBIDDEN")
    assert {"INVALID_ID", "NOT_FOUND"} <= set(schedule.input_codes)
    assert {"APPOINTMENT_OVERLAP", "CLINIC_CLOSED", "OUTSIDE_WORKING_HOURS"} <= set(
        schedule.domain_codes
    )
    assert "RUC_INVALID_CHECK_DIGIT" not in schedule.domain_codes
    login = by_name["mutation login"]
    assert "UNAUTHENTICATED" not in login.refusals
    assert "INVALID_CREDENTIALS" in login.domain_codes
    assert "INVALID_PAGINATION" in by_name["query patients"].input_codes
    assert "INVALID_PAGINATION" not in by_name["query patient"].input_codes
    assert "PUBLIC_DOMAIN_ONLY" in by_name["mutation createClinic"].refusals
    # Every operation of the schema is there.
    assert len(by_name) == len(schema.get_type_by_name("Query").fields) + len(  # type: ignore[union-attr]
        schema.get_type_by_name("Mutation").fields  # type: ignore[union-attr]
    )


def test_the_block_lists_every_code_and_every_operation():
    block = error_codes_markdown(schema)
    assert block.startswith(START)
    assert block.rstrip().endswith(END)
    for code in error_codes():
        assert f"| `{code.code}` | {code.meaning}" in block.replace("\\|", "|")
    for op in operation_codes(schema):
        assert f"| `{op.operation}` |" in block


def test_the_block_replaces_only_what_is_between_its_markers():
    document = f"# Clients\n\nBefore.\n\n{START}\nold\n{END}\n\nAfter.\n"
    replaced = replace_block(document, f"{START}\nnew\n{END}\n")
    assert replaced == f"# Clients\n\nBefore.\n\n{START}\nnew\n{END}\n\nAfter.\n"
    assert replace_block("# Clients\n", f"{START}\nx\n{END}\n") == (
        f"# Clients\n\n{START}\nx\n{END}\n"
    )


def test_check_fails_on_a_stale_list_and_passes_once_exported(tmp_path):
    path = tmp_path / "clients.md"
    path.write_text(f"# Clients\n\nText of the kit.\n\n{START}\n{END}\n\nMore text.\n")
    with pytest.raises(CommandError, match="out of date"):
        call_command("export_error_codes", "--check", path=path)
    call_command("export_error_codes", path=path)
    text = path.read_text()
    assert text.startswith("# Clients\n\nText of the kit.\n\n")
    assert text.endswith("\n\nMore text.\n")
    assert "`APPOINTMENT_OVERLAP`" in text
    call_command("export_error_codes", "--check", path=path)


def test_a_new_member_without_a_meaning_is_found():
    class ProbeError(StrEnum):
        DOCUMENTED = "DOCUMENTED"
        """Said."""
        BARE = "BARE"

    assert error_catalog.meanings(ProbeError) == {"DOCUMENTED": "Said."}


def test_docs_clients_md_holds_the_current_list():
    """The checked-in list is the code's (as ``export_error_codes --check`` in CI)."""
    call_command("export_error_codes", "--check")
