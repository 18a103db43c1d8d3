"""Backups over GraphQL: platform operators only, on the public domain only."""

from __future__ import annotations

import pytest
from django.test import override_settings

from tenants_core import backup_crypto, backups
from tenants_core.models import Clinic, ClinicBackup
from tests.conftest import TEST_PASSWORD, error_code, graphql, operation_codes

pytestmark = pytest.mark.django_db

BACKUP = """
mutation($s: String!) {
  backupClinic(subdomain: $s) {
    __typename
    ... on ClinicBackup { id subdomain sizeBytes sha256 keyId tables rows createdBy createdAt }
    ... on OperationInfo { messages { code field message } }
  }
}
"""
LIST = "query($s: String!) { clinicBackups(subdomain: $s) { id sizeBytes sha256 keyId } }"
RESTORE = """
mutation($s: String!, $b: ID!, $t: String!, $c: Boolean! = false) {
  restoreClinic(subdomain: $s, backupId: $b, targetSubdomain: $t, confirmOverwrite: $c) {
    __typename
    ... on ManagedClinic { subdomain name domains status }
    ... on OperationInfo { messages { code field message } }
  }
}
"""
LOGIN = """
mutation($e: String!, $p: String!) {
  login(email: $e, password: $p) { __typename ... on AuthToken { token } }
}
"""


def test_an_operator_backs_up_lists_and_restores_a_clinic(client, clinic2, platform_token):
    status, body = graphql(
        client, BACKUP, host="localhost", token=platform_token, variables={"s": "clinica2"}
    )
    made = body["data"]["backupClinic"]
    assert status == 200
    assert made["__typename"] == "ClinicBackup", body
    assert made["subdomain"] == "clinica2"
    assert made["createdBy"] == "root@platform.pe"
    assert made["sizeBytes"] > 0
    assert len(made["sha256"]) == 64
    assert made["keyId"] == backups.backup_keys().primary.key_id
    row = ClinicBackup.objects.get(id=made["id"])
    assert (backups.backup_dir() / row.file_name).stat().st_size == made["sizeBytes"]

    _, body = graphql(
        client, LIST, host="localhost", token=platform_token, variables={"s": "clinica2"}
    )
    assert body["data"]["clinicBackups"] == [
        {
            "id": made["id"],
            "sizeBytes": made["sizeBytes"],
            "sha256": made["sha256"],
            "keyId": made["keyId"],
        }
    ]

    _, body = graphql(
        client, RESTORE, host="localhost", token=platform_token,
        variables={"s": "clinica2", "b": made["id"], "t": "smile-respaldo"},
    )  # fmt: skip
    restored = body["data"]["restoreClinic"]
    assert restored == {
        "__typename": "ManagedClinic",
        "subdomain": "smile-respaldo",
        "name": "Dental Smile",
        "domains": ["smile-respaldo.localhost"],
        "status": "ACTIVE",
    }
    _, body = graphql(
        client, LOGIN, host="smile-respaldo.localhost",
        variables={"e": "admin@clinica2.pe", "p": TEST_PASSWORD},
    )  # fmt: skip
    assert body["data"]["login"]["__typename"] == "AuthToken"


def test_bad_input_gets_a_coded_error_and_changes_nothing(client, clinic2, platform_token):
    made = backups.clinic_backup_create(clinic=clinic2)
    clinics = Clinic.objects.count()
    cases = [
        ({"s": "no-existe"}, BACKUP, "NOT_FOUND"),
        ({"s": "clinica2", "b": "not-a-uuid", "t": "nueva"}, RESTORE, "BACKUP_NOT_FOUND"),
        ({"s": "clinica1", "b": str(made.id), "t": "nueva"}, RESTORE, "BACKUP_NOT_FOUND"),
        ({"s": "clinica2", "b": str(made.id), "t": "clinica1"}, RESTORE, "SUBDOMAIN_TAKEN"),
        ({"s": "clinica2", "b": str(made.id), "t": "clinica2"}, RESTORE, "CONFIRMATION_REQUIRED"),
        ({"s": "clinica2", "b": str(made.id), "t": "-mal-"}, RESTORE, "INVALID_SUBDOMAIN"),
    ]
    for variables, query, code in cases:
        status, body = graphql(
            client, query, host="localhost", token=platform_token, variables=variables
        )
        assert status == 200
        assert "errors" not in body, body
        payload = next(iter(body["data"].values()))
        assert operation_codes(payload) == [code], (variables, payload)
    assert Clinic.objects.count() == clinics
    assert ClinicBackup.objects.count() == 1


def test_backups_are_not_reachable_from_a_clinic_domain_or_a_clinic_token(
    client, clinic2, admin_token, token_for, public_tenant
):
    made = backups.clinic_backup_create(clinic=clinic2)
    for query, variables in [
        (BACKUP, {"s": "clinica2"}),
        (LIST, {"s": "clinica2"}),
        (RESTORE, {"s": "clinica2", "b": str(made.id), "t": "robada"}),
    ]:
        _, body = graphql(
            client, query, host="clinica1.localhost", token=admin_token, variables=variables
        )
        assert error_code(body) == "PUBLIC_DOMAIN_ONLY"
        # A clinic admin's token is no platform token, and a wrong token is nobody's.
        _, body = graphql(client, query, host="localhost", token=admin_token, variables=variables)
        assert error_code(body) == "UNAUTHENTICATED"
        _, body = graphql(client, query, host="localhost", token="wrong", variables=variables)
        assert error_code(body) == "UNAUTHENTICATED"
    assert ClinicBackup.objects.count() == 1
    assert not Clinic.objects.filter(subdomain="robada").exists()


def test_an_unknown_or_wrong_backup_key_is_a_coded_refusal(client, clinic2, platform_token):
    with override_settings(BACKUP_ENCRYPTION_KEYS=backup_crypto.generate_key("vieja")):
        made = backups.clinic_backup_create(clinic=clinic2)
    clinics = Clinic.objects.count()
    for keys, code in [
        (backup_crypto.generate_key("nueva"), "BACKUP_KEY_UNKNOWN"),
        (backup_crypto.generate_key("vieja"), "BACKUP_KEY_WRONG"),  # same id, other key
    ]:
        with override_settings(BACKUP_ENCRYPTION_KEYS=keys):
            status, body = graphql(
                client, RESTORE, host="localhost", token=platform_token,
                variables={"s": "clinica2", "b": str(made.id), "t": "con-otra-clave"},
            )  # fmt: skip
        assert status == 200
        assert "errors" not in body, body
        assert operation_codes(body["data"]["restoreClinic"]) == [code], body
    assert Clinic.objects.count() == clinics
    assert not Clinic.objects.filter(subdomain="con-otra-clave").exists()
