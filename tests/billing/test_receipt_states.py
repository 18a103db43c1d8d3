"""The receipt's states, pinned by a literal table written from the README, never read from
the code: ``ISSUED``, ``PARTIALLY_PAID`` and ``PAID`` follow what is paid on the receipt,
``voidReceipt`` makes any live receipt ``VOID`` (it keeps its number), and a void receipt
takes neither money (``RECEIPT_VOID``) nor a second void (``ALREADY_VOID``). A payment larger
than what the receipt still owes is ``ALLOCATION_EXCEEDS_BALANCE``. Every (state, operation)
pair goes through the API; a refused one changes nothing."""

from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from backend.billing import payments, services
from backend.billing.models import Payment, PaymentAllocation, Receipt
from tests.conftest import graphql
from tests.ids import global_id

pytestmark = pytest.mark.django_db

HOST = "clinica1.localhost"
TOTAL = Decimal("100.00")
# How each state is reached: the amount paid on the receipt, and whether it is voided.
SETUP = {
    "ISSUED": (None, False),
    "PARTIALLY_PAID": (Decimal("40.00"), False),
    "PAID": (TOTAL, False),
    "VOID": (Decimal("40.00"), True),
}
# (state, operation) → the receipt's state after it, or the refusal's code. A receipt of
# 100.00; PARTIALLY_PAID has 40.00 paid on it, so 60.00 still owed.
RECEIPT_TABLE = {
    ("ISSUED", "pay 30.00"): "PARTIALLY_PAID",
    ("ISSUED", "pay 60.00"): "PARTIALLY_PAID",
    ("ISSUED", "pay 100.00"): "PAID",
    ("ISSUED", "void"): "VOID",
    ("PARTIALLY_PAID", "pay 30.00"): "PARTIALLY_PAID",
    ("PARTIALLY_PAID", "pay 60.00"): "PAID",
    ("PARTIALLY_PAID", "pay 100.00"): "ALLOCATION_EXCEEDS_BALANCE",
    ("PARTIALLY_PAID", "void"): "VOID",
    ("PAID", "pay 30.00"): "ALLOCATION_EXCEEDS_BALANCE",
    ("PAID", "pay 60.00"): "ALLOCATION_EXCEEDS_BALANCE",
    ("PAID", "pay 100.00"): "ALLOCATION_EXCEEDS_BALANCE",
    ("PAID", "void"): "VOID",
    ("VOID", "pay 30.00"): "RECEIPT_VOID",
    ("VOID", "pay 60.00"): "RECEIPT_VOID",
    ("VOID", "pay 100.00"): "RECEIPT_VOID",
    ("VOID", "void"): "ALREADY_VOID",
}
STATES = {"ISSUED", "PARTIALLY_PAID", "PAID", "VOID"}
PAY = """
mutation($p: ID!, $amount: Decimal!, $r: ID!) {
  recordPayment(input: {patientId: $p, amount: $amount, method: CASH,
                        allocations: [{receiptId: $r, amount: $amount}]}) {
    __typename ... on OperationInfo { messages { code } }
  }
}
"""
VOID = """
mutation($r: ID!) {
  voidReceipt(id: $r, reason: "Error de digitación") {
    __typename ... on OperationInfo { messages { code } }
  }
}
"""
STATUS = "query($r: ID!) { receipt(id: $r) { status fullNumber } }"


def test_the_spec_table_names_every_receipt_status_the_api_has():
    from backend.billing.models import ReceiptStatus

    assert {status.value for status in ReceiptStatus} == STATES
    assert {state for state, _ in RECEIPT_TABLE} == STATES


def _snapshot(clinic, receipt):
    with tenant_context(clinic):
        row = Receipt.objects.get(pk=receipt.pk)
        return (
            row.status,
            row.full_number,
            row.void_reason,
            Payment.objects.count(),
            sorted(
                (allocation.amount, allocation.released_at is None)
                for allocation in PaymentAllocation.objects.filter(receipt=row)
            ),
        )


@pytest.mark.parametrize(
    ("state", "operation"), list(RECEIPT_TABLE), ids=map("|".join, RECEIPT_TABLE)
)
def test_every_receipt_operation_in_every_state_does_what_the_spec_table_says(
    client, clinic1, patient, admin, token_for, state, operation
):
    paid, voided = SETUP[state]
    with tenant_context(clinic1):
        charge = services.charge_add(
            actor=admin, patient=patient, concept="Resina", quantity=1, unit_price=TOTAL
        )
        receipt = services.receipt_issue(actor=admin, patient=patient, charges=[charge])
        if paid:
            payments.payment_record(
                actor=admin, patient=patient, amount=paid, method="CARD",
                allocations=[(receipt, paid)],
            )  # fmt: skip
        if voided:
            services.receipt_void(actor=admin, receipt=receipt, reason="Anulada")
    before = _snapshot(clinic1, receipt)
    assert before[0] == state  # the setup reached the state it names
    token = token_for(clinic1, admin)
    receipt_id = global_id("Receipt", receipt.pk)
    if operation == "void":
        _, body = graphql(client, VOID, host=HOST, token=token, variables={"r": receipt_id})
    else:
        amount = operation.split()[1]
        variables = {"p": global_id("Patient", patient.pk), "amount": amount, "r": receipt_id}
        _, body = graphql(client, PAY, host=HOST, token=token, variables=variables)
    payload = next(iter(body["data"].values()))
    status, number, void_reason, payment_count, allocations = after = _snapshot(clinic1, receipt)
    expected = RECEIPT_TABLE[(state, operation)]
    _, shown = graphql(client, STATUS, host=HOST, token=token, variables={"r": receipt_id})
    if expected in STATES:
        assert payload == {"__typename": "Receipt" if operation == "void" else "Payment"}
        assert shown == {"data": {"receipt": {"status": expected, "fullNumber": number}}}
        assert (status, number) == (expected, before[1])  # a void keeps its number
        if operation == "void":
            assert (void_reason, payment_count) == ("Error de digitación", before[3])
            # What was paid on it is released (the patient's credit now).
            assert allocations == [(amount, False) for amount, _ in before[4]]
        else:
            assert payment_count == before[3] + 1
            assert allocations == sorted([*before[4], (Decimal(operation.split()[1]), True)])
    else:
        assert payload == {"__typename": "OperationInfo", "messages": [{"code": expected}]}
        assert shown == {"data": {"receipt": {"status": state, "fullNumber": before[1]}}}
        assert after == before
