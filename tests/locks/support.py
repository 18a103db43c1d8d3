"""Helpers of the lock tests: two real requests racing, made deterministic by a gate.

A race between a request A and a request B is only a test of a lock if B arrives while A
holds it. The gate makes that happen every time: a temporary trigger on the audit table
(the last thing every service writes, after it has taken all its locks) stops A's
transaction right there, on an advisory lock that a helper connection holds. Then B is sent,
and the race waits until B either is blocked by A (A holds a lock B needs) or has finished
(nothing stopped it). Then the gate opens, A commits and B goes on.

With the lock, B waits for A and then sees what A committed. Without it, B reads the state
before A and both go through: the test fails every time, not once in forty runs. Both
requests go through Django's full stack (middleware, GraphQL, ``@atomic_service`` as the
outermost transaction), each on its own thread and database connection.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg2
from django.conf import settings
from django.db import connection
from django.test import Client
from psycopg2 import sql

from tests.deadlocks.support import in_thread
from tests.ids import global_id

# The gate's advisory lock (two int4 keys, so it cannot collide with the one-key advisory
# locks of the code): "issue 22, item 4".
GATE_KEYS = (2022, 4)
WAIT_SECONDS = 10  # below the statement timeout, far above what any step here takes

Answer = tuple[int, dict[str, Any]]


SUBDOMAIN = "cerrojos"  # the package's clinic (conftest.py)


def gid(obj: Any, type_name: str | None = None) -> str:
    """The GraphQL ID of a row of the package's clinic (its GraphQL type is named after the
    model unless given)."""
    return global_id(type_name or type(obj).__name__, obj.pk, SUBDOMAIN)


def host_of(subdomain: str | None) -> str:
    return f"{subdomain}.{settings.BASE_DOMAIN}" if subdomain else settings.BASE_DOMAIN


def api(host: str, token: str | None, query: str, variables: dict[str, Any] | None = None):
    """A request for another thread: the API over Django's full stack, on that thread's own
    connection (closed at the end)."""

    def send() -> Answer:
        headers = {"HTTP_HOST": host}
        if token:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        try:
            response = Client().post(
                "/graphql",
                data={"query": query, "variables": variables or {}},
                content_type="application/json",
                **headers,
            )
            return response.status_code, response.json()
        finally:
            connection.close()

    return send


def payload(answer: Answer, field: str) -> dict[str, Any]:
    """The mutation's payload; the answer must be a 200 without top-level errors."""
    status, body = answer
    assert status == 200, body
    assert not body.get("errors"), body
    return body["data"][field]


def codes(answer: Answer, field: str) -> list[str]:
    """The codes of an ``OperationInfo`` payload; [] for a success."""
    result = payload(answer, field)
    return [message["code"] for message in result.get("messages") or []]


