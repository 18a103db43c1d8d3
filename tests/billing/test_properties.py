"""Random billing histories (hypothesis) against a ledger the test keeps itself.

The ledger is a small independent model of the README's rules, written from the spec, never
from the code: a charge's amount is quantity × unit price (prices include IGV); a receipt's
total is its charges' amounts; a payment is applied to the receipts given, or else to the
oldest receipts still owed, and the rest is the patient's credit; a refund gives back credit;
a void releases what was paid on the receipt (it becomes credit) and frees its charges; a
receipt is ``ISSUED``, ``PARTIALLY_PAID`` or ``PAID`` by what is paid on it, or ``VOID``;
``balance = charges − payments + refunds``. After every step the database must say what the
ledger says: the balance and credit, the statement, each receipt's status and what it still
owes, what is left of each payment, and which charges are on no live receipt.

Two tests, two kinds of steps. One draws only operations that the ledger says must succeed,
with amounts chosen from the ledger's state (a refund of at most the credit, an allocation of
at most what the payment, the credit and the receipt allow): any refusal fails it. The other
draws, between successful steps, operations that the ledger says must be refused, and asserts
the refusal's code and that nothing changed. No error is ever swallowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from backend.billing import payments, selectors, services
from backend.billing.models import Charge, Payment, PaymentAllocation, Receipt, ReceiptLine
from backend.patients.models import Patient

pytestmark = pytest.mark.django_db

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
METHODS = ["CASH", "CARD", "YAPE", "PLIN", "TRANSFER"]


def cents(data: Any, low: Decimal, high: Decimal, label: str) -> Decimal:
    """An amount from ``low`` to ``high``, to the cent."""
    return Decimal(data.draw(st.integers(int(low / CENT), int(high / CENT)), label=label)) * CENT


# --- the ledger: the spec, as a model -------------------------------------------------------


@dataclass
class ModelReceipt:
    row: Receipt
    charges: list[int]  # indices into Ledger.charges
    total: Decimal
    void: bool = False


@dataclass
class Allocation:
    payment: int  # index into Ledger.payments
    receipt: int  # index into Ledger.receipts
    amount: Decimal
    live: bool = True


@dataclass
class Ledger:
    charges: list[tuple[Charge, Decimal]] = field(default_factory=list)
    receipts: list[ModelReceipt] = field(default_factory=list)
    payments: list[tuple[Payment, Decimal]] = field(default_factory=list)
    allocations: list[Allocation] = field(default_factory=list)
    refunds: list[Decimal] = field(default_factory=list)

    # What the rules say follows from what happened.
    def paid_on(self, receipt: int) -> Decimal:
        live = (a.amount for a in self.allocations if a.live and a.receipt == receipt)
        return sum(live, ZERO)

    def owed(self, receipt: int) -> Decimal:
        entry = self.receipts[receipt]
        return ZERO if entry.void else entry.total - self.paid_on(receipt)

    def status(self, receipt: int) -> str:
        if self.receipts[receipt].void:
            return "VOID"
        paid = self.paid_on(receipt)
        if paid >= self.receipts[receipt].total:
            return "PAID"
        return "ISSUED" if paid == 0 else "PARTIALLY_PAID"

    def left_of(self, payment: int) -> Decimal:
        used = (a.amount for a in self.allocations if a.live and a.payment == payment)
        return self.payments[payment][1] - sum(used, ZERO)

    @property
    def total_charged(self) -> Decimal:
        return sum((amount for _, amount in self.charges), ZERO)

    @property
    def total_paid(self) -> Decimal:
        return sum((amount for _, amount in self.payments), ZERO)

    @property
    def total_refunded(self) -> Decimal:
        return sum(self.refunds, ZERO)

    @property
    def credit(self) -> Decimal:
        applied = sum((a.amount for a in self.allocations if a.live), ZERO)
        return self.total_paid - applied - self.total_refunded

    @property
    def balance(self) -> Decimal:
        return self.total_charged - self.total_paid + self.total_refunded

    def invoiced(self) -> set[int]:
        return {i for r in self.receipts if not r.void for i in r.charges}

    def uninvoiced(self) -> list[int]:
        invoiced = self.invoiced()
        return [i for i in range(len(self.charges)) if i not in invoiced]

    def live(self) -> list[int]:
        return [i for i, r in enumerate(self.receipts) if not r.void]

    def owing(self) -> list[int]:
        return [i for i in self.live() if self.owed(i) > 0]

    def allocate(self, payment: int, receipt: int, amount: Decimal) -> None:
        self.allocations.append(Allocation(payment, receipt, amount))

    def agrees_with_the_database(self, patient: Patient) -> None:
        balance = selectors.patient_balance(patient)
        assert (balance.charges, balance.payments, balance.refunds) == (
            self.total_charged,
            self.total_paid,
            self.total_refunded,
        )
        assert (balance.balance, balance.credit) == (self.balance, self.credit)
        statement = selectors.patient_statement(patient)
        assert sorted(m.amount for m in statement) == sorted(
            [amount for _, amount in self.charges]
            + [-amount for _, amount in self.payments]
            + self.refunds
        )
        assert (statement[-1].balance if statement else ZERO) == self.balance
        stored = {row.pk: row for row in Receipt.objects.filter(patient=patient)}
        assert len(stored) == len(self.receipts)
        held = live_allocations(patient)
        for index, entry in enumerate(self.receipts):
            row = stored[entry.row.pk]
            assert (row.status, row.total) == (self.status(index), entry.total), index
            paid = held.get(("receipt", row.pk), ZERO)  # a void releases everything paid on it
            assert paid == (ZERO if entry.void else self.paid_on(index)), index
            assert row.subtotal + row.tax == row.total
        for index, (payment, amount) in enumerate(self.payments):
            assert amount - held.get(("payment", payment.pk), ZERO) == self.left_of(index), index
        assert [c.pk for c in selectors.uninvoiced_charges(patient_id=patient.pk)] == [
            self.charges[i][0].pk for i in self.uninvoiced()
        ]


# --- operations that must succeed -------------------------------------------------------------


def add_charge(ledger: Ledger, data: Any, patient: Patient, user: Any) -> None:
    unit = cents(data, CENT, Decimal("500.00"), "unit price")
    quantity = data.draw(st.integers(1, 3), label="quantity")
    charge = services.charge_add(
        actor=user, patient=patient, concept="Consulta", quantity=quantity, unit_price=unit
    )
    ledger.charges.append((charge, unit * quantity))


def issue_receipt(ledger: Ledger, data: Any, patient: Patient, user: Any) -> None:
    chosen = data.draw(
        st.lists(st.sampled_from(ledger.uninvoiced()), min_size=1, max_size=3, unique=True),
        label="charges",
    )
    rows = [ledger.charges[i][0] for i in chosen]
    receipt = services.receipt_issue(actor=user, patient=patient, charges=rows)
    total = sum((ledger.charges[i][1] for i in chosen), ZERO)
    ledger.receipts.append(ModelReceipt(receipt, chosen, total))


def pay(ledger: Ledger, data: Any, patient: Patient, user: Any) -> None:
    """Money for no receipt in particular: the oldest receipts owed first, the rest credit."""
    amount = cents(data, CENT, Decimal("800.00"), "payment")
    method = data.draw(st.sampled_from(METHODS), label="method")
    payment = payments.payment_record(actor=user, patient=patient, amount=amount, method=method)
    ledger.payments.append((payment, amount))
    remaining = amount
    for receipt in ledger.owing():  # in the order they were issued
        share = min(remaining, ledger.owed(receipt))
        if share <= 0:
            break
        ledger.allocate(len(ledger.payments) - 1, receipt, share)
        remaining -= share


def pay_a_receipt(ledger: Ledger, data: Any, patient: Patient, user: Any) -> None:
    """Money for one receipt, at most what it owes; anything above it is credit."""
    receipt = data.draw(st.sampled_from(ledger.owing()), label="receipt")
    share = cents(data, CENT, ledger.owed(receipt), "share")
    amount = share + cents(data, ZERO, Decimal("50.00"), "extra")
    payment = payments.payment_record(
        actor=user, patient=patient, amount=amount, method="CARD",
        allocations=[(ledger.receipts[receipt].row, share)],
    )  # fmt: skip
    ledger.payments.append((payment, amount))
    ledger.allocate(len(ledger.payments) - 1, receipt, share)


def allocatable(ledger: Ledger) -> list[int]:
    return [i for i in range(len(ledger.payments)) if ledger.left_of(i) > 0]


def allocate_credit(ledger: Ledger, data: Any, patient: Patient, user: Any) -> None:
    """Credit left on an earlier payment, applied to a receipt: at most what is left of the
    payment, of the patient's credit (refunds come out of it) and of what the receipt owes."""
    payment = data.draw(st.sampled_from(allocatable(ledger)), label="payment")
    receipt = data.draw(st.sampled_from(ledger.owing()), label="receipt")
    most = min(ledger.left_of(payment), ledger.credit, ledger.owed(receipt))
    amount = cents(data, CENT, most, "allocation")
    payments.payment_allocate(
        actor=user, payment=ledger.payments[payment][0],
        receipt=ledger.receipts[receipt].row, amount=amount,
    )  # fmt: skip
    ledger.allocate(payment, receipt, amount)


