"""Staff management by clinic admins: createStaffUser, changeStaffRole, deactivateStaffUser
and the staff connection."""

import pytest
from django_tenants.utils import tenant_context

from backend.accounts.models import AuthToken, Role, User
from tests.conftest import error_code, graphql, operation_codes
from tests.ids import global_id

pytestmark = pytest.mark.django_db

CREATE = """
mutation Create($input: CreateStaffUserInput!) {
  createStaffUser(input: $input) {
    __typename
    ... on StaffUser { id email fullName role isActive }
    ... on OperationInfo { messages { code field message } }
  }
}
"""
CHANGE_ROLE = """
mutation Change($id: ID!, $role: Role!) {
  changeStaffRole(id: $id, role: $role) {
    __typename
    ... on StaffUser { id role }
    ... on OperationInfo { messages { code field message } }
  }
}
"""
DEACTIVATE = """
mutation Deactivate($id: ID!) {
  deactivateStaffUser(id: $id) {
    __typename
    ... on StaffUser { id isActive }
    ... on OperationInfo { messages { code field message } }
  }
}
"""
STAFF = """
query Staff($first: Int, $after: String, $search: String) {
  staff(first: $first, after: $after, search: $search) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id email fullName role isActive } }
  }
}
"""
NEW = {
    "email": "Nueva@Clinica1.pe",
    "fullName": "Nueva Dentista",
    "role": "DENTIST",
    "password": "Muy-segura-123",
}


def gid(user: User) -> str:
    return global_id("StaffUser", user.pk)


def create(client, token, **overrides):
    status, body = graphql(
        client,
        CREATE,
        host="clinica1.localhost",
        token=token,
        variables={"input": {**NEW, **overrides}},
    )
    assert status == 200, body
    return body["data"]["createStaffUser"]


def test_admin_creates_a_staff_user(client, clinic1, admin_token):
    payload = create(client, admin_token)
    assert payload["__typename"] == "StaffUser"
    assert payload["email"] == "nueva@clinica1.pe"
    assert (payload["role"], payload["isActive"]) == ("DENTIST", True)
    with tenant_context(clinic1):
        user = User.objects.get(email="nueva@clinica1.pe")
        assert user.check_password("Muy-segura-123")


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"email": "not-an-email"}, "email", "INVALID_EMAIL"),
        ({"fullName": "   "}, "fullName", "INVALID_NAME"),
        ({"password": "123"}, "password", "INVALID_PASSWORD"),
        ({"password": "password"}, "password", "INVALID_PASSWORD"),
        ({"email": "ADMIN@clinica1.pe"}, "email", "EMAIL_TAKEN"),
    ],
)
def test_bad_input_gets_a_coded_error_and_writes_nothing(
    client, clinic1, admin_token, overrides, field, code
):
    with tenant_context(clinic1):
        before = User.objects.count()
    payload = create(client, admin_token, **overrides)
    assert payload["__typename"] == "OperationInfo"
    assert [(m["field"], m["code"]) for m in payload["messages"]] == [(field, code)]
    with tenant_context(clinic1):
        assert User.objects.count() == before


def test_a_wrong_role_value_is_a_graphql_validation_error(client, clinic1, admin_token):
    status, body = graphql(
        client, CREATE, host="clinica1.localhost", token=admin_token,
        variables={"input": {**NEW, "role": "OWNER"}},
    )  # fmt: skip
    assert status == 400
    assert body["data"] is None
    assert "OWNER" in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_plan_limit_counts_active_users_only(client, clinic2, make_staff, token_for):
    # clinica2 is on the basic plan: 5 users. It has its admin; add 3 and one inactive.
    with tenant_context(clinic2):
        admin = User.objects.get(email="admin@clinica2.pe")
    for _ in range(3):
        make_staff(clinic2, Role.ASSISTANT)
    make_staff(clinic2, Role.ASSISTANT, active=False)
    token = token_for(clinic2, admin)

    def create2(email):
        _, body = graphql(
            client, CREATE, host="clinica2.localhost", token=token,
            variables={"input": {**NEW, "email": email}},
        )  # fmt: skip
        return body["data"]["createStaffUser"]

    assert create2("quinta@clinica2.pe")["__typename"] == "StaffUser"
    refused = create2("sexta@clinica2.pe")
    assert operation_codes(refused) == ["PLAN_LIMIT_REACHED"]
    message = refused["messages"][0]["message"]
    assert "5" in message
    assert "Basic" in message
    with tenant_context(clinic2):
        assert not User.objects.filter(email="sexta@clinica2.pe").exists()


