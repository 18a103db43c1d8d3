"""Who reads a patient's health data, asked of the patients domain itself (no GraphQL): the
rule a background job or the patient assistant must follow before showing allergies or
medical alerts. ``tests/test_health_data.py`` tests the GraphQL answers. Checked: with the role
check back in ``graphql_api/patients/types.py`` only (``reads_health_data`` answering True),
this test went red."""

from __future__ import annotations

import pytest

from backend.accounts.models import Role
from backend.patients.selectors import reads_health_data

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("role", "reads"),
    [
        (Role.ADMIN, True),
        (Role.DENTIST, True),
        (Role.ASSISTANT, True),
        (Role.RECEPTIONIST, False),
    ],
)
def test_only_roles_that_read_clinical_records_read_health_data(clinic1, make_staff, role, reads):
    assert reads_health_data(actor=make_staff(clinic1, role)) is reads


def test_nobody_signed_in_reads_no_health_data():
    assert reads_health_data(actor=None) is False