def void(ledger: Ledger, data: Any, patient: Patient, user: Any) -> None:
    receipt = data.draw(st.sampled_from(ledger.live()), label="receipt")
    services.receipt_void(actor=user, receipt=ledger.receipts[receipt].row, reason="Prueba")
    ledger.receipts[receipt].void = True
    for allocation in ledger.allocations:
        if allocation.receipt == receipt:
            allocation.live = False


def refund(ledger: Ledger, data: Any, patient: Patient, user: Any) -> None:
    amount = cents(data, CENT, ledger.credit, "refund")
    payments.refund_record(
        actor=user, patient=patient, amount=amount, method="CASH", reason="Devolución"
    )
    ledger.refunds.append(amount)


def succeeding(ledger: Ledger) -> list[Any]:
    """The operations that the ledger says must succeed now."""
    possible: list[Any] = [add_charge, pay]
    if ledger.uninvoiced():
        possible += [issue_receipt, issue_receipt]  # twice as likely: receipts make the states
    if ledger.owing():
        possible.append(pay_a_receipt)
        if ledger.credit > 0 and allocatable(ledger):
            possible.append(allocate_credit)
    if ledger.live():
        possible.append(void)
    if ledger.credit > 0:
        possible.append(refund)
    return possible


# --- operations that must be refused ----------------------------------------------------------


