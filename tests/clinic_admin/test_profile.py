"""The clinic's profile, opening hours and closures through GraphQL: read by anyone on the
clinic's domain, changed by its admins only; each change audited, each refusal coded and
changing nothing, another clinic's rows never reachable."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from backend.audit.models import AuditEvent
from backend.clinic_admin.models import ClinicClosure, ClinicProfile, OpeningShift
from tenants_core.models import Clinic
from tests.clinic_admin.conftest import HOST2, PUBLIC, ask
from tests.conftest import error_code, operation_codes
from tests.dates import MONDAY, clinic_today
from tests.ids import global_id

pytestmark = pytest.mark.django_db

CLINIC = """query($from: Date, $to: Date) { currentClinic { name timezone legalId
  profile { legalName addressLine reference department province district ubigeo phone whatsapp
            email website currency defaultAppointmentMinutes description updatedAt }
  openingHours { weekday opensAt closesAt }
  closures(from: $from, to: $to) { id startsOn endsOn reason } } }"""

UPDATE = """mutation($input: UpdateClinicProfileInput!) { updateClinicProfile(input: $input) {
  __typename ... on Clinic { name timezone profile { legalName ubigeo phone whatsapp website
  currency defaultAppointmentMinutes description } }
  ... on OperationInfo { messages { code field message } } } }"""

SET_HOURS = """mutation($input: SetOpeningHoursInput!) { setOpeningHours(input: $input) {
  __typename ... on Clinic { openingHours { weekday opensAt closesAt } }
  ... on OperationInfo { messages { code field } } } }"""

ADD_CLOSURE = """mutation($input: ClinicClosureInput!) { addClinicClosure(input: $input) {
  __typename ... on ClinicClosure { id startsOn endsOn reason }
  ... on OperationInfo { messages { code field } } } }"""

REMOVE_CLOSURE = """mutation($id: ID!) { removeClinicClosure(id: $id) {
  __typename ... on Clinic { closures { id } }
  ... on OperationInfo { messages { code field } } } }"""

SPLIT_WEEK = [
    *(
        {"weekday": day, "opensAt": opens, "closesAt": closes}
        for day in ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY")
        for opens, closes in (("09:00", "13:00"), ("15:00", "20:00"))
    ),
    {"weekday": "SATURDAY", "opensAt": "09:00", "closesAt": "13:00"},
]


def state(clinic) -> tuple[Any, ...]:
    """Everything these mutations may write, to prove a refusal wrote nothing."""
    connection.set_schema_to_public()
    public = Clinic.objects.values_list("name", "timezone", "legal_id").get(pk=clinic.pk)
    with tenant_context(clinic):
        return (
            public,
            list(ClinicProfile.objects.values()),
            list(OpeningShift.objects.order_by("pk").values()),
            list(ClinicClosure.objects.order_by("pk").values()),
            AuditEvent.objects.count(),
        )


def trail(clinic) -> list[tuple[str, str]]:
    with tenant_context(clinic):
        return list(AuditEvent.objects.order_by("pk").values_list("action", "entity_type"))


def test_a_new_clinic_has_an_empty_profile_and_no_hours(client, clinic1):
    clinic = ask(client, CLINIC)["data"]["currentClinic"]
    assert clinic["profile"]["legalName"] == ""
    assert clinic["profile"]["currency"] == "PEN"
    assert clinic["profile"]["defaultAppointmentMinutes"] == 30
    assert clinic["openingHours"] == []
    assert clinic["closures"] == []
    assert clinic["legalId"] == clinic1.legal_id != ""


def test_the_admin_updates_only_the_fields_given_and_it_is_audited(client, clinic1, tokens):
    body = ask(client, UPDATE, tokens["ADMIN"], input={
        "name": "Sonrisas Miraflores", "timezone": "America/Bogota",
        "legalName": "Sonrisas S.A.C.", "ubigeo": "150122", "phone": "01 421 1234",
        "whatsapp": "987 654 321", "website": "https://sonrisas.pe", "currency": "usd",
        "defaultAppointmentMinutes": 45, "description": "Odontología integral.\nNiños y adultos.",
    })["data"]["updateClinicProfile"]  # fmt: skip
    assert body == {
        "__typename": "Clinic",
        "name": "Sonrisas Miraflores",
        "timezone": "America/Bogota",
        "profile": {
            "legalName": "Sonrisas S.A.C.", "ubigeo": "150122", "phone": "+5114211234",
            "whatsapp": "+51987654321", "website": "https://sonrisas.pe", "currency": "USD",
            "defaultAppointmentMinutes": 45,
            "description": "Odontología integral.\nNiños y adultos.",
        },
    }  # fmt: skip
    # A second, partial update leaves the rest as it was.
    again = ask(client, UPDATE, tokens["ADMIN"], input={"phone": ""})["data"]
    assert again["updateClinicProfile"]["profile"]["phone"] == ""
    assert again["updateClinicProfile"]["profile"]["whatsapp"] == "+51987654321"
    assert again["updateClinicProfile"]["name"] == "Sonrisas Miraflores"
    connection.set_schema_to_public()
    stored = Clinic.objects.get(pk=clinic1.pk)
    assert (stored.name, stored.timezone, stored.legal_id) == (
        "Sonrisas Miraflores", "America/Bogota", clinic1.legal_id,
    )  # fmt: skip
    actions = trail(clinic1)
    assert actions.count(("clinic_profile.update", "clinic_admin.clinicprofile")) == 2
    assert ("clinic.update_identity", "tenants_core.clinic") in actions
    with tenant_context(clinic1):
        event = AuditEvent.objects.filter(action="clinic_profile.update").earliest("pk")
    assert event.changes["ubigeo"] == {"from": "", "to": "150122"}
    assert event.changes["currency"] == {"from": "PEN", "to": "USD"}
    assert "name" not in event.changes  # the public row's change is its own event


BAD_PROFILES = [
    ({"timezone": "America/Atlantis"}, "INVALID_TIMEZONE", "timezone"),
    ({"timezone": None}, "INVALID_TIMEZONE", "timezone"),
    ({"name": "  "}, "INVALID_NAME", "name"),
    ({"name": "Sonrisas\x07"}, "INVALID_NAME", "name"),
    ({"name": "x" * 201}, "INVALID_NAME", "name"),
    ({"ubigeo": "260101"}, "INVALID_UBIGEO", "ubigeo"),
    ({"ubigeo": "15012"}, "INVALID_UBIGEO", "ubigeo"),
    ({"ubigeo": "00101a"}, "INVALID_UBIGEO", "ubigeo"),
    ({"phone": "12"}, "INVALID_PHONE", "phone"),
    ({"whatsapp": "+51 98765"}, "INVALID_PHONE", "whatsapp"),
    ({"email": "no-at-sign"}, "INVALID_EMAIL", "email"),
    ({"website": "ftp://sonrisas.pe"}, "INVALID_URL", "website"),
    ({"website": "javascript:alert(1)"}, "INVALID_URL", "website"),
    ({"currency": "XYZ"}, "INVALID_CURRENCY", "currency"),
    ({"defaultAppointmentMinutes": 7}, "INVALID_DURATION", "defaultAppointmentMinutes"),
    ({"defaultAppointmentMinutes": 485}, "INVALID_DURATION", "defaultAppointmentMinutes"),
    ({"defaultAppointmentMinutes": None}, "INVALID_DURATION", "defaultAppointmentMinutes"),
    ({"description": "x" * 1001}, "TOO_LONG", "description"),
    ({"legalName": "Sonrisas\nS.A.C."}, "INVALID_TEXT", "legalName"),
    # Invisible format characters: a right-to-left override could make the address in a
    # patient's message read otherwise; a zero-width space hides in the name.
    ({"addressLine": "Av. Larco 123\u202e321"}, "INVALID_TEXT", "addressLine"),
    ({"legalName": "Sonrisas\u200bS.A.C."}, "INVALID_TEXT", "legalName"),
    ({"description": "Hola\u2066mundo"}, "INVALID_TEXT", "description"),
    ({"name": "Sonrisas\u202e"}, "INVALID_NAME", "name"),
]


@pytest.mark.parametrize(("fields", "code", "field"), BAD_PROFILES)
def test_bad_profile_input_is_coded_and_changes_nothing(
    client, clinic1, tokens, fields, code, field
):
    before = state(clinic1)
    # With a valid field alongside: nothing of it is written either.
    payload = ask(client, UPDATE, tokens["ADMIN"], input={"legalName": "Nueva", "name": "Otra",
                                                           **fields})  # fmt: skip
    result = payload["data"]["updateClinicProfile"]
    assert result["__typename"] == "OperationInfo", result
    assert (result["messages"][0]["code"], result["messages"][0]["field"]) == (code, field)
    assert state(clinic1) == before


def test_every_bad_field_is_reported_at_once_name_and_zone_included(client, clinic1, tokens):
    """A form shows all its errors together: the trade name and time zone (the clinic's public
    row) are checked with the profile's own fields, before anything is written."""
    before = state(clinic1)
    payload = ask(client, UPDATE, tokens["ADMIN"], input={
        "name": " ", "timezone": "America/Atlantis", "phone": "123", "ubigeo": "99",
    })["data"]["updateClinicProfile"]  # fmt: skip
    assert sorted((m["field"], m["code"]) for m in payload["messages"]) == [
        ("name", "INVALID_NAME"), ("phone", "INVALID_PHONE"),
        ("timezone", "INVALID_TIMEZONE"), ("ubigeo", "INVALID_UBIGEO"),
    ]  # fmt: skip
    assert state(clinic1) == before


