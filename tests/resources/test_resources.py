"""Professionals (hours, time off, user link) and chairs."""

import datetime as dt

import pytest
from django_tenants.utils import tenant_context

from backend.accounts.models import Role
from backend.resources.models import Chair, Professional, TimeOff
from tests.conftest import graphql
from tests.dates import MONDAY, lima
from tests.ids import global_id

pytestmark = pytest.mark.django_db

CREATE = """
mutation($input: CreateProfessionalInput!) {
  createProfessional(input: $input) {
    __typename
    ... on Professional { id fullName licenseNumber color user { fullName role } workingHours { weekday startTime endTime } }
    ... on OperationInfo { messages { code field } }
  }
}
"""
UPDATE = """
mutation($id: ID!, $input: UpdateProfessionalInput!) {
  updateProfessional(id: $id, input: $input) {
    __typename
    ... on Professional { specialty workingHours { weekday startTime endTime } }
    ... on OperationInfo { messages { code field } }
  }
}
"""
TIME_OFF = """
mutation($input: TimeOffInput!) {
  addTimeOff(input: $input) {
    __typename
    ... on Professional { timeOff { id startsAt reason } }
    ... on OperationInfo { messages { code field } }
  }
}
"""
HOURS = [
    {"weekday": "MONDAY", "startTime": "09:00", "endTime": "13:00"},
    {"weekday": "MONDAY", "startTime": "14:00", "endTime": "18:00"},
    {"weekday": "SATURDAY", "startTime": "09:00", "endTime": "12:00"},
]


@pytest.fixture
def token(clinic1, make_staff, token_for):
    return token_for(clinic1, make_staff(clinic1, Role.ADMIN))


def run(client, token, query, **variables):
    _, body = graphql(client, query, host="clinica1.localhost", token=token, variables=variables)
    assert "errors" not in body, body
    return next(iter(body["data"].values()))


def codes(payload):
    return [(m["field"], m["code"]) for m in payload.get("messages", [])]


def test_a_professional_is_created_with_hours_and_a_dentist_user(
    client, clinic1, token, make_staff
):
    dentist = make_staff(clinic1, Role.DENTIST, email="dra.soto@clinica1.pe")
    payload = run(
        client, token, CREATE,
        input={"fullName": "Dra. Soto", "licenseNumber": "12345", "color": "#ff0000",
               "userId": global_id("StaffUser", dentist.pk), "workingHours": HOURS},
    )  # fmt: skip
    assert payload["__typename"] == "Professional"
    assert payload["color"] == "#FF0000"
    assert payload["user"] == {"fullName": dentist.full_name, "role": "DENTIST"}
    assert payload["workingHours"] == [
        {"weekday": "MONDAY", "startTime": "09:00:00", "endTime": "13:00:00"},
        {"weekday": "MONDAY", "startTime": "14:00:00", "endTime": "18:00:00"},
        {"weekday": "SATURDAY", "startTime": "09:00:00", "endTime": "12:00:00"},
    ]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"fullName": " "}, [("fullName", "INVALID_NAME")]),
        ({"licenseNumber": "ABC"}, [("licenseNumber", "INVALID_LICENSE")]),
        ({"licenseNumber": "1234567"}, [("licenseNumber", "INVALID_LICENSE")]),
        ({"color": "red"}, [("color", "INVALID_COLOR")]),
        ({"specialty": "x" * 101}, [("specialty", "TOO_LONG")]),
        (
            {"workingHours": [{"weekday": "MONDAY", "startTime": "13:00", "endTime": "09:00"}]},
            [("workingHours", "INVALID_WORKING_HOURS")],
        ),
        (
            {
                "workingHours": [
                    {"weekday": "MONDAY", "startTime": "09:00", "endTime": "13:00"},
                    {"weekday": "MONDAY", "startTime": "12:00", "endTime": "15:00"},
                ]
            },
            [("workingHours", "INVALID_WORKING_HOURS")],
        ),
        (
            {"userId": lambda: global_id("StaffUser", 1)},
            [("userId", "INVALID_USER")],
        ),  # the admin, not a dentist
        ({"userId": lambda: global_id("Chair", 1)}, [("userId", "NOT_FOUND")]),
        (
            {"userId": lambda: global_id("StaffUser", 424242)},
            [("userId", "NOT_FOUND")],
        ),  # no such user
    ],
)
def test_bad_professional_input_gets_its_code(client, clinic1, token, fields, expected):
    # IDs are built here, where the database is open (an ID carries its clinic's key).
    fields = {name: value() if callable(value) else value for name, value in fields.items()}
    payload = run(
        client, token, CREATE, input={"fullName": "Dr. X", "licenseNumber": "777", **fields}
    )
    assert codes(payload) == expected
    with tenant_context(clinic1):
        assert not Professional.objects.exists()


def test_license_and_user_link_are_unique(client, clinic1, token, make_staff):
    dentist = make_staff(clinic1, Role.DENTIST)
    run(
        client,
        token,
        CREATE,
        input={"fullName": "A", "licenseNumber": "1", "userId": global_id("StaffUser", dentist.pk)},
    )
    assert codes(run(client, token, CREATE, input={"fullName": "B", "licenseNumber": "1"})) == [
        ("licenseNumber", "LICENSE_TAKEN")
    ]
    payload = run(
        client,
        token,
        CREATE,
        input={"fullName": "C", "licenseNumber": "2", "userId": global_id("StaffUser", dentist.pk)},
    )
    assert codes(payload) == [("userId", "USER_ALREADY_LINKED")]


