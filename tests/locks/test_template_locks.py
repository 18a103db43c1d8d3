"""The clinic template's advisory lock: one process rebuilds it at a time.

``template_refresh``'s contract: the rebuild runs "under an advisory lock: other processes
clone the previous template (or migrate) until it commits, never a half-built one, and a
concurrent caller returns at once instead of building it twice".
"""

from __future__ import annotations

import time

from django.db import connection

from tenants_core import schema_template
from tests.locks.support import _helper


def template_oid() -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT oid FROM pg_namespace WHERE nspname = %s", [schema_template.TEMPLATE_SCHEMA]
        )
        row = cursor.fetchone()
    return row[0] if row else None


def test_a_rebuild_while_another_process_rebuilds_returns_at_once_and_drops_nothing(committed):
    """Another process is rebuilding the template (a connection of its own holds the
    rebuild's advisory lock, in an open transaction): a forced rebuild here returns at once
    without rebuilding, and the template the other is relying on is neither dropped nor
    touched.

    Checked: without ``pg_try_advisory_xact_lock`` in ``template_refresh`` the second
    caller drops the template and builds it again (returns True, a new schema oid) while
    the other process is still at work.
    """
    connection.set_schema_to_public()
    schema_template.template_refresh()  # a current template to begin with
    before = (template_oid(), schema_template.template_fingerprint())
    assert before[0] is not None

    other = _helper()
    other.autocommit = False
    try:
        with other.cursor() as cursor:  # the other process, mid-rebuild
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [schema_template._TEMPLATE_LOCK_KEY])
        started = time.monotonic()
        rebuilt = schema_template.template_refresh(force=True)
        took = time.monotonic() - started
    finally:
        other.rollback()
        other.close()

    assert rebuilt is False
    assert took < 2  # a rebuild migrates every app: far longer
    connection.set_schema_to_public()
    assert (template_oid(), schema_template.template_fingerprint()) == before
