"""The platform gives clinics their WhatsApp and SMS senders: public domain, platform
operators only, one sender per clinic and channel, one clinic per sender; audited in the
public schema's trail."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from tenants_core.models import Clinic, MessagingSender
from tests.conftest import error_code, graphql, operation_codes

pytestmark = pytest.mark.django_db

PUBLIC = "localhost"

SET = """mutation($s: String!, $c: MessagingChannel!, $e: String!, $d: String! = "") {
  setClinicMessagingSender(subdomain: $s, channel: $c, externalId: $e, displayNumber: $d) {
    __typename
    ... on ManagedClinic { subdomain messagingSenders { channel externalId displayNumber } }
    ... on OperationInfo { messages { code field } }
  } }"""
REMOVE = """mutation($s: String!, $c: MessagingChannel!) {
  removeClinicMessagingSender(subdomain: $s, channel: $c) {
    __typename
    ... on ManagedClinic { messagingSenders { channel } }
    ... on OperationInfo { messages { code field } }
  } }"""
CLINICS = """{ clinics(first: 10) { edges { node { subdomain
  messagingSenders { channel externalId } } } } }"""


def run(client, token, query, host=PUBLIC, **variables):
    status, body = graphql(client, query, host=host, token=token, variables=variables)
    assert status in (200, 400, 401, 403), body
    return body


def public_state():
    connection.set_schema_to_public()
    return (
        list(MessagingSender.objects.order_by("pk").values()),
        list(AuditEvent.objects.order_by("pk").values_list("pk", "action")),
    )


def test_operator_sets_replaces_and_removes_a_clinics_senders(client, platform_token):
    body = run(
        client, platform_token, SET, s="clinica1", c="WHATSAPP", e="109876543210",
        d="+51987654321",
    )  # fmt: skip
    assert body["data"]["setClinicMessagingSender"] == {
        "__typename": "ManagedClinic",
        "subdomain": "clinica1",
        "messagingSenders": [
            {"channel": "WHATSAPP", "externalId": "109876543210", "displayNumber": "+51987654321"}
        ],
    }
    run(client, platform_token, SET, s="clinica1", c="SMS", e="+51911111111")
    replaced = run(client, platform_token, SET, s="clinica1", c="WHATSAPP", e="555555555")
    senders = replaced["data"]["setClinicMessagingSender"]["messagingSenders"]
    assert sorted((s["channel"], s["externalId"]) for s in senders) == [
        ("SMS", "+51911111111"),
        ("WHATSAPP", "555555555"),
    ]
    connection.set_schema_to_public()
    clinic = Clinic.objects.get(subdomain="clinica1")
    assert MessagingSender.objects.filter(clinic=clinic).count() == 2
    listed = run(client, platform_token, CLINICS)["data"]["clinics"]["edges"]
    by_clinic = {e["node"]["subdomain"]: e["node"]["messagingSenders"] for e in listed}
    assert len(by_clinic["clinica1"]) == 2
    assert by_clinic["clinica2"] == []

    removed = run(client, platform_token, REMOVE, s="clinica1", c="SMS")
    assert removed["data"]["removeClinicMessagingSender"]["messagingSenders"] == [
        {"channel": "WHATSAPP"}
    ]
    connection.set_schema_to_public()
    actions = list(
        AuditEvent.objects.filter(action__contains="messaging_sender")
        .order_by("pk")
        .values_list("action", "entity_id")
    )
    assert actions == [
        ("clinic.set_messaging_sender", str(clinic.pk)),
        ("clinic.set_messaging_sender", str(clinic.pk)),
        ("clinic.set_messaging_sender", str(clinic.pk)),
        ("clinic.remove_messaging_sender", str(clinic.pk)),
    ]


def test_a_sender_belongs_to_one_clinic(client, platform_token):
    run(client, platform_token, SET, s="clinica1", c="SMS", e="+51911111111")
    before = public_state()
    body = run(client, platform_token, SET, s="clinica2", c="SMS", e="+51911111111")
    assert operation_codes(body["data"]["setClinicMessagingSender"]) == ["SENDER_TAKEN"]
    assert public_state() == before
    # the same id on the other channel is another sender
    other = run(client, platform_token, SET, s="clinica2", c="WHATSAPP", e="51911111111")
    assert other["data"]["setClinicMessagingSender"]["__typename"] == "ManagedClinic"


@pytest.mark.parametrize(
    ("subdomain", "channel", "external_id", "display", "code"),
    [
        ("clinica1", "SMS", "987654321", "", "INVALID_SENDER"),  # not E.164
        ("clinica1", "WHATSAPP", "+51987654321", "", "INVALID_SENDER"),  # an id is digits
        ("clinica1", "WHATSAPP", "", "", "INVALID_SENDER"),
        ("clinica1", "WHATSAPP", "1098765432", "987", "INVALID_SENDER"),
        ("nadie", "SMS", "+51911111111", "", "NOT_FOUND"),
    ],
)
def test_bad_senders_are_coded_and_change_nothing(
    client, platform_token, subdomain, channel, external_id, display, code
):
    before = public_state()
    body = run(client, platform_token, SET, s=subdomain, c=channel, e=external_id, d=display)
    assert operation_codes(body["data"]["setClinicMessagingSender"]) == [code]
    assert public_state() == before


def test_removing_a_sender_the_clinic_lacks_is_sender_not_found(client, platform_token):
    before = public_state()
    body = run(client, platform_token, REMOVE, s="clinica1", c="WHATSAPP")
    assert operation_codes(body["data"]["removeClinicMessagingSender"]) == ["SENDER_NOT_FOUND"]
    assert public_state() == before


def test_only_platform_operators_on_the_public_domain(
    client, clinic1, admin_token, make_staff, token_for, platform_token
):
    before = public_state()
    variables = {"s": "clinica1", "c": "SMS", "e": "+51911111111"}
    assert error_code(run(client, None, SET, **variables)) == "UNAUTHENTICATED"
    assert error_code(run(client, "bogus", SET, **variables)) == "UNAUTHENTICATED"
    # a clinic's admin, on the clinic's domain and on the platform's
    assert error_code(run(client, admin_token, SET, "clinica1.localhost", **variables)) == (
        "PUBLIC_DOMAIN_ONLY"
    )
    assert error_code(run(client, admin_token, SET, **variables)) == "UNAUTHENTICATED"
    # a clinic superuser is no platform operator
    boss = make_staff(clinic1, Role.ADMIN, is_superuser=True)
    assert (
        error_code(run(client, token_for(clinic1, boss), SET, "clinica1.localhost", **variables))
        == "PUBLIC_DOMAIN_ONLY"
    )
    assert error_code(run(client, platform_token, REMOVE, "clinica1.localhost", s="clinica1",
                          c="SMS")) == "PUBLIC_DOMAIN_ONLY"  # fmt: skip
    assert public_state() == before


def test_listing_clinics_with_their_senders_costs_the_same_for_one_and_many(client, platform_token):
    for subdomain, number in (("clinica1", "+51911111111"), ("clinica2", "+51922222222")):
        run(client, platform_token, SET, s=subdomain, c="SMS", e=number)
    document = """query($first: Int) { clinics(first: $first) { edges { node { subdomain
      messagingSenders { channel externalId } } } } }"""

    def count(first):
        with CaptureQueriesContext(connection) as captured:
            body = run(client, platform_token, document, first=first)
        return len(captured), body["data"]["clinics"]["edges"]

    count(1)  # warm the routing
    one, edges_one = count(1)
    many, edges_many = count(10)
    assert len(edges_many) > len(edges_one) == 1
    senders = {e["node"]["subdomain"]: e["node"]["messagingSenders"] for e in edges_many}
    assert senders["clinica2"] == [{"channel": "SMS", "externalId": "+51922222222"}]
    assert one == many