def test_opening_hours_replace_the_week_in_order_and_are_audited(client, clinic1, tokens):
    first = ask(client, SET_HOURS, tokens["ADMIN"], input={"shifts": list(reversed(SPLIT_WEEK))})
    hours = first["data"]["setOpeningHours"]["openingHours"]
    assert len(hours) == 11
    assert hours[:3] == [
        {"weekday": "MONDAY", "opensAt": "09:00:00", "closesAt": "13:00:00"},
        {"weekday": "MONDAY", "opensAt": "15:00:00", "closesAt": "20:00:00"},
        {"weekday": "TUESDAY", "opensAt": "09:00:00", "closesAt": "13:00:00"},
    ]
    assert hours[-1] == {"weekday": "SATURDAY", "opensAt": "09:00:00", "closesAt": "13:00:00"}
    sunday = {"weekday": "SUNDAY", "opensAt": "10:00", "closesAt": "12:00"}
    second = ask(client, SET_HOURS, tokens["ADMIN"], input={"shifts": [sunday]})
    assert second["data"]["setOpeningHours"]["openingHours"] == [
        {"weekday": "SUNDAY", "opensAt": "10:00:00", "closesAt": "12:00:00"}
    ]
    with tenant_context(clinic1):
        assert list(OpeningShift.objects.values_list("weekday", flat=True)) == [7]
        events = list(AuditEvent.objects.filter(action="clinic.set_opening_hours").order_by("pk"))
    assert len(events) == 2
    assert events[1].changes["shifts"]["to"] == ["7 10:00-12:00"]
    assert "1 09:00-13:00" in events[1].changes["shifts"]["from"]
    # Touching shifts (13:00 closes, 13:00 opens) do not overlap.
    touching = [{"weekday": "MONDAY", "opensAt": "09:00", "closesAt": "13:00"},
                {"weekday": "MONDAY", "opensAt": "13:00", "closesAt": "14:00"}]  # fmt: skip
    assert ask(client, SET_HOURS, tokens["ADMIN"], input={"shifts": touching})["data"][
        "setOpeningHours"]["__typename"] == "Clinic"  # fmt: skip


