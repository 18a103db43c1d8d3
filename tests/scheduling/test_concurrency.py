"""Concurrency over real HTTP: uvicorn with 4 worker processes, committed data."""

import concurrent.futures
import datetime as dt

import pytest

from backend.accounts.models import Role, User
from backend.core.tenancy import clinic_context
from backend.patients.models import Patient
from backend.resources.models import Chair, Professional, WorkingHours
from backend.scheduling.models import Appointment
from tests.conftest import TEST_PASSWORD, http_login, running_uvicorn
from tests.ids import global_id
from tests.scheduling.conftest import MONDAY, SCHEDULE, lima

pytestmark = pytest.mark.slow

CREATE_PATIENT = """
mutation($input: CreatePatientInput!) {
  createPatient(input: $input) { __typename ... on OperationInfo { messages { code message } } }
}
"""


def parallel(server, host, token, query, variables_list):
    def send(variables):
        response = server.post(
            host, {"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"}, timeout=60,
        )  # fmt: skip
        return response.status_code, response.json()

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(variables_list)) as pool:
        return list(pool.map(send, variables_list))


def test_30_parallel_bookings_of_one_slot_give_exactly_one_appointment(
    django_db_blocker, committed_clinic
):
    clinic = committed_clinic("agenda-paralela", plan="professional")
    with django_db_blocker.unblock(), clinic_context(clinic):
        User.objects.create_user(
            email="recepcion@paralela.pe", password=TEST_PASSWORD, role=Role.RECEPTIONIST
        )
        professional = Professional.objects.create(full_name="Dra. Paralela", license_number="333")
        WorkingHours.objects.create(
            professional=professional,
            weekday=MONDAY.weekday(),
            start_time=dt.time(8),
            end_time=dt.time(18),
        )
        chairs = [Chair.objects.create(name=f"Sillón {i}") for i in range(3)]
        patients = [
            Patient.objects.create(
                first_name="P",
                last_name=str(i),
                document_type="DNI",
                document_number=f"{10000000 + i}",
            )
            for i in range(3)
        ]
    variables = [
        {
            "input": {
                "patientId": global_id("Patient", patients[i % 3].pk, clinic),
                "professionalId": global_id("Professional", professional.pk, clinic),
                "chairId": global_id("Chair", chairs[i % 3].pk, clinic),
                "startsAt": lima(MONDAY, 10).isoformat(),
                "endsAt": lima(MONDAY, 10, 30).isoformat(),
            }
        }
        for i in range(30)
    ]
    with running_uvicorn(django_db_blocker, workers=4) as server:
        token = http_login(server, "agenda-paralela.localhost", "recepcion@paralela.pe")["token"]
        results = parallel(server, "agenda-paralela.localhost", token, SCHEDULE, variables)

    assert {status for status, _ in results} == {200}
    payloads = [body["data"]["scheduleAppointment"] for _, body in results]
    booked = [p for p in payloads if p["__typename"] == "Appointment"]
    refused = [p for p in payloads if p["__typename"] == "OperationInfo"]
    assert len(booked) == 1
    assert len(refused) == 29
    assert {m["code"] for p in refused for m in p["messages"]} == {"APPOINTMENT_OVERLAP"}
    with django_db_blocker.unblock(), clinic_context(clinic):
        assert Appointment.objects.count() == 1


def test_parallel_patient_creation_with_one_seat_left_creates_exactly_one(
    django_db_blocker, committed_clinic
):
    clinic = committed_clinic("pacientes-paralelo", plan="basic")  # 50 patients
    with django_db_blocker.unblock(), clinic_context(clinic):
        Patient.objects.bulk_create(
            Patient(
                first_name="P",
                last_name=str(i),
                document_type="DNI",
                document_number=f"{20000000 + i}",
            )
            for i in range(49)
        )
        Patient.objects.create(
            first_name="Archivado",
            last_name="X",
            document_type="DNI",
            document_number="29999999",
            is_archived=True,
        )
    variables = [
        {
            "input": {
                "firstName": "Nuevo",
                "lastName": str(i),
                "documentType": "DNI",
                "documentNumber": f"{30000000 + i}",
            }
        }
        for i in range(20)
    ]
    with running_uvicorn(django_db_blocker, workers=4) as server:
        token = http_login(server, "pacientes-paralelo.localhost", "admin@pacientes-paralelo.pe")[
            "token"
        ]
        results = parallel(server, "pacientes-paralelo.localhost", token, CREATE_PATIENT, variables)

    payloads = [body["data"]["createPatient"] for _, body in results]
    assert sum(p["__typename"] == "Patient" for p in payloads) == 1
    refused = [p for p in payloads if p["__typename"] == "OperationInfo"]
    assert {m["code"] for p in refused for m in p["messages"]} == {"PLAN_LIMIT_REACHED"}
    assert "50" in refused[0]["messages"][0]["message"]
    with django_db_blocker.unblock(), clinic_context(clinic):
        assert Patient.objects.filter(is_archived=False).count() == 50
