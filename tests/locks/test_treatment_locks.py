"""Treatment plans' and the catalog's locks under real races.

README: plans move ``DRAFT → PRESENTED → ACCEPTED | REJECTED → IN_PROGRESS → COMPLETED``;
items change only while the plan is a draft (``PLAN_NOT_EDITABLE``); completing its last
planned item completes the plan; an item is completed or cancelled once
(``ITEM_NOT_PLANNED``). A procedure's changes keep every field given; it is deactivated
once (``ALREADY_INACTIVE``).
"""

from __future__ import annotations

from decimal import Decimal

from backend.audit.models import AuditEvent
from backend.treatments import services as treatments
from backend.treatments.models import (
    ItemStatus,
    PerformedProcedure,
    PlanStatus,
    Procedure,
    TreatmentPlan,
    TreatmentPlanItem,
)
from tests.locks.support import api, codes, gid, race

OUTCOME = "__typename ... on OperationInfo { messages { code message } }"
PLAN_STATUS = f"""mutation($id: ID!, $status: PlanStatus!) {{
  changeTreatmentPlanStatus(id: $id, status: $status) {{ {OUTCOME} }} }}"""
ADD_ITEM = f"""mutation($id: ID!, $procedure: ID!) {{
  addTreatmentPlanItem(planId: $id, input: {{procedureId: $procedure}}) {{ {OUTCOME} }} }}"""
COMPLETE = f"mutation($id: ID!) {{ completeTreatmentPlanItem(id: $id) {{ {OUTCOME} }} }}"
CANCEL = f"mutation($id: ID!) {{ cancelTreatmentPlanItem(id: $id) {{ {OUTCOME} }} }}"
UPDATE_PROCEDURE = f"""mutation($id: ID!, $input: UpdateProcedureInput!) {{
  updateProcedure(id: $id, input: $input) {{ {OUTCOME} }} }}"""
DEACTIVATE_PROCEDURE = f"mutation($id: ID!) {{ deactivateProcedure(id: $id) {{ {OUTCOME} }} }}"


def send(place, query, **variables):
    return api(place.host, place.token, query, variables)


def procedure(place) -> Procedure:
    """A catalog procedure that needs no tooth and leaves no mark on the chart."""
    with place.inside():
        code = f"LCK-{Procedure.objects.count():03d}"
        return Procedure.objects.create(
            code=code, name=f"Consulta {code}", category="DIAGNOSIS", default_price=Decimal("50.00")
        )


def plan(place, items: int, status: str = PlanStatus.DRAFT) -> tuple[TreatmentPlan, list]:
    """A plan with ``items`` items, moved to ``status`` (through PRESENTED and ACCEPTED)."""
    with place.inside():
        made = treatments.plan_create(
            actor=place.admin, patient=place.patient(), dentist=place.professional(),
            title="Plan de prueba",
        )  # fmt: skip
        added = [
            treatments.plan_item_add(actor=place.admin, plan=made, procedure=procedure(place))
            for _ in range(items)
        ]
        path = [PlanStatus.PRESENTED, PlanStatus.ACCEPTED]
        for step in path[: path.index(status) + 1] if status in path else []:
            treatments.plan_change_status(actor=place.admin, plan=made, status=step)
    return made, added


def status_of(place, obj):
    with place.inside():
        return type(obj).objects.get(pk=obj.pk).status


# --- plans ----------------------------------------------------------------------------------


def test_an_item_added_while_the_plan_is_presented_is_refused(committed):
    """A draft is presented while an item is being added: the presentation goes first, so
    the item is refused with ``PLAN_NOT_EDITABLE`` and the presented plan is the one the
    patient sees.

    Checked: without ``_locked`` (the plan's ``select_for_update``) in ``plan_item_add`` the
    addition reads the plan as a draft and its item is inserted once the presentation
    commits: a presented plan changed behind the patient's back.
    """
    place = committed
    draft, items = plan(place, 1)

    result = race(
        place.schema,
        "treatment_plan.change_status",
        send(place, PLAN_STATUS, id=gid(draft), status="PRESENTED"),
        send(place, ADD_ITEM, id=gid(draft), procedure=gid(procedure(place))),
    )

    assert codes(result.first, "changeTreatmentPlanStatus") == []
    assert codes(result.second, "addTreatmentPlanItem") == ["PLAN_NOT_EDITABLE"]
    with place.inside():
        assert list(TreatmentPlanItem.objects.filter(plan=draft)) == items


def test_two_decisions_on_a_presented_plan_at_once_keep_the_first(committed):
    """A presented plan is accepted and rejected at the same moment: the acceptance goes
    first, and the rejection is refused (``INVALID_TRANSITION``: an accepted plan is not
    rejected). The plan stays accepted, its items planned.

    Checked: without ``_locked`` in ``plan_change_status`` the rejection reads the plan as
    presented and overwrites the acceptance (``ACCEPTED → REJECTED``), cancelling its items.
    """
    place = committed
    presented, items = plan(place, 1, PlanStatus.PRESENTED)

    result = race(
        place.schema,
        "treatment_plan.change_status",
        send(place, PLAN_STATUS, id=gid(presented), status="ACCEPTED"),
        send(place, PLAN_STATUS, id=gid(presented), status="REJECTED"),
    )

    assert codes(result.first, "changeTreatmentPlanStatus") == []
    assert codes(result.second, "changeTreatmentPlanStatus") == ["INVALID_TRANSITION"]
    assert status_of(place, presented) == PlanStatus.ACCEPTED
    assert status_of(place, items[0]) == ItemStatus.PLANNED


