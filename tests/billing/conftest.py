import pytest
from django_tenants.utils import tenant_context

from backend.accounts.models import Role
from backend.patients.models import Patient


@pytest.fixture
def other_patient(clinic1):
    with tenant_context(clinic1):
        return Patient.objects.create(
            first_name="Ana", last_name="Díaz", document_type="DNI", document_number="87654321"
        )


@pytest.fixture
def receptionist(clinic1, make_staff):
    return make_staff(clinic1, Role.RECEPTIONIST)


@pytest.fixture
def admin(clinic1, make_staff):
    return make_staff(clinic1, Role.ADMIN)