@pytest.mark.parametrize(
    ("shifts", "code"),
    [
        ([{"weekday": "MONDAY", "opensAt": "09:00", "closesAt": "13:00"},
          {"weekday": "MONDAY", "opensAt": "12:30", "closesAt": "18:00"}], "SHIFT_OVERLAP"),
        ([{"weekday": "MONDAY", "opensAt": "09:00", "closesAt": "13:00"},
          {"weekday": "MONDAY", "opensAt": "10:00", "closesAt": "11:00"}], "SHIFT_OVERLAP"),
        ([{"weekday": "FRIDAY", "opensAt": "13:00", "closesAt": "09:00"}], "INVALID_TIME_RANGE"),
        ([{"weekday": "FRIDAY", "opensAt": "09:00", "closesAt": "09:00"}], "INVALID_TIME_RANGE"),
        ([{"weekday": "FRIDAY", "opensAt": "09:00", "closesAt": "10:00"}] * 51, "TOO_MANY_SHIFTS"),
    ],
)  # fmt: skip
def test_bad_opening_hours_are_coded_and_keep_the_week(client, clinic1, tokens, shifts, code):
    ask(client, SET_HOURS, tokens["ADMIN"], input={"shifts": SPLIT_WEEK})
    before = state(clinic1)
    result = ask(client, SET_HOURS, tokens["ADMIN"], input={"shifts": shifts})["data"][
        "setOpeningHours"
    ]
    assert operation_codes(result) == [code]
    assert state(clinic1) == before


