"""Reading the catalog and plans, and the plans' exact totals.

The catalog is the clinic's price list, the same for everyone. Whoever may see plans sees
all of them; the plan selectors take the ``actor`` all the same, so that a rule about who sees
which plans (a dentist's own) has one place to go.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.core.lookups import get_or_not_found
from backend.core.money import money
from backend.treatments.models import ItemStatus, Procedure, TreatmentPlan, TreatmentPlanItem


def procedure_list(*, active_only: bool = False, search: str | None = None) -> QuerySet[Procedure]:
    procedures = Procedure.objects.all()
    if active_only:
        procedures = procedures.filter(is_active=True)
    if search:
        procedures = procedures.filter(
            Q(name__unaccent__icontains=search) | Q(code__istartswith=search)
        )
    return procedures.order_by("category", "name", "id")


def plan_list(
    *, actor: User, patient_id: int | None = None, statuses: list[str] | None = None
) -> QuerySet[TreatmentPlan]:
    """The plans ``actor`` may see (all of them), newest first: the one rule for every read
    of plans (``plan_get``, ``plan_rows``)."""
    plans = TreatmentPlan.objects.all()
    if patient_id is not None:
        plans = plans.filter(patient_id=patient_id)
    if statuses:
        plans = plans.filter(status__in=statuses)
    return plans.order_by("-created_at", "-id")


def procedure_get(*, procedure_id: int | str) -> Procedure:
    return get_or_not_found(Procedure, procedure_id, _("No such procedure."))


def plan_rows(*, actor: User, plan_id: int | str) -> QuerySet[TreatmentPlan]:
    """The plan ``plan_get`` answers, as a queryset (empty for ``NOT_FOUND``; a key that is
    not a number raises ``ValueError``): of the plans ``actor`` may see. Compiled reads
    select from it."""
    return plan_list(actor=actor).filter(pk=int(plan_id))


def plan_get(*, actor: User, plan_id: int | str) -> TreatmentPlan:
    """One plan ``actor`` may see (``plan_list``); ``NOT_FOUND`` otherwise."""
    return get_or_not_found(plan_list(actor=actor), plan_id, _("No such treatment plan."))


def item_get(*, actor: User, item_id: int | str) -> TreatmentPlanItem:
    return get_or_not_found(TreatmentPlanItem, item_id, _("No such plan item."))


@dataclass(frozen=True)
class PlanTotals:
    gross: Decimal
    discounts: Decimal
    net: Decimal
    done: Decimal
    remaining: Decimal


def plan_totals(items: list[TreatmentPlanItem]) -> PlanTotals:
    """Totals of the items that are not cancelled, exact to the cent."""
    counted = [item for item in items if item.status != ItemStatus.CANCELLED]
    gross = money(sum((item.price for item in counted), Decimal(0)))
    discounts = money(sum((item.discount for item in counted), Decimal(0)))
    done = money(sum((item.net for item in counted if item.status == ItemStatus.DONE), Decimal(0)))
    return PlanTotals(
        gross=gross,
        discounts=discounts,
        net=gross - discounts,
        done=done,
        remaining=gross - discounts - done,
    )
