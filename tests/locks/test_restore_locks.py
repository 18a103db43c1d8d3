"""The clinic's row during a restore over the clinic: a write that arrives meanwhile waits.

README, "Backups": a restore over a clinic replaces its data, as one transaction; nothing a
clinic was told it saved is lost without trace. Every transaction in a clinic's schema holds
the clinic's schema lock, shared, from its first statement (``backend.core.db_backend``); the
restore takes it exclusively before anything else (``lock_schema_exclusively`` in
``_restore_over``): a request that arrives while the restore builds the new schema waits, and
then runs against the restored data, never against the schema being dropped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import connection

from backend.patients.models import Patient
from tenants_core import backups
from tenants_core.restore import clinic_restore
from tests.deadlocks.support import in_thread
from tests.locks.conftest import SUBDOMAIN
from tests.locks.support import GATE_KEYS, WAIT_SECONDS, Gate, _helper, api
from tests.locks.test_limit_locks import CREATE_PATIENT

RESTORE_SECONDS = 60  # a restore builds a whole schema: far longer than a request


@contextlib.contextmanager
def held_at_create_schema() -> Iterator[Gate]:
    """A gate (see ``support``) at the first ``CREATE SCHEMA``: an event trigger stops that
    transaction on the gate's advisory lock, right after the schema is created."""
    helper = _helper()
    with helper.cursor() as cursor:
        cursor.execute(
            "CREATE SEQUENCE public.lock_gate_ddl_seq;"
            "CREATE FUNCTION public.lock_gate_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$"
            " BEGIN IF nextval('public.lock_gate_ddl_seq') = 1 THEN"
            "   PERFORM pg_advisory_xact_lock_shared(%s, %s); END IF; END $$;"
            "CREATE EVENT TRIGGER lock_gate_ddl ON ddl_command_end WHEN TAG IN ('CREATE SCHEMA')"
            " EXECUTE FUNCTION public.lock_gate_ddl();",
            GATE_KEYS,
        )
    keeper = Gate(helper, "public", ())
    try:
        yield keeper
    finally:
        keeper.open()
        with helper.cursor() as cursor:
            cursor.execute(
                "DROP EVENT TRIGGER IF EXISTS lock_gate_ddl;"
                "DROP FUNCTION IF EXISTS public.lock_gate_ddl();"
                "DROP SEQUENCE IF EXISTS public.lock_gate_ddl_seq;"
            )
        helper.close()


def test_a_registration_during_a_restore_over_the_clinic_waits_for_the_restored_data(
    committed, settings
):
    """The platform restores a backup over the clinic; while the restore is building the
    new schema, the front desk registers a patient. The registration waits for the restore,
    then meets the restored clinic, where every session was ended (a restore revokes the
    tokens): it is refused as UNAUTHENTICATED, and was never told it saved anything.

    Checked: without ``lock_schema_exclusively`` in ``_restore_over`` the registration does
    not wait: it is saved into the old schema and answered as created, then the restore
    drops that schema: the patient is gone. (Before the schema lock, the clinic's row made
    the registration wait; with each request in one transaction that wait deadlocked with
    the restore's DROP SCHEMA, since the request held its tables.)
    """
    # The registration waits for the whole restore, which on a loaded machine outlasts the
    # 10 s a request's statement may run: this test is about the order, not that timeout.
    settings.DB_STATEMENT_TIMEOUT_MS = RESTORE_SECONDS * 1000
    place = committed
    backup = backups.clinic_backup_create(clinic=place.clinic)
    document = "79999001"

    def restore_over():
        try:
            return clinic_restore(
                subdomain=SUBDOMAIN, target_subdomain=SUBDOMAIN, backup_id=str(backup.id),
                confirm_overwrite=True,
            )  # fmt: skip
        finally:
            connection.close()

    with held_at_create_schema() as keeper:
        keeper.close()
        restoring = in_thread(restore_over)
        pid = keeper.held_pid(restoring)  # the restore holds the clinic's row
        registering = in_thread(api(place.host, place.token, CREATE_PATIENT, {"doc": document}))
        waited, _ = keeper.blocked_by(pid, registering)
        keeper.open()
        restoring.result(timeout=RESTORE_SECONDS)
        registered = registering.result(timeout=WAIT_SECONDS)

    assert waited
    status, body = registered
    assert status == 200, body
    assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"]
    with place.inside():
        assert Patient.objects.filter(document_number=document).count() == 0
