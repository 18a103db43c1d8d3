"""Sentry (optional, ``SENTRY_DSN``): a masked ``INTERNAL_ERROR`` is reported with the request
id and the clinic, and the event that leaves the machine carries no patient data: no request
body, no GraphQL variables, no local variables, no SQL or its parameters, no token, no email,
and no exception message (a database error's ``DETAIL`` quotes the row)."""

from __future__ import annotations

import json
from typing import Any

from django.db import connection

from backend.observability import sentry
from backend.patients.models import Patient
from devtools.processes import production_secrets
from tests.conftest import http_login, running_uvicorn
from tests.observability.capture_server import running_capture_server

SUBDOMAIN = "sentry-scrub"
HOST = f"{SUBDOMAIN}.localhost"
FIRST, LAST = "Zacarías", "Quispe-Huamán"
DNI = "71234568"
PHONE = "+51 987 654 321"
PATIENT_EMAIL = "zacarias.quispe@correo.pe"
CREATE_PATIENT = """
mutation CreatePatientForSentry($input: CreatePatientInput!) {
  createPatient(input: $input) { __typename ... on Patient { id } }
}
"""


def _break_patient_inserts(clinic: Any, django_db_blocker: Any) -> None:
    """Every insert of a patient in this clinic (the test's own) fails inside PostgreSQL with
    a message and a DETAIL quoting the row, as a unique violation's would."""
    table = f'"{clinic.schema_name}"."{Patient._meta.db_table}"'
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            CREATE FUNCTION "{clinic.schema_name}".break_insert() RETURNS trigger AS $$
            BEGIN
              RAISE EXCEPTION 'cannot store patient % %', NEW.first_name, NEW.last_name
                USING DETAIL = format('Key (document_number)=(%s), phone (%s), email (%s)',
                                      NEW.document_number, NEW.phone, NEW.email),
                      ERRCODE = 'XX000';
            END $$ LANGUAGE plpgsql;
            CREATE TRIGGER break_insert BEFORE INSERT ON {table}
              FOR EACH ROW EXECUTE FUNCTION "{clinic.schema_name}".break_insert();
            """
        )


# The patient whose registration the broken trigger refuses, quoting them.
PATIENT_INPUT = {
    "firstName": FIRST, "lastName": LAST, "documentType": "DNI",
    "documentNumber": DNI, "phone": PHONE, "email": PATIENT_EMAIL,
    "notes": "alergia a la penicilina",
}  # fmt: skip


def test_a_masked_internal_error_reaches_sentry_without_patient_data(
    django_db_blocker, committed_clinic
):
    clinic = committed_clinic(SUBDOMAIN)
    _break_patient_inserts(clinic, django_db_blocker)
    variables = {"input": PATIENT_INPUT}
    with (
        running_capture_server() as fake,
        running_uvicorn(
            django_db_blocker,
            env={"DEBUG": "0", **production_secrets(), "SENTRY_DSN": fake.dsn},
        ) as server,
    ):
        admin_email = f"admin@{SUBDOMAIN}.pe"
        token = http_login(server, HOST, admin_email)["token"]
        response = server.post(
            HOST,
            {"query": CREATE_PATIENT, "variables": variables},
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-sentry-scrub-1"},
        )
        (error,) = response.json()["errors"]
        assert error["extensions"] == {"code": "INTERNAL_ERROR", "requestId": "req-sentry-scrub-1"}
        assert DNI not in response.text
        envelope = fake.wait_for(b"req-sentry-scrub-1")

    text = envelope.decode()
    events = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    (event,) = [e for e in events if "exception" in e]
    assert event["tags"]["request_id"] == "req-sentry-scrub-1"
    assert event["tags"]["clinic"] == SUBDOMAIN
    assert event["tags"]["operation"] == "CreatePatientForSentry"
    assert event["tags"]["db.sqlstate"] == "XX000"
    types = [value["type"] for value in event["exception"]["values"]]
    assert "InternalError" in types, types
    assert all(value["value"] == sentry.SCRUBBED for value in event["exception"]["values"])
    assert event["exception"]["values"][-1]["stacktrace"]["frames"]  # still useful
    assert not {"request", "user", "breadcrumbs", "extra"} & event.keys()
    # Nothing of the patient, the variables, the SQL, the token or the users, anywhere in
    # what was sent (the JSON escapes non-ASCII: compare decoded strings too). Our source
    # lines around each frame stay: code, not data.
    decoded = json.dumps(events, ensure_ascii=False)
    for secret in (
        FIRST, LAST, "Quispe", DNI, PHONE, "987 654", PATIENT_EMAIL, "penicilina",
        token, admin_email, "INSERT INTO", "Key (", "cannot store patient",
    ):  # fmt: skip
        assert secret not in text, secret
        assert secret not in decoded, secret


def test_the_scrubber_keeps_only_the_allowed_fields():
    event = {
        "event_id": "e1",
        "level": "error",
        "request": {"data": '{"variables": {"dni": "71234568"}}', "cookies": "sessionid=x"},
        "user": {"email": "admin@clinica1.pe"},
        "breadcrumbs": {"values": [{"category": "query", "data": {"params": ["71234568"]}}]},
        "extra": {"sys.argv": ["x"]},
        "logentry": {"message": "patient 71234568"},
        "contexts": {"runtime": {"name": "CPython"}, "graphql": {"variables": "71234568"}},
        "tags": {"request_id": "r1"},
        "exception": {
            "values": [
                {
                    "type": "IntegrityError",
                    "value": "DETAIL: Key (dni)=(71234568) already exists.",
                    "stacktrace": {
                        "frames": [{"function": "f", "lineno": 3, "vars": {"dni": "71234568"}}]
                    },
                }
            ]
        },
    }
    scrubbed = sentry.scrub(event, {})
    assert "71234568" not in json.dumps(scrubbed)
    assert "admin@clinica1.pe" not in json.dumps(scrubbed)
    assert scrubbed["tags"] == {"request_id": "r1"}
    assert scrubbed["contexts"] == {"runtime": {"name": "CPython"}}
    assert scrubbed["exception"]["values"][0]["type"] == "IntegrityError"
    assert scrubbed["exception"]["values"][0]["stacktrace"]["frames"] == [
        {"function": "f", "lineno": 3}
    ]


def test_sentry_is_off_without_a_dsn():
    import sentry_sdk

    assert not sentry.enabled()
    assert not sentry_sdk.get_client().is_active()
