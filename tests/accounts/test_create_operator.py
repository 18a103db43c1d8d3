"""``manage.py create_operator``: the platform's first operator on a new deployment, who then
signs in on the platform's domain (and only there)."""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tenants.utils import schema_context

from backend.accounts.models import User
from backend.audit.models import AuditEvent
from tenants_core import routing
from tenants_core.models import Clinic, Domain
from tests.conftest import graphql

LOGIN = """mutation($e: String!, $p: String!) { login(email: $e, password: $p) {
  __typename ... on AuthToken { token user { email } }
  ... on OperationInfo { messages { code } } } }"""
PLATFORM_CLINICS = "{ clinics(first: 1) { totalCount } }"


def _create(email: str, *extra: str) -> str:
    out = StringIO()
    call_command("create_operator", email, *extra, stdout=out)
    return out.getvalue()


def _password(output: str) -> str:
    match = re.search(r"password: (\S+)", output)
    assert match, output
    return match.group(1)


@pytest.mark.django_db(transaction=False)
def test_the_operator_signs_in_on_the_platform_domain_and_uses_the_operators_api(
    client: Any, clinic1: Clinic
):
    output = _create("Ops@Example.PE", "--name", "Ana Operadora")
    with schema_context("public"):
        user = User.objects.get(email="ops@example.pe")
        assert user.is_superuser
        assert user.full_name == "Ana Operadora"
        events = AuditEvent.objects.filter(action="platform.operator_create", entity_id=user.pk)
        assert [e.actor_email for e in events] == ["manage.py create_operator"]
    password = _password(output)
    assert password not in str(user.password)  # hashed

    status, body = graphql(
        client, LOGIN, host=settings.BASE_DOMAIN, variables={"e": "ops@example.pe", "p": password}
    )
    assert status == 200
    token = body["data"]["login"]["token"]
    status, body = graphql(client, PLATFORM_CLINICS, host=settings.BASE_DOMAIN, token=token)
    assert body["data"]["clinics"]["totalCount"] >= 1, body

    # An operator is no clinic's user: refused on a clinic's domain.
    host = f"{clinic1.subdomain}.{settings.BASE_DOMAIN}"
    status, body = graphql(
        client, LOGIN, host=host, variables={"e": "ops@example.pe", "p": password}
    )
    assert body["data"]["login"]["__typename"] == "OperationInfo"


@pytest.mark.django_db(transaction=False)
def test_the_platform_answers_on_the_current_base_domain(client: Any):
    """The first migration registers the platform's domain as BASE_DOMAIN was then; a
    deployment that set (or changed) BASE_DOMAIN afterwards would answer UNKNOWN_HOST on it,
    the operators' API and the health check included. Creating an operator registers it."""
    Domain.objects.filter(domain=settings.BASE_DOMAIN).delete()
    routing.invalidate()
    status, body = graphql(client, PLATFORM_CLINICS, host=settings.BASE_DOMAIN)
    assert status == 404
    assert body["errors"][0]["extensions"]["code"] == "UNKNOWN_HOST"

    _create("first@example.pe")
    assert Domain.objects.get(domain=settings.BASE_DOMAIN).tenant.schema_name == "public"
    status, body = graphql(
        client,
        LOGIN,
        host=settings.BASE_DOMAIN,
        variables={"e": "first@example.pe", "p": "wrong password"},
    )
    assert status == 200  # routed to the platform: the password is what is refused
    assert body["data"]["login"]["__typename"] == "OperationInfo"


@pytest.mark.django_db(transaction=False)
@pytest.mark.parametrize(
    ("email", "name", "problem"),
    [
        ("not-an-email", "Ana", "email: Enter a valid email address. [INVALID_EMAIL]"),
        ("ops2@example.pe", "", "full_name:"),
        ("x" * 250 + "@example.pe", "Ana", "[INVALID_EMAIL]"),
    ],
)
def test_bad_input_is_refused_with_its_code_and_creates_nothing(
    email: str, name: str, problem: str
):
    with schema_context("public"):
        before = User.objects.count()
    with pytest.raises(CommandError) as refused:
        _create(email, "--name", name)
    assert problem in str(refused.value)
    with schema_context("public"):
        assert User.objects.count() == before


@pytest.mark.django_db(transaction=False)
def test_an_email_already_taken_is_refused(platform_admin: User):
    with pytest.raises(CommandError, match=r"\[EMAIL_TAKEN\]"):
        _create(platform_admin.email.upper())
    with schema_context("public"):
        assert User.objects.filter(email__iexact=platform_admin.email).count() == 1
