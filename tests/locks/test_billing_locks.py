"""Billing's locks, each under a real race (see ``tests/locks/support.py`` for the gate).

- The patient's row (``patient_lock``): every money movement of one patient takes it first,
  so credit and what is owed cannot change between a service's check and its write.
- The series row (``_next_number``): numbers are consecutive, without gaps or duplicates,
  even when an issue fails after taking its number.
- The billing settings row.

The expectations come from the README (Billing) and the services' contracts: a refund never
exceeds the credit, a payment is never allocated twice, a payment with no receipts named is
applied to the oldest owed receipts and the rest is credit, a void turns what was paid into
credit, each performed procedure is charged once.
"""

from __future__ import annotations

from decimal import Decimal

from backend.audit.models import AuditEvent
from backend.billing import payments, services
from backend.billing.models import (
    BillingSettings,
    Charge,
    Payment,
    PaymentAllocation,
    PaymentKind,
    Receipt,
    ReceiptStatus,
)
from backend.treatments.models import PerformedProcedure, Procedure
from tests.locks.support import api, codes, gid, payload, race

REFUND = """mutation($p: ID!, $a: Decimal!) {
  refundPayment(input: {patientId: $p, amount: $a, method: CASH, reason: "Devolución"}) {
    __typename ... on OperationInfo { messages { code message } } } }"""
ALLOCATE = """mutation($pay: ID!, $r: ID!, $a: Decimal!) {
  allocatePayment(paymentId: $pay, receiptId: $r, amount: $a) {
    __typename ... on OperationInfo { messages { code message } } } }"""
PAY = """mutation($p: ID!, $a: Decimal!) {
  recordPayment(input: {patientId: $p, amount: $a, method: CASH}) {
    __typename ... on OperationInfo { messages { code message } } } }"""
VOID = """mutation($id: ID!) { voidReceipt(id: $id, reason: "Datos del cliente errados") {
    __typename ... on OperationInfo { messages { code message } } } }"""
ISSUE = """mutation($p: ID!, $c: [ID!]!) {
  issueReceipt(input: {patientId: $p, chargeIds: $c, receiptType: BOLETA}) {
    __typename ... on Receipt { series number }
    ... on OperationInfo { messages { code message } } } }"""
CHARGE_PERFORMED = """mutation($p: ID!) { chargePerformedProcedures(patientId: $p) {
    __typename ... on NewCharges { charges { id amount } }
    ... on OperationInfo { messages { code message } } } }"""
SETTINGS = """mutation($rate: Decimal, $incl: Boolean) {
  updateBillingSettings(igvRate: $rate, pricesIncludeTax: $incl) {
    __typename ... on OperationInfo { messages { code message } } } }"""


# --- arranging (committed, through the services) --------------------------------------------


def charge(place, patient, amount: str) -> Charge:
    with place.inside():
        return services.charge_add(
            actor=place.admin, patient=patient, concept="Curación", quantity=1, unit_price=amount
        )


def receipt(place, patient, amount: str) -> Receipt:
    with place.inside():
        return services.receipt_issue(
            actor=place.admin, patient=patient, charges=[charge(place, patient, amount)]
        )


def credit(place, patient, amount: str) -> Payment:
    """A payment kept whole as the patient's credit."""
    with place.inside():
        return payments.payment_record(
            actor=place.admin, patient=patient, amount=amount, method="CASH", allocations=[]
        )


def money(place, patient) -> dict[str, Decimal]:
    """What the patient's rows say, summed by hand: received, refunded, applied to live
    receipts, and the credit those leave (README: what is received and not applied, less
    what was refunded)."""

    def total(rows) -> Decimal:
        return sum((row.amount_pen for row in rows), Decimal("0.00"))

    with place.inside():
        received = total(Payment.objects.filter(patient=patient, kind=PaymentKind.PAYMENT))
        refunded = total(Payment.objects.filter(patient=patient, kind=PaymentKind.REFUND))
        applied = sum(
            (
                a.amount
                for a in PaymentAllocation.objects.filter(
                    payment__patient=patient, released_at__isnull=True
                )
            ),
            Decimal("0.00"),
        )
    return {
        "received": received,
        "refunded": refunded,
        "applied": applied,
        "credit": received - applied - refunded,
    }


