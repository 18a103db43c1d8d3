"""Django talks psycopg2 (the stack's driver) although procrastinate installs psycopg 3."""

import subprocess
import sys

import pytest
from django.db import connection
from django.db.backends.postgresql import psycopg_any


@pytest.mark.django_db
def test_django_uses_psycopg2_in_this_process() -> None:
    connection.ensure_connection()
    assert psycopg_any.is_psycopg3 is False
    assert type(connection.connection).__module__.startswith("psycopg2")


def test_a_fresh_process_uses_psycopg2_and_can_still_import_psycopg3() -> None:
    code = (
        "import django; django.setup();"
        "from django.db.backends.postgresql import base, psycopg_any;"
        "import psycopg;"
        "print(base.Database.__name__, psycopg_any.is_psycopg3, psycopg.__version__[0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    assert out == ["psycopg2", "False", "3"]
