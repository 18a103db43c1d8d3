"""Compiled reads of billing (graphql_api/core/compiled): receipts (the list and one), and the
account statement. Each declaration computes what the field's resolver in ``types.py`` or
``queries.py`` answers; the rows come from the same selectors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import F, QuerySet
from graphql import FragmentDefinitionNode, get_named_type
from strawberry import relay

from backend.billing import models, selectors
from backend.billing.models import PaymentKind, PaymentMethod, ReceiptStatus, ReceiptType
from backend.patients import selectors as patient_selectors
from backend.patients.models import Patient
from graphql_api.billing.queries import receipts_rows
from graphql_api.billing.types import Charge, Receipt, ReceiptLine
from graphql_api.core.compiled import sql
from graphql_api.core.compiled.coverage import (
    Column,
    Computed,
    DateTime,
    EnumName,
    Forward,
    Many,
    NodeId,
    cover,
    cover_connection,
    cover_custom,
    cover_single,
)
from graphql_api.core.compiled.planner import Decline, Selected, collect, sub_selections
from graphql_api.core.ids import decode_id


def _full_number(series: str, number: str) -> str:
    """``f"{series}-{number:08d}"``: at least eight digits, zero-padded (``lpad`` alone would
    cut a longer number)."""
    return (
        f"{series} || '-' || CASE WHEN {number} >= 0 AND {number} < 100000000 "
        f"THEN lpad({number}::text, 8, '0') ELSE {number}::text END"
    )


cover(
    Charge,
    models.Charge,
    id=NodeId(),
    concept=Column("concept"),
    quantity=Column("quantity"),
    unit_price=Column("unit_price", as_text=True),  # numeric(12, 2): str(Decimal) is its text
    discount=Column("discount", as_text=True),
    amount=Column("amount", as_text=True),
    currency=Column("currency"),
    professional=Forward("professional"),
    created_at=DateTime("created_at"),
)
cover(
    ReceiptLine,
    models.ReceiptLine,
    charge=Forward("charge"),
    amount=Column("amount", as_text=True),
)
cover(
    Receipt,
    models.Receipt,
    id=NodeId(),
    full_number=Computed(["series", "number"], _full_number),
    receipt_type=EnumName("receipt_type", ReceiptType),
    series=Column("series"),
    number=Column("number"),
    patient=Forward("patient"),
    customer_name=Column("customer_name"),
    customer_document=Column("customer_document"),
    igv_rate=Column("igv_rate", as_text=True),  # numeric(5, 4): "0.1800", as str(Decimal)
    subtotal=Column("subtotal", as_text=True),
    tax=Column("tax", as_text=True),
    total=Column("total", as_text=True),
    currency=Column("currency"),
    status=EnumName("status", ReceiptStatus),
    issued_at=DateTime("issued_at"),
    issued_by=Forward("issued_by"),
    void_reason=Column("void_reason"),
    voided_at=DateTime("voided_at"),
    lines=Many("lines"),
)


def _patient_pk(patient_id: relay.GlobalID) -> str:
    return decode_id(patient_id, "Patient", field="patient_id")


def _receipts_patient(
    info: Any, patient_id: relay.GlobalID | None = None, **_paging: Any
) -> QuerySet[Patient] | None:
    """The patient ``receipts(patientId)`` looks up first (its ``NOT_FOUND``), checked in the
    statement instead; nothing without a ``patientId``."""
    if not patient_id:
        return None
    return patient_selectors.patient_rows(patient_id=_patient_pk(patient_id))


cover_connection(
    "receipts",
    arguments=("patient_id", "status"),
    rows=lambda info, patient_id=None, status=None: receipts_rows(info, patient_id, status),
    requires=_receipts_patient,
)
cover_single(
    "receipt",
    lambda info, id: selectors.receipt_rows(
        actor=info.context.require_user(), receipt_id=decode_id(id, "Receipt")
    ),
    arguments=("id",),
)


# --- the account statement -------------------------------------------------------------------

# Movement's fields (a plain type: ``selectors.Movement`` as the resolver copies it).
_MOVEMENT = {
    "at": sql.datetime("s.m_at"),
    "kind": "s.m_kind",
    "description": "s.m_description",
    "amount": "(s.m_amount)::text",
    "balance": "(s.m_balance)::text",
}


class AccountStatement:
    """``accountStatement(patientId)``: ``selectors.patient_statement`` in SQL. The charges and
    the payments of ``selectors.statement_rows``, merged in its order (time, charges first,
    id), signed as it signs them (a payment lowers the balance), described as it describes
    them (a charge's concept, a payment's method by its translated name, a refund's reason),
    and the running balance: a numeric sum, exact, with the amounts' scale, as Python's
    ``Decimal`` sum from ``0.00`` (a numeric has no ``-0.00``, and neither has that sum)."""

    def plan(
        self,
        planner: Any,
        graphql_type: Any,
        item: Selected,
        fragments: dict[str, FragmentDefinitionNode],
    ) -> tuple[tuple[str, str], ...]:
        movement = get_named_type(graphql_type)
        keys = []
        for part in collect(movement, sub_selections(item), fragments):
            if part.name != "__typename" and part.name not in _MOVEMENT:
                raise Decline(f"Movement.{part.name} is not covered")
            if any(node.arguments or node.selection_set for node in part.nodes):
                raise Decline(f"Movement.{part.name}: arguments or a selection")
            keys.append((part.key, part.name))
        return tuple(keys)

    def gates(self, shape: Any) -> dict[str, Any]:
        return {}

    def render(
        self,
        shape: tuple[tuple[str, str], ...],
        *,
        kwargs: dict[str, Any],
        info: Any,
        gates: dict[str, bool],
    ) -> tuple[str, Sequence[Any]]:
        charges, payments = selectors.statement_rows(
            patient_id=int(_patient_pk(kwargs["patient_id"]))
        )
        charges_sql, charges_params = (
            charges.order_by()
            .values(m_at=F("created_at"), m_text=F("concept"), m_amount=F("amount"), m_pk=F("pk"))
            .query.sql_with_params()
        )
        payments_sql, payments_params = (
            payments.order_by()
            .values(
                m_at=F("paid_at"),
                m_kind=F("kind"),
                m_method=F("method"),
                m_reason=F("reason"),
                m_amount=F("amount_pen"),
                m_pk=F("pk"),
            )
            .query.sql_with_params()
        )
        # get_method_display() in the request's language: labels are parameters, never text
        # of the cached plan.
        labels: list[Any] = []
        for method in PaymentMethod:
            labels += [method.value, str(method.label)]
        method_name = " ".join("WHEN %s THEN %s" for _method in PaymentMethod)
        payment = sql.literal(PaymentKind.PAYMENT.value)
        pairs = [
            (key, sql.literal("Movement") if name == "__typename" else _MOVEMENT[name])
            for key, name in shape
        ]
        order = "s.m_at, s.m_order, s.m_pk"
        text = (
            f"SELECT coalesce(json_agg({sql.json_object(pairs)} ORDER BY {order}), '[]'::json) "
            "FROM (SELECT u.*, sum(u.m_amount) OVER (ORDER BY u.m_at, u.m_order, u.m_pk "
            "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS m_balance FROM ("
            "SELECT c.m_at, 0 AS m_order, 'CHARGE'::text AS m_kind, "
            "(c.m_text)::text AS m_description, c.m_amount, c.m_pk "
            f"FROM ({charges_sql}) c "
            "UNION ALL "
            "SELECT p.m_at, 1, (p.m_kind)::text, "
            f"CASE WHEN p.m_kind = {payment} "
            f"THEN (CASE p.m_method {method_name} ELSE p.m_method END)::text "
            "ELSE (p.m_reason)::text END, "
            f"CASE WHEN p.m_kind = {payment} THEN -p.m_amount ELSE p.m_amount END, p.m_pk "
            f"FROM ({payments_sql}) p"
            ") u) s"
        )
        return text, [*charges_params, *labels, *payments_params]


cover_custom(
    "account_statement",
    AccountStatement(),
    arguments=("patient_id",),
    requires=lambda info, patient_id: patient_selectors.patient_rows(
        patient_id=_patient_pk(patient_id)
    ),
)
