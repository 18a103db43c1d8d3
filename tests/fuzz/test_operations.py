"""Every operation of the schema, fuzzed with valid documents and well-typed variables, so
that the examples reach the resolvers (issue 22, item 3).

For each operation (docs/permissions.md lists them), hypothesis draws variables from the
schema's argument types (tests/fuzz/values.py) and at most one hazard: another clinic's ID,
the ID of nothing, an ID of the wrong type, a malformed ID, a NUL or a lone surrogate, a 1 MB
string. Clinic operations run as an admin of clinica1; platform ones as a platform operator;
``login``, ``currentClinic`` and every other operation that needs no token (read from the
spec) run without a token, with a wrong one and with a real one, and the ones that answer on
any domain run on both. Each example runs in a savepoint that is rolled back, so every
example starts from the same rows.

Properties of every example:
- no 5xx, the answer is JSON, never ``INTERNAL_ERROR``, every error and every
  ``OperationInfo`` message carries a code;
- a 1 MB string: 413 ``REQUEST_TOO_LARGE``; a NUL or a lone surrogate: 400 ``BAD_REQUEST``;
  neither reaches a resolver;
- a refused operation writes nothing: every table of clinica1, of clinica2 and of the public
  schema is unchanged (a failed login writes its LoginFailure and ``auth.*`` audit event, as
  the README says);
- another clinic's ID, the ID of nothing, or of another type: ``NOT_FOUND``, and another
  clinic's ID is answered exactly as the ID of nothing;
- on a clinic's domain, nothing of clinica2 is changed, and no answer holds clinica2's rows.

And of every operation: at least ``reach.MIN_SHARE`` of its examples reached its resolver
(the report at the end of the run prints the shares).

Mutation checks (each turned this file red, then reverted):
- ``createPatient``'s resolver raising ``RuntimeError``: INTERNAL_ERROR on every example
  that reaches it (``test_every_operation_survives_generated_input[mutation createPatient]``).
- ``scheduleAppointment`` loading its patient from any clinic's schema (an unscoped lookup):
  the other clinic's patient is found and the call gets ``INVALID_TIME_RANGE`` where the ID
  of nothing gets ``NOT_FOUND``
  (``test_every_id_argument_refuses_another_clinics_row_as_not_found[mutation
  scheduleAppointment]``; the random fuzzing alone, 20 examples, did not draw that ID there).
- ``safe_input``'s forbidden pattern no longer matching lone surrogates: one reaches
  ``createChair``'s resolver and PostgreSQL, INTERNAL_ERROR instead of a 400 ``BAD_REQUEST``
  (``test_every_operation_survives_generated_input[mutation createChair]``).
- ``safe_input`` also refusing U+202E and U+200F (a filter in the view where the resolvers
  must take right-to-left marks): the hostile strings meant for the resolver no longer reach
  it (``[mutation login]``, ``[mutation createPatient]``, ``[mutation createStaffUser]``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from tenants_core import routing
from tests.conftest import TEST_PASSWORD
from tests.fuzz import reach
from tests.fuzz.conftest import FUZZ_EXAMPLES, FUZZ_PHASES, FUZZ_SEED, SWEEP_EXAMPLES, FuzzEnv
from tests.fuzz.documents import GRAPHQL_SCHEMA, document, root_field
from tests.fuzz.spec import KEY_TYPES, Operation, id_type, operations
from tests.fuzz.values import Generated, Hazard, VariablesGenerator, draw_hazard
from tests.fuzz.world import ABSENT_PK, OTHER_SENTINEL

pytestmark = pytest.mark.django_db

OPERATIONS = operations()
CLINIC_HOST = "clinica1.localhost"
PLATFORM_HOST = "localhost"
# A failed login writes what throttling and the audit trail need, and nothing else.
LOGIN_TABLES = {"accounts_loginfailure", "audit_auditevent"}
CLINIC_TABLE = ("public", "tenants_core_clinic")
CLINIC_ROW = "tenants_core_clinic (own row)"
# What an operation on a clinic's domain may change in the public schema: the clinic's own
# row (its settings), the routing version that tells every worker to reload it, and the job
# queue (procrastinate's tables are public; a job deferred in the clinic's transaction names
# the clinic it runs in: resendNotification).
OWN_PUBLIC = {
    ("public", CLINIC_ROW),
    ("public", "tenants_core_routing_version"),
    ("public", "procrastinate_jobs"),
    ("public", "procrastinate_events"),
}
ID_HAZARDS_NOT_FOUND = {"other clinic", "absent", "wrong type"}
REFUSED_BEFORE_RESOLVER = {"malformed", "forbidden", "one megabyte", "not a string"}


# --- the operations and documents themselves ----------------------------------------------


def test_the_spec_lists_every_operation_of_the_schema():
    listed = {(op.kind, op.name) for op in OPERATIONS}
    in_schema = {("query", name) for name in GRAPHQL_SCHEMA.query_type.fields} | {
        ("mutation", name) for name in GRAPHQL_SCHEMA.mutation_type.fields
    }
    assert listed == in_schema
    anonymous = {op.name for op in OPERATIONS if op.anonymous}
    assert {"login", "currentClinic"} <= anonymous


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: f"{op.kind} {op.name}")
def test_every_id_argument_names_a_known_node_type(op):
    from graphql import GraphQLInputObjectType, get_named_type

    def walk(name, graphql_type):
        named = get_named_type(graphql_type)
        if isinstance(named, GraphQLInputObjectType):
            for field_name, input_field in named.fields.items():
                yield from walk(field_name, input_field.type)
        elif named.name == "ID":
            yield name

    field = root_field(op.kind, op.name)
    for argument, value in field.args.items():
        for name in walk(argument, value.type):
            assert id_type(op.name, name), f"{op.name}.{name}: name its node type in spec.py"


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: f"{op.kind} {op.name}")
def test_every_generated_document_is_valid(op):
    document(op.kind, op.name)  # asserts it validates against the schema


def test_the_write_detector_sees_a_changed_row_and_forgets_an_undone_one(fuzz_env):
    """Positive control of ``Digests``: an update that keeps every row count is seen; an
    insert that a savepoint undid is not."""
    from django_tenants.utils import tenant_context

    from backend.patients.models import Patient

    schema = fuzz_env.clinic.schema_name
    digests = Digests((schema, "public"), fuzz_env.clinic.pk)
    with transaction.atomic(), tenant_context(fuzz_env.clinic):
        writes = digests.writes()
        with transaction.atomic():
            Patient.objects.create(
                first_name="A", last_name="B", document_type="DNI", document_number="11112222"
            )
            transaction.set_rollback(True)
        assert digests.changed(writes) == set()
        Patient.objects.filter(pk=fuzz_env.world.pks["Patient"][0]).update(phone="+51911111111")
        assert digests.changed(writes) == {(schema, "patients_patient")}
        transaction.set_rollback(True)


def test_the_reach_counter_counts_only_calls_that_reach_the_resolver(client, fuzz_env):
    """Positive control of the counting hook: a signed-in call counts, the same call without a
    token (refused by the permission extension first) does not."""
    op = next(op for op in OPERATIONS if op.name == "patients")
    for token, counted in ((fuzz_env.tokens["clinic"], 1), (None, 0)):
        calls = reach.calls("patients")
        _, response = _send(client, op, {}, CLINIC_HOST, token)
        assert response.status_code == 200
        assert reach.calls("patients") - calls == counted, response.json()


# --- the fuzzing ----------------------------------------------------------------------------


class Digests:
    """Every row of every table of some schemas, as one digest per table: how many rows, and
    the sum of a hash of each row's text (no sort needed). The public clinic row of the clinic
    under test is digested on its own (``CLINIC_ROW``): its settings live there.

    Digesting every table after every example would cost more than the example, so
    ``changed`` digests only the tables PostgreSQL saw a row written to in this transaction
    since ``writes()`` was read (``pg_stat_xact_user_tables``, which also counts writes that
    a savepoint undid: the digest then tells whether anything stayed)."""

    def __init__(self, schemas: tuple[str, ...], clinic_id: int):
        self.schemas = list(schemas)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT table_schema, table_name FROM information_schema.tables"
                " WHERE table_schema = ANY(%s) AND table_type = 'BASE TABLE'"
                " ORDER BY table_schema, table_name",
                [self.schemas],
            )
            tables = cursor.fetchall()
        digest = "count(*) || ':' || coalesce(sum(hashtext(t::text)), 0)"
        self.queries: dict[tuple[str, str], list[tuple[tuple[str, str], str]]] = {}
        for schema, table in tables:
            where = f" WHERE id <> {int(clinic_id)}" if (schema, table) == CLINIC_TABLE else ""
            sql = f'SELECT {digest} FROM "{schema}"."{table}" t{where}'
            self.queries[(schema, table)] = [((schema, table), sql)]
        self.queries[CLINIC_TABLE].append(
            (
                ("public", CLINIC_ROW),
                f"SELECT {digest} FROM public.tenants_core_clinic t WHERE id = {int(clinic_id)}",
            )
        )
        self.before = self._digest(list(self.queries))

    def _digest(self, tables: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        parts = [(key, sql) for table in tables for key, sql in self.queries[table]]
        if not parts:
            return {}
        # Each branch says which it is: UNION ALL keeps no order (a parallel append mixes them).
        branches = " UNION ALL ".join(
            f"(SELECT {index}, d FROM ({sql}) AS part(d))" for index, (_, sql) in enumerate(parts)
        )
        with connection.cursor() as cursor:
            cursor.execute(branches)
            found = dict(cursor.fetchall())
        return {key: found[index] for index, (key, _) in enumerate(parts)}

    def writes(self) -> dict[tuple[str, str], int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT schemaname, relname, n_tup_ins + n_tup_upd + n_tup_del"
                " FROM pg_stat_xact_user_tables WHERE schemaname = ANY(%s)",
                [self.schemas],
            )
            return {(schema, table): count for schema, table, count in cursor.fetchall()}

    def changed(self, writes_before: dict[tuple[str, str], int]) -> set[tuple[str, str]]:
        """The tables (and the clinic's own row) whose rows differ from the test's start."""
        written = [
            table
            for table, count in self.writes().items()
            if count != writes_before.get(table, 0) and table in self.queries
        ]
        after = self._digest(written)
        return {key for key, digest in after.items() if digest != self.before[key]}


def _codes(payload: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(top-level error codes, OperationInfo message codes)."""
    top = [(error.get("extensions") or {}).get("code") for error in payload.get("errors") or []]
    result = (payload.get("data") or {}).get("result")
    messages = []
    if isinstance(result, dict) and result.get("__typename") == "OperationInfo":
        messages = [message.get("code") for message in result["messages"]]
    return top, messages


def _strip_request_ids(payload: Any) -> Any:
    if isinstance(payload, dict):
        return {k: _strip_request_ids(v) for k, v in payload.items() if k != "requestId"}
    if isinstance(payload, list):
        return [_strip_request_ids(v) for v in payload]
    return payload


def _replace(variables: Any, path: tuple[Any, ...], value: Any) -> Any:
    copy = json.loads(json.dumps(variables))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return copy


def _send(client: Any, op: Operation, variables: dict[str, Any], host: str, token: str | None):
    body = json.dumps({"query": document(op.kind, op.name), "variables": variables})
    headers = {"HTTP_HOST": host}
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    response = client.generic("POST", "/graphql", body, content_type="application/json", **headers)
    return body, response


def _check_answer(op: Operation, response: Any) -> dict[str, Any]:
    """The invariants of every answer; returns its JSON."""
    assert response.status_code < 500, response.content[:500]
    assert response["Content-Type"].startswith("application/json"), response.content[:300]
    payload = response.json()
    top, messages = _codes(payload)
    for code, error in zip(top, payload.get("errors") or [], strict=True):
        assert code, error
        assert code not in {"INTERNAL_ERROR", "DATABASE_UNAVAILABLE"}, (op.name, error)
    assert all(messages), payload
    return payload


def _refused(response: Any, payload: dict[str, Any]) -> bool:
    result = (payload.get("data") or {}).get("result")
    return (
        response.status_code != 200
        or (payload.get("errors") is not None and result is None)
        or (isinstance(result, dict) and result.get("__typename") == "OperationInfo")
    )


def _run_example(client: Any, env: FuzzEnv, op: Operation, data: Any, digests: Digests) -> None:
    platform_host = op.domain == "platform" or (
        op.domain == "any" and data.draw(st.integers(0, 3), label="platform host?") == 0
    )
    host = PLATFORM_HOST if platform_host else CLINIC_HOST
    own_token = env.tokens["platform" if platform_host else "clinic"]
    token_kind = "real"
    if op.anonymous:
        token_kind = data.draw(
            st.sampled_from(["real", "none", "garbage", "other domain"]), "token"
        )
    token = {
        "real": own_token,
        "none": None,
        "garbage": "dk_not-a-token",
        "other domain": env.tokens["other clinic"],
    }[token_kind]
    field = root_field(op.kind, op.name)
    generator = VariablesGenerator(data, env.world, env.backups, TEST_PASSWORD)
    generated: Generated = generator.variables(op.name, field.args)
    hazard: Hazard = draw_hazard(data, generated, env.world, None if platform_host else env.other)
    _send_and_check(client, env, op, digests, host, token, token_kind, generated, hazard)


def _send_and_check(
    client: Any,
    env: FuzzEnv,
    op: Operation,
    digests: Digests,
    host: str,
    token: str | None,
    token_kind: str,
    generated: Generated,
    hazard: Hazard,
    *,
    tallied: bool = True,
) -> None:
    """Send one example, undo what it wrote, and check every property of its answer."""
    platform_host = host == PLATFORM_HOST

    def send(variables: dict[str, Any]) -> tuple[str, Any]:
        return _send(client, op, variables, host, token)

    def send_instead(value: Any) -> dict[str, Any]:
        """The answer to the same request with ``value`` at the hazard's place, undone."""
        sid = transaction.savepoint()
        _, response = send(_replace(generated.variables, hazard.path, value))
        transaction.savepoint_rollback(sid)
        return _check_answer(op, response)

    with transaction.atomic():
        writes = digests.writes()
        calls = reach.calls(op.name)
        body, response = send(generated.variables)
        reached = reach.calls(op.name) > calls
        payload = _check_answer(op, response)
        refused = _refused(response, payload)
        changed = digests.changed(writes)
        control = absent = None
        if hazard.kind in ID_HAZARDS_NOT_FOUND and reached:
            control = send_instead(hazard.original)  # this clinic's own row instead
            if hazard.kind == "other clinic":
                absent = send_instead(_absent_like(hazard.value))
        transaction.set_rollback(True)
    routing.invalidate()

    top, messages = _codes(payload)
    if tallied:
        _tally(op, reached, hazard, token_kind, refused, top + messages, generated)

    # What the view refuses never reaches a resolver, and gets its code.
    if len(body.encode()) > django_settings.MAX_REQUEST_BYTES:
        assert (response.status_code, top) == (413, ["REQUEST_TOO_LARGE"]), payload
    elif hazard.kind == "forbidden":
        assert (response.status_code, top) == (400, ["BAD_REQUEST"]), payload
    elif hazard.kind == "malformed":
        assert top, payload
        assert set(top) <= {"INVALID_ID", "BAD_USER_INPUT"}, payload
    elif hazard.kind == "not a string":
        assert (response.status_code, set(top)) == (400, {"GRAPHQL_VALIDATION_FAILED"}), payload
    if hazard.kind in REFUSED_BEFORE_RESOLVER:
        assert not reached, (op.name, hazard, payload)

    # An ID this clinic does not have is NOT_FOUND, unless the call is refused for another
    # reason first, the same one it gets with this clinic's own row there instead.
    if control is not None:
        assert refused, (op.name, hazard, payload)
        if "NOT_FOUND" not in [*top, *messages]:
            assert _refused(response, control) or control.get("errors"), (hazard, payload, control)
            assert _codes(control) == (top, messages), (op.name, hazard, payload, control)
    # Another clinic's ID is answered exactly as the ID of nothing.
    if absent is not None:
        assert _strip_request_ids(absent) == _strip_request_ids(payload), (hazard, payload, absent)

    # A refusal writes nothing, anywhere (a failed login: its LoginFailure and audit event).
    if refused:
        allowed = LOGIN_TABLES if op.name == "login" else set()
        assert {table for _, table in changed} <= allowed, (op.name, sorted(changed), payload)
    # On a clinic's domain, nothing of another clinic is changed or answered.
    if not platform_host:
        other_schema = env.other_clinic.schema_name
        assert not {key for key in changed if key[0] == other_schema}, changed
        assert not {key for key in changed if key[0] == "public"} - OWN_PUBLIC, changed
        text = response.content.decode()
        assert OTHER_SENTINEL.lower() not in text.lower(), payload
        for ids in env.other.ids.values():
            for global_id in ids:
                assert global_id not in text or global_id == hazard.value, (global_id, payload)


def _tally(
    op: Operation,
    reached: bool,
    hazard: Hazard,
    token_kind: str,
    refused: bool,
    codes: list[str],
    generated: Generated,
) -> None:
    tally = reach.TALLIES.setdefault(op.name, reach.Tally())
    tally.examples += 1
    tally.reached += reached
    meant = hazard.kind not in REFUSED_BEFORE_RESOLVER and (token_kind == "real" or op.anonymous)
    tally.meant_to_reach += meant
    if meant and generated.hostile:
        tally.hostile_meant += 1
        tally.hostile_meant_reached += reached
    tally.succeeded += not refused
    tally.codes.update(code for code in codes if code)
    if reached:
        tally.hostile_reached.update(generated.hostile)


def _absent_like(global_id: str) -> str:
    """An ID of the same kind that names nothing: a global ID's type with an unused key, or a
    fresh UUID for the IDs that are UUIDs (a web conversation's secret)."""
    import uuid

    from tests.ids import sibling_id

    try:
        uuid.UUID(global_id)
    except ValueError:
        return sibling_id(global_id, ABSENT_PK)
    return str(uuid.uuid4())


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: f"{op.kind} {op.name}")
def test_every_operation_survives_generated_input(client, fuzz_env, op):
    schemas = (fuzz_env.clinic.schema_name, fuzz_env.other_clinic.schema_name, "public")
    digests = Digests(schemas, fuzz_env.clinic.pk)
    reach.TALLIES.pop(op.name, None)

    @seed(FUZZ_SEED)
    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        phases=FUZZ_PHASES,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data())
    def fuzz(data: Any) -> None:
        _run_example(client, fuzz_env, op, data, digests)

    fuzz()
    tally = reach.TALLIES[op.name]
    assert tally.reached >= min(reach.MIN_REACHED, tally.examples), (op.name, tally)
    assert tally.share >= reach.MIN_SHARE, (op.name, tally)
    assert tally.reached >= reach.MIN_MEANT_SHARE * tally.meant_to_reach, (op.name, tally)
    assert tally.hostile_meant_reached >= reach.MIN_MEANT_SHARE * tally.hostile_meant, tally


