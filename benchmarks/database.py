"""The benchmark's own databases, on the same server as development (never the same database).

Runs before Django is set up: it decides which ``DATABASE_URL`` Django will use.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
from psycopg2 import sql

from backend.db import database_settings, database_url_for

ROOT = Path(__file__).resolve().parents[1]
BENCH_DATABASE = "dental_bench"


class Server:
    """The PostgreSQL server the benchmark runs on: ``DATABASE_URL``'s, or the embedded one
    (this process then holds a handle on it until it exits, so children may use it too)."""

    def __init__(self) -> None:
        self.embedded = not os.environ.get("DATABASE_URL")
        data_dir = Path(os.environ.get("DATA_DIR") or ROOT / ".data").resolve()
        # A developer's tool: the embedded server whatever DEBUG says (its children get a
        # DATABASE_URL to it, so their settings never start one of their own).
        self.config: dict[str, Any] = database_settings(
            os.environ.get("DATABASE_URL") or None, data_dir, embedded_allowed=True
        )
        self.base_name = str(self.config["NAME"])

    def url(self, name: str) -> str:
        return database_url_for(self.config, name)

    @contextlib.contextmanager
    def _maintenance(self) -> Iterator[Any]:
        conn = psycopg2.connect(
            dbname="postgres",
            user=self.config.get("USER") or None,
            password=self.config.get("PASSWORD") or None,
            host=self.config.get("HOST") or None,
            port=self.config.get("PORT") or None,
        )
        conn.autocommit = True
        try:
            with conn.cursor() as cursor:
                yield cursor
        finally:
            conn.close()

    def comment(self, name: str) -> str | None:
        """The database's comment (where the data set's fingerprint is kept), or None when
        the database does not exist."""
        with self._maintenance() as cursor:
            cursor.execute(
                "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database "
                "WHERE datname = %s",
                [name],
            )
            row = cursor.fetchone()
        return None if row is None else str(row[0])

    def set_comment(self, name: str, comment: str) -> None:
        with self._maintenance() as cursor:
            cursor.execute(
                sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                    sql.Identifier(name), sql.Literal(comment)
                )
            )

    def create(self, name: str, template: str | None = None) -> None:
        """(Re)create ``name``, empty or as a file copy of ``template``."""
        self.drop(name)
        with self._maintenance() as cursor:
            statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if template:
                statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            cursor.execute(statement)

    def drop(self, name: str) -> None:
        if not name.startswith(BENCH_DATABASE):  # never anyone else's database
            raise ValueError(f"refusing to drop {name!r}")
        with self._maintenance() as cursor:
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
