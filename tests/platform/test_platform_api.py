"""Platform operations on the public domain, by a platform superuser."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context, schema_exists, tenant_context

from backend.accounts.models import Role, User
from backend.audit.models import AuditEvent
from tenants_core.models import Clinic, ClinicStatus, Domain
from tests.conftest import error_code, graphql, operation_codes

pytestmark = pytest.mark.django_db

CREATE = """
mutation($input: CreateClinicInput!) {
  createClinic(input: $input) {
    __typename
    ... on ManagedClinic { subdomain name legalId plan { code } maxUsers status domains usage { users patients } }
    ... on OperationInfo { messages { code field message } }
  }
}
"""
GOOD = {
    "subdomain": "sonrisas",
    "name": "Sonrisas Felices",
    "legalId": "20600000005",
    "email": "hola@sonrisas.pe",
    "plan": "PROFESSIONAL",
    "adminEmail": "jefa@sonrisas.pe",
    "adminPassword": "Muy-segura-123",
}
CHANGE_PLAN = """
mutation($subdomain: String!, $plan: PlanCode!) {
  changeClinicPlan(subdomain: $subdomain, plan: $plan) {
    __typename
    ... on ManagedClinic { plan { code } maxUsers }
    ... on OperationInfo { messages { code field message } }
  }
}
"""
SUSPEND = """
mutation($subdomain: String!, $reason: String!) {
  suspendClinic(subdomain: $subdomain, reason: $reason) {
    __typename
    ... on ManagedClinic { status suspensionReason }
    ... on OperationInfo { messages { code field message } }
  }
}
"""
REACTIVATE = """
mutation($subdomain: String!) {
  reactivateClinic(subdomain: $subdomain) {
    __typename
    ... on ManagedClinic { status }
    ... on OperationInfo { messages { code field message } }
  }
}
"""
ADD_DOMAIN = """
mutation($subdomain: String!, $domain: String!) {
  addClinicDomain(subdomain: $subdomain, domain: $domain) {
    __typename
    ... on ManagedClinic { domains }
    ... on OperationInfo { messages { code field message } }
  }
}
"""
CLINICS = """
query($first: Int, $after: String, $search: String, $status: ClinicStatus) {
  clinics(first: $first, after: $after, search: $search, status: $status) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { subdomain status maxUsers maxPatients plan { code maxUsers maxPatients } usage { users patients } domains } }
  }
}
"""


def run(client, token, query, **variables):
    status, body = graphql(client, query, host="localhost", token=token, variables=variables)
    assert status == 200, body
    assert "errors" not in body, body
    return next(iter(body["data"].values()))


def test_create_clinic_provisions_it(client, platform_token):
    payload = run(client, platform_token, CREATE, input=GOOD)
    assert payload == {
        "__typename": "ManagedClinic",
        "subdomain": "sonrisas",
        "name": "Sonrisas Felices",
        "legalId": "20600000005",
        "plan": {"code": "PROFESSIONAL"},
        "maxUsers": 10,
        "status": "ACTIVE",
        "domains": ["sonrisas.localhost"],
        "usage": {"users": 1, "patients": 0},
    }
    clinic = Clinic.objects.get(subdomain="sonrisas")
    assert schema_exists(clinic.schema_name)
    with tenant_context(clinic):
        assert User.objects.get().email == "jefa@sonrisas.pe"
    _, body = graphql(client, "{ currentClinic { name } }", host="sonrisas.localhost")
    assert body["data"]["currentClinic"]["name"] == "Sonrisas Felices"


def test_create_clinic_reports_each_bad_field(client, platform_token):
    payload = run(
        client, platform_token, CREATE,
        input={**GOOD, "subdomain": "clinica1", "legalId": "123", "adminPassword": "1", "timezone": "Lima"},
    )  # fmt: skip
    assert payload["__typename"] == "OperationInfo"
    assert {(m["field"], m["code"]) for m in payload["messages"]} == {
        ("subdomain", "SUBDOMAIN_TAKEN"),
        ("legalId", "RUC_INVALID_FORMAT"),
        ("adminPassword", "INVALID_PASSWORD"),
        ("timezone", "INVALID_TIMEZONE"),
    }
    assert not Clinic.objects.filter(name="Sonrisas Felices").exists()


def test_create_clinic_says_which_check_digit_a_ruc_needs(client, platform_token):
    payload = run(client, platform_token, CREATE, input={**GOOD, "legalId": "20111222333"})
    assert payload["__typename"] == "OperationInfo"
    (message,) = payload["messages"]
    assert (message["field"], message["code"]) == ("legalId", "RUC_INVALID_CHECK_DIGIT")
    assert "should be 0 (20111222330)" in message["message"]
    assert not Clinic.objects.filter(name="Sonrisas Felices").exists()


def test_plan_change_up_and_down(client, platform_token):
    assert run(client, platform_token, CHANGE_PLAN, subdomain="clinica2", plan="ENTERPRISE") == {
        "__typename": "ManagedClinic",
        "plan": {"code": "ENTERPRISE"},
        "maxUsers": 50,
    }
    assert (
        run(client, platform_token, CHANGE_PLAN, subdomain="clinica2", plan="BASIC")["maxUsers"]
        == 5
    )


def test_a_downgrade_below_usage_is_refused_and_says_what_must_go(
    client, platform_token, clinic1, make_staff
):
    for _ in range(6):  # clinica1 (professional, 10) gets 7 active users
        make_staff(clinic1, Role.ASSISTANT)
    payload = run(client, platform_token, CHANGE_PLAN, subdomain="clinica1", plan="BASIC")
    assert operation_codes(payload) == ["PLAN_BELOW_USAGE"]
    message = payload["messages"][0]["message"]
    assert "remove 2 active users" in message
    assert "7 now" in message
    assert Clinic.objects.get(subdomain="clinica1").plan.code == "professional"


def test_unknown_subdomain_is_not_found(client, platform_token):
    payload = run(client, platform_token, CHANGE_PLAN, subdomain="nadie", plan="BASIC")
    assert operation_codes(payload) == ["NOT_FOUND"]


def test_suspend_then_reactivate(client, platform_token, clinic2, token_for):
    with tenant_context(clinic2):
        admin = User.objects.get(email="admin@clinica2.pe")
    token = token_for(clinic2, admin)

    payload = run(client, platform_token, SUSPEND, subdomain="clinica2", reason="Pago pendiente")
    assert payload == {
        "__typename": "ManagedClinic",
        "status": "SUSPENDED",
        "suspensionReason": "Pago pendiente",
    }

    response = client.post(
        "/graphql", data={"query": "{ me { email } }"}, content_type="application/json",
        HTTP_HOST="clinica2.localhost", HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip
    assert response.status_code == 403
    assert error_code(response.json()) == "CLINIC_SUSPENDED"
    response = client.post(
        "/graphql",
        data={
            "query": 'mutation { login(email: "admin@clinica2.pe", password: "x") { __typename } }'
        },
        content_type="application/json",
        HTTP_HOST="clinica2.localhost",
    )
    assert error_code(response.json()) == "CLINIC_SUSPENDED"

    assert operation_codes(
        run(client, platform_token, SUSPEND, subdomain="clinica2", reason="otra")
    ) == ["ALREADY_SUSPENDED"]
    assert run(client, platform_token, REACTIVATE, subdomain="clinica2")["status"] == "ACTIVE"
    # The data was kept: the same token works again.
    _, body = graphql(client, "{ me { email } }", host="clinica2.localhost", token=token)
    assert body == {"data": {"me": {"email": "admin@clinica2.pe"}}}
    assert operation_codes(run(client, platform_token, REACTIVATE, subdomain="clinica2")) == [
        "NOT_SUSPENDED"
    ]


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_suspension_needs_a_reason(client, platform_token, reason):
    payload = run(client, platform_token, SUSPEND, subdomain="clinica2", reason=reason)
    assert operation_codes(payload) == ["INVALID_REASON"]
    assert Clinic.objects.get(subdomain="clinica2").status == ClinicStatus.ACTIVE


def test_add_clinic_domain_routes_the_new_host(client, platform_token):
    payload = run(
        client, platform_token, ADD_DOMAIN, subdomain="clinica2", domain="Smile.localhost"
    )
    assert payload == {
        "__typename": "ManagedClinic",
        "domains": ["clinica2.localhost", "smile.localhost"],
    }
    _, body = graphql(client, "{ currentClinic { name } }", host="smile.localhost")
    assert body["data"]["currentClinic"]["name"] == "Dental Smile"


@pytest.mark.parametrize(
    ("domain", "code"),
    [
        ("clinica1.localhost", "DOMAIN_TAKEN"),
        ("localhost", "INVALID_DOMAIN"),
        ("bad_domain.localhost", "INVALID_DOMAIN"),
        ("-x.localhost", "INVALID_DOMAIN"),
        ("clinic.example.com", "DOMAIN_NOT_ALLOWED"),
        ("10.0.0.7", "DOMAIN_NOT_ALLOWED"),
        ("citas.clinica.local", "DOMAIN_NOT_ALLOWED"),
        ("intranet.internal", "DOMAIN_NOT_ALLOWED"),
    ],
)
def test_add_clinic_domain_rejects_bad_domains(client, platform_token, domain, code):
    before = Domain.objects.count()
    payload = run(client, platform_token, ADD_DOMAIN, subdomain="clinica2", domain=domain)
    assert operation_codes(payload) == [code]
    assert Domain.objects.count() == before


def test_clinics_lists_clinics_with_limits_and_usage(client, platform_token, clinic1, make_staff):
    make_staff(clinic1, Role.DENTIST)
    make_staff(clinic1, Role.DENTIST, active=False)
    data = run(client, platform_token, CLINICS, first=10)
    assert data["totalCount"] == 3
    nodes = {node["subdomain"]: node for node in (edge["node"] for edge in data["edges"])}
    assert set(nodes) == {"cerrada", "clinica1", "clinica2"}
    assert nodes["clinica1"]["usage"] == {"users": 2, "patients": 0}
    assert nodes["clinica1"]["plan"] == {"code": "PROFESSIONAL", "maxUsers": 10, "maxPatients": 100}
    assert nodes["cerrada"]["status"] == "SUSPENDED"


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"search": "smile"}, ["clinica2"]),
        ({"search": "clinica dental"}, ["clinica1"]),  # accent-insensitive: "Clínica"
        ({"search": "20504"}, ["clinica2"]),
        ({"status": "SUSPENDED"}, ["cerrada"]),
        ({"status": "ACTIVE"}, ["clinica1", "clinica2"]),
    ],
)
def test_clinics_search_and_status_filter(client, platform_token, variables, expected):
    data = run(client, platform_token, CLINICS, first=10, **variables)
    assert [edge["node"]["subdomain"] for edge in data["edges"]] == expected


QUERIES: list = []


def test_clinics_usage_costs_one_statement_for_the_whole_page(
    client, platform_token, django_assert_num_queries
):
    for index in range(3):
        run(
            client,
            platform_token,
            CREATE,
            input={**GOOD, "subdomain": f"extra{index}", "adminEmail": f"a{index}@x.pe"},
        )

    def count_for(first):
        with CaptureQueriesContext(connection) as captured:
            data = run(client, platform_token, CLINICS, first=first)
        assert len(data["edges"]) == first
        QUERIES[:] = [q["sql"][:150] for q in captured.captured_queries]
        return len(captured)

    # Creating clinics changed routing: the first ask looks the host up again (1), later ones
    # do not. Warm: the transaction's schema (public), token, page, domains, usage of the
    # page, count.
    assert count_for(1) == 7, "\n".join(QUERIES)
    assert count_for(1) == count_for(6) == 6, "\n".join(QUERIES)


def test_platform_actions_are_audited_in_the_public_schema(client, platform_token, platform_admin):
    run(client, platform_token, CHANGE_PLAN, subdomain="clinica2", plan="ENTERPRISE")
    run(client, platform_token, SUSPEND, subdomain="clinica2", reason="Pago pendiente")
    with schema_context("public"):
        events = list(AuditEvent.objects.filter(entity_type="tenants_core.clinic").order_by("id"))
    assert [e.action for e in events][-2:] == ["clinic.change_plan", "clinic.suspend"]
    assert events[-2].changes == {"plan": {"from": "basic", "to": "enterprise"}}
    assert events[-1].actor_id == platform_admin.pk


def test_a_custom_domain_is_served_as_soon_as_it_is_added(client, platform_token):
    """No host list to edit and no restart: the Domain table says which hosts are served."""
    _, body = graphql(client, "{ currentClinic { name } }", host="citas.dentalsmile.pe")
    assert error_code(body) == "UNKNOWN_HOST"
    payload = run(
        client, platform_token, ADD_DOMAIN, subdomain="clinica2", domain="Citas.DentalSmile.pe."
    )
    assert "citas.dentalsmile.pe" in payload["domains"]
    _, body = graphql(client, "{ currentClinic { name } }", host="citas.dentalsmile.pe")
    assert body["data"]["currentClinic"]["name"] == "Dental Smile"