def test_admin_changes_a_role(client, clinic1, admin_token, make_staff):
    dentist = make_staff(clinic1, Role.DENTIST)
    _, body = graphql(
        client, CHANGE_ROLE, host="clinica1.localhost", token=admin_token,
        variables={"id": gid(dentist), "role": "RECEPTIONIST"},
    )  # fmt: skip
    assert body["data"]["changeStaffRole"] == {
        "__typename": "StaffUser",
        "id": gid(dentist),
        "role": "RECEPTIONIST",
    }


def test_the_last_active_admin_cannot_be_demoted(client, clinic1, clinic1_admin, admin_token):
    _, body = graphql(
        client, CHANGE_ROLE, host="clinica1.localhost", token=admin_token,
        variables={"id": gid(clinic1_admin), "role": "DENTIST"},
    )  # fmt: skip
    assert operation_codes(body["data"]["changeStaffRole"]) == ["LAST_ADMIN"]
    with tenant_context(clinic1):
        assert User.objects.get(pk=clinic1_admin.pk).role == Role.ADMIN


def test_the_last_active_admin_cannot_be_deactivated(
    client, clinic1, clinic1_admin, admin_token, make_staff
):
    make_staff(clinic1, Role.ADMIN, active=False)  # an inactive admin does not count
    _, body = graphql(
        client,
        DEACTIVATE,
        host="clinica1.localhost",
        token=admin_token,
        variables={"id": gid(clinic1_admin)},
    )
    assert operation_codes(body["data"]["deactivateStaffUser"]) == ["LAST_ADMIN"]


def test_an_admin_can_go_when_another_admin_remains(
    client, clinic1, clinic1_admin, make_staff, token_for
):
    other = make_staff(clinic1, Role.ADMIN)
    token = token_for(clinic1, other)
    _, body = graphql(
        client,
        DEACTIVATE,
        host="clinica1.localhost",
        token=token,
        variables={"id": gid(clinic1_admin)},
    )
    assert body["data"]["deactivateStaffUser"] == {
        "__typename": "StaffUser",
        "id": gid(clinic1_admin),
        "isActive": False,
    }


def test_deactivation_revokes_the_users_tokens(client, clinic1, admin_token, make_staff, token_for):
    dentist = make_staff(clinic1, Role.DENTIST)
    dentist_token = token_for(clinic1, dentist)
    graphql(
        client,
        DEACTIVATE,
        host="clinica1.localhost",
        token=admin_token,
        variables={"id": gid(dentist)},
    )
    _, body = graphql(client, "{ me { email } }", host="clinica1.localhost", token=dentist_token)
    assert error_code(body) == "UNAUTHENTICATED"
    with tenant_context(clinic1):
        assert not AuthToken.objects.filter(user=dentist, revoked_at__isnull=True).exists()


def test_deactivating_twice_is_refused(client, clinic1, admin_token, make_staff):
    dentist = make_staff(clinic1, Role.DENTIST, active=False)
    _, body = graphql(
        client,
        DEACTIVATE,
        host="clinica1.localhost",
        token=admin_token,
        variables={"id": gid(dentist)},
    )
    assert operation_codes(body["data"]["deactivateStaffUser"]) == ["ALREADY_INACTIVE"]


