import datetime as dt
from dataclasses import dataclass

import pytest
from django_tenants.utils import tenant_context

from backend.accounts.models import Role
from backend.patients.models import Patient
from backend.resources.models import Chair, Professional
from tests.dates import LIMA, MONDAY, lima  # noqa: F401 - a Monday weeks ahead, in Lima
from tests.factories import ChairFactory, PatientFactory, ProfessionalFactory, weekly
from tests.ids import global_id


def iso(value: dt.datetime) -> str:
    return value.isoformat()


@dataclass
class Agenda:
    professional: Professional
    other_professional: Professional
    chair: Chair
    other_chair: Chair
    patient: Patient
    other_patient: Patient
    token: str  # a receptionist's

    def ids(self, **objects):
        return {name: global_id(type(obj).__name__, obj.pk) for name, obj in objects.items()}


@pytest.fixture
def agenda(clinic1, make_staff, token_for):
    with tenant_context(clinic1):
        hours = weekly(range(5), (8, 13), (14, 18))  # Monday to Friday
        professional = ProfessionalFactory(
            full_name="Dra. Ana Soto", license_number="11111", hours=hours
        )
        other = ProfessionalFactory(full_name="Dr. Luis Vega", license_number="22222", hours=hours)
        chair = ChairFactory(name="Sillón 1")
        other_chair = ChairFactory(name="Sillón 2")
        patient = PatientFactory(document_number="12345678")
        other_patient = PatientFactory(
            first_name="María", last_name="Quispe", document_number="87654321"
        )
    receptionist = make_staff(clinic1, Role.RECEPTIONIST)
    return Agenda(
        professional,
        other,
        chair,
        other_chair,
        patient,
        other_patient,
        token_for(clinic1, receptionist),
    )


SCHEDULE = """
mutation($input: ScheduleAppointmentInput!) {
  scheduleAppointment(input: $input) {
    __typename
    ... on Appointment { id startsAt endsAt status patient { fullName } professional { fullName } chair { name } }
    ... on OperationInfo { messages { code field message } }
  }
}
"""


def booking(agenda, start, end, *, professional=None, chair=None, patient=None, **extra):
    return {
        "patientId": global_id("Patient", (patient or agenda.patient).pk),
        "professionalId": global_id("Professional", (professional or agenda.professional).pk),
        "chairId": global_id("Chair", (chair or agenda.chair).pk),
        "startsAt": iso(start),
        "endsAt": iso(end),
        **extra,
    }
