"""factory_boy factories of the clinic's models. They write to the schema that the caller has
selected (``tenant_context``, ``clinic_context``), like the code under test.

Defaults are valid and unique within a test run (sequences), so a test names only what it is
about: ``PatientFactory(first_name="Ana")``, ``ProfessionalFactory(hours=weekly(...))``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import factory
from factory.django import DjangoModelFactory

from backend.accounts.models import Role, User
from backend.patients.models import DocumentType, Patient
from backend.resources.models import Chair, Professional, WorkingHours

TEST_PASSWORD = "s3cure-Pass!word"

# (weekday, start, end): one range of a professional's week; 0 is Monday.
Hours = tuple[int, dt.time, dt.time]


def weekly(weekdays: Iterable[int], *ranges: tuple[int, int]) -> list[Hours]:
    """The same hours on each of ``weekdays``: ``weekly(range(5), (8, 13), (14, 18))``."""
    return [
        (weekday, dt.time(start), dt.time(end)) for weekday in weekdays for start, end in ranges
    ]


class PatientFactory(DjangoModelFactory[Patient]):
    class Meta:
        model = Patient

    first_name = "José"
    last_name = "Pérez"
    document_type = DocumentType.DNI
    document_number = factory.Sequence(lambda n: f"{70_000_000 + n}")


class ProfessionalFactory(DjangoModelFactory[Professional]):
    """``hours``: the professional's weekly ranges (``weekly``); none by default."""

    class Meta:
        model = Professional
        skip_postgeneration_save = True  # the hours are rows of their own

    full_name = factory.Sequence(lambda n: f"Dra. Fábrica {n}")
    license_number = factory.Sequence(lambda n: f"F{n:05d}")

    @factory.post_generation
    def hours(self, create: bool, extracted: Iterable[Hours] | None, **kwargs: Any) -> None:
        for weekday, start, end in extracted or ():
            WorkingHours.objects.create(
                professional=self, weekday=weekday, start_time=start, end_time=end
            )


class ChairFactory(DjangoModelFactory[Chair]):
    class Meta:
        model = Chair

    name = factory.Sequence(lambda n: f"Sillón F{n}")


class StaffFactory(DjangoModelFactory[User]):
    """A user of the selected clinic, signed up with ``TEST_PASSWORD`` (hashed, as
    ``create_user`` does)."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"staff{n}@clinica.pe")
    full_name = factory.LazyAttribute(lambda user: user.email.split("@")[0].title())
    role = Role.DENTIST
    password = TEST_PASSWORD

    @classmethod
    def _create(cls, model_class: type[User], *args: Any, **kwargs: Any) -> User:
        return model_class.objects.create_user(*args, **kwargs)
