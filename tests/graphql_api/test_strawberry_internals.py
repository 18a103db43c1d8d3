"""Fails loudly when strawberry or graphql-core change under graphql_api/core/strawberry_internals.py:
the installed versions must be those it was written for (and pyproject.toml must pin them),
and each internal it uses must still have the shape and the behaviour it relies on."""

from __future__ import annotations

import inspect
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
import strawberry
from graphql import GraphQLError, GraphQLSchema, parse, specified_rules, validate
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from strawberry.extensions import SchemaExtension
from strawberry.http.sync_base_view import SyncBaseHTTPView
from strawberry.schema import schema as strawberry_schema_module

from graphql_api.core import strawberry_internals as internals
from tests.conftest import ROOT

HOST = "clinica1.localhost"


def _pinned() -> dict[str, SpecifierSet]:
    project = tomllib.loads(Path(ROOT, "pyproject.toml").read_text())["project"]
    requirements = (Requirement(line) for line in project["dependencies"])
    return {r.name: r.specifier for r in requirements if r.name in internals.SUPPORTED_VERSIONS}


@pytest.mark.parametrize("package", internals.SUPPORTED_VERSIONS)
def test_the_installed_version_is_one_the_internals_were_written_for(package):
    supported = SpecifierSet(internals.SUPPORTED_VERSIONS[package])
    assert version(package) in supported, (
        f"{package} {version(package)} is outside {supported}: check every use in "
        "graphql_api/core/strawberry_internals.py, then widen the range there and in pyproject.toml"
    )


def test_pyproject_pins_the_supported_ranges():
    assert _pinned() == {
        package: SpecifierSet(spec) for package, spec in internals.SUPPORTED_VERSIONS.items()
    }


# --- the shapes and behaviours relied on ------------------------------------------------------


@strawberry.type
class _Query:
    @strawberry.field
    def answer(self) -> int:
        return 42


class _Answers(SchemaExtension):
    """Answers for strawberry's validation with what ``errors`` holds (None: does not)."""

    errors: list[GraphQLError] | None = None
    seen_schema: object = None

    def on_validate(self):
        context = self.execution_context
        _Answers.seen_schema = internals.graphql_schema(context)
        if _Answers.errors is not None and internals.validation_pending(context):
            internals.set_validation_result(context, list(_Answers.errors))
        yield


def _run(query: str, errors: list[GraphQLError] | None):
    _Answers.errors = errors
    schema = strawberry.Schema(query=_Query, extensions=[_Answers])
    return schema, schema.execute_sync(query)


def test_the_graphql_core_schema_is_strawberrys__schema():
    schema, _ = _run("{ answer }", None)
    assert isinstance(_Answers.seen_schema, GraphQLSchema)
    assert _Answers.seen_schema is schema._schema


def test_an_empty_validation_result_runs_the_operation_without_strawberrys_validation():
    # `nope` fails graphql-core's rules: strawberry did not run them.
    _, result = _run("{ answer nope }", [])
    assert result.errors is None
    assert result.data == {"answer": 42}


def test_a_validation_result_with_errors_refuses_the_operation_with_those_errors():
    refusal = GraphQLError("refused", extensions={"code": "X"})
    _, result = _run("{ answer }", [refusal])
    assert result.data is None
    assert result.errors == [refusal]


def test_without_an_answer_strawberry_validates_as_usual():
    _, result = _run("{ nope }", None)
    assert result.data is None
    assert "nope" in result.errors[0].message


def test_strawberry_adds_exactly_the_rules_listed():
    """validation.py calls graphql-core itself with the rules strawberry's validate_document
    adds (also checked by tests/test_validation_cost.py, by the rules' names)."""
    source = inspect.getsource(strawberry_schema_module.validate_document)
    for rule in internals.STRAWBERRY_RULES:
        assert rule.__name__ in source
    assert source.count("ValidationRule,") == len(internals.STRAWBERRY_RULES)


