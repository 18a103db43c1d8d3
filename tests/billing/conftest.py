import pytest
from django_tenants.utils import tenant_context

from backend.accounts.models import Role
from tests.factories import PatientFactory


@pytest.fixture
def other_patient(clinic1):
    with tenant_context(clinic1):
        return PatientFactory(first_name="Ana", last_name="Díaz", document_number="87654321")


@pytest.fixture
def receptionist(clinic1, make_staff):
    return make_staff(clinic1, Role.RECEPTIONIST)


@pytest.fixture
def admin(clinic1, make_staff):
    return make_staff(clinic1, Role.ADMIN)
