"""A real PgBouncer in front of the test database, started per test on a free loopback port.

``scripts/test`` installs the Debian package when it is missing. A test that needs PgBouncer
fails (it never skips) when the binary cannot be found: CI must run the pooling tests.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from backend.core.processes import free_port, port_open, serving


def pgbouncer_binary() -> str:
    found = shutil.which("pgbouncer") or next(
        (
            path
            for path in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer")
            if os.access(path, os.X_OK)
        ),
        None,
    )
    if not found:
        pytest.fail(
            "pgbouncer is not installed: scripts/test installs it (apt-get install pgbouncer).",
            pytrace=False,
        )
    return found


@dataclass(frozen=True)
class PgBouncer:
    port: int
    pool_mode: str
    database: str
    user: str

    def database_url(self) -> str:
        """The test database through this PgBouncer, for child processes (uvicorn)."""
        return f"postgres://{quote(self.user, safe='')}@127.0.0.1:{self.port}/{self.database}"

    def connection_params(self) -> dict[str, Any]:
        """Django's own connection parameters, pointed at this PgBouncer."""
        params = dict(connection.get_connection_params())
        params.update(host="127.0.0.1", port=self.port)
        # PgBouncer 1.18 refuses the 'options' startup parameter unless told to ignore it; the
        # pool below ignores it, as a production one must (the timeout is set on the database).
        return params

    def admin(self, command: str) -> list[dict[str, Any]]:
        """Run a command on PgBouncer's admin console (``SHOW STATS`` ...)."""
        import psycopg2

        admin = psycopg2.connect(
            dbname="pgbouncer", user=self.user, host="127.0.0.1", port=self.port
        )
        try:
            admin.autocommit = True
            with admin.cursor() as cursor:
                cursor.execute(command)
                names = [column.name for column in cursor.description]
                return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        finally:
            admin.close()


def _run_as(host: str) -> str | None:
    """PgBouncer refuses to run as root: then run it as the owner of PostgreSQL's socket
    directory (the only user besides root that may reach it), or as nobody for TCP."""
    if os.geteuid() != 0:
        return None
    if host.startswith("/"):
        return pwd.getpwuid(os.stat(host).st_uid).pw_name
    return "nobody"


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

    The pool ignores the client's ``options`` startup parameter (PgBouncer 1.18 rejects it
    otherwise), so the statement timeout that Django passes there is set on the test database
    instead, as the README tells operators to do (unless ``database_timeout`` is False).
    """
    binary = pgbouncer_binary()
    with django_db_blocker.unblock():
        settings_dict = connection.settings_dict
        database = settings_dict["NAME"]
        host = settings_dict["HOST"] or "/var/run/postgresql"
        server_port = settings_dict["PORT"] or "5432"
        user = settings_dict["USER"]
        password = settings_dict.get("PASSWORD") or ""
        timeout = int(settings.DB_STATEMENT_TIMEOUT_MS) if database_timeout else 0
        with connection.cursor() as cursor:
            cursor.execute(f'ALTER DATABASE "{database}" SET statement_timeout = {timeout}')
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    server = f"host={host} port={server_port} dbname={database} user={user}"
    if password:
        server += f" password={password}"
    (workdir / "users.txt").write_text(f'"{user}" ""\n')
    (workdir / "pgbouncer.ini").write_text(
        "\n".join(
            [
                "[databases]",
                f"{database} = {server}",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {port}",
                "unix_socket_dir =",
                "auth_type = trust",
                f"auth_file = {workdir / 'users.txt'}",
                f"admin_users = {user}",
                f"pool_mode = {pool_mode}",
                f"default_pool_size = {pool_size}",
                # 1: hand out server connections in turn, not the most recently used one, so
                # that consecutive transactions of one client land on different servers.
                f"server_round_robin = {int(round_robin)}",
                "max_client_conn = 500",
                "ignore_startup_parameters = extra_float_digits, options",
                f"logfile = {workdir / 'pgbouncer.log'}",
                "log_connections = 0",
                "log_disconnections = 0",
                "",
            ]
        )
    )
    user_to_run = _run_as(host)
    command = [binary, "--quiet", str(workdir / "pgbouncer.ini")]
    if user_to_run:
        shutil.chown(workdir, user=user_to_run)
        for path in workdir.iterdir():
            shutil.chown(path, user=user_to_run)
        command[1:1] = ["--user", user_to_run]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = workdir / "pgbouncer.log"
    try:
        with serving(
            process,
            lambda: port_open(port),
            timeout=15,
            what="pgbouncer",
            detail=lambda: log.read_text() if log.exists() else "",
        ):
            yield PgBouncer(port=port, pool_mode=pool_mode, database=database, user=user)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(f'ALTER DATABASE "{database}" RESET statement_timeout')
