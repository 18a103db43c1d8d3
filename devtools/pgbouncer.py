"""A real PgBouncer in front of a PostgreSQL database, on a free loopback port: for the tests
that prove the app behind each pool mode, and for the benchmark that measures its cost.

Not used by the app itself. ``scripts/test`` and ``scripts/bench`` install the Debian package
when it is missing.
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

from devtools.processes import free_port, port_open, serving


def pgbouncer_binary() -> str | None:
    return shutil.which("pgbouncer") or next(
        (
            path
            for path in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer")
            if os.access(path, os.X_OK)
        ),
        None,
    )


@dataclass(frozen=True)
class PgBouncer:
    port: int
    pool_mode: str
    database: str
    user: str

    def database_url(self) -> str:
        """The database through this PgBouncer, for child processes (uvicorn)."""
        return f"postgres://{quote(self.user, safe='')}@127.0.0.1:{self.port}/{self.database}"

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

    def stats(self) -> dict[str, Any]:
        """This database's line of ``SHOW STATS`` (transactions, queries, times)."""
        return {row["database"]: row for row in self.admin("SHOW STATS")}[self.database]


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
    settings_dict: dict[str, Any],
    pool_mode: str,
    *,
    pool_size: int = 10,
    round_robin: bool = False,
) -> Iterator[PgBouncer]:
    """PgBouncer in ``pool_mode`` in front of the database Django's ``settings_dict`` names,
    stopped afterwards. It ignores the client's ``options`` startup parameter (PgBouncer 1.18
    rejects it otherwise), as a production one must."""
    binary = pgbouncer_binary()
    if binary is None:
        raise RuntimeError("pgbouncer is not installed (apt-get install pgbouncer).")
    database = settings_dict["NAME"]
    host = settings_dict["HOST"] or "/var/run/postgresql"
    user = settings_dict["USER"]
    password = settings_dict.get("PASSWORD") or ""
    server = f"host={host} port={settings_dict['PORT'] or '5432'} dbname={database} user={user}"
    if password:
        server += f" password={password}"
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
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