def next_boleta(place) -> int:
    """The next boleta number, after one receipt at least: the series row exists, so its
    first insert is no part of the race."""
    receipt(place, place.patient(), "10.00")
    with place.inside():
        numbers = Receipt.objects.filter(series="B001").values_list("number", flat=True)
        return max(numbers, default=0) + 1


def send(place, query, **variables):
    return api(place.host, place.token, query, variables)


# --- the patient's lock: money movements of one patient -------------------------------------


def test_two_refunds_of_the_same_credit_give_it_back_once(committed):
    """100.00 of credit, two refunds of 100.00 at once: one is paid out, the other is refused
    with ``REFUND_EXCEEDS_CREDIT``; the credit ends at 0.00, never below.

    Checked: without ``patient_lock`` in ``refund_record`` the second refund does not wait,
    reads the credit as it was (100.00), and both are paid out: the credit ends at -100.00.
    """
    place = committed
    patient = place.patient()
    credit(place, patient, "100.00")
    refund = send(place, REFUND, p=gid(patient), a="100.00")

    result = race(place.schema, "billing.refund", refund, refund)

    assert codes(result.first, "refundPayment") == []
    assert codes(result.second, "refundPayment") == ["REFUND_EXCEEDS_CREDIT"]
    assert result.second_waited
    assert money(place, patient) == {
        "received": Decimal("100.00"),
        "refunded": Decimal("100.00"),
        "applied": Decimal("0.00"),
        "credit": Decimal("0.00"),
    }


def test_one_payments_credit_allocated_to_two_receipts_at_once_is_allocated_once(committed):
    """100.00 of credit on one payment and two receipts of 100.00: allocating it to each at
    once pays one receipt; the other allocation is refused (``ALLOCATION_EXCEEDS_PAYMENT``)
    and that receipt stays ``ISSUED``. The payment is never allocated twice.

    Checked: without ``patient_lock`` in ``payment_allocate`` the second allocation reads
    the payment as still unallocated (the receipts are different rows, so no other lock
    stops it): both receipts end ``PAID`` and 200.00 is allocated out of a 100.00 payment.
    """
    place = committed
    patient = place.patient()
    paid = credit(place, patient, "100.00")
    first, second = receipt(place, patient, "100.00"), receipt(place, patient, "100.00")

    result = race(
        place.schema,
        "billing.allocate_payment",
        send(place, ALLOCATE, pay=gid(paid), r=gid(first), a="100.00"),
        send(place, ALLOCATE, pay=gid(paid), r=gid(second), a="100.00"),
    )

    assert payload(result.first, "allocatePayment")["__typename"] == "Receipt"
    assert codes(result.second, "allocatePayment") == ["ALLOCATION_EXCEEDS_PAYMENT"]
    with place.inside():
        assert Receipt.objects.get(pk=first.pk).status == ReceiptStatus.PAID
        assert Receipt.objects.get(pk=second.pk).status == ReceiptStatus.ISSUED
        assert [a.amount for a in PaymentAllocation.objects.filter(payment=paid)] == [
            Decimal("100.00")
        ]
    assert money(place, patient)["credit"] == Decimal("0.00")


def test_an_allocation_and_a_refund_of_the_same_credit_at_once_spend_it_once(committed):
    """100.00 of credit: allocating it to a receipt while refunding it. The allocation,
    first, goes through; the refund then finds no credit (``REFUND_EXCEEDS_CREDIT``).

    Checked: without ``patient_lock`` in ``refund_record`` (or in ``payment_allocate``) the
    refund does not wait and reads the credit before the allocation: the receipt is paid
    and the 100.00 refunded too, a credit of -100.00.
    """
    place = committed
    patient = place.patient()
    paid = credit(place, patient, "100.00")
    owed = receipt(place, patient, "100.00")

    result = race(
        place.schema,
        "billing.allocate_payment",
        send(place, ALLOCATE, pay=gid(paid), r=gid(owed), a="100.00"),
        send(place, REFUND, p=gid(patient), a="100.00"),
    )

    assert payload(result.first, "allocatePayment")["__typename"] == "Receipt"
    assert codes(result.second, "refundPayment") == ["REFUND_EXCEEDS_CREDIT"]
    assert money(place, patient) == {
        "received": Decimal("100.00"),
        "refunded": Decimal("0.00"),
        "applied": Decimal("100.00"),
        "credit": Decimal("0.00"),
    }