@pytest.mark.parametrize(
    ("type_name", "pk"), [("StaffUser", 999999), ("AuditEvent", 1), ("StaffUser", "abc")]
)
def test_unknown_or_foreign_ids_get_not_found(client, clinic1, admin_token, type_name, pk):
    bad_id = global_id(type_name, pk)
    _, body = graphql(
        client, DEACTIVATE, host="clinica1.localhost", token=admin_token, variables={"id": bad_id}
    )
    assert operation_codes(body["data"]["deactivateStaffUser"]) == ["NOT_FOUND"]


def test_another_clinics_user_id_is_not_found(client, clinic1, clinic2, admin_token, make_staff):
    # A user that exists only in clinica2, with an id that clinica1 does not have.
    for _ in range(3):
        foreign = make_staff(clinic2, Role.DENTIST)
    with tenant_context(clinic1):
        assert not User.objects.filter(pk=foreign.pk).exists()
    _, body = graphql(
        client,
        DEACTIVATE,
        host="clinica1.localhost",
        token=admin_token,
        variables={"id": gid(foreign)},
    )
    assert operation_codes(body["data"]["deactivateStaffUser"]) == ["NOT_FOUND"]
    with tenant_context(clinic2):
        assert User.objects.get(pk=foreign.pk).is_active


def test_a_malformed_id_is_a_clear_error_not_a_500(client, clinic1, admin_token):
    status, body = graphql(
        client, DEACTIVATE, host="clinica1.localhost", token=admin_token, variables={"id": "%%%"}
    )
    assert status == 200
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ID"
    assert "GlobalID" in body["errors"][0]["message"]


def test_staff_lists_only_this_clinic_with_total_count_and_pages(
    client, clinic1, clinic2, admin_token, make_staff
):
    for _ in range(4):
        make_staff(clinic1, Role.DENTIST)
    make_staff(clinic2, Role.DENTIST, email="ajeno@clinica2.pe")
    _, body = graphql(
        client, STAFF, host="clinica1.localhost", token=admin_token, variables={"first": 2}
    )
    staff = body["data"]["staff"]
    assert staff["totalCount"] == 5
    assert len(staff["edges"]) == 2
    assert staff["pageInfo"]["hasNextPage"] is True
    _, body = graphql(
        client, STAFF, host="clinica1.localhost", token=admin_token,
        variables={"first": 10, "after": staff["pageInfo"]["endCursor"]},
    )  # fmt: skip
    emails = [edge["node"]["email"] for edge in body["data"]["staff"]["edges"]]
    assert len(emails) == 3
    assert "ajeno@clinica2.pe" not in emails


def test_staff_search(client, clinic1, admin_token, make_staff):
    make_staff(clinic1, Role.DENTIST, email="maria.perez@clinica1.pe")
    _, body = graphql(
        client, STAFF, host="clinica1.localhost", token=admin_token, variables={"search": "perez"}
    )
    assert [e["node"]["email"] for e in body["data"]["staff"]["edges"]] == [
        "maria.perez@clinica1.pe"
    ]


@pytest.mark.parametrize("rows", [10, 1000])
def test_staff_list_costs_the_same_queries_for_10_and_1000_rows(
    client, clinic1, admin_token, django_assert_num_queries, rows
):
    with tenant_context(clinic1):
        User.objects.bulk_create(
            User(email=f"bulk{i}@clinica1.pe", full_name=f"Bulk {i:04}", role=Role.ASSISTANT)
            for i in range(rows)
        )
    # cold tenant resolution: host lookup (1, no SET) + SET search_path to the clinic (1) +
    # token (1) + page with count (1); warm, the host lookup goes too
    with django_assert_num_queries(4):
        _, body = graphql(
            client, STAFF, host="clinica1.localhost", token=admin_token, variables={"first": 100}
        )
    assert len(body["data"]["staff"]["edges"]) == min(rows + 1, 100)
    assert body["data"]["staff"]["totalCount"] == rows + 1
