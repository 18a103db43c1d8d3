"""Without DATABASE_URL the project runs on the embedded PostgreSQL in DATA_DIR/postgres: in
DEBUG, or outside it only when EMBEDDED_POSTGRES=1 asks for it (issue 20: a production
container without DATABASE_URL silently served from an empty database of its own)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from devtools.processes import production_secrets
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SHOW data_directory")
    data_directory = cursor.fetchone()[0]
    cursor.execute("SHOW server_version_num")
    version = int(cursor.fetchone()[0])
    cursor.execute("SELECT name FROM pg_available_extensions")
    extensions = sorted(row[0] for row in cursor.fetchall())
print(json.dumps({
    "embedded": settings.DATABASE_EMBEDDED,
    "engine": connection.settings_dict["ENGINE"],
    "data_directory": data_directory,
    "version": version,
    "extensions": extensions,
}))
"""


REFUSED = "DATABASE_URL is required when DEBUG is off"


def _without_database_url(**extra: str) -> dict[str, str]:
    """This environment without DATABASE_URL and without the opt-in (scripts/test sets it)."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "EMBEDDED_POSTGRES"}}
    env.update(DATA_DIR=str(settings.DATA_DIR), PYTHONPATH=str(ROOT),
               DJANGO_SETTINGS_MODULE="backend.settings")  # fmt: skip
    env.update(extra)
    return env


def _probe(env: dict[str, str]) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_embedded_postgresql_is_used_when_database_url_is_unset():
    probe = _probe(_without_database_url(DEBUG="1"))

    assert probe["embedded"] is True
    assert probe["engine"] == "backend.core.db_backend"
    assert Path(probe["data_directory"]).resolve() == (settings.DATA_DIR / "postgres").resolve()
    assert probe["version"] >= 180000
    assert {"btree_gist", "pg_trgm", "unaccent"} <= set(probe["extensions"])


def test_without_debug_the_app_refuses_to_start_an_embedded_postgresql(tmp_path):
    """``manage.py check`` as a production container runs it: DEBUG off, real secrets, no
    DATABASE_URL. It stops before any server starts, naming DATABASE_URL and the opt-in."""
    env = _without_database_url(DEBUG="0", DATA_DIR=str(tmp_path), **production_secrets())
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr
    assert REFUSED in result.stderr, result.stderr[-2000:]
    assert "EMBEDDED_POSTGRES=1" in result.stderr
    assert not (tmp_path / "postgres").exists()  # nothing was started


def test_without_debug_embedded_postgres_1_runs_on_the_embedded_server():
    probe = _probe(_without_database_url(DEBUG="0", EMBEDDED_POSTGRES="1", **production_secrets()))
    assert probe["embedded"] is True
    assert Path(probe["data_directory"]).resolve() == (settings.DATA_DIR / "postgres").resolve()


def test_the_extensions_are_installed_in_the_database(db):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT e.extname, n.nspname FROM pg_extension e"
            " JOIN pg_namespace n ON n.oid = e.extnamespace"
        )
        installed = dict(cursor.fetchall())
        cursor.execute("SELECT extensions.immutable_unaccent('José Pérez Ñúñez')")
        unaccented = cursor.fetchone()[0]
    # Installed once, in the shared schema that every clinic's search_path includes.
    assert {name: installed.get(name) for name in ("btree_gist", "pg_trgm", "unaccent")} == {
        "btree_gist": "extensions",
        "pg_trgm": "extensions",
        "unaccent": "extensions",
    }
    assert unaccented == "Jose Perez Nunez"
