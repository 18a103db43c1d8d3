"""The balance invariant on random histories (hypothesis): whatever happens, the balance is
charges − payments + refunds to the cent, the statement ends on it, and credit never goes
negative."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.billing import payments, selectors, services
from backend.billing.models import Charge, Payment, PaymentKind, Receipt
from backend.patients.models import Patient

pytestmark = pytest.mark.django_db

cents = st.integers(min_value=1, max_value=500_00).map(lambda c: Decimal(c) / 100)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("charge"), cents, st.integers(min_value=1, max_value=3)),
        st.tuples(st.just("receipt"), st.integers(min_value=1, max_value=3)),
        st.tuples(
            st.just("pay"), cents, st.sampled_from(["CASH", "CARD", "YAPE", "PLIN", "TRANSFER"])
        ),
        st.tuples(st.just("void"), st.integers(min_value=0, max_value=5)),
        st.tuples(st.just("refund"), cents),
        st.tuples(st.just("allocate"), cents, st.integers(min_value=0, max_value=5)),
    ),
    min_size=1,
    max_size=25,
)


def apply(operation, *, patient, user):
    kind = operation[0]
    if kind == "charge":
        services.charge_add(
            actor=user, patient=patient, concept="X", quantity=operation[2], unit_price=operation[1]
        )
    elif kind == "receipt":
        free = list(selectors.uninvoiced_charges(patient_id=patient.pk)[: operation[1]])
        if free:
            services.receipt_issue(actor=user, patient=patient, charges=free)
    elif kind == "pay":
        payments.payment_record(
            actor=user, patient=patient, amount=operation[1], method=operation[2]
        )
    elif kind == "void":
        live = list(Receipt.objects.filter(patient=patient).exclude(status="VOID").order_by("pk"))
        if live:
            services.receipt_void(
                actor=user, receipt=live[operation[1] % len(live)], reason="Prueba"
            )
    elif kind == "refund":
        payments.refund_record(
            actor=user, patient=patient, amount=operation[1], method="CASH", reason="Prueba"
        )
    elif kind == "allocate":
        paid = list(
            Payment.objects.filter(patient=patient, kind=PaymentKind.PAYMENT).order_by("pk")
        )
        owed = list(
            Receipt.objects.filter(
                patient=patient, status__in=["ISSUED", "PARTIALLY_PAID"]
            ).order_by("pk")
        )
        if paid and owed:
            payments.payment_allocate(
                actor=user,
                payment=paid[operation[2] % len(paid)],
                receipt=owed[operation[2] % len(owed)],
                amount=operation[1],
            )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=operations)
def test_the_balance_always_equals_charges_minus_payments_plus_refunds(clinic1, admin, history):
    with tenant_context(clinic1), transaction.atomic():
        patient = Patient.objects.create(
            first_name="P", last_name="Q", document_type="PASSPORT", document_number="PROP0001"
        )
        for operation in history:
            try:
                with transaction.atomic():
                    apply(operation, patient=patient, user=admin)
            except ValidationError:
                pass  # a refused operation (a refund above the credit) must change nothing
            charges = sum((c.amount for c in Charge.objects.filter(patient=patient)), Decimal(0))
            paid = sum(
                (
                    p.amount_pen
                    for p in Payment.objects.filter(patient=patient, kind=PaymentKind.PAYMENT)
                ),
                Decimal(0),
            )
            refunded = sum(
                (
                    p.amount_pen
                    for p in Payment.objects.filter(patient=patient, kind=PaymentKind.REFUND)
                ),
                Decimal(0),
            )
            balance = selectors.patient_balance(patient)
            assert balance.balance == charges - paid + refunded
            statement = selectors.patient_statement(patient)
            assert (statement[-1].balance if statement else Decimal(0)) == balance.balance
            assert balance.credit >= 0
            # What is owed on live receipts, plus uninvoiced charges, less credit, is the balance.
            owed = sum(
                (payments.receipt_outstanding(r) for r in Receipt.objects.filter(patient=patient)),
                Decimal(0),
            )
            uninvoiced = sum(
                (c.amount for c in selectors.uninvoiced_charges(patient_id=patient.pk)), Decimal(0)
            )
            assert owed + uninvoiced - balance.credit == balance.balance
            for receipt in Receipt.objects.filter(patient=patient):
                assert receipt.subtotal + receipt.tax == receipt.total
                assert payments.receipt_outstanding(receipt) >= 0
        transaction.set_rollback(True)