def _helper() -> Any:
    """A psycopg2 connection of its own, in autocommit: the gate keeper."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    helper = psycopg2.connect(**params)
    helper.autocommit = True
    return helper


@dataclass
class Race:
    first: Answer  # A: stopped at the gate holding its locks
    second: Answer  # B: sent while A was held
    second_waited: bool  # B was blocked by A before the gate opened
    waiting_statement: str  # what B was running while it waited ("" if it did not wait)
    meanwhile: Any = None  # what ``meanwhile`` returned


class Gate:
    """Stops the first transaction that audits one of ``actions`` in ``schema`` at its audit
    row (or, ``at_commit``, at its commit, after everything it does); with ``hold=2`` the
    second such transaction too, if it gets there while the gate is closed."""

    def __init__(
        self, helper: Any, schema: str, actions: tuple[str, ...], *, hold: int = 1,
        at_commit: bool = False,
    ) -> None:  # fmt: skip
        self.helper, self.schema, self.actions = helper, schema, actions
        self.hold, self.at_commit = hold, at_commit

    def _names(self) -> dict[str, sql.Composable]:
        return {
            "seq": sql.Identifier(self.schema, "lock_gate_seq"),
            "fn": sql.Identifier(self.schema, "lock_gate"),
            "table": sql.Identifier(self.schema, "audit_auditevent"),
        }

    def install(self) -> None:
        with self.helper.cursor() as cursor:
            cursor.execute(
                sql.SQL(
                    "CREATE SEQUENCE {seq};"
                    "CREATE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    "  IF NEW.action = ANY(TG_ARGV) THEN "
                    "    IF nextval({seq_text}) <= {hold} THEN "
                    "      PERFORM pg_advisory_xact_lock_shared({k1}, {k2}); "
                    "    END IF; "
                    "  END IF; "
                    "  RETURN NEW; "
                    "END $$;"
                    + (
                        # Deferred: it fires at COMMIT, once the transaction has done all.
                        "CREATE CONSTRAINT TRIGGER lock_gate AFTER INSERT ON {table} "
                        "DEFERRABLE INITIALLY DEFERRED "
                        if self.at_commit
                        else "CREATE TRIGGER lock_gate BEFORE INSERT ON {table} "
                    )
                    + "FOR EACH ROW EXECUTE FUNCTION {fn}({actions});"
                ).format(
                    seq_text=sql.Literal(f'"{self.schema}".lock_gate_seq'),
                    hold=sql.Literal(self.hold),
                    k1=sql.Literal(GATE_KEYS[0]),
                    k2=sql.Literal(GATE_KEYS[1]),
                    actions=sql.SQL(", ").join(sql.Literal(a) for a in self.actions),
                    **self._names(),
                )
            )

    def remove(self) -> None:
        with self.helper.cursor() as cursor:
            cursor.execute(
                sql.SQL(
                    "DROP TRIGGER IF EXISTS lock_gate ON {table};"
                    "DROP FUNCTION IF EXISTS {fn}(); DROP SEQUENCE IF EXISTS {seq};"
                ).format(**self._names())
            )

    def close(self) -> None:
        with self.helper.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", GATE_KEYS)

    def open(self) -> None:
        with self.helper.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock_all()")

    def held_pid(self, first: Any) -> int:
        """The backend of the transaction stopped at the gate (it must get there)."""
        deadline = time.monotonic() + WAIT_SECONDS
        with self.helper.cursor() as cursor:
            while time.monotonic() < deadline:
                cursor.execute(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                    "AND classid = %s AND objid = %s AND objsubid = 2",
                    GATE_KEYS,
                )
                row = cursor.fetchone()
                if row:
                    return int(row[0])
                if first.done():
                    raise AssertionError(f"A never reached its audit row: {first.result()}")
                time.sleep(0.01)
        raise AssertionError("A did not reach the gate")

    def blocked_by(self, pid: int, second: Any) -> tuple[bool, str]:
        """Wait until ``second`` is blocked by ``pid`` (True, its statement) or has finished
        (False)."""
        deadline = time.monotonic() + WAIT_SECONDS
        with self.helper.cursor() as cursor:
            while time.monotonic() < deadline:
                cursor.execute(
                    "SELECT query FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                    [pid],
                )
                row = cursor.fetchone()
                if row:
                    return True, str(row[0])
                if self.hold > 1:  # B got to the gate without waiting for A: it is held too
                    cursor.execute(
                        "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                        "AND classid = %s AND objid = %s AND objsubid = 2 AND pid <> %s",
                        [*GATE_KEYS, pid],
                    )
                    if cursor.fetchone():
                        return False, ""
                if second.done():
                    return False, ""
                time.sleep(0.01)
        raise AssertionError("B neither finished nor waited for A")

    def cancel(self, pid: int) -> None:
        """Make the held transaction fail where it stands (as a statement timeout would)."""
        with self.helper.cursor() as cursor:
            cursor.execute("SELECT pg_cancel_backend(%s)", [pid])


@contextlib.contextmanager
def gate(schema: str, actions: tuple[str, ...], **options: Any) -> Iterator[Gate]:
    helper = _helper()
    keeper = Gate(helper, schema, actions, **options)
    try:
        keeper.install()
        yield keeper
    finally:
        keeper.open()
        keeper.remove()
        helper.close()


def race(
    schema: str,
    action: str,
    first: Callable[[], Answer],
    second: Callable[[], Answer],
    *,
    meanwhile: Callable[[], Any] | None = None,
    fail_first: bool = False,
    second_action: str | None = None,
) -> Race:
    """Run ``first`` until it audits ``action`` in ``schema`` and hold it there; send
    ``second``; once ``second`` waits for ``first`` (or has finished), run ``meanwhile`` (a
    third request, say), then let ``first`` commit (or fail, with ``fail_first``).

    With ``second_action``, both are held at their commit instead, ``first`` once it has
    audited ``action`` and ``second`` once it has audited ``second_action`` (if it gets there
    without waiting for ``first``): for a check each makes after its audit row (say, "was
    that the last item?"), which without the lock both make before either commits."""
    options: dict[str, Any] = {}
    actions = (action,)
    if second_action:
        actions, options = (action, second_action), {"hold": 2, "at_commit": True}
    with gate(schema, actions, **options) as keeper:
        keeper.close()
        a = in_thread(first)
        pid = keeper.held_pid(a)
        b = in_thread(second)
        waited, statement = keeper.blocked_by(pid, b)
        during = meanwhile() if meanwhile else None
        if fail_first:
            keeper.cancel(pid)
        keeper.open()
        result = Race(
            a.result(timeout=WAIT_SECONDS),
            b.result(timeout=WAIT_SECONDS),
            waited,
            statement,
            during,
        )
    return result