def test_two_payments_of_one_owed_receipt_at_once_pay_it_once_and_keep_the_rest(committed):
    """A receipt of 100.00 and two payments of 100.00 at once, naming no receipt: the first
    pays the receipt, the second finds nothing owed and is kept whole as credit. Neither is
    refused, and the receipt is paid exactly once.

    Checked: without ``patient_lock`` in ``payment_record`` the second payment picks the
    receipt as still owed and then finds it paid: it is refused
    (``ALLOCATION_EXCEEDS_BALANCE``) although it named no receipt. Without the receipt's
    lock in ``_allocate`` as well, both payments are applied and the receipt is paid twice
    (200.00 allocated to 100.00). The receipt's lock alone is redundant under the patient's
    (every allocation to a receipt is a movement of its patient): removing only it keeps
    this and every other test here green.
    """
    place = committed
    patient = place.patient()
    owed = receipt(place, patient, "100.00")
    pay = send(place, PAY, p=gid(patient), a="100.00")

    result = race(place.schema, "billing.record_payment", pay, pay)

    assert codes(result.first, "recordPayment") == []
    assert codes(result.second, "recordPayment") == []
    with place.inside():
        assert Receipt.objects.get(pk=owed.pk).status == ReceiptStatus.PAID
        assert [a.amount for a in PaymentAllocation.objects.filter(receipt=owed)] == [
            Decimal("100.00")
        ]
    assert money(place, patient) == {
        "received": Decimal("200.00"),
        "refunded": Decimal("0.00"),
        "applied": Decimal("100.00"),
        "credit": Decimal("100.00"),
    }


def test_a_payment_during_the_void_of_the_owed_receipt_becomes_credit(committed):
    """The patient's only owed receipt is voided while a payment naming no receipt comes in:
    the void goes first, so nothing is owed and the payment is all credit. It is not refused.

    Checked: without ``patient_lock`` in ``receipt_void`` the payment does not wait for the
    void; it picks the receipt as owed, then waits for the receipt's row and finds it void:
    refused with ``RECEIPT_VOID``, though the cashier named no receipt.
    """
    place = committed
    patient = place.patient()
    owed = receipt(place, patient, "80.00")

    result = race(
        place.schema,
        "billing.void_receipt",
        send(place, VOID, id=gid(owed)),
        send(place, PAY, p=gid(patient), a="50.00"),
    )

    assert payload(result.first, "voidReceipt")["__typename"] == "Receipt"
    assert codes(result.second, "recordPayment") == []
    with place.inside():
        assert Receipt.objects.get(pk=owed.pk).status == ReceiptStatus.VOID
        assert not PaymentAllocation.objects.filter(receipt=owed).exists()
    assert money(place, patient)["credit"] == Decimal("50.00")


def test_two_voids_of_one_receipt_at_once_void_it_once(committed):
    """Two voids of one receipt at once: one voids it, the other answers ``ALREADY_VOID``;
    one audit event.

    Checked: this race has two locks, the patient's (``patient_lock`` in ``receipt_void``)
    and the receipt's (``select_for_update`` in ``receipt_void``); either alone keeps the
    test green (the patient's lock serializes every void of the patient). Without both, the
    second void reads the receipt as issued and voids it again: two successes, two audit
    events.
    """
    place = committed
    patient = place.patient()
    owed = receipt(place, patient, "80.00")
    void = send(place, VOID, id=gid(owed))

    result = race(place.schema, "billing.void_receipt", void, void)

    assert payload(result.first, "voidReceipt")["__typename"] == "Receipt"
    assert codes(result.second, "voidReceipt") == ["ALREADY_VOID"]
    with place.inside():
        voids = AuditEvent.objects.filter(action="billing.void_receipt", entity_id=str(owed.pk))
        assert voids.count() == 1