def _id_operations() -> list[Operation]:
    """The operations on a clinic's domain that take an ID of a clinic's row (a global ID:
    not a key such as the web widget's conversation UUID, ``KEY_TYPES``)."""
    from graphql import GraphQLInputObjectType, get_named_type

    def has_id(op: Operation, name: str, graphql_type: Any) -> bool:
        named = get_named_type(graphql_type)
        if isinstance(named, GraphQLInputObjectType):
            return any(has_id(op, key, field.type) for key, field in named.fields.items())
        return named.name == "ID" and id_type(op.name, name) not in KEY_TYPES

    return [
        op
        for op in OPERATIONS
        if op.domain != "platform"
        and any(
            has_id(op, name, arg.type) for name, arg in root_field(op.kind, op.name).args.items()
        )
    ]


@pytest.mark.parametrize("op", _id_operations(), ids=lambda op: f"{op.kind} {op.name}")
def test_every_id_argument_refuses_another_clinics_row_as_not_found(client, fuzz_env, op):
    """Every ID the operation can take, in turn, set to a row of clinica2: ``NOT_FOUND`` (or
    the refusal the call gets with this clinic's own row there), answered exactly as the ID of
    a row that exists nowhere, and nothing of clinica2 read or changed.

    The random fuzzing puts another clinic's ID at one ID of one example in twelve, so an
    operation with three IDs may never get it at the one that matters; this sweep does not
    leave that to chance. Mutation check: ``scheduleAppointment`` loading its patient from
    any clinic's schema (an unscoped lookup) turned
    ``[mutation scheduleAppointment]`` red here (the other clinic's patient was found:
    not answered as the ID of nothing), while the random fuzzing stayed green."""
    schemas = (fuzz_env.clinic.schema_name, fuzz_env.other_clinic.schema_name, "public")
    digests = Digests(schemas, fuzz_env.clinic.pk)
    field = root_field(op.kind, op.name)

    @seed(FUZZ_SEED)
    @settings(
        max_examples=SWEEP_EXAMPLES,
        deadline=None,
        database=None,
        phases=FUZZ_PHASES,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data())
    def sweep(data: Any) -> None:
        generator = VariablesGenerator(
            data, fuzz_env.world, fuzz_env.backups, TEST_PASSWORD, complete=True
        )
        generated = generator.variables(op.name, field.args)
        leaves = [
            leaf
            for leaf in generated.leaves
            if leaf.kind == "id" and leaf.node_type not in KEY_TYPES
        ]
        assert leaves, (op.name, generated.variables)
        for leaf in leaves:
            assert leaf.node_type
            value = data.draw(st.sampled_from(fuzz_env.other.ids[leaf.node_type]), "other ID")
            variables = json.loads(json.dumps(generated.variables))
            original = _set_leaf(variables, leaf.path, value)
            swapped = Generated(variables, generated.leaves, generated.hostile)
            hazard = Hazard("other clinic", leaf.path, value, original)
            _send_and_check(
                client, fuzz_env, op, digests, CLINIC_HOST, fuzz_env.tokens["clinic"], "real",
                swapped, hazard, tallied=False,
            )  # fmt: skip

    sweep()


def _set_leaf(variables: dict[str, Any], path: tuple[Any, ...], value: Any) -> Any:
    target: Any = variables
    for step in path[:-1]:
        target = target[step]
    original = target[path[-1]]
    target[path[-1]] = value
    return original
