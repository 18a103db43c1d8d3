import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import schema_exists

from backend.accounts import platform_hooks
from backend.accounts.models import Role
from backend.core.tenancy import clinic_context
from tenants_core.errors import PlatformError
from tenants_core.models import Clinic, Domain
from tenants_core.schema_names import schema_name_for
from tenants_core.services import clinic_provision

GOOD = {
    "subdomain": "nueva-clinica",
    "name": "Nueva Clínica",
    "legal_id": "20600000005",
    "email": "hola@nueva.pe",
    "plan": "basic",
    "admin_password": "s3cure-Pass!word",
}


def _codes(error: ValidationError) -> dict[str, list[str]]:
    return {field: [e.code for e in errors] for field, errors in error.error_dict.items()}


@pytest.mark.django_db
def test_provisioning_creates_schema_domain_and_admin():
    clinic = clinic_provision(**{**GOOD, "admin_email": "Jefa@Nueva.pe"})

    assert clinic.schema_name == "clinic_nueva_clinica"
    assert schema_exists(clinic.schema_name)
    assert Domain.objects.get(tenant=clinic, is_primary=True).domain == "nueva-clinica.localhost"
    assert clinic.timezone == "America/Lima"
    with clinic_context(clinic):
        admin = get_user_model().objects.get()
        assert (admin.email, admin.role, admin.is_active) == ("jefa@nueva.pe", Role.ADMIN, True)
        assert admin.check_password(GOOD["admin_password"])


@pytest.mark.django_db
def test_provisioning_reports_every_bad_field_and_writes_nothing():
    before = (Clinic.objects.count(), Domain.objects.count())
    with pytest.raises(ValidationError) as raised:
        clinic_provision(
            subdomain="www",
            name=" ",
            legal_id="20100070971",
            email="not-an-email",
            plan="platinum",
            admin_password="123",
            timezone="Mars/Olympus",
        )
    assert _codes(raised.value) == {
        "subdomain": [PlatformError.SUBDOMAIN_RESERVED],
        "name": [PlatformError.INVALID_NAME],
        "legal_id": [PlatformError.RUC_INVALID_CHECK_DIGIT],
        "email": [PlatformError.INVALID_EMAIL],
        "admin_email": [PlatformError.INVALID_EMAIL],
        "timezone": [PlatformError.INVALID_TIMEZONE],
        "plan": [PlatformError.PLAN_NOT_FOUND],
        "admin_password": [PlatformError.INVALID_PASSWORD],
    }
    assert (Clinic.objects.count(), Domain.objects.count()) == before


@pytest.mark.django_db
def test_a_taken_subdomain_is_refused():
    with pytest.raises(ValidationError) as raised:
        clinic_provision(**{**GOOD, "subdomain": "clinica1"})
    assert _codes(raised.value) == {"subdomain": [PlatformError.SUBDOMAIN_TAKEN]}


def test_schema_names_are_safe_identifiers():
    assert schema_name_for("clinica1") == "clinic_clinica1"
    assert schema_name_for("1-dental") == "clinic_1_dental"
    long_name = schema_name_for("a" * 63)
    assert len(long_name) <= 63
    assert long_name != schema_name_for("a" * 62 + "b")


def _fail_admin(**kwargs):
    raise RuntimeError("injected failure after the schema was created")


def _fail_domain(*args, **kwargs):
    assert schema_exists("clinic_atomica"), "the failure must come after the schema exists"
    raise RuntimeError("injected failure while creating the domain")


@pytest.mark.parametrize(
    ("target", "replacement"),
    [
        ("backend.accounts.platform_hooks._clinic_admin_create", _fail_admin),
        ("tenants_core.services.Domain.objects.create", _fail_domain),
    ],
)
def test_provisioning_is_atomic_under_an_injected_failure(
    django_db_blocker, monkeypatch, target, replacement
):
    """Runs on a real autocommit connection (no test transaction), so that what survives
    the failure would be visible: nothing must."""
    monkeypatch.setattr(target, replacement)
    with django_db_blocker.unblock():
        clinics_before = Clinic.objects.count()
        with pytest.raises(RuntimeError, match="injected failure"):
            clinic_provision(**{**GOOD, "subdomain": "atomica"})
        try:
            assert not schema_exists("clinic_atomica")
            assert not Clinic.objects.filter(subdomain="atomica").exists()
            assert not Domain.objects.filter(domain__startswith="atomica.").exists()
            assert Clinic.objects.count() == clinics_before
            assert not connection.in_atomic_block
        finally:  # keep the session database clean even if the assertions fail
            for clinic in Clinic.objects.filter(subdomain="atomica"):
                clinic.delete(force_drop=True)


def test_failed_provisioning_can_be_retried(django_db_blocker, monkeypatch):
    monkeypatch.setattr(platform_hooks, "_clinic_admin_create", _fail_admin)
    with django_db_blocker.unblock():
        with pytest.raises(RuntimeError):
            clinic_provision(**{**GOOD, "subdomain": "reintento"})
        monkeypatch.undo()
        clinic = clinic_provision(**{**GOOD, "subdomain": "reintento"})
        try:
            assert schema_exists(clinic.schema_name)
        finally:
            Domain.objects.filter(tenant=clinic).delete()
            clinic.delete(force_drop=True)


@pytest.mark.django_db
@pytest.mark.parametrize("timezone", ["America", "Etc", "Lima", "x" * 300, "../../etc/passwd"])
def test_a_bad_timezone_is_a_coded_error(timezone):
    with pytest.raises(ValidationError) as raised:
        clinic_provision(**{**GOOD, "timezone": timezone})
    assert _codes(raised.value) == {"timezone": [PlatformError.INVALID_TIMEZONE]}


@pytest.mark.django_db
def test_an_email_longer_than_the_column_is_a_coded_error():
    long_email = "a" * 245 + "@clinic.pe"  # 255 characters: valid for Django, not for us
    with pytest.raises(ValidationError) as raised:
        clinic_provision(**{**GOOD, "email": long_email, "admin_email": "ok@clinic.pe"})
    assert _codes(raised.value) == {"email": [PlatformError.INVALID_EMAIL]}


@pytest.mark.django_db
def test_a_subdomain_with_a_trailing_newline_is_invalid_not_taken():
    with pytest.raises(ValidationError) as raised:
        clinic_provision(**{**GOOD, "subdomain": "nueva\n"})
    assert _codes(raised.value) == {"subdomain": [PlatformError.INVALID_SUBDOMAIN]}


@pytest.mark.django_db
def test_provisioning_is_audited_in_both_schemas(platform_admin):
    from backend.audit.models import AuditEvent

    clinic = clinic_provision(**GOOD, actor=platform_admin)
    event = AuditEvent.objects.get(action="clinic.create", entity_id=str(clinic.pk))
    assert event.actor_id == platform_admin.pk
    assert event.changes["subdomain"] == "nueva-clinica"
    with clinic_context(clinic):
        created = AuditEvent.objects.get(action="staff.create")
        assert created.changes["role"] == "ADMIN"