def test_two_charging_runs_at_once_charge_each_performed_procedure_once(committed):
    """``chargePerformedProcedures`` twice at once for a patient with one performed
    procedure: the first charges it, the second finds nothing left to charge. No error.

    Checked: without ``patient_lock`` in ``charges_from_performed`` the second run also sees
    the procedure uncharged and inserts a second charge for it, which the one-charge-per-
    procedure constraint refuses: the second request fails with ``INTERNAL_ERROR``.
    """
    place = committed
    patient = place.patient()
    professional = place.professional()
    with place.inside():
        services.billing_settings()  # made once per clinic: its insert must not be the race
        procedure, _ = Procedure.objects.get_or_create(
            code="LOCK-01",
            defaults={"name": "Profilaxis", "category": "PREVENTION", "default_price": "90.00"},
        )
        performed = PerformedProcedure.objects.create(
            patient=patient, procedure=procedure, professional=professional,
            performed_by=place.admin, price=Decimal("90.00"),
        )  # fmt: skip
    run = send(place, CHARGE_PERFORMED, p=gid(patient))

    result = race(place.schema, "billing.charge_performed", run, run)

    assert len(payload(result.first, "chargePerformedProcedures")["charges"]) == 1
    assert payload(result.second, "chargePerformedProcedures")["charges"] == []
    with place.inside():
        assert Charge.objects.filter(performed_procedure=performed).count() == 1


def test_two_issues_of_one_charge_at_once_put_it_on_one_receipt(committed):
    """Two receipts for the same charge at once: one is issued, the other is refused with
    ``CHARGE_ALREADY_INVOICED`` and takes no number.

    Checked: two locks guard this race, the patient's (``patient_lock`` in
    ``receipt_issue``) and the charges' (``select_for_update`` on the charges in
    ``receipt_issue``); either alone keeps the test green. Without both, the second issue
    sees the charge free and puts it on a second receipt, which only the database's
    ``charge_on_one_live_receipt`` constraint stops: ``INTERNAL_ERROR`` instead of the coded
    refusal.
    """
    place = committed
    patient = place.patient()
    item = charge(place, patient, "120.00")
    issue = send(place, ISSUE, p=gid(patient), c=[gid(item)])
    with place.inside():
        before = set(Receipt.objects.values_list("pk", flat=True))

    result = race(place.schema, "billing.issue_receipt", issue, issue)

    assert payload(result.first, "issueReceipt")["__typename"] == "Receipt"
    assert codes(result.second, "issueReceipt") == ["CHARGE_ALREADY_INVOICED"]
    with place.inside():
        issued = Receipt.objects.exclude(pk__in=before)
        assert [r.lines.get().charge_id for r in issued] == [item.pk]


def test_an_issue_waits_for_its_patients_payment_without_holding_up_the_series(committed):
    """The lock order of billing (module docstring of ``backend/billing/services.py``): the
    patient's row first, the series row last. A receipt for a patient whose payment is in
    flight waits for that payment, and while it waits it holds no number: another patient's
    receipt, issued meanwhile, takes the next number at once.

    Checked: without ``patient_lock`` in ``receipt_issue`` the first patient's receipt does
    not wait for the payment: it takes the series row and the next number at once, and the
    other patient's receipt gets the number after it.
    """
    place = committed
    waiting_patient, other_patient = place.patient(), place.patient()
    waiting_charge = charge(place, waiting_patient, "60.00")
    other_charge = charge(place, other_patient, "40.00")
    next_number = next_boleta(place)

    result = race(
        place.schema,
        "billing.record_payment",
        send(place, PAY, p=gid(waiting_patient), a="10.00"),
        send(place, ISSUE, p=gid(waiting_patient), c=[gid(waiting_charge)]),
        meanwhile=send(place, ISSUE, p=gid(other_patient), c=[gid(other_charge)]),
    )

    assert result.second_waited
    assert payload(result.meanwhile, "issueReceipt")["number"] == next_number
    assert payload(result.second, "issueReceipt")["number"] == next_number + 1
    assert codes(result.first, "recordPayment") == []