def test_completing_and_cancelling_the_last_two_items_at_once_completes_the_plan(committed):
    """A plan in progress with two planned items left: one is completed while the other is
    cancelled. Whichever finishes second sees nothing planned and completes the plan.

    Checked: without ``_locked`` in ``plan_item_cancel`` (or in ``plan_item_complete``) each
    sees the other's item still planned: nobody completes the plan, which stays
    ``IN_PROGRESS`` with nothing left to do. The "was that the last one?" check comes after
    each one's audit row, so both are held at their commit (``second_action``): held at the
    audit row, the first would make its check after the second had committed, and the test
    would pass without the lock.
    """
    place = committed
    accepted, (first, done, cancelled) = plan(place, 3, PlanStatus.ACCEPTED)
    with place.inside():
        treatments.plan_item_complete(actor=place.admin, item=first)
    assert status_of(place, accepted) == PlanStatus.IN_PROGRESS

    result = race(
        place.schema,
        "treatment_plan.complete_item",
        send(place, COMPLETE, id=gid(done)),
        send(place, CANCEL, id=gid(cancelled)),
        second_action="treatment_plan.cancel_item",
    )

    assert codes(result.first, "completeTreatmentPlanItem") == []
    assert codes(result.second, "cancelTreatmentPlanItem") == []
    assert [status_of(place, item) for item in (first, done, cancelled)] == [
        ItemStatus.DONE, ItemStatus.DONE, ItemStatus.CANCELLED,
    ]  # fmt: skip
    assert status_of(place, accepted) == PlanStatus.COMPLETED


def test_an_item_completed_and_cancelled_at_once_is_completed_once(committed):
    """One item completed and cancelled at the same moment: the completion goes first, so
    the cancellation is refused with ``ITEM_NOT_PLANNED``; the item is done, once.

    Checked: two locks guard this race, the plan's (``_locked``) and the item's
    (``select_for_update`` in ``plan_item_cancel``); either alone keeps the test green
    (every change of an item takes its plan's lock first). Without both, the cancellation
    reads the item as planned and overwrites the completion: a performed procedure whose
    item says ``CANCELLED``.
    """
    place = committed
    _, (item, _other) = plan(place, 2, PlanStatus.ACCEPTED)

    result = race(
        place.schema,
        "treatment_plan.complete_item",
        send(place, COMPLETE, id=gid(item)),
        send(place, CANCEL, id=gid(item)),
    )

    assert codes(result.first, "completeTreatmentPlanItem") == []
    assert codes(result.second, "cancelTreatmentPlanItem") == ["ITEM_NOT_PLANNED"]
    assert status_of(place, item) == ItemStatus.DONE


def test_an_item_completed_twice_at_once_is_performed_once(committed):
    """Two assistants mark the same item done at once: one completion is recorded (one
    performed procedure, to be charged once); the other is told ``ITEM_NOT_PLANNED``.

    Checked: two locks guard this race, the plan's (``_locked``) and the item's
    (``select_for_update`` in ``plan_item_complete``); either alone keeps the test green.
    Without both, the second completion reads the item as planned and records the procedure
    a second time, which only the database's one-to-one (one performed procedure per item)
    stops: the client gets ``INTERNAL_ERROR`` instead of ``ITEM_NOT_PLANNED``.
    """
    place = committed
    _, (item, _other) = plan(place, 2, PlanStatus.ACCEPTED)
    complete = send(place, COMPLETE, id=gid(item))

    result = race(place.schema, "treatment_plan.complete_item", complete, complete)

    assert codes(result.first, "completeTreatmentPlanItem") == []
    assert codes(result.second, "completeTreatmentPlanItem") == ["ITEM_NOT_PLANNED"]
    with place.inside():
        assert PerformedProcedure.objects.filter(plan_item=item).count() == 1
    assert status_of(place, item) == ItemStatus.DONE


# --- the catalog ----------------------------------------------------------------------------


def test_two_changes_of_one_procedure_at_once_keep_both(committed):
    """One admin renames a procedure while another changes its price: both changes are
    kept.

    Checked: without ``select_for_update()`` in ``procedure_update`` the second change reads
    the procedure before the first commits and saves it whole: the new name is lost.
    """
    place = committed
    listed = procedure(place)

    result = race(
        place.schema,
        "procedure.update",
        send(place, UPDATE_PROCEDURE, id=gid(listed), input={"name": "Consulta de control"}),
        send(place, UPDATE_PROCEDURE, id=gid(listed), input={"defaultPrice": "65.00"}),
    )

    assert codes(result.first, "updateProcedure") == []
    assert codes(result.second, "updateProcedure") == []
    with place.inside():
        after = Procedure.objects.get(pk=listed.pk)
    assert (after.name, after.default_price) == ("Consulta de control", Decimal("65.00"))


def test_two_deactivations_of_one_procedure_at_once_deactivate_it_once(committed):
    """Two admins take a procedure out of the catalog at once: one does, the other is told
    ``ALREADY_INACTIVE``; one audit event.

    Checked: without ``select_for_update()`` in ``procedure_deactivate`` both deactivate it:
    two successes, two audit events.
    """
    place = committed
    listed = procedure(place)
    deactivate = send(place, DEACTIVATE_PROCEDURE, id=gid(listed))

    result = race(place.schema, "procedure.deactivate", deactivate, deactivate)

    assert codes(result.first, "deactivateProcedure") == []
    assert codes(result.second, "deactivateProcedure") == ["ALREADY_INACTIVE"]
    with place.inside():
        events = AuditEvent.objects.filter(action="procedure.deactivate", entity_id=str(listed.pk))
        assert events.count() == 1
