from __future__ import annotations

from typing import Any

import pytest

from backend.accounts.models import Role
from tests.conftest import graphql

HOST = "clinica1.localhost"
HOST2 = "clinica2.localhost"
PUBLIC = "localhost"


@pytest.fixture
def tokens(clinic1, make_staff, token_for, admin_token) -> dict[str, str]:
    return {
        "ADMIN": admin_token,
        **{
            role: token_for(clinic1, make_staff(clinic1, role))
            for role in (Role.DENTIST, Role.ASSISTANT, Role.RECEPTIONIST)
        },
    }


def ask(client, query, token=None, host=HOST, **variables) -> dict[str, Any]:
    status, body = graphql(client, query, host=host, token=token, variables=variables)
    assert status in (200, 400, 401, 403), body
    return body