def refund_above_the_credit(ledger: Ledger, data: Any, patient: Patient, user: Any) -> None:
    amount = ledger.credit + cents(data, CENT, Decimal("100.00"), "excess")
    payments.refund_record(actor=user, patient=patient, amount=amount, method="CASH", reason="X")


def pay_a_receipt_more_than_it_owes(ledger: Ledger, data: Any, patient: Patient, user: Any) -> None:
    receipt = data.draw(st.sampled_from(ledger.live()), label="receipt")
    share = ledger.owed(receipt) + cents(data, CENT, Decimal("100.00"), "excess")
    payments.payment_record(
        actor=user, patient=patient, amount=share, method="CASH",
        allocations=[(ledger.receipts[receipt].row, share)],
    )  # fmt: skip


def pay_a_void_receipt(ledger: Ledger, data: Any, patient: Patient, user: Any) -> None:
    receipt = data.draw(st.sampled_from(voided(ledger)), label="receipt")
    payments.payment_record(
        actor=user, patient=patient, amount="10.00", method="CASH",
        allocations=[(ledger.receipts[receipt].row, "10.00")],
    )  # fmt: skip


def allocate_more_than_is_left(ledger: Ledger, data: Any, patient: Patient, user: Any) -> None:
    payment = data.draw(st.integers(0, len(ledger.payments) - 1), label="payment")
    receipt = data.draw(st.sampled_from(ledger.live()), label="receipt")
    most = min(ledger.left_of(payment), ledger.credit)
    payments.payment_allocate(
        actor=user, payment=ledger.payments[payment][0], receipt=ledger.receipts[receipt].row,
        amount=max(most, ZERO) + cents(data, CENT, Decimal("100.00"), "excess"),
    )  # fmt: skip


def void_again(ledger: Ledger, data: Any, patient: Patient, user: Any) -> None:
    receipt = data.draw(st.sampled_from(voided(ledger)), label="receipt")
    services.receipt_void(actor=user, receipt=ledger.receipts[receipt].row, reason="Otra vez")


