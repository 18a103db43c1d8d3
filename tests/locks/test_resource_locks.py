"""Professionals' and chairs' rows under real races (their own changes; bookings racing a
deactivation are in ``test_scheduling_locks.py``).

README and the services' contracts: an update changes the fields given and keeps the rest;
a resource is deactivated once (``ALREADY_INACTIVE``); the audit trail keeps each change
with what it replaced.
"""

from __future__ import annotations

import pytest

from backend.audit.models import AuditEvent
from backend.resources.models import Chair, Professional
from tests.locks.support import api, codes, gid, race

OUTCOME = "__typename ... on OperationInfo { messages { code message } }"
UPDATE_PROFESSIONAL = f"""mutation($id: ID!, $input: UpdateProfessionalInput!) {{
  updateProfessional(id: $id, input: $input) {{ {OUTCOME} }} }}"""
RENAME_CHAIR = f"""mutation($id: ID!, $name: String!) {{ updateChair(id: $id, name: $name) {{
  {OUTCOME} }} }}"""
DEACTIVATE = {
    "professional": ("deactivateProfessional", "professional.deactivate"),
    "chair": ("deactivateChair", "chair.deactivate"),
}


def send(place, query, **variables):
    return api(place.host, place.token, query, variables)


def test_two_updates_of_one_professional_at_once_keep_both(committed):
    """One receptionist sets a professional's specialty while another sets their colour:
    both changes are kept.

    Checked: without ``select_for_update()`` in ``professional_update`` the second update
    reads the professional before the first commits and saves the row whole: the specialty
    is lost.
    """
    place = committed
    professional = place.professional()

    result = race(
        place.schema,
        "professional.update",
        send(place, UPDATE_PROFESSIONAL, id=gid(professional), input={"specialty": "Endodoncia"}),
        send(place, UPDATE_PROFESSIONAL, id=gid(professional), input={"color": "#1E88E5"}),
    )

    assert codes(result.first, "updateProfessional") == []
    assert codes(result.second, "updateProfessional") == []
    with place.inside():
        after = Professional.objects.get(pk=professional.pk)
    assert (after.specialty, after.color) == ("Endodoncia", "#1E88E5")


@pytest.mark.parametrize("resource", list(DEACTIVATE))
def test_two_deactivations_of_one_resource_at_once_deactivate_it_once(committed, resource):
    """A professional (or chair) deactivated twice at once: once, and the second request is
    told ``ALREADY_INACTIVE``; one audit event.

    Checked: without ``select_for_update()`` in ``_deactivate`` both requests deactivate it:
    two successes, two audit events.
    """
    place = committed
    target = place.professional() if resource == "professional" else place.chair()
    field, action = DEACTIVATE[resource]
    deactivate = send(
        place, f"mutation($id: ID!) {{ {field}(id: $id) {{ {OUTCOME} }} }}", id=gid(target)
    )

    result = race(place.schema, action, deactivate, deactivate)

    assert codes(result.first, field) == []
    assert codes(result.second, field) == ["ALREADY_INACTIVE"]
    with place.inside():
        assert AuditEvent.objects.filter(action=action, entity_id=str(target.pk)).count() == 1


def test_two_renames_of_one_chair_at_once_are_audited_in_order(committed):
    """A chair renamed twice at once: the second name stays, and its audit event says which
    name it replaced, the first one's.

    Checked: without ``select_for_update()`` in ``chair_update`` the second rename reads the
    chair before the first commits: its event says it replaced the original name, and the
    first rename vanishes from the chain.
    """
    place = committed
    chair = place.chair()

    result = race(
        place.schema,
        "chair.update",
        send(place, RENAME_CHAIR, id=gid(chair), name=f"{chair.name} (ventana)"),
        send(place, RENAME_CHAIR, id=gid(chair), name=f"{chair.name} (pasillo)"),
    )

    assert codes(result.first, "updateChair") == []
    assert codes(result.second, "updateChair") == []
    with place.inside():
        events = AuditEvent.objects.filter(action="chair.update", entity_id=str(chair.pk))
        assert [e.changes["name"] for e in events.order_by("id")] == [
            {"from": chair.name, "to": f"{chair.name} (ventana)"},
            {"from": f"{chair.name} (ventana)", "to": f"{chair.name} (pasillo)"},
        ]
        assert Chair.objects.get(pk=chair.pk).name == f"{chair.name} (pasillo)"
