import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django_tenants.utils import schema_exists

from tenants_core.health import tenants_check
from tenants_core.models import Domain

pytestmark = pytest.mark.django_db


def test_a_consistent_platform_reports_nothing(capsys):
    call_command("check_tenants")
    assert "All clinics are consistent." in capsys.readouterr().out


def test_orphans_and_missing_domains_are_reported_and_fixed(clinic2, capsys):
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "clinic_huerfana"')
    Domain.objects.filter(tenant=clinic2).delete()
    report = tenants_check()
    assert report.orphan_schemas == ["clinic_huerfana"]
    assert report.clinics_without_domain == ["clinica2"]
    with pytest.raises(CommandError):
        call_command("check_tenants")
    call_command("check_tenants", "--fix")
    assert not schema_exists("clinic_huerfana")
    assert Domain.objects.get(tenant=clinic2).domain == "clinica2.localhost"
    assert tenants_check().healthy


def test_a_crashed_provisioning_leaves_nothing_for_check_tenants(django_db_blocker, monkeypatch):
    from tenants_core import services

    def fail(**kwargs):
        raise RuntimeError("crash during provisioning")

    monkeypatch.setattr(services, "_clinic_admin_create", fail)
    with django_db_blocker.unblock():
        with pytest.raises(RuntimeError):
            services.clinic_provision(
                subdomain="crash",
                name="Crash",
                legal_id="20600000005",
                email="c@c.pe",
                admin_password="Muy-segura-123",
            )
        assert tenants_check().healthy


def test_the_template_schema_is_not_an_orphan():
    from tenants_core.schema_template import TEMPLATE_SCHEMA, template_fingerprint

    assert template_fingerprint() is not None  # built when the first seed clinic committed
    assert schema_exists(TEMPLATE_SCHEMA)
    report = tenants_check()
    assert TEMPLATE_SCHEMA not in report.orphan_schemas
    assert report.healthy
    call_command("check_tenants", "--fix")
    assert schema_exists(TEMPLATE_SCHEMA)