def test_each_marked_rule_reports_through_the_one_shared_context():
    """Errors are marked with their rule, and graphql-core's error budget (``max_errors``),
    kept on the shared context, still stops validation: the views share its state."""
    schema = strawberry.Schema(query=_Query)._schema
    document = parse("{ a b c d e }")
    rules = [internals.marking_rule(rule) for rule in specified_rules]

    errors = validate(schema, document, rules, max_errors=2)

    assert [internals.reporting_rule(e) for e in errors[:2]] == ["FieldsOnCorrectTypeRule"] * 2
    assert isinstance(errors[-1], internals.ValidationAbortedError)
    assert len(errors) == 3


def test_the_view_reads_every_request_through_parse_http_body():
    signature = inspect.signature(SyncBaseHTTPView.parse_http_body)
    assert list(signature.parameters) == ["self", "request"]
    assert "self.parse_http_body(" in inspect.getsource(SyncBaseHTTPView.execute_operation)


def test_the_project_view_uses_the_safe_request_reading(client, db):
    # strawberry's own parse_http_body answers a JSON body that is no object with a 500.
    response = client.post("/graphql", data="42", content_type="application/json", HTTP_HOST=HOST)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_an_error_raised_by_an_on_parse_hook_is_the_operations_only_error():
    """document_limits refuses a document too long by raising in ``on_parse``."""

    class Refuses(SchemaExtension):
        def on_parse(self):
            raise GraphQLError("too long", extensions={"code": "X"})
            yield  # pragma: no cover

    result = strawberry.Schema(query=_Query, extensions=[Refuses]).execute_sync("{ answer }")
    assert result.data is None
    assert [(e.message, e.extensions) for e in result.errors] == [("too long", {"code": "X"})]


def test_process_errors_sees_every_error_before_any_extension_and_the_response():
    """errors.CodedErrorsSchema classifies, logs and rewrites errors in ``process_errors``: it
    must be called with each result's errors, parse, validation and execution alike."""
    seen: list[str] = []

    class Recording(strawberry.Schema):
        def process_errors(self, errors, execution_context=None):
            seen.extend(error.message for error in errors)
            for error in errors:
                error.message = "rewritten"

    @strawberry.type
    class Query:
        @strawberry.field
        def broken(self) -> int:
            raise RuntimeError("resolver")

    schema = Recording(query=Query)
    results = [schema.execute_sync(q) for q in ("{ broken", "{ nope }", "{ broken }")]

    assert len(seen) == 3
    assert "resolver" in seen[2]
    assert all(r.errors[0].message == "rewritten" for r in results)


# --- the node id attribute (core/fast_fields.cache_node_id_attributes) --------------------


def test_strawberry_reads_a_node_types_cached_id_attribute_before_its_annotations():
    from strawberry import relay

    @strawberry.type
    class Thing(relay.Node):
        code: relay.NodeID[str]

    assert relay.Node._id_attr is None  # a class attribute strawberry declares, default None
    Thing._id_attr = "cached"
    assert Thing.resolve_id_attr() == "cached"
    assert Thing.resolve_id(type("Row", (), {"cached": "7"})(), info=None) == "7"


def test_every_node_type_of_the_schema_has_its_id_attribute_cached():
    from strawberry import relay
    from strawberry.types.base import StrawberryObjectDefinition

    from graphql_api.schema import schema

    origins = [
        definition.origin
        for graphql_type in schema._schema.type_map.values()
        if isinstance(
            definition := (graphql_type.extensions or {}).get("strawberry-definition"),
            StrawberryObjectDefinition,
        )
        and not definition.is_interface
        and isinstance(definition.origin, type)
        and issubclass(definition.origin, relay.Node)
    ]
    assert len(origins) >= 10
    assert {origin.__name__: origin.__dict__.get("_id_attr") for origin in origins} == {
        origin.__name__: "pk" for origin in origins
    }