def test_closures_are_added_listed_by_range_removed_and_audited(client, clinic1, tokens):
    holiday = MONDAY + dt.timedelta(days=2)
    added = ask(client, ADD_CLOSURE, tokens["ADMIN"], input={
        "startsOn": holiday.isoformat(), "endsOn": holiday.isoformat(), "reason": "Feriado",
    })["data"]["addClinicClosure"]  # fmt: skip
    assert added["startsOn"] == added["endsOn"] == holiday.isoformat()
    far = clinic_today() + dt.timedelta(days=400)
    ask(
        client,
        ADD_CLOSURE,
        tokens["ADMIN"],
        input={"startsOn": far.isoformat(), "endsOn": (far + dt.timedelta(days=6)).isoformat()},
    )
    # Default: from today for 365 days; the far one only when asked for.
    default = ask(client, CLINIC)["data"]["currentClinic"]["closures"]
    assert [c["reason"] for c in default] == ["Feriado"]
    later = ask(
        client,
        CLINIC,
        **{
            "from": (far + dt.timedelta(days=3)).isoformat(),
            "to": (far + dt.timedelta(days=30)).isoformat(),
        },
    )
    assert [c["startsOn"] for c in later["data"]["currentClinic"]["closures"]] == [far.isoformat()]
    removed = ask(client, REMOVE_CLOSURE, tokens["ADMIN"], id=added["id"])["data"]
    assert removed["removeClinicClosure"]["closures"] == []
    with tenant_context(clinic1):
        assert ClinicClosure.objects.count() == 1
    actions = trail(clinic1)
    assert actions.count(("clinic.add_closure", "clinic_admin.clinicclosure")) == 2
    assert ("clinic.remove_closure", "clinic_admin.clinicclosure") in actions


def test_a_closure_list_range_is_bounded(client):
    body = ask(client, CLINIC, **{"from": "2030-01-01", "to": "2029-01-01"})
    assert error_code(body) == "INVALID_DATE_RANGE"
    body = ask(client, CLINIC, **{"from": "2030-01-01", "to": "2040-01-01"})
    assert error_code(body) == "INVALID_DATE_RANGE"
    # Anonymous readers once got a 500 (OverflowError) for a date near the end of the calendar.
    for far in ({"from": "9999-06-01"}, {"from": "9999-12-31"}, {"to": "9999-12-31"}):
        assert error_code(ask(client, CLINIC, **far)) == "INVALID_DATE_RANGE"


@pytest.mark.parametrize(
    ("closure", "code", "field"),
    [
        ({"startsOn": "2031-05-02", "endsOn": "2031-05-01"}, "INVALID_DATE_RANGE", "endsOn"),
        ({"startsOn": "1999-12-31", "endsOn": "2000-01-01"}, "INVALID_DATE_RANGE", "startsOn"),
        ({"startsOn": "2031-01-01", "endsOn": "2032-06-01"}, "INVALID_DATE_RANGE", "endsOn"),
        ({"startsOn": "2031-01-01", "endsOn": "2031-01-01", "reason": "x" * 201}, "TOO_LONG",
         "reason"),
    ],
)  # fmt: skip
def test_bad_closures_are_coded_and_change_nothing(client, clinic1, tokens, closure, code, field):
    before = state(clinic1)
    result = ask(client, ADD_CLOSURE, tokens["ADMIN"], input=closure)["data"]["addClinicClosure"]
    assert [(m["code"], m["field"]) for m in result["messages"]] == [(code, field)]
    assert state(clinic1) == before


def test_removing_an_unknown_or_another_clinics_closure_is_not_found(
    client, clinic1, clinic2, tokens
):
    with tenant_context(clinic2):
        theirs = ClinicClosure.objects.create(
            starts_on=dt.date(2031, 1, 1), ends_on=dt.date(2031, 1, 1), reason="Suyo"
        )
    before, before2 = state(clinic1), state(clinic2)
    for closure_id in (
        global_id("ClinicClosure", theirs.pk, clinic2),  # as clinic2 answers it
        global_id("ClinicClosure", theirs.pk),  # its pk with clinic1's key
        global_id("ClinicClosure", 999_999),
        global_id("Patient", 1),
    ):
        result = ask(client, REMOVE_CLOSURE, tokens["ADMIN"], id=closure_id)
        assert operation_codes(result["data"]["removeClinicClosure"]) == ["NOT_FOUND"]
    assert error_code(ask(client, REMOVE_CLOSURE, tokens["ADMIN"], id="not-an-id")) == (
        "INVALID_ID"
    )
    assert (state(clinic1), state(clinic2)) == (before, before2)


