"""Without DATABASE_URL the project runs on the embedded PostgreSQL in DATA_DIR/postgres."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

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


def test_the_embedded_postgresql_is_used_when_database_url_is_unset():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DEBUG="1", DATA_DIR=str(settings.DATA_DIR), PYTHONPATH=str(ROOT),
               DJANGO_SETTINGS_MODULE="backend.settings")  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120, check=True,
    )  # fmt: skip
    probe = json.loads(result.stdout.strip().splitlines()[-1])

    assert probe["embedded"] is True
    assert probe["engine"] == "backend.core.db_backend"
    assert Path(probe["data_directory"]).resolve() == (settings.DATA_DIR / "postgres").resolve()
    assert probe["version"] >= 180000
    assert {"btree_gist", "pg_trgm", "unaccent"} <= set(probe["extensions"])


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