# --- the series row: consecutive numbers, no gap after a failed issue -----------------------


def test_two_patients_receipts_issued_at_once_get_consecutive_numbers(committed):
    """Two patients (so no patient's lock is shared), one receipt each, at once: numbers n
    and n+1, both issued.

    Checked: without ``select_for_update()`` on the series row in ``_next_number`` the
    second issue reads the series' last number before the first commits and takes the same
    number: its insert breaks the unique number and the request fails (``INTERNAL_ERROR``).
    """
    place = committed
    first, second = place.patient(), place.patient()
    charges = charge(place, first, "30.00"), charge(place, second, "45.00")
    expected = next_boleta(place)

    result = race(
        place.schema,
        "billing.issue_receipt",
        send(place, ISSUE, p=gid(first), c=[gid(charges[0])]),
        send(place, ISSUE, p=gid(second), c=[gid(charges[1])]),
    )

    assert result.second_waited
    assert payload(result.first, "issueReceipt") == {
        "__typename": "Receipt", "series": "B001", "number": expected,
    }  # fmt: skip
    assert payload(result.second, "issueReceipt") == {
        "__typename": "Receipt", "series": "B001", "number": expected + 1,
    }  # fmt: skip


def test_an_issue_that_fails_after_taking_its_number_leaves_no_gap(committed):
    """An issue takes number n and then fails (cancelled at its last statement, as a
    statement timeout would) while another patient's issue waits for the series: the waiting
    issue gets n, the next one n+1. Numbers stay consecutive: the failed issue gave its
    number back with its transaction.

    Checked: with the number taken from a PostgreSQL sequence instead of the series row
    (``nextval`` is never rolled back), the waiting issue gets n+1 and n is a gap.
    """
    place = committed
    failing, waiting, later = place.patient(), place.patient(), place.patient()
    charges = [charge(place, p, "25.00") for p in (failing, waiting, later)]
    expected = next_boleta(place)

    result = race(
        place.schema,
        "billing.issue_receipt",
        send(place, ISSUE, p=gid(failing), c=[gid(charges[0])]),
        send(place, ISSUE, p=gid(waiting), c=[gid(charges[1])]),
        fail_first=True,
    )
    then = send(place, ISSUE, p=gid(later), c=[gid(charges[2])])()

    assert result.second_waited
    _status, body = result.first  # failed: an error, and no receipt
    assert body.get("errors"), body
    assert not (body.get("data") or {}).get("issueReceipt"), body
    assert payload(result.second, "issueReceipt")["number"] == expected
    assert payload(then, "issueReceipt")["number"] == expected + 1
    with place.inside():
        assert not Receipt.objects.filter(patient=failing).exists()
        numbers = sorted(Receipt.objects.filter(series="B001").values_list("number", flat=True))
    assert numbers == list(range(1, expected + 2))


# --- the billing settings row ---------------------------------------------------------------


def test_two_settings_changes_at_once_both_stick(committed):
    """One admin changes the IGV rate while another stops including it in prices: both
    changes are kept.

    Checked: without ``select_for_update()`` in ``billing_settings_update`` the second change
    reads the row before the first commits and saves it whole: the rate goes back to 0.18.
    """
    place = committed
    with place.inside():
        services.billing_settings()
        BillingSettings.objects.update(igv_rate=Decimal("0.18"), prices_include_tax=True)

    try:
        result = race(
            place.schema,
            "billing.update_settings",
            send(place, SETTINGS, rate="0.10"),
            send(place, SETTINGS, incl=False),
        )

        assert codes(result.first, "updateBillingSettings") == []
        assert codes(result.second, "updateBillingSettings") == []
        with place.inside():
            row = BillingSettings.objects.get()
            assert (row.igv_rate, row.prices_include_tax) == (Decimal("0.1000"), False)
    finally:
        with place.inside():
            BillingSettings.objects.update(igv_rate=Decimal("0.18"), prices_include_tax=True)
