"""Charging, issuing receipts, taking payments; voids and refunds are for admins."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

import strawberry
import strawberry_django
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from strawberry import relay

from backend.accounts.permissions import StaffPermission
from backend.billing import payments, selectors, services
from backend.billing.errors import BillingError
from backend.billing.permissions import BillingPermission
from backend.patients import selectors as patient_selectors
from graphql_api.billing.inputs import ChargeInput, IssueReceiptInput, PaymentInput, RefundInput
from graphql_api.billing.types import BillingSettings, Charge, NewCharges, Payment, Receipt
from graphql_api.core.context import Info
from graphql_api.core.ids import decode_id
from graphql_api.core.permissions import clinic_permission

MANAGE = BillingPermission.MANAGE_BILLING
ADMIN_ONLY = BillingPermission.VOID_AND_REFUND


def _mutation(permission: BillingPermission, description: str) -> Any:
    return strawberry_django.mutation(
        handle_django_errors=True, extensions=clinic_permission(permission), description=description
    )


def _bounded(items: list[Any], most: int, field: str) -> list[Any]:
    if len(items) > most:
        raise ValidationError(
            {
                field: ValidationError(
                    _("At most %(most)d at once.") % {"most": most}, code=BillingError.TOO_MANY
                )
            }
        )
    return items


def _patient(global_id: relay.GlobalID):
    return patient_selectors.patient_get(
        patient_id=decode_id(global_id, "Patient", field="patient_id")
    )


def _receipt(info: Info, global_id: relay.GlobalID, field: str = "id"):
    return selectors.receipt_get(
        actor=info.context.require_user(),
        receipt_id=decode_id(global_id, "Receipt", field=field),
    )


@strawberry.type
class Mutation:
    @_mutation(MANAGE, "Charge the patient's performed procedures that are not charged yet.")
    def charge_performed_procedures(self, info: Info, patient_id: relay.GlobalID) -> NewCharges:
        charges = services.charges_from_performed(
            actor=info.context.require_user(), patient=_patient(patient_id)
        )
        return NewCharges(charges=cast(list[Charge], charges))

    @_mutation(MANAGE, "Add a manual charge.")
    def add_charge(self, info: Info, input: ChargeInput) -> Charge:
        return cast(
            Charge,
            services.charge_add(
                actor=info.context.require_user(),
                patient=_patient(input.patient_id),
                concept=input.concept,
                quantity=input.quantity,
                unit_price=input.unit_price,
                discount=input.discount,
            ),
        )

    @_mutation(MANAGE, "Issue a boleta or a factura for some charges; numbers never skip.")
    def issue_receipt(self, info: Info, input: IssueReceiptInput) -> Receipt:
        actor = info.context.require_user()
        charges = [
            selectors.charge_get(
                actor=actor, charge_id=decode_id(gid, "Charge", field="charge_ids")
            )
            for gid in _bounded(input.charge_ids, 200, "charge_ids")
        ]
        return cast(
            "Receipt",
            services.receipt_issue(
                actor=actor,
                patient=_patient(input.patient_id),
                charges=charges,
                receipt_type=input.receipt_type.value,
                customer_name=input.customer_name,
                customer_document=input.customer_document,
            ),
        )

    @_mutation(ADMIN_ONLY, "Void a receipt: it keeps its number and its charges are free again.")
    def void_receipt(self, info: Info, id: relay.GlobalID, reason: str) -> Receipt:
        return cast(
            "Receipt",
            services.receipt_void(
                actor=info.context.require_user(), receipt=_receipt(info, id), reason=reason
            ),
        )

    @_mutation(MANAGE, "Record a payment, applied to receipts; what is left is credit.")
    def record_payment(self, info: Info, input: PaymentInput) -> Payment:
        allocations = None
        if input.allocations is not None:
            allocations = [
                (_receipt(info, a.receipt_id, f"allocations.{i}.receipt_id"), a.amount)
                for i, a in enumerate(_bounded(input.allocations, 100, "allocations"))
            ]
        return cast(
            Payment,
            payments.payment_record(
                actor=info.context.require_user(),
                patient=_patient(input.patient_id),
                amount=input.amount,
                method=input.method.value,
                currency=input.currency.value,
                exchange_rate=input.exchange_rate,
                paid_at=input.paid_at,
                reference=input.reference,
                allocations=allocations,
            ),
        )

    @_mutation(MANAGE, "Apply credit left on a payment to a receipt.")
    def allocate_payment(
        self, info: Info, payment_id: relay.GlobalID, receipt_id: relay.GlobalID, amount: Decimal
    ) -> Receipt:
        actor = info.context.require_user()
        receipt = _receipt(info, receipt_id, "receipt_id")
        payments.payment_allocate(
            actor=actor,
            payment=selectors.payment_get(
                actor=actor, payment_id=decode_id(payment_id, "Payment", field="payment_id")
            ),
            receipt=receipt,
            amount=amount,
        )
        return cast("Receipt", selectors.receipt_get(actor=actor, receipt_id=receipt.pk))

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(StaffPermission.MANAGE_SETTINGS),
        description="Change the IGV rate or whether prices include it (admins).",
    )
    def update_billing_settings(
        self, info: Info, igv_rate: Decimal | None = None, prices_include_tax: bool | None = None
    ) -> BillingSettings:
        return cast(
            BillingSettings,
            services.billing_settings_update(
                actor=info.context.require_user(),
                igv_rate=igv_rate,
                prices_include_tax=prices_include_tax,
            ),
        )

    @_mutation(ADMIN_ONLY, "Refund part of the patient's credit, with a reason.")
    def refund_payment(self, info: Info, input: RefundInput) -> Payment:
        return cast(
            Payment,
            payments.refund_record(
                actor=info.context.require_user(),
                patient=_patient(input.patient_id),
                amount=input.amount,
                method=input.method.value,
                reason=input.reason,
            ),
        )
