"""Helpers of the deadlock tests: a clinic with committed data, the API called on a thread's
own connection, where PostgreSQL makes a backend wait, and injected conflicts."""

from __future__ import annotations

import concurrent.futures
import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.db import connection, connections
from django.test import Client

from backend.accounts.models import User
from backend.core import transactions
from backend.core.tenancy import schema_transaction
from backend.patients.models import Patient
from backend.resources.models import Chair, Professional
from tenants_core.models import Clinic
from tests.dates import MONDAY
from tests.ids import global_id
from tests.scheduling.conftest import lima

SUBDOMAIN = "bloqueos"
HOST = f"{SUBDOMAIN}.localhost"
DAY = MONDAY  # a Monday weeks ahead of today, in Lima


class Data:
    """What the package's clinic holds (committed)."""

    clinic: Clinic
    admin: User
    token: str
    professionals: list[Professional]
    chairs: list[Chair]
    patient: Patient


def post(data: Data, query: str, variables: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The API over Django's full stack (middleware included), on this thread's connection."""
    try:
        response = Client().post(
            "/graphql", data={"query": query, "variables": variables},
            content_type="application/json", HTTP_HOST=HOST,
            HTTP_AUTHORIZATION=f"Bearer {data.token}",
        )  # fmt: skip
        return response.status_code, response.json()
    finally:
        connection.close()


def in_thread(fn: Callable[[], Any]) -> concurrent.futures.Future[Any]:
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    future = pool.submit(fn)
    pool.shutdown(wait=False)
    return future


def gid(obj: Any, clinic: Clinic) -> str:
    return global_id(type(obj).__name__, obj.pk, clinic)


def booking(data: Data, professional: Professional, chair: Chair, hour: int = 10) -> dict:
    return {
        "input": {
            "patientId": gid(data.patient, data.clinic),
            "professionalId": gid(professional, data.clinic),
            "chairId": gid(chair, data.clinic),
            "startsAt": lima(DAY, hour).isoformat(),
            "endsAt": lima(DAY, hour, 30).isoformat(),
        }
    }


def waiting_statement(*, exclude_pid: int, timeout: float = 15) -> str:
    """The statement of the backend (other than ``exclude_pid``) that waits for a lock."""
    deadline = time.monotonic() + timeout
    with connections["default"].cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT query FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid NOT IN (pg_backend_pid(), %s)",
                [exclude_pid],
            )
            row = cursor.fetchone()
            if row:
                return str(row[0])
            time.sleep(0.02)
    raise AssertionError("no backend waited for a lock")


def exclusion_index_order(data: Data) -> list[str]:
    """The two exclusion constraints' columns ("professional_id", "chair_id") in the order
    PostgreSQL inserts into and checks their indexes (index OID order)."""
    with schema_transaction(data.clinic.schema_name), connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.conname FROM pg_constraint c JOIN pg_index i ON i.indexrelid = c.conindid "
            "WHERE c.contype = 'x' AND c.conrelid = 'scheduling_appointment'::regclass "
            "ORDER BY i.indexrelid"
        )
        names = [row[0] for row in cursor.fetchall()]
    assert len(names) == 2, names
    return ["professional_id" if "professional" in name else "chair_id" for name in names]


@contextlib.contextmanager
def conflicts_on_insert(
    data: Data, table: str, *, times: int, sqlstate: str = transactions.DEADLOCK
) -> Iterator[Callable[[], int]]:
    """The first ``times`` inserts into ``table`` (in the clinic's schema) fail as PostgreSQL
    fails a deadlock's victim. Yields a function that counts the inserts tried. The counter is
    a sequence: rolling back does not undo ``nextval``."""
    schema = data.clinic.schema_name
    sequence = f'"{schema}".conflict_injections'
    with schema_transaction(schema), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE SEQUENCE {sequence};"
            f'CREATE FUNCTION "{schema}".inject_conflict() RETURNS trigger LANGUAGE plpgsql AS $$ '
            f"BEGIN IF nextval('{sequence}') <= {times} THEN "
            f"RAISE EXCEPTION 'injected conflict' USING ERRCODE = '{sqlstate}'; END IF; "
            f"RETURN NEW; END $$;"
            f'CREATE TRIGGER inject_conflict BEFORE INSERT ON "{schema}".{table} '
            f'FOR EACH ROW EXECUTE FUNCTION "{schema}".inject_conflict();'
        )

    def tried() -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {sequence}")
            return int(cursor.fetchone()[0])

    try:
        yield tried
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                f'DROP TRIGGER inject_conflict ON "{schema}".{table};'
                f'DROP FUNCTION "{schema}".inject_conflict(); DROP SEQUENCE {sequence};'
            )
        connection.set_schema_to_public()
