"""Every role against every operation, driven by the permission matrix read from the schema
(the same source as docs/permissions.md)."""

import pytest
from django.contrib.auth import get_user_model
from django_tenants.utils import schema_context, tenant_context
from strawberry.relay import to_base64

from backend.accounts.models import Role, User
from graphql_api.permission_docs import operation_rules
from tests.conftest import error_code, graphql

pytestmark = pytest.mark.django_db

# One call per operation. Variables may name "{target}", a StaffUser id made for the test.
CALLS = {
    "currentClinic": ("{ currentClinic { name } }", {}),
    "me": ("{ me { email } }", {}),
    "staff": ("{ staff(first: 5) { totalCount } }", {}),
    "auditEvents": ("{ auditEvents(first: 5) { totalCount } }", {}),
    "plans": ("{ plans { code } }", {}),
    "clinics": ("{ clinics(first: 5) { totalCount } }", {}),
    "login": (
        'mutation { login(email: "x@y.pe", password: "nope") { __typename } }',
        {},
    ),
    "logout": ("mutation { logout }", {}),
    "createStaffUser": (
        "mutation($input: CreateStaffUserInput!) { createStaffUser(input: $input) { __typename } }",
        {
            "input": {
                "email": "matrix@x.pe",
                "fullName": "M",
                "role": "ASSISTANT",
                "password": "Muy-segura-123",
            }
        },
    ),
    "changeStaffRole": (
        "mutation($id: ID!) { changeStaffRole(id: $id, role: RECEPTIONIST) { __typename } }",
        {"id": "{target}"},
    ),
    "deactivateStaffUser": (
        "mutation($id: ID!) { deactivateStaffUser(id: $id) { __typename } }",
        {"id": "{target}"},
    ),
    "createClinic": (
        "mutation($input: CreateClinicInput!) { createClinic(input: $input) { __typename } }",
        {
            "input": {
                "subdomain": "matriz",
                "name": "Matriz",
                "legalId": "20600000005",
                "email": "m@m.pe",
                "plan": "BASIC",
                "adminEmail": "a@m.pe",
                "adminPassword": "Muy-segura-123",
            }
        },
    ),
    "changeClinicPlan": (
        'mutation { changeClinicPlan(subdomain: "clinica2", plan: ENTERPRISE) { __typename } }',
        {},
    ),
    "suspendClinic": (
        'mutation { suspendClinic(subdomain: "clinica2", reason: "test") { __typename } }',
        {},
    ),
    "reactivateClinic": ('mutation { reactivateClinic(subdomain: "cerrada") { __typename } }', {}),
    "addClinicDomain": (
        'mutation { addClinicDomain(subdomain: "clinica2", domain: "smile.localhost") { __typename } }',
        {},
    ),
}
RULES = operation_rules()
CLINIC_RULES = [r for r in RULES if r.domain != "platform" and r.signed_in]
PLATFORM_RULES = [r for r in RULES if r.domain == "platform"]


def call(client, rule, host, token, target=None):
    query, variables = CALLS[rule.field]
    variables = {
        k: (to_base64("StaffUser", target.pk) if v == "{target}" else v)
        for k, v in variables.items()
    }
    status, body = graphql(client, query, host=host, token=token, variables=variables)
    assert status == 200, body
    return body


def test_every_operation_has_a_call_in_this_test():
    assert {rule.field for rule in RULES} == set(CALLS)


def test_every_clinic_operation_except_sign_in_needs_a_token_or_a_role():
    open_fields = {r.field for r in RULES if not r.signed_in and not r.platform_admin}
    assert open_fields == {"currentClinic", "login"}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("rule", CLINIC_RULES, ids=lambda r: r.operation)
def test_role_against_operation(client, clinic1, make_staff, token_for, role, rule):
    caller = make_staff(clinic1, role)
    make_staff(clinic1, Role.ADMIN)  # so that no call trips the last-admin rule
    target = make_staff(clinic1, Role.DENTIST)
    with tenant_context(clinic1):
        users_before = list(User.objects.order_by("pk").values_list("pk", "role", "is_active"))
    body = call(client, rule, "clinica1.localhost", token_for(clinic1, caller), target)

    if rule.allows(role):
        assert error_code(body) is None, body
    else:
        assert error_code(body) == "FORBIDDEN", body
        with tenant_context(clinic1):
            assert (
                list(User.objects.order_by("pk").values_list("pk", "role", "is_active"))
                == users_before
            )


@pytest.mark.parametrize("rule", CLINIC_RULES, ids=lambda r: r.operation)
def test_clinic_operations_without_a_token_are_unauthenticated(client, clinic1, make_staff, rule):
    target = make_staff(clinic1, Role.DENTIST)
    body = call(client, rule, "clinica1.localhost", None, target)
    assert error_code(body) == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    "rule", [r for r in CLINIC_RULES if r.domain == "clinic"], ids=lambda r: r.operation
)
def test_clinic_operations_answer_tenant_domain_only_on_the_platform(client, platform_token, rule):
    body = call(client, rule, "localhost", platform_token, target=User(pk=1))
    assert error_code(body) == "TENANT_DOMAIN_ONLY"


@pytest.mark.parametrize("rule", PLATFORM_RULES, ids=lambda r: r.operation)
def test_platform_operations_answer_public_domain_only_on_a_clinic(
    client, clinic1, admin_token, rule
):
    body = call(client, rule, "clinica1.localhost", admin_token)
    assert error_code(body) == "PUBLIC_DOMAIN_ONLY"


@pytest.mark.parametrize("rule", PLATFORM_RULES, ids=lambda r: r.operation)
def test_platform_operations_refuse_a_non_superuser(client, public_tenant, token_for, rule):
    with schema_context("public"):
        operator = get_user_model().objects.create_user(email="soporte@platform.pe", password="x")
    body = call(client, rule, "localhost", token_for(public_tenant, operator))
    assert error_code(body) == "FORBIDDEN"


@pytest.mark.parametrize("rule", PLATFORM_RULES, ids=lambda r: r.operation)
def test_platform_operations_without_a_token_are_unauthenticated(client, public_tenant, rule):
    body = call(client, rule, "localhost", None)
    assert error_code(body) == "UNAUTHENTICATED"


@pytest.mark.parametrize("rule", PLATFORM_RULES, ids=lambda r: r.operation)
def test_platform_operations_work_for_a_superuser(client, platform_token, rule):
    body = call(client, rule, "localhost", platform_token)
    assert error_code(body) is None, body
