"""Writes on the procedure catalog and treatment plans, and completing plan items."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.audit.services import audit_record
from backend.clinical.models import Finding, FindingState
from backend.clinical.services import finding_change_state, finding_record, finding_remove
from backend.clinical.teeth import validate_surfaces, validate_tooth
from backend.core.errors import field_error
from backend.patients.models import Patient
from backend.resources.models import Professional
from backend.scheduling.models import Appointment
from backend.treatments.errors import TreatmentError
from backend.treatments.models import (
    ItemStatus,
    PerformedProcedure,
    PlanStatus,
    Procedure,
    TreatmentPlan,
    TreatmentPlanItem,
)
from backend.treatments.money import amount, percent_of

# --- plans ---------------------------------------------------------------------------------

# Items are added and changed while the plan is a draft; the rest is decided on the plan.
PLAN_TRANSITIONS: dict[str, frozenset[str]] = {
    PlanStatus.DRAFT: frozenset({PlanStatus.PRESENTED}),
    PlanStatus.PRESENTED: frozenset({PlanStatus.ACCEPTED, PlanStatus.REJECTED, PlanStatus.DRAFT}),
    PlanStatus.ACCEPTED: frozenset({PlanStatus.IN_PROGRESS}),
    PlanStatus.IN_PROGRESS: frozenset({PlanStatus.COMPLETED}),
    PlanStatus.REJECTED: frozenset(),
    PlanStatus.COMPLETED: frozenset(),
}
OPEN_PLAN = frozenset(
    {PlanStatus.DRAFT, PlanStatus.PRESENTED, PlanStatus.ACCEPTED, PlanStatus.IN_PROGRESS}
)


@transaction.atomic
def plan_create(
    *, actor: User, patient: Patient, dentist: Professional, title: str
) -> TreatmentPlan:
    title = " ".join((title or "").split())
    if not title or len(title) > 200:
        raise field_error(
            "title", _("A title is required (at most 200 characters)."), TreatmentError.INVALID_NAME
        )
    plan = TreatmentPlan.objects.create(
        patient=patient, dentist=dentist, title=title, created_by=actor
    )
    audit_record(
        actor=actor,
        action="treatment_plan.create",
        entity=plan,
        changes={"patient_id": patient.pk, "dentist_id": dentist.pk, "title": title},
    )
    return plan


def _locked(plan: TreatmentPlan) -> TreatmentPlan:
    return TreatmentPlan.objects.select_for_update().get(pk=plan.pk)


def _require_draft(plan: TreatmentPlan) -> None:
    if plan.status != PlanStatus.DRAFT:
        raise field_error(
            None,
            _("Items change only while the plan is a draft."),
            TreatmentError.PLAN_NOT_EDITABLE,
        )


def _item_prices(
    procedure: Procedure, price: Any, discount: Any, discount_percent: Any
) -> tuple[Decimal, Decimal]:
    price = procedure.default_price if price is None else amount(price, "price")
    if discount is not None and discount_percent is not None:
        raise field_error(
            "discount",
            _("Give a discount amount or a percentage, not both."),
            TreatmentError.INVALID_AMOUNT,
        )
    if discount_percent is not None:
        discount = percent_of(price, discount_percent, "discount_percent")
    else:
        discount = amount(discount or 0, "discount")
    if discount > price:
        raise field_error(
            "discount",
            _("The discount is greater than the price."),
            TreatmentError.DISCOUNT_EXCEEDS_PRICE,
        )
    return price, discount


@transaction.atomic
def plan_item_add(
    *,
    actor: User,
    plan: TreatmentPlan,
    procedure: Procedure,
    tooth: int | None = None,
    surfaces: list[str] | None = None,
    price: Any = None,
    discount: Any = None,
    discount_percent: Any = None,
    phase: int = 1,
    sequence: int = 1,
) -> TreatmentPlanItem:
    """Add a procedure to a draft plan. A procedure that leaves a mark on the chart puts a
    PLANNED finding on the tooth, which becomes EXISTING when the item is done."""
    plan = _locked(plan)
    _require_draft(plan)
    if not procedure.is_active:
        raise field_error(
            "procedure_id", _("This procedure is inactive."), TreatmentError.INACTIVE_PROCEDURE
        )
    tooth, surfaces = _item_place(procedure, tooth, surfaces)
    for name, value in (("phase", phase), ("sequence", sequence)):
        if not isinstance(value, int) or not 1 <= value <= 999:
            raise field_error(name, _("A number from 1 to 999."), TreatmentError.INVALID_SEQUENCE)
    item_price, item_discount = _item_prices(procedure, price, discount, discount_percent)
    item = TreatmentPlanItem.objects.create(
        plan=plan,
        procedure=procedure,
        tooth=tooth,
        surfaces=surfaces or [],
        price=item_price,
        discount=item_discount,
        phase=phase,
        sequence=sequence,
        planned_finding=_planned_finding(actor, plan, procedure, tooth, surfaces),
    )
    audit_record(
        actor=actor,
        action="treatment_plan.add_item",
        entity=plan,
        changes={
            "item_id": item.pk,
            "procedure": procedure.code,
            "tooth": tooth,
            "price": item_price,
            "discount": item_discount,
        },
    )
    return item


def _item_place(
    procedure: Procedure, tooth: int | None, surfaces: list[str] | None
) -> tuple[int | None, list[str] | None]:
    """The tooth and surfaces the item is on, checked: a tooth if the procedure needs one,
    surfaces only on a tooth."""
    if procedure.requires_tooth and tooth is None:
        raise field_error(
            "tooth", _("This procedure needs a tooth."), TreatmentError.TOOTH_REQUIRED
        )
    if tooth is not None:
        try:
            tooth = validate_tooth(tooth)
            surfaces = validate_surfaces(tooth, surfaces)
        except ValidationError as error:
            raise ValidationError(
                {"surfaces" if error.code == "INVALID_SURFACE" else "tooth": error}
            ) from None
    elif surfaces:
        raise field_error("surfaces", _("Surfaces need a tooth."), TreatmentError.INVALID_SURFACE)
    return tooth, surfaces


def _planned_finding(
    actor: User,
    plan: TreatmentPlan,
    procedure: Procedure,
    tooth: int | None,
    surfaces: list[str] | None,
) -> Finding | None:
    """The PLANNED finding that a procedure which marks the chart puts on the tooth."""
    if tooth is None or not procedure.result_condition:
        return None
    return finding_record(
        actor=actor,
        patient=plan.patient,
        tooth=tooth,
        surfaces=surfaces,
        condition=procedure.result_condition,
        material=procedure.result_material or None,
        state=FindingState.PLANNED,
    )


@transaction.atomic
def plan_item_cancel(*, actor: User, item: TreatmentPlanItem) -> TreatmentPlanItem:
    """Drop a planned item (its planned finding leaves the chart)."""
    plan = _locked(item.plan)
    item = TreatmentPlanItem.objects.select_for_update().get(pk=item.pk)
    if plan.status not in OPEN_PLAN or item.status != ItemStatus.PLANNED:
        raise field_error(
            None,
            _("Only a planned item of an open plan can be cancelled."),
            TreatmentError.ITEM_NOT_PLANNED,
        )
    item.status = ItemStatus.CANCELLED
    item.save(update_fields=["status"])
    if (finding := item.planned_finding) is not None and finding.resolved_at is None:
        finding_remove(actor=actor, finding=finding, reason="Plan item cancelled")
    audit_record(
        actor=actor, action="treatment_plan.cancel_item", entity=plan, changes={"item_id": item.pk}
    )
    _complete_if_done(actor, plan)
    return item


@transaction.atomic
def plan_change_status(*, actor: User, plan: TreatmentPlan, status: str) -> TreatmentPlan:
    """Present, accept, reject or reopen a plan; anything else is ``INVALID_TRANSITION``."""
    plan = _locked(plan)
    status = PlanStatus(status)
    if status not in PLAN_TRANSITIONS[plan.status]:
        raise field_error(
            "status",
            _("A plan cannot go from %(from)s to %(to)s.")
            % {"from": plan.get_status_display(), "to": status.label},
            TreatmentError.INVALID_TRANSITION,
        )
    if (
        status == PlanStatus.PRESENTED
        and not plan.items.exclude(status=ItemStatus.CANCELLED).exists()
    ):
        raise field_error(
            None, _("Add at least one item before presenting the plan."), TreatmentError.PLAN_EMPTY
        )
    if status == PlanStatus.COMPLETED and plan.items.filter(status=ItemStatus.PLANNED).exists():
        raise field_error(
            "status",
            _("Items are still planned: complete or cancel them first."),
            TreatmentError.INVALID_TRANSITION,
        )
    before = plan.status
    if status == PlanStatus.REJECTED:
        # A rejected plan leaves nothing planned on the chart.
        for item in plan.items.filter(status=ItemStatus.PLANNED).select_related("planned_finding"):
            item.status = ItemStatus.CANCELLED
            item.save(update_fields=["status"])
            if (finding := item.planned_finding) is not None and finding.resolved_at is None:
                finding_remove(actor=actor, finding=finding, reason="Plan rejected")
    plan.status = status
    plan.updated_at = timezone.now()
    plan.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action="treatment_plan.change_status",
        entity=plan,
        changes={"status": {"from": before, "to": status}},
    )
    return plan


def _complete_if_done(actor: User, plan: TreatmentPlan) -> None:
    if (
        plan.status == PlanStatus.IN_PROGRESS
        and not plan.items.filter(status=ItemStatus.PLANNED).exists()
    ):
        plan_change_status(actor=actor, plan=plan, status=PlanStatus.COMPLETED)


@transaction.atomic
def plan_item_complete(
    *,
    actor: User,
    item: TreatmentPlanItem,
    appointment: Appointment | None = None,
    performed_at: dt.datetime | None = None,
) -> PerformedProcedure:
    """Mark an item done: record the performed procedure (for billing), turn its planned
    finding into an existing one, and move the plan along (in progress, then completed)."""
    plan = _locked(item.plan)
    item = TreatmentPlanItem.objects.select_for_update().select_related("procedure").get(pk=item.pk)
    _check_completable(plan, item, appointment)
    performed_at = _performed_at(performed_at)
    performed = PerformedProcedure.objects.create(
        patient_id=plan.patient_id,
        procedure=item.procedure,
        plan_item=item,
        appointment=appointment,
        professional=appointment.professional if appointment else plan.dentist,
        performed_by=actor,
        performed_at=performed_at,
        tooth=item.tooth,
        surfaces=item.surfaces,
        price=item.net,
    )
    item.status = ItemStatus.DONE
    item.save(update_fields=["status"])
    _chart_item_done(actor, plan, item)
    audit_record(
        actor=actor,
        action="treatment_plan.complete_item",
        entity=plan,
        changes={"item_id": item.pk, "performed_id": performed.pk, "price": performed.price},
    )
    if plan.status == PlanStatus.ACCEPTED:
        plan = plan_change_status(actor=actor, plan=plan, status=PlanStatus.IN_PROGRESS)
    _complete_if_done(actor, plan)
    return performed


def _check_completable(
    plan: TreatmentPlan, item: TreatmentPlanItem, appointment: Appointment | None
) -> None:
    """An item of an accepted plan, still planned, done at one of the patient's visits."""
    if plan.status not in (PlanStatus.ACCEPTED, PlanStatus.IN_PROGRESS):
        raise field_error(
            None, _("The patient has not accepted this plan."), TreatmentError.PLAN_NOT_ACCEPTED
        )
    if item.status != ItemStatus.PLANNED:
        raise field_error(
            None, _("This item is not planned any more."), TreatmentError.ITEM_NOT_PLANNED
        )
    if appointment is not None and appointment.patient_id != plan.patient_id:
        raise field_error(
            "appointment_id",
            _("This appointment is another patient's."),
            TreatmentError.WRONG_PATIENT,
        )


def _performed_at(performed_at: dt.datetime | None) -> dt.datetime:
    """When it was done: now unless given, and then within the last 31 days."""
    now = timezone.now()
    if performed_at is None:
        return now
    if performed_at.tzinfo is None or not now - dt.timedelta(days=31) <= performed_at <= now:
        raise field_error(
            "performed_at",
            _("Give when it was done (with its UTC offset), in the last 31 days."),
            TreatmentError.INVALID_DATE,
        )
    return performed_at


def _chart_item_done(actor: User, plan: TreatmentPlan, item: TreatmentPlanItem) -> None:
    """The chart shows what the done item left: its planned finding becomes existing, or a
    new existing finding is recorded when the item had none."""
    if (finding := item.planned_finding) is not None and finding.resolved_at is None:
        finding_change_state(
            actor=actor, finding=finding, state=FindingState.EXISTING
        )  # the chart records when it learned of it: its history is never rewritten
    elif item.tooth is not None and item.procedure.result_condition:
        finding_record(
            actor=actor,
            patient=plan.patient,
            tooth=item.tooth,
            surfaces=item.surfaces,
            condition=item.procedure.result_condition,
            material=item.procedure.result_material or None,
        )