def test_another_clinics_profile_hours_and_closures_are_never_seen(client, clinic1, tokens):
    ask(client, UPDATE, tokens["ADMIN"], input={"legalName": "Solo Clínica Uno S.A.C."})
    ask(client, SET_HOURS, tokens["ADMIN"], input={"shifts": SPLIT_WEEK})
    ask(client, ADD_CLOSURE, tokens["ADMIN"], input={
        "startsOn": (MONDAY + dt.timedelta(days=2)).isoformat(),
        "endsOn": (MONDAY + dt.timedelta(days=2)).isoformat()})  # fmt: skip
    other = ask(client, CLINIC, host=HOST2)["data"]["currentClinic"]
    assert other["profile"]["legalName"] == ""
    assert other["openingHours"] == []
    assert other["closures"] == []
    mine = ask(client, CLINIC)["data"]["currentClinic"]
    assert mine["profile"]["legalName"] == "Solo Clínica Uno S.A.C."
    assert len(mine["openingHours"]) == 11
    assert len(mine["closures"]) == 1


def test_the_platform_domain_has_no_current_clinic(client):
    assert error_code(ask(client, CLINIC, host=PUBLIC)) == "TENANT_DOMAIN_ONLY"


def _calls(clinic1) -> list[tuple[str, str, dict[str, Any]]]:
    with tenant_context(clinic1):
        closure = ClinicClosure.objects.create(
            starts_on=dt.date(2031, 1, 1), ends_on=dt.date(2031, 1, 2)
        )
    return [
        ("updateClinicProfile", UPDATE, {"input": {"name": "Hackeada", "phone": "987654321"}}),
        ("setOpeningHours", SET_HOURS, {"input": {"shifts": SPLIT_WEEK}}),
        ("addClinicClosure", ADD_CLOSURE,
         {"input": {"startsOn": "2031-02-01", "endsOn": "2031-02-01"}}),
        ("removeClinicClosure", REMOVE_CLOSURE, {"id": global_id("ClinicClosure", closure.pk)}),
    ]  # fmt: skip


def test_every_mutation_needs_an_admin_token_of_this_clinic_and_changes_nothing(
    client, clinic1, clinic2, tokens, token_for, make_staff
):
    calls = _calls(clinic1)
    before, before2 = state(clinic1), state(clinic2)
    clinic2_admin = token_for(clinic2, make_staff(clinic2, "ADMIN"))
    for name, document, variables in calls:
        for role in ("DENTIST", "ASSISTANT", "RECEPTIONIST"):
            assert error_code(ask(client, document, tokens[role], **variables)) == "FORBIDDEN"
        assert error_code(ask(client, document, None, **variables)) == "UNAUTHENTICATED", name
        assert error_code(ask(client, document, "wrong", **variables)) == "UNAUTHENTICATED"
        # Another clinic's admin token is no token here.
        assert error_code(ask(client, document, clinic2_admin, **variables)) == ("UNAUTHENTICATED")
        assert error_code(ask(client, document, None, PUBLIC, **variables)) == (
            "TENANT_DOMAIN_ONLY"
        )
    assert (state(clinic1), state(clinic2)) == (before, before2)


def test_the_clinic_queries_cost_the_same_statements_for_few_and_many_rows(
    client, clinic1, django_assert_num_queries
):
    def run() -> dict[str, Any]:
        return ask(client, CLINIC, **{"from": "2031-01-01", "to": "2031-12-31"})

    run()  # warm the routing cache
    with django_assert_num_queries(4):  # SET to the clinic, profile, hours, closures
        few = run()["data"]["currentClinic"]
    with tenant_context(clinic1):
        OpeningShift.objects.bulk_create(
            OpeningShift(weekday=day, opens_at=dt.time(hour), closes_at=dt.time(hour, 30))
            for day in range(1, 8) for hour in range(6, 20)
        )  # fmt: skip
        ClinicClosure.objects.bulk_create(
            ClinicClosure(starts_on=dt.date(2031, 1, 1) + dt.timedelta(days=3 * i),
                          ends_on=dt.date(2031, 1, 1) + dt.timedelta(days=3 * i))
            for i in range(100)
        )  # fmt: skip
    with django_assert_num_queries(4):
        many = run()["data"]["currentClinic"]
    assert (len(few["openingHours"]), len(few["closures"])) == (0, 0)
    assert (len(many["openingHours"]), len(many["closures"])) == (98, 100)
