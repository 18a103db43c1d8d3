"""A real PgBouncer in front of the test database, started per test on a free loopback port.

``scripts/test`` installs the Debian package when it is missing. A test that needs PgBouncer
fails (it never skips) when the binary cannot be found: CI must run the pooling tests.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from devtools import pgbouncer


def pgbouncer_binary() -> str:
    found = pgbouncer.pgbouncer_binary()
    if not found:
        pytest.fail(
            "pgbouncer is not installed: scripts/test installs it (apt-get install pgbouncer).",
            pytrace=False,
        )
    return found


class PgBouncer(pgbouncer.PgBouncer):
    def connection_params(self) -> dict[str, Any]:
        """Django's own connection parameters, pointed at this PgBouncer."""
        params = dict(connection.get_connection_params())
        params.update(host="127.0.0.1", port=self.port)
        return params


@contextlib.contextmanager
def running_pgbouncer(
    django_db_blocker: Any,
    pool_mode: str,
    *,
    pool_size: int = 10,
    database_timeout: bool = True,
    round_robin: bool = False,
) -> Iterator[PgBouncer]:
    """PgBouncer in ``pool_mode`` in front of the test database, stopped afterwards.

    The pool ignores the client's ``options`` startup parameter, so the statement timeout that
    Django passes there is also set on the test database (unless ``database_timeout`` is False)
    for the statements that run outside a transaction; each transaction sets its own."""
    pgbouncer_binary()
    with django_db_blocker.unblock():
        settings_dict = dict(connection.settings_dict)
        database = settings_dict["NAME"]
        timeout = int(settings.DB_STATEMENT_TIMEOUT_MS) if database_timeout else 0
        with connection.cursor() as cursor:
            cursor.execute(f'ALTER DATABASE "{database}" SET statement_timeout = {timeout}')
    try:
        with pgbouncer.running_pgbouncer(
            settings_dict, pool_mode, pool_size=pool_size, round_robin=round_robin
        ) as pool:
            yield PgBouncer(**pool.__dict__)
    finally:
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(f'ALTER DATABASE "{database}" RESET statement_timeout')
