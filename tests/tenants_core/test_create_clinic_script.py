"""scripts/create_clinic.py end to end, in a child process against the test database."""

import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django_tenants.utils import schema_exists

from backend.core.tenancy import clinic_context
from tenants_core.models import Clinic
from tests.conftest import ROOT, child_env

pytestmark = pytest.mark.slow

SCRIPT = str(ROOT / "scripts" / "create_clinic.py")


def _run(django_db_blocker, *args: str) -> subprocess.CompletedProcess[str]:
    with django_db_blocker.unblock():
        env = child_env()
    return subprocess.run(
        [sys.executable, SCRIPT, *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def test_create_clinic_script_provisions_a_clinic(django_db_blocker):
    result = _run(
        django_db_blocker, "script-clinic", "Clínica Script", "20600000005", "script@clinic.pe",
        "professional", "--admin-password", "s3cure-Pass!word",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Created Clínica Script" in result.stdout
    with django_db_blocker.unblock():
        clinic = Clinic.objects.get(subdomain="script-clinic")
        try:
            assert clinic.plan.code == "professional"
            assert schema_exists(clinic.schema_name)
            assert clinic.get_primary_domain().domain == "script-clinic.localhost"
            with clinic_context(clinic):
                admin = get_user_model().objects.get()
                assert (admin.email, admin.role) == ("script@clinic.pe", "ADMIN")
        finally:
            clinic.delete(force_drop=True)


def test_create_clinic_script_prints_a_generated_password_once(django_db_blocker):
    result = _run(django_db_blocker, "script-pass", "Pass", "20600000005", "p@clinic.pe")
    assert result.returncode == 0, result.stderr
    assert "password:" in result.stdout
    with django_db_blocker.unblock():
        Clinic.objects.get(subdomain="script-pass").delete(force_drop=True)


def test_create_clinic_script_rejects_bad_input_with_clear_errors(django_db_blocker):
    result = _run(django_db_blocker, "Mala_Clinica", "X", "20100070971", "nope")
    assert result.returncode != 0
    assert "subdomain:" in result.stderr
    assert "[INVALID_SUBDOMAIN]" in result.stderr
    assert "[RUC_INVALID_CHECK_DIGIT]" in result.stderr
    assert "[INVALID_EMAIL]" in result.stderr
    assert "Traceback" not in result.stderr
    with django_db_blocker.unblock():
        assert not Clinic.objects.filter(name="X").exists()


def test_create_clinic_script_rejects_an_unknown_plan(django_db_blocker):
    result = _run(django_db_blocker, "plan-mala", "X", "20600000005", "x@clinic.pe", "platinum")
    assert result.returncode != 0
    assert "platinum" in result.stderr


def test_the_original_systems_example_works_once_its_ruc_is_corrected(django_db_blocker):
    """``python crear_clinica.py clinica3 "DentPlus" 20111222333 admin@clinica3.com basico``:
    the Spanish plan name is accepted; the RUC is refused, told the check digit it needs."""
    typed = ["clinica3", "DentPlus", "20111222333", "admin@clinica3.com", "basico"]
    refused = _run(django_db_blocker, *typed)
    assert refused.returncode != 0
    assert "basico" not in refused.stderr  # no "invalid choice: 'basico'"
    assert "invalid choice" not in refused.stderr
    assert "[RUC_INVALID_CHECK_DIGIT]" in refused.stderr
    assert "should be 0 (20111222330)" in refused.stderr
    assert "Traceback" not in refused.stderr

    typed[2] = "20111222330"
    created = _run(django_db_blocker, *typed)
    assert created.returncode == 0, created.stderr
    assert "Created DentPlus" in created.stdout
    assert "plan:    basic" in created.stdout
    with django_db_blocker.unblock():
        clinic = Clinic.objects.get(subdomain="clinica3")
        try:
            assert (clinic.plan.code, clinic.legal_id) == ("basic", "20111222330")
            with clinic_context(clinic):
                assert get_user_model().objects.get().email == "admin@clinica3.com"
        finally:
            clinic.delete(force_drop=True)