def test_update_replaces_the_week_only_when_given(client, clinic1, token):
    created = run(
        client, token, CREATE, input={"fullName": "A", "licenseNumber": "1", "workingHours": HOURS}
    )
    payload = run(client, token, UPDATE, id=created["id"], input={"specialty": "Endodoncia"})
    assert payload["specialty"] == "Endodoncia"
    assert len(payload["workingHours"]) == 3
    payload = run(
        client,
        token,
        UPDATE,
        id=created["id"],
        input={"workingHours": [{"weekday": "FRIDAY", "startTime": "08:00", "endTime": "12:00"}]},
    )
    assert payload["workingHours"] == [
        {"weekday": "FRIDAY", "startTime": "08:00:00", "endTime": "12:00:00"}
    ]


def test_time_off_is_added_validated_and_removed(client, clinic1, token):
    created = run(client, token, CREATE, input={"fullName": "A", "licenseNumber": "1"})
    period = {
        "professionalId": created["id"],
        "startsAt": lima(MONDAY, 0).isoformat(),
        "endsAt": lima(MONDAY + dt.timedelta(days=7), 0).isoformat(),
        "reason": "Vacaciones",
    }
    payload = run(client, token, TIME_OFF, input=period)
    assert payload["timeOff"][0]["reason"] == "Vacaciones"
    assert codes(
        run(
            client,
            token,
            TIME_OFF,
            input={
                **period,
                "startsAt": lima(MONDAY + dt.timedelta(days=4), 0).isoformat(),
                "endsAt": lima(MONDAY + dt.timedelta(days=9), 0).isoformat(),
            },
        )
    ) == [("startsAt", "TIME_OFF_OVERLAP")]
    assert codes(
        run(
            client,
            token,
            TIME_OFF,
            input={**period, "endsAt": lima(MONDAY - dt.timedelta(days=3), 0).isoformat()},
        )
    ) == [("endsAt", "INVALID_TIME_RANGE")]
    removed = run(
        client,
        token,
        "mutation($id: ID!) { removeTimeOff(id: $id) { ... on Professional { timeOff { id } } } }",
        id=payload["timeOff"][0]["id"],
    )
    assert removed == {"timeOff": []}
    with tenant_context(clinic1):
        assert not TimeOff.objects.exists()


def test_deactivation(client, clinic1, token):
    created = run(client, token, CREATE, input={"fullName": "A", "licenseNumber": "1"})
    query = "mutation($id: ID!) { deactivateProfessional(id: $id) { ... on Professional { isActive } ... on OperationInfo { messages { code } } } }"
    assert run(client, token, query, id=created["id"]) == {"isActive": False}
    assert run(client, token, query, id=created["id"]) == {
        "messages": [{"code": "ALREADY_INACTIVE"}]
    }
    listed = run(client, token, "{ professionals(activeOnly: true, first: 10) { totalCount } }")
    assert listed == {"totalCount": 0}


def test_chairs(client, clinic1, token):
    create = "mutation($name: String!) { createChair(name: $name) { __typename ... on Chair { id name isActive } ... on OperationInfo { messages { code field } } } }"
    chair = run(client, token, create, name="Sillón 1")
    assert chair["name"] == "Sillón 1"
    assert codes(run(client, token, create, name="Sillón 1")) == [("name", "CHAIR_NAME_TAKEN")]
    assert codes(run(client, token, create, name="  ")) == [("name", "INVALID_NAME")]
    renamed = run(
        client,
        token,
        'mutation($id: ID!) { updateChair(id: $id, name: "Sillón A") { ... on Chair { name } } }',
        id=chair["id"],
    )
    assert renamed == {"name": "Sillón A"}
    deactivated = run(
        client,
        token,
        "mutation($id: ID!) { deactivateChair(id: $id) { ... on Chair { isActive } } }",
        id=chair["id"],
    )
    assert deactivated == {"isActive": False}
    assert run(client, token, "{ chairs(first: 10) { totalCount edges { node { name isActive } } } }") == {
        "totalCount": 1, "edges": [{"node": {"name": "Sillón A", "isActive": False}}],
    }  # fmt: skip
    with tenant_context(clinic1):
        assert Chair.objects.count() == 1


@pytest.mark.parametrize("rows", [10, 200])
def test_professionals_with_hours_cost_the_same_statements(
    client, clinic1, token, django_assert_num_queries, rows
):
    import datetime as dt

    from backend.resources.models import WorkingHours

    with tenant_context(clinic1):
        people = Professional.objects.bulk_create(
            Professional(full_name=f"P{i:03}", license_number=str(i)) for i in range(rows)
        )
        WorkingHours.objects.bulk_create(
            WorkingHours(professional=p, weekday=0, start_time=dt.time(9), end_time=dt.time(13))
            for p in people
        )
    # cold routing: host 1 (no SET), SET 1, token 1, page 1, hours 1, time off 1
    with django_assert_num_queries(6):
        body = run(
            client,
            token,
            "{ professionals(first: 100) { totalCount edges { node { fullName workingHours { startTime } timeOff { id } } } } }",
        )
    assert body["totalCount"] == rows
