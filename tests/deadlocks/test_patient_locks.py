"""Writes on a patient do not hold up the patient's bookings, and run again when they lose a
race (issue 12 review, item 7).

Inserting an appointment (or a note, or a charge) takes ``KEY SHARE`` on the patient's row,
for the foreign key. The services that change a patient's own columns lock the row ``FOR NO
KEY UPDATE``, which lets those inserts through; ``FOR UPDATE`` would make every booking of
the patient wait until the edit commits. The lock still keeps two writes of the patient
apart. Each write is held open on a connection of its own (and rolled back at the end), while
the API books on another.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction

from backend.audit.models import AuditEvent
from backend.clinical import services as clinical
from backend.core.tenancy import clinic_context, schema_transaction
from backend.patients import services as patients
from backend.patients.models import Patient
from backend.scheduling.models import Appointment
from tests.deadlocks.support import (
    Data,
    booking,
    conflicts_on_insert,
    gid,
    in_thread,
    post,
    waiting_statement,
)
from tests.scheduling.conftest import SCHEDULE

WRITES: dict[str, Callable[[Data], Any]] = {
    "patient_update": lambda data: patients.patient_update(
        actor=data.admin, patient=data.patient, data={"phone": "987654321"}
    ),
    "patient_archive": lambda data: patients.patient_archive(
        actor=data.admin, patient=data.patient
    ),
    "patient_front_desk_alert_set": lambda data: patients.patient_front_desk_alert_set(
        actor=data.admin, patient=data.patient, text="Avisar al doctor antes de extracciones"
    ),
    "medical_history_record": lambda data: clinical.medical_history_record(
        actor=data.admin, patient=data.patient, data={"allergies": "Látex"}
    ),
}


def held_open(
    data: Data, write: Callable[[Data], Any], done: threading.Event, release: threading.Event
) -> Callable[[], None]:
    """``write`` in a transaction of its own, kept open until ``release``, then rolled back."""

    def run() -> None:
        try:
            with transaction.atomic(), clinic_context(data.clinic):
                write(data)
                done.set()
                assert release.wait(30)
                transaction.set_rollback(True)
        finally:
            connection.close()

    return run


@pytest.mark.parametrize("service", list(WRITES))
def test_a_write_on_the_patient_does_not_hold_up_their_booking(db_open, data, service):
    done, release = threading.Event(), threading.Event()
    holder = in_thread(held_open(data, WRITES[service], done, release))
    assert done.wait(10), "the write did not run"
    professional, chair = data.professionals[0], data.chairs[0]
    try:
        # Under FOR UPDATE the booking would wait for the write's commit: here, for ever.
        status, body = in_thread(
            lambda: post(data, SCHEDULE, booking(data, professional, chair))
        ).result(timeout=15)
    finally:
        release.set()
        holder.result(timeout=30)

    assert status == 200, body
    assert body["data"]["scheduleAppointment"]["__typename"] == "Appointment", body
    with schema_transaction(data.clinic.schema_name):
        assert Appointment.objects.filter(patient=data.patient).count() == 1


@pytest.mark.parametrize("service", list(WRITES))
def test_two_writes_on_the_patient_still_wait_for_each_other(db_open, data, service):
    held, release = threading.Event(), threading.Event()
    holder = in_thread(held_open(data, WRITES[service], held, release))
    assert held.wait(10), "the write did not run"
    second = in_thread(held_open(data, WRITES["patient_update"], threading.Event(), release))
    try:
        statement = waiting_statement(exclude_pid=-1)
    finally:
        release.set()
        holder.result(timeout=30)
        second.result(timeout=30)

    assert "FOR NO KEY UPDATE" in statement, statement
    assert "patients_patient" in statement, statement


# --- losing a race: run again, as the other racing services ----------------------------------

UPDATE_PATIENT = """
mutation($id: ID!) { updatePatient(id: $id, input: {notes: "Prefiere citas por la tarde"}) {
  __typename ... on OperationInfo { messages { code } } } }
"""
RECORD_MEDICAL_HISTORY = """
mutation($id: ID!) { recordMedicalHistory(patientId: $id, input: {allergies: "Látex"}) {
  __typename ... on OperationInfo { messages { code } } } }
"""


@pytest.mark.parametrize(
    ("mutation", "query", "table", "typename"),
    [
        ("updatePatient", UPDATE_PATIENT, "audit_auditevent", "Patient"),
        ("recordMedicalHistory", RECORD_MEDICAL_HISTORY, "clinical_medicalhistory",
         "MedicalHistory"),
    ],
)  # fmt: skip
def test_a_write_on_the_patient_that_loses_a_race_runs_again(
    db_open, data, mutation, query, table, typename
):
    with schema_transaction(data.clinic.schema_name):
        before = Patient.objects.values("notes", "allergies").get(pk=data.patient.pk)
        audited = AuditEvent.objects.count()
    try:
        with conflicts_on_insert(data, table, times=1) as tried:
            status, body = post(data, query, {"id": gid(data.patient, data.clinic)})
            attempts = tried()

        assert status == 200, body
        assert (body["data"] or {}).get(mutation, {}).get("__typename") == typename, body
        assert attempts == 2  # refused once (a deadlock), then run again from the start
        with schema_transaction(data.clinic.schema_name):
            assert AuditEvent.objects.count() == audited + 1
    finally:
        with schema_transaction(data.clinic.schema_name):
            Patient.objects.filter(pk=data.patient.pk).update(**before)
