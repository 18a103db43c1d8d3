"""Reading billing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Annotated, cast

import strawberry
import strawberry_django
from django.db.models import QuerySet
from strawberry import relay

from backend.billing import models, selectors, services
from backend.billing.permissions import BillingPermission
from backend.patients import selectors as patient_selectors
from graphql_api.billing.types import (
    Balance,
    BillingSettings,
    CashReport,
    Charge,
    MethodTotal,
    Movement,
    PaymentMethod,
    ProfessionalTotal,
    Receipt,
    ReceiptStatus,
)
from graphql_api.core.context import Info
from graphql_api.core.ids import decode_id
from graphql_api.core.pagination import ListConnection
from graphql_api.core.permissions import clinic_permission

VIEW = BillingPermission.VIEW_BILLING


def _patient(global_id: relay.GlobalID):
    return patient_selectors.patient_get(
        patient_id=decode_id(global_id, "Patient", field="patient_id")
    )


def receipts_rows(
    info: Info, patient_id: relay.GlobalID | None, status: list[ReceiptStatus] | None
) -> QuerySet[models.Receipt]:
    """The receipts ``receipts`` pages (the selector's), without looking the patient up: the
    resolver does that first (``NOT_FOUND``); compiled reads check it in their statement."""
    return selectors.receipt_list(
        actor=info.context.require_user(),
        patient_id=int(decode_id(patient_id, "Patient", field="patient_id"))
        if patient_id
        else None,
        statuses=[s.value for s in status] if status else None,
    )


@strawberry.type
class Query:
    @strawberry_django.field(extensions=clinic_permission(VIEW), description="The tax set-up.")
    def billing_settings(self, info: Info) -> BillingSettings:
        return cast(BillingSettings, services.billing_settings())

    @strawberry.field(
        extensions=clinic_permission(VIEW), description="The patient's balance and credit."
    )
    def patient_balance(self, info: Info, patient_id: relay.GlobalID) -> Balance:
        return Balance(**selectors.patient_balance(_patient(patient_id)).__dict__)

    @strawberry.field(
        extensions=clinic_permission(VIEW),
        description="Every charge, payment and refund in order, with the running balance.",
    )
    def account_statement(self, info: Info, patient_id: relay.GlobalID) -> list[Movement]:
        return [
            Movement(
                at=m.at, kind=m.kind, description=m.description, amount=m.amount, balance=m.balance
            )
            for m in selectors.patient_statement(_patient(patient_id))
        ]

    @strawberry_django.field(
        extensions=clinic_permission(VIEW), description="Charges on no live receipt."
    )
    def uninvoiced_charges(self, info: Info, patient_id: relay.GlobalID) -> list[Charge]:
        return cast(list[Charge], selectors.uninvoiced_charges(patient_id=_patient(patient_id).pk))

    @strawberry_django.field(
        extensions=clinic_permission(VIEW), description="One receipt, issued or void."
    )
    def receipt(self, info: Info, id: relay.GlobalID) -> Receipt:
        return cast(
            "Receipt",
            selectors.receipt_get(
                actor=info.context.require_user(), receipt_id=decode_id(id, "Receipt")
            ),
        )

    @strawberry_django.connection(
        ListConnection[Receipt],
        extensions=clinic_permission(VIEW),
        description="Receipts, newest first.",
    )
    def receipts(
        self,
        info: Info,
        patient_id: relay.GlobalID | None = None,
        status: list[ReceiptStatus] | None = None,
    ) -> Iterable[models.Receipt]:
        if patient_id:
            _patient(patient_id)  # NOT_FOUND for a patient this clinic does not have
        return receipts_rows(info, patient_id, status)

    @strawberry.field(
        extensions=clinic_permission(VIEW),
        description="Money by method, production by professional, and receipts issued and voided, "
        "for local days `from` to `to` (inclusive).",
    )
    def cash_report(
        self, info: Info, from_: Annotated[dt.date, strawberry.argument(name="from")], to: dt.date
    ) -> CashReport:
        report = selectors.cash_report(date_from=from_, date_to=to)
        methods = [
            MethodTotal(method=PaymentMethod(m), received=r, refunded=f, net=r - f, count=n)
            for m, (r, f, n) in sorted(report.by_method.items())
        ]
        return CashReport(
            start=report.start,
            end=report.end,
            by_method=methods,
            by_professional=[
                ProfessionalTotal(professional_name=name or None, total=total, count=n)
                for _pk, name, total, n in report.by_professional
            ],
            receipts_issued=cast(list[Receipt], report.issued),
            receipts_voided=cast(list[Receipt], report.voided),
            total_received=sum((m.received for m in methods), start=selectors.ZERO),
            total_refunded=sum((m.refunded for m in methods), start=selectors.ZERO),
        )
