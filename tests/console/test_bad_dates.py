"""A date the console's lists cannot read (``?created_at__year=99999999999999999999``, year
9999, month 13) is Django's redirect to the plain list (``?e=1``), never a 500, on every list
of the console."""

from __future__ import annotations

import pytest

from backend.console.site import console_site
from tests.console.conftest import console_get

pytestmark = pytest.mark.django_db

ADMINS = sorted(
    (model._meta.app_label, model._meta.model_name, admin.date_hierarchy)
    for model, admin in console_site._registry.items()
)
WITH_DATES = [entry for entry in ADMINS if entry[2]]
BAD = [
    {"__year": "99999999999999999999"},
    {"__year": "9999"},
    {"__year": "2024", "__month": "99999999999999999999"},
    {"__year": "2024", "__month": "13"},
    {"__year": "2024", "__month": "2", "__day": "31"},
]


def test_the_console_has_lists_with_a_date_hierarchy():
    assert {name for _, name, _ in WITH_DATES} >= {"clinicbackup", "auditevent"}


@pytest.mark.parametrize(("app", "model", "field"), WITH_DATES, ids=[e[1] for e in WITH_DATES])
@pytest.mark.parametrize("bad", BAD, ids=lambda bad: "-".join(bad.values()))
def test_a_bad_date_redirects_to_the_plain_list(operator, app, model, field, bad):
    params = {f"{field}{suffix}": value for suffix, value in bad.items()}

    response = console_get(operator, f"{app}/{model}/", data=params)

    assert response.status_code == 302, response.content[:300]
    assert response["Location"].endswith("?e=1")
    assert console_get(operator, f"{app}/{model}/").status_code == 200


@pytest.mark.parametrize(("app", "model", "field"), ADMINS, ids=[e[1] for e in ADMINS])
def test_no_list_answers_a_huge_date_with_a_500(operator, app, model, field):
    response = console_get(
        operator, f"{app}/{model}/", data={f"{field or 'created_at'}__year": "9" * 20}
    )

    assert response.status_code in {302, 400}, response.content[:300]
    if response.status_code == 302:
        assert response["Location"].endswith("?e=1")
