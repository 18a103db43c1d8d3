import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django_tenants.utils import schema_exists

from backend.audit.models import AuditEvent
from tenants_core.health import tenants_check
from tenants_core.models import Clinic, Domain


@pytest.mark.django_db
def test_a_consistent_platform_reports_nothing(capsys):
    call_command("check_tenants")
    assert "All clinics are consistent." in capsys.readouterr().out


@pytest.mark.django_db
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


def _leftovers_of(subdomain: str, schema_name: str) -> dict[str, object]:
    return {
        "clinic": Clinic.objects.filter(subdomain=subdomain).exists(),
        "domain": Domain.objects.filter(domain=f"{subdomain}.localhost").exists(),
        "schema": schema_exists(schema_name),
        "audit": AuditEvent.objects.filter(
            action="clinic.create", changes__subdomain=subdomain
        ).exists(),
    }


def test_a_crashed_provisioning_leaves_nothing_for_check_tenants(django_db_blocker, monkeypatch):
    """Outside any test transaction, as in production: the crash comes after the clinic, its
    schema and its domain were written (creating the first admin), and the provisioning's one
    transaction must take them all back.

    Mutation check (issue 22): without ``@transaction.atomic`` on ``clinic_provision`` the
    clinic, schema, domain and audit event stay committed, and this test is red (the earlier
    version ran inside the test's own transaction, which rolled everything back for it)."""
    from backend.accounts import platform_hooks
    from tenants_core import services

    def fail(**kwargs):
        raise RuntimeError("crash during provisioning")

    monkeypatch.setattr(platform_hooks, "_clinic_admin_create", fail)
    schema_name = services.schema_name_for("crash")
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        assert not connection.in_atomic_block  # committed work is what is checked
        try:
            with pytest.raises(RuntimeError, match="crash during provisioning"):
                services.clinic_provision(
                    subdomain="crash",
                    name="Crash",
                    legal_id="20600000005",
                    email="c@c.pe",
                    admin_password="Muy-segura-123",
                )
            assert _leftovers_of("crash", schema_name) == {
                "clinic": False, "domain": False, "schema": False, "audit": False,
            }  # fmt: skip
            assert tenants_check().healthy
        finally:  # a broken provisioning must not leave its clinic to the rest of the session
            for clinic in Clinic.objects.filter(subdomain="crash"):
                clinic.delete(force_drop=True)
            with connection.cursor() as cursor:
                cursor.execute(f'DROP SCHEMA IF EXISTS "{schema_name}" CASCADE')


@pytest.mark.django_db
def test_the_template_schema_is_not_an_orphan():
    from tenants_core.schema_template import TEMPLATE_SCHEMA, template_fingerprint

    assert template_fingerprint() is not None  # built when the first seed clinic committed
    assert schema_exists(TEMPLATE_SCHEMA)
    report = tenants_check()
    assert TEMPLATE_SCHEMA not in report.orphan_schemas
    assert report.healthy
    call_command("check_tenants", "--fix")
    assert schema_exists(TEMPLATE_SCHEMA)
