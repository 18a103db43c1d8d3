"""Each console action does what its GraphQL mutation does, through the same service: the
effect, the audit trail, the routing cache; and each refusal is shown on the form with its
code, changing nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_exists

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from tenants_core.models import Clinic, ClinicBackup, ClinicStatus, Domain
from tests.conftest import PLATFORM_ADMIN_EMAIL, host_for
from tests.console.conftest import console_get, console_post, form_codes

pytestmark = pytest.mark.django_db


def _clinic_page(clinic: Clinic, action: str = "change") -> str:
    return f"tenants_core/clinic/{clinic.pk}/{action}/"


def _trail(clinic: Clinic, action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(entity_id=str(clinic.pk), action=action))


def _state(clinic: Clinic) -> tuple[Any, ...]:
    fresh = Clinic.objects.select_related("plan").get(pk=clinic.pk)
    trail = AuditEvent.objects.filter(entity_id=str(clinic.pk), action__startswith="clinic.")
    return (
        fresh.status,
        fresh.suspension_reason,
        fresh.plan.code,
        sorted(fresh.domains.values_list("domain", flat=True)),
        ClinicBackup.objects.filter(clinic=fresh).count(),
        trail.count(),
    )


def _api_code(client: Client, host: str) -> str | None:
    response = client.post(
        "/graphql", {"query": "{ __typename }"}, content_type="application/json", HTTP_HOST=host
    )
    body = response.json()
    return (body.get("errors") or [{}])[0].get("extensions", {}).get("code")


def test_the_clinic_list_shows_plan_status_and_usage_and_searches(operator, clinic1, clinic2):
    response = console_get(operator, "tenants_core/clinic/")

    assert response.status_code == 200
    rows = {clinic.subdomain: clinic for clinic in response.context["cl"].result_list}
    assert {"clinica1", "clinica2", "cerrada"} <= set(rows)
    assert "" not in rows  # never the platform itself
    assert rows["clinica1"].usage_counts["users"] >= 1
    assert b"Cl\xc3\xadnica Dental Norte" in response.content
    found = console_get(operator, "tenants_core/clinic/", data={"q": "dental norte"})
    assert [c.subdomain for c in found.context["cl"].result_list] == ["clinica1"]
    suspended = console_get(operator, "tenants_core/clinic/", data={"status__exact": "suspended"})
    assert [c.subdomain for c in suspended.context["cl"].result_list] == ["cerrada"]
    basic = console_get(operator, "tenants_core/clinic/", data={"plan__id__exact": clinic2.plan_id})
    assert "clinica2" in [c.subdomain for c in basic.context["cl"].result_list]
    assert "clinica1" not in [c.subdomain for c in basic.context["cl"].result_list]


def test_the_clinic_page_offers_every_action(operator, own_clinic):
    clinic = own_clinic()

    page = console_get(operator, _clinic_page(clinic))

    assert page.status_code == 200
    for action in ("plan", "suspend", "domain", "backup"):
        assert f"/console/{_clinic_page(clinic, action)}".encode() in page.content
    assert b"historylink" not in page.content  # Django's admin log is never written here


def test_suspending_routes_the_clinic_to_clinic_suspended_at_once(operator, own_clinic):
    clinic = own_clinic()
    host = host_for(clinic.subdomain)
    assert _api_code(operator, host) is None  # routed, and cached by this process

    response = console_post(operator, _clinic_page(clinic, "suspend"), {"reason": "Pago vencido"})

    assert response.status_code == 302
    assert response["Location"] == f"/console/{_clinic_page(clinic)}"
    fresh = Clinic.objects.get(pk=clinic.pk)
    assert (fresh.status, fresh.suspension_reason) == (ClinicStatus.SUSPENDED, "Pago vencido")
    (event,) = _trail(clinic, "clinic.suspend")
    assert event.actor_email == PLATFORM_ADMIN_EMAIL
    assert event.changes["reason"] == "Pago vencido"
    assert _api_code(operator, host) == "CLINIC_SUSPENDED"
    page = console_get(operator, _clinic_page(clinic))
    assert "is suspended" in " ".join(str(m) for m in page.context["messages"])


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_suspending_without_a_fit_reason_changes_nothing(operator, own_clinic, reason):
    clinic = own_clinic()
    before = _state(clinic)

    response = console_post(operator, _clinic_page(clinic, "suspend"), {"reason": reason})

    assert response.status_code == 200
    assert form_codes(response) == {"INVALID_REASON"}
    assert b"INVALID_REASON" in response.content
    assert _state(clinic) == before
    assert _api_code(operator, host_for(clinic.subdomain)) is None


def test_reactivating_lifts_the_suspension_and_routes_the_clinic_again(operator, own_clinic):
    clinic = own_clinic()
    console_post(operator, _clinic_page(clinic, "suspend"), {"reason": "Deuda"})
    assert _api_code(operator, host_for(clinic.subdomain)) == "CLINIC_SUSPENDED"

    response = console_post(operator, _clinic_page(clinic, "reactivate"), {})

    assert response.status_code == 302
    assert Clinic.objects.get(pk=clinic.pk).status == ClinicStatus.ACTIVE
    assert len(_trail(clinic, "clinic.reactivate")) == 1
    assert _api_code(operator, host_for(clinic.subdomain)) is None


def test_reactivating_an_active_clinic_is_refused_and_changes_nothing(operator, own_clinic):
    clinic = own_clinic()
    before = _state(clinic)

    response = console_post(operator, _clinic_page(clinic, "reactivate"), {})

    assert form_codes(response) == {"NOT_SUSPENDED"}
    assert _state(clinic) == before


def test_changing_the_plan(operator, own_clinic):
    clinic = own_clinic("basic")

    response = console_post(operator, _clinic_page(clinic, "plan"), {"plan": "enterprise"})

    assert response.status_code == 302
    assert Clinic.objects.get(pk=clinic.pk).plan.code == "enterprise"
    (event,) = _trail(clinic, "clinic.change_plan")
    assert event.changes == {"plan": {"from": "basic", "to": "enterprise"}}


def test_a_plan_below_the_clinics_usage_is_refused_and_changes_nothing(
    operator, own_clinic, make_staff
):
    clinic = own_clinic("professional")
    for _ in range(5):  # 6 active users: the basic plan allows 5
        make_staff(clinic, Role.ASSISTANT)
    before = _state(clinic)

    response = console_post(operator, _clinic_page(clinic, "plan"), {"plan": "basic"})

    assert form_codes(response) == {"PLAN_BELOW_USAGE"}
    assert b"remove 1" in response.content
    assert _state(clinic) == before


def test_an_unknown_plan_is_refused_by_the_form(operator, own_clinic):
    clinic = own_clinic()
    before = _state(clinic)

    response = console_post(operator, _clinic_page(clinic, "plan"), {"plan": "gold"})

    assert response.status_code == 200
    assert form_codes(response) == {"invalid_choice"}
    assert _state(clinic) == before


def test_adding_a_domain_routes_it_to_the_clinic(operator, own_clinic):
    clinic = own_clinic()
    extra = f"citas.{clinic.subdomain}.{settings.BASE_DOMAIN}"
    assert _api_code(operator, extra) == "UNKNOWN_HOST"  # cached as unknown

    response = console_post(operator, _clinic_page(clinic, "domain"), {"domain": extra.upper()})

    assert response.status_code == 302
    assert Domain.objects.get(domain=extra).tenant_id == clinic.pk
    assert _trail(clinic, "clinic.add_domain")[0].changes == {"domain": extra}
    assert _api_code(operator, extra) is None


@pytest.mark.parametrize(
    ("domain", "code"),
    [
        ("", "INVALID_DOMAIN"),
        ("no spaces.localhost", "INVALID_DOMAIN"),
        ("clinica.example.com", "DOMAIN_NOT_ALLOWED"),
        ("clinica1.localhost", "DOMAIN_TAKEN"),
    ],
)
def test_a_bad_domain_is_refused_and_changes_nothing(operator, own_clinic, clinic1, domain, code):
    clinic = own_clinic()
    before = _state(clinic)
    domains = Domain.objects.count()

    response = console_post(operator, _clinic_page(clinic, "domain"), {"domain": domain})

    assert form_codes(response) == {code}
    assert _state(clinic) == before
    assert Domain.objects.count() == domains


def test_backing_up_makes_a_backup_and_audits_it(operator, own_clinic):
    clinic = own_clinic()

    response = console_post(operator, _clinic_page(clinic, "backup"), {})

    assert response.status_code == 302
    backup = ClinicBackup.objects.get(clinic=clinic)
    assert backup.size_bytes > 0
    (event,) = _trail(clinic, "clinic.backup")
    assert event.changes["backup_id"] == str(backup.id)


def test_the_action_pages_answer_get_without_changing_anything(operator, own_clinic):
    clinic = own_clinic()
    before = _state(clinic)

    for action in ("plan", "suspend", "reactivate", "domain", "backup"):
        page = console_get(operator, _clinic_page(clinic, action))
        assert page.status_code == 200, action
        assert b'name="csrfmiddlewaretoken"' in page.content

    assert _state(clinic) == before


def test_an_action_on_an_unknown_clinic_goes_back_to_the_list(operator):
    response = console_post(operator, "tenants_core/clinic/999999/suspend/", {"reason": "x"})

    assert response.status_code == 302
    assert response["Location"] == "/console/tenants_core/clinic/"


def test_the_platform_itself_is_not_a_clinic_here(operator, public_tenant):
    before = Clinic.objects.get(pk=public_tenant.pk).status

    response = console_post(operator, _clinic_page(public_tenant, "suspend"), {"reason": "x"})

    assert response.status_code == 302
    assert response["Location"] == "/console/tenants_core/clinic/"
    assert Clinic.objects.get(pk=public_tenant.pk).status == before


NEW_CLINIC = {
    "subdomain": "nuevaconsola",
    "name": "Nueva Consola",
    "legal_id": "20600000005",
    "email": "hola@nuevaconsola.pe",
    "plan": "professional",
    "timezone": "America/Lima",
    "admin_email": "",
    "admin_password": "Muy-segura-123",
}


def test_creating_a_clinic_provisions_it(operator):
    response = console_post(operator, "tenants_core/clinic/add/", NEW_CLINIC)

    assert response.status_code == 302
    clinic = Clinic.objects.get(subdomain="nuevaconsola")
    assert clinic.plan.code == "professional"
    assert schema_exists(clinic.schema_name)
    assert Domain.objects.get(tenant=clinic).domain == host_for("nuevaconsola")
    (event,) = _trail(clinic, "clinic.create")
    assert event.changes["admin_email"] == "hola@nuevaconsola.pe"
    assert _api_code(operator, host_for("nuevaconsola")) is None


def test_creating_a_clinic_with_bad_input_shows_every_error_and_creates_nothing(operator, clinic1):
    bad = {**NEW_CLINIC, "subdomain": "clinica1", "legal_id": "123", "admin_password": "1"}
    clinics = Clinic.objects.count()
    created = AuditEvent.objects.filter(action="clinic.create").count()

    response = console_post(operator, "tenants_core/clinic/add/", bad)

    assert response.status_code == 200
    assert form_codes(response) == {"SUBDOMAIN_TAKEN", "RUC_INVALID_FORMAT", "INVALID_PASSWORD"}
    errors = response.context["form"].errors
    assert {"subdomain", "legal_id", "admin_password"} <= set(errors)
    assert Clinic.objects.count() == clinics
    assert AuditEvent.objects.filter(action="clinic.create").count() == created


def test_creating_a_clinic_says_which_check_digit_a_ruc_needs(operator):
    bad = {**NEW_CLINIC, "legal_id": "20111222333"}

    response = console_post(operator, "tenants_core/clinic/add/", bad)

    assert response.status_code == 200
    assert form_codes(response) == {"RUC_INVALID_CHECK_DIGIT"}
    (error,) = response.context["form"].errors["legal_id"]
    assert "should be 0 (20111222330)" in error
    assert "20111222330" in response.content.decode()
    assert not Clinic.objects.filter(subdomain="nuevaconsola").exists()


def test_refusals_are_translated(operator, own_clinic):
    clinic = own_clinic()

    response = console_post(
        operator, _clinic_page(clinic, "suspend"), {"reason": ""}, HTTP_ACCEPT_LANGUAGE="es"
    )

    assert form_codes(response) == {"INVALID_REASON"}
    assert response.context["form"].errors["reason"] != ["Give a reason (at most 500 characters)."]


def test_every_action_needs_the_csrf_token(platform_admin, own_clinic):
    clinic = own_clinic()
    client = Client(enforce_csrf_checks=True)
    client.force_login(platform_admin)
    before = _state(clinic)

    for action, data in [
        ("suspend", {"reason": "Deuda"}),
        ("plan", {"plan": "enterprise"}),
        ("domain", {"domain": f"otra.{clinic.subdomain}.localhost"}),
        ("backup", {}),
    ]:
        assert console_post(client, _clinic_page(clinic, action), data).status_code == 403

    assert console_post(client, "tenants_core/clinic/add/", NEW_CLINIC).status_code == 403
    assert _state(clinic) == before
    assert not Clinic.objects.filter(subdomain="nuevaconsola").exists()


def test_anonymous_posts_to_actions_change_nothing(client, own_clinic):
    clinic = own_clinic()
    before = _state(clinic)

    response = console_post(client, _clinic_page(clinic, "suspend"), {"reason": "Deuda"})

    assert response.status_code == 302
    assert response["Location"].startswith("/console/login/")
    assert _state(clinic) == before


def test_the_clinic_list_costs_the_same_statements_however_many_clinics(operator, own_clinic):
    def statements() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert console_get(operator, "tenants_core/clinic/").status_code == 200
        return len(queries)

    statements()  # routing of the platform's host cached, as after the next provisioning
    before = statements()
    own_clinic()
    own_clinic("professional")
    statements()  # provisioning invalidated this process's routing cache: cached again

    assert statements() == before