def invoice_a_charge_twice(ledger: Ledger, data: Any, patient: Patient, user: Any) -> None:
    charge = data.draw(st.sampled_from(sorted(ledger.invoiced())), label="charge")
    services.receipt_issue(actor=user, patient=patient, charges=[ledger.charges[charge][0]])


def voided(ledger: Ledger) -> list[int]:
    return [i for i, r in enumerate(ledger.receipts) if r.void]


def refused(ledger: Ledger) -> list[Any]:
    """The operations that the ledger says must be refused now (codes in REFUSAL_CODES)."""
    possible: list[Any] = [refund_above_the_credit]
    if ledger.live():
        possible += [pay_a_receipt_more_than_it_owes, invoice_a_charge_twice]
        if ledger.payments:
            possible.append(allocate_more_than_is_left)
    if voided(ledger):
        possible += [pay_a_void_receipt, void_again]
    return possible


# --- the refusals' codes, from the README and the billing spec
REFUSAL_CODES = {
    refund_above_the_credit: "REFUND_EXCEEDS_CREDIT",
    pay_a_receipt_more_than_it_owes: "ALLOCATION_EXCEEDS_BALANCE",
    pay_a_void_receipt: "RECEIPT_VOID",
    allocate_more_than_is_left: "ALLOCATION_EXCEEDS_PAYMENT",
    void_again: "ALREADY_VOID",
    invoice_a_charge_twice: "CHARGE_ALREADY_INVOICED",
}


def live_allocations(patient: Patient) -> dict[tuple[str, int], Decimal]:
    """What is applied and not released, per receipt and per payment (one statement)."""
    held: dict[tuple[str, int], Decimal] = {}
    for receipt_id, payment_id, amount in PaymentAllocation.objects.filter(
        payment__patient=patient, released_at__isnull=True
    ).values_list("receipt_id", "payment_id", "amount"):
        held[("receipt", receipt_id)] = held.get(("receipt", receipt_id), ZERO) + amount
        held[("payment", payment_id)] = held.get(("payment", payment_id), ZERO) + amount
    return held


def codes(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [e.code for errors in error.error_dict.values() for e in errors]
    return [e.code for e in error.error_list]


def rows() -> tuple[int, ...]:
    return tuple(
        model.objects.count()
        for model in (Charge, Receipt, ReceiptLine, Payment, PaymentAllocation)
    )


def new_patient() -> Patient:
    return Patient.objects.create(
        first_name="P", last_name="Q", document_type="PASSPORT", document_number="PROP0001"
    )


# --- the tests -------------------------------------------------------------------------------

PROPERTY_SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_every_allowed_history_keeps_the_database_equal_to_the_ledger(clinic1, admin, data):
    """Mutation checks (issue 22): refunds left out of the credit, a void that keeps its
    allocations, payments applied to the newest receipt first, and balance = charges −
    payments − refunds each turn this red."""
    with tenant_context(clinic1), transaction.atomic():
        patient, ledger = new_patient(), Ledger()
        for _ in range(data.draw(st.integers(1, 20), label="steps")):
            operation = data.draw(st.sampled_from(succeeding(ledger)), label="operation")
            operation(ledger, data, patient, admin)  # a refusal here fails the test
            event(operation.__name__)  # --hypothesis-show-statistics: the mix of operations
            ledger.agrees_with_the_database(patient)
        transaction.set_rollback(True)


@settings(PROPERTY_SETTINGS, max_examples=20)
@given(data=st.data())
def test_every_operation_the_ledger_refuses_answers_its_code_and_changes_nothing(
    clinic1, admin, data
):
    """Mutation check: a refund above the credit accepted turns this red."""
    with tenant_context(clinic1), transaction.atomic():
        patient, ledger = new_patient(), Ledger()
        for _ in range(data.draw(st.integers(1, 15), label="steps")):
            operation = data.draw(st.sampled_from(succeeding(ledger)), label="operation")
            operation(ledger, data, patient, admin)
            bad = data.draw(st.sampled_from(refused(ledger)), label="refused operation")
            before = rows()
            with pytest.raises(ValidationError) as raised, transaction.atomic():
                bad(ledger, data, patient, admin)
            assert codes(raised.value) == [REFUSAL_CODES[bad]], bad.__name__
            event(bad.__name__)
            assert rows() == before
            ledger.agrees_with_the_database(patient)  # the ledger did not change either
        transaction.set_rollback(True)
