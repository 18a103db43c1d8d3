"""A write that a constraint refuses is recognised by the constraint's name
(``backend.core.errors.save_refusing``): these pin the names the services map, so a renamed
constraint fails here and not as an uncoded error in production."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django_tenants.utils import tenant_context

from backend.accounts.models import Role
from backend.core.errors import constraint_name, save_refusing
from backend.resources import services
from backend.resources.models import Professional

pytestmark = pytest.mark.django_db


def test_a_professional_saved_over_a_linked_user_is_user_already_linked(clinic1, make_staff):
    """The race the service's own check cannot see: another professional took the user
    between the check and the insert."""
    dentist = make_staff(clinic1, Role.DENTIST)
    with tenant_context(clinic1):
        Professional.objects.create(full_name="A", license_number="1", user=dentist)
        second = Professional(full_name="B", license_number="2", user=dentist)
        with pytest.raises(ValidationError) as raised:
            services._save_professional(second)
        assert raised.value.error_dict["user_id"][0].code == "USER_ALREADY_LINKED"
        with pytest.raises(ValidationError) as raised:
            services._save_professional(Professional(full_name="C", license_number="1"))
        assert raised.value.error_dict["license_number"][0].code == "LICENSE_TAKEN"


def test_the_constraint_is_read_from_the_driver_and_others_are_raised_as_they_are(clinic1):
    with tenant_context(clinic1):
        Professional.objects.create(full_name="A", license_number="1")
        with pytest.raises(IntegrityError) as raised, transaction.atomic():
            Professional.objects.create(full_name="B", license_number="1")
        assert constraint_name(raised.value) == "professional_license_unique"
        # a constraint the mapping does not name is a bug: raised, not turned into a code
        with pytest.raises(IntegrityError):
            save_refusing(
                Professional(full_name="C", license_number="1").save,
                {"chair_name_unique": lambda: ValidationError("never")},
            )
