"""The package's clinic, committed once (the requests' transactions must be the outermost
ones, as in production) and dropped at the end. Tests make the rows they race on, so nothing
is emptied between them; what a test changes on the clinic itself it puts back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections
from django.utils import timezone

from backend.accounts.auth import _token_issue
from backend.accounts.models import AuthToken, Role, User
from backend.core.tenancy import clinic_context
from backend.patients.models import Patient
from backend.resources.models import Chair, Professional, WorkingHours
from tenants_core import routing
from tenants_core.models import Clinic, ClinicStatus
from tenants_core.services import clinic_provision
from tests.conftest import PLATFORM_ADMIN_EMAIL, TEST_PASSWORD
from tests.locks.support import SUBDOMAIN, host_of


@dataclass
class Place:
    """The clinic of the lock tests, its admin's token and the platform operator's."""

    clinic: Clinic
    admin: User
    token: str
    platform_token: str
    host: str = host_of(SUBDOMAIN)
    public_host: str = host_of(None)

    @property
    def schema(self) -> str:
        return self.clinic.schema_name

    def inside(self) -> Any:
        """The clinic's schema on this thread's connection (for arranging and checking)."""
        return clinic_context(self.clinic)

    def patient(self, document: str | None = None) -> Patient:
        with self.inside():
            number = document or f"{Patient.objects.count() + 40_000_000}"
            return Patient.objects.create(
                first_name="Rosa", last_name="Quispe", document_type="DNI", document_number=number
            )

    def staff(self, role: Role = Role.DENTIST, **fields: Any) -> User:
        with self.inside():
            email = f"{str(role).lower()}{User.objects.count()}@{SUBDOMAIN}.pe"
            return User.objects.create_user(
                email=email, password=TEST_PASSWORD, full_name=email.split("@")[0].title(),
                role=role, **fields,
            )  # fmt: skip

    def token_of(self, user: User) -> str:
        with self.inside():
            return _token_issue(user).raw

    def professional(self) -> Professional:
        """A professional who works 08:00–18:00 every day of the week."""
        with self.inside():
            count = Professional.objects.count()
            professional = Professional.objects.create(
                full_name=f"Dra. Cerrojo {count}", license_number=f"C{count:05d}"
            )
            for weekday in range(7):
                WorkingHours.objects.create(
                    professional=professional, weekday=weekday,
                    start_time=dt.time(8), end_time=dt.time(18),
                )  # fmt: skip
            return professional

    def chair(self) -> Chair:
        with self.inside():
            return Chair.objects.create(name=f"Sillón {Chair.objects.count()}")

    def at(self, days: int, hour: int, minute: int = 0) -> dt.datetime:
        """A time ``days`` from today, in the clinic's time zone: never in the past."""
        zone = ZoneInfo(self.clinic.timezone)
        day = timezone.now().astimezone(zone).date() + dt.timedelta(days=days)
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)


@pytest.fixture(scope="package")
def place(django_db_blocker: Any) -> Iterator[Place]:
    with django_db_blocker.unblock():
        clinic = clinic_provision(
            subdomain=SUBDOMAIN, name="Cerrojos", legal_id="20600000005", email="hola@cerrojos.pe",
            plan="enterprise", admin_email=f"admin@{SUBDOMAIN}.pe", admin_password=TEST_PASSWORD,
        )  # fmt: skip
        connection.set_schema_to_public()
        public = Clinic.objects.get(schema_name="public")
        with clinic_context(public):
            platform_token = _token_issue(User.objects.get(email=PLATFORM_ADMIN_EMAIL)).raw
        with clinic_context(clinic):
            admin = User.objects.get(email=f"admin@{SUBDOMAIN}.pe")
            token = _token_issue(admin).raw
        connection.set_schema_to_public()
    yield Place(clinic=clinic, admin=admin, token=token, platform_token=platform_token)
    with django_db_blocker.unblock():
        connections.close_all()
        connection.set_schema_to_public()
        clinic.delete(force_drop=True)


@pytest.fixture
def committed(django_db_blocker: Any, place: Place) -> Iterator[Place]:
    """Database access without a test transaction: what a test arranges is committed, and the
    requests it sends are the outermost transactions. The clinic's row is put back after."""
    with django_db_blocker.unblock():
        yield place
        connections.close_all()
        connection.set_schema_to_public()
        Clinic.objects.filter(pk=place.clinic.pk).update(
            status=ClinicStatus.ACTIVE, suspension_reason="", suspended_at=None,
            max_users_override=None, max_patients_override=None,
            plan=place.clinic.plan, restrict_notes_to_author=False,
        )  # fmt: skip
        with place.inside():  # the package's admin is the only active admin again
            User.objects.filter(pk=place.admin.pk).update(role=Role.ADMIN, is_active=True)
            AuthToken.objects.filter(user=place.admin).update(revoked_at=None)
            User.objects.filter(role=Role.ADMIN).exclude(pk=place.admin.pk).update(is_active=False)
        connection.set_schema_to_public()
        routing.invalidate()
