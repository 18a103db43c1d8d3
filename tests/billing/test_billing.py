"""Charges, receipts, payments, balances and the cash report."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import tenant_context

from backend.billing import payments, selectors, services
from backend.billing.models import BillingSettings, Charge, Payment, Receipt
from backend.billing.tax import charge_amount, split_total
from backend.resources.models import Professional
from backend.treatments.models import PerformedProcedure, Procedure
from tests.conftest import graphql
from tests.dates import monday_ahead
from tests.ids import global_id

LAST_MONDAY = monday_ahead(-1)  # a past day for the cash report, in Lima

pytestmark = pytest.mark.django_db


def run(client, token, query, **variables):
    _, body = graphql(client, query, host="clinica1.localhost", token=token, variables=variables)
    assert "errors" not in body, body
    return next(iter(body["data"].values()))


def test_a_receptionist_turns_a_visit_into_a_receipt_takes_two_payments_and_sees_it_all(
    client, clinic1, patient, receptionist, token_for, make_staff
):
    """The issue's 'done when': a completed visit → a receipt → a partial and a final payment →
    balance zero → the day's cash report."""
    token = token_for(clinic1, receptionist)
    with tenant_context(clinic1):
        professional = Professional.objects.create(full_name="Dra. Soto", license_number="1")
        resin = Procedure.objects.create(
            code="RES",
            name="Resina simple",
            category="RESTORATIVE",
            default_price=Decimal("120.00"),
        )
        PerformedProcedure.objects.create(
            patient=patient, procedure=resin, professional=professional, performed_by=receptionist,
            tooth=16, price=Decimal("120.00"),
        )  # fmt: skip
    p = global_id("Patient", patient.pk)
    charged = run(
        client,
        token,
        "mutation($p: ID!) { chargePerformedProcedures(patientId: $p) { ... on NewCharges { charges { id concept amount } } } }",
        p=p,
    )
    [charge] = charged["charges"]
    assert charge["concept"] == "Resina simple (pieza 16)"
    receipt = run(
        client, token,
        "mutation($p: ID!, $c: ID!) { issueReceipt(input: {patientId: $p, chargeIds: [$c], receiptType: BOLETA}) { ... on Receipt { id fullNumber subtotal tax total status } } }",
        p=p, c=charge["id"],
    )  # fmt: skip
    assert receipt["fullNumber"] == "B001-00000001"
    assert (receipt["subtotal"], receipt["tax"], receipt["total"]) == ("101.69", "18.31", "120.00")
    pay = "mutation($p: ID!, $amount: Decimal!, $method: PaymentMethod!) { recordPayment(input: {patientId: $p, amount: $amount, method: $method}) { ... on Payment { amountPen } } }"
    run(client, token, pay, p=p, amount="50.00", method="YAPE")
    status = run(client, token, "query($id: ID!) { receipt(id: $id) { status } }", id=receipt["id"])
    assert status == {"status": "PARTIALLY_PAID"}
    run(client, token, pay, p=p, amount="70.00", method="CASH")
    assert run(
        client, token, "query($id: ID!) { receipt(id: $id) { status } }", id=receipt["id"]
    ) == {"status": "PAID"}
    assert run(client, token, "query($p: ID!) { patientBalance(patientId: $p) { charges payments refunds balance credit } }", p=p) == {
        "charges": "120.00", "payments": "120.00", "refunds": "0.00", "balance": "0.00", "credit": "0.00",
    }  # fmt: skip
    today = timezone.localdate(timezone=ZoneInfo("America/Lima")).isoformat()
    report = run(
        client, token,
        "query($d: Date!) { cashReport(from: $d, to: $d) { totalReceived byMethod { method net count } byProfessional { professionalName total } receiptsIssued { fullNumber } } }",
        d=today,
    )  # fmt: skip
    assert report["totalReceived"] == "120.00"
    assert {(m["method"], m["net"]) for m in report["byMethod"]} == {
        ("CASH", "70.00"),
        ("YAPE", "50.00"),
    }
    assert report["receiptsIssued"] == [{"fullNumber": "B001-00000001"}]
    statement = run(
        client,
        token,
        "query($p: ID!) { accountStatement(patientId: $p) { kind amount balance } }",
        p=p,
    )
    assert [(m["kind"], m["balance"]) for m in statement] == [
        ("CHARGE", "120.00"),
        ("PAYMENT", "70.00"),
        ("PAYMENT", "0.00"),
    ]


def charge(clinic, patient, user, amount="100.00"):
    with tenant_context(clinic):
        return services.charge_add(
            actor=user, patient=patient, concept="Consulta", quantity=1, unit_price=amount
        )


def test_numbers_are_consecutive_per_type_and_series_and_a_void_keeps_its_number(
    clinic1, patient, receptionist, admin
):
    with tenant_context(clinic1):
        numbers = []
        for _ in range(3):
            c = services.charge_add(
                actor=receptionist, patient=patient, concept="X", quantity=1, unit_price="10.00"
            )
            numbers.append(
                services.receipt_issue(actor=receptionist, patient=patient, charges=[c]).full_number
            )
        factura_charge = services.charge_add(
            actor=receptionist, patient=patient, concept="X", quantity=1, unit_price="10.00"
        )
        factura = services.receipt_issue(
            actor=receptionist, patient=patient, charges=[factura_charge], receipt_type="FACTURA",
            customer_name="Empresa SAC", customer_document="20100070970",
        )  # fmt: skip
        voided = services.receipt_void(
            actor=admin,
            receipt=Receipt.objects.get(number=2, series="B001"),
            reason="Error de digitación",
        )
        c = services.charge_add(
            actor=receptionist, patient=patient, concept="X", quantity=1, unit_price="10.00"
        )
        after_void = services.receipt_issue(actor=receptionist, patient=patient, charges=[c])
        # The voided receipt's charge can go on a new receipt.
        again = services.receipt_issue(
            actor=receptionist, patient=patient, charges=[voided.lines.get().charge]
        )
    assert numbers == ["B001-00000001", "B001-00000002", "B001-00000003"]
    assert factura.full_number == "F001-00000001"
    assert (voided.full_number, voided.status) == ("B001-00000002", "VOID")
    assert (after_void.number, again.number) == (4, 5)


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ("", "CUSTOMER_RUC_REQUIRED"),
        ("12345678", "RUC_INVALID_FORMAT"),
        ("20100070971", "RUC_INVALID_CHECK_DIGIT"),
    ],
)
def test_a_factura_needs_a_valid_ruc(clinic1, patient, receptionist, document, code):
    c = charge(clinic1, patient, receptionist)
    with tenant_context(clinic1):
        with pytest.raises(ValidationError) as raised:
            services.receipt_issue(
                actor=receptionist,
                patient=patient,
                charges=[c],
                receipt_type="FACTURA",
                customer_document=document,
            )
        assert raised.value.error_dict["customer_document"][0].code == code
        assert not Receipt.objects.exists()


def test_a_charge_is_on_one_live_receipt_only(clinic1, patient, other_patient, receptionist):
    c = charge(clinic1, patient, receptionist)
    with tenant_context(clinic1):
        services.receipt_issue(actor=receptionist, patient=patient, charges=[c])
        with pytest.raises(ValidationError) as raised:
            services.receipt_issue(actor=receptionist, patient=patient, charges=[c])
        assert raised.value.error_dict["charge_ids"][0].code == "CHARGE_ALREADY_INVOICED"
        with pytest.raises(ValidationError) as raised:
            services.receipt_issue(actor=receptionist, patient=other_patient, charges=[c])
        assert raised.value.error_dict["charge_ids"][0].code == "WRONG_PATIENT"


def test_allocation_across_receipts_overpayment_to_credit_and_refund(
    clinic1, patient, receptionist, admin
):
    with tenant_context(clinic1):
        first = services.receipt_issue(
            actor=receptionist,
            patient=patient,
            charges=[charge(clinic1, patient, receptionist, "100.00")],
        )
        second = services.receipt_issue(
            actor=receptionist,
            patient=patient,
            charges=[charge(clinic1, patient, receptionist, "50.00")],
        )
        payments.payment_record(actor=receptionist, patient=patient, amount="120.00", method="CARD")
        first.refresh_from_db()
        second.refresh_from_db()
        assert (first.status, second.status) == ("PAID", "PARTIALLY_PAID")
        assert payments.receipt_outstanding(second) == Decimal("30.00")
        payments.payment_record(
            actor=receptionist, patient=patient, amount="50.00", method="CASH"
        )  # 20.00 over
        second.refresh_from_db()
        assert second.status == "PAID"
        balance = selectors.patient_balance(patient)
        assert (balance.balance, balance.credit) == (Decimal("-20.00"), Decimal("20.00"))
        with pytest.raises(ValidationError) as raised:
            payments.refund_record(
                actor=admin, patient=patient, amount="20.01", method="CASH", reason="Devolución"
            )
        assert raised.value.error_dict["amount"][0].code == "REFUND_EXCEEDS_CREDIT"
        payments.refund_record(
            actor=admin,
            patient=patient,
            amount="20.00",
            method="CASH",
            reason="Devolución del saldo a favor",
        )
        balance = selectors.patient_balance(patient)
        assert (balance.balance, balance.credit, balance.refunds) == (
            Decimal("0.00"),
            Decimal("0.00"),
            Decimal("20.00"),
        )


def test_explicit_allocations_and_voiding_a_paid_receipt_makes_credit(
    clinic1, patient, receptionist, admin
):
    with tenant_context(clinic1):
        receipt = services.receipt_issue(
            actor=receptionist,
            patient=patient,
            charges=[charge(clinic1, patient, receptionist, "80.00")],
        )
        payment = payments.payment_record(
            actor=receptionist,
            patient=patient,
            amount="80.00",
            method="TRANSFER",
            allocations=[(receipt, "30.00")],
        )
        assert payments.payment_unallocated(payment) == Decimal("50.00")
        payments.payment_allocate(
            actor=receptionist, payment=payment, receipt=receipt, amount="50.00"
        )
        receipt.refresh_from_db()
        assert receipt.status == "PAID"
        services.receipt_void(actor=admin, receipt=receipt, reason="Emitida al cliente equivocado")
        assert payments.patient_credit(patient) == Decimal("80.00")
        assert selectors.patient_balance(patient).balance == Decimal(
            "0.00"
        )  # the charge is still owed, and paid


def test_payments_in_usd_record_their_exchange_rate(clinic1, patient, receptionist):
    with tenant_context(clinic1):
        payment = payments.payment_record(
            actor=receptionist,
            patient=patient,
            amount="30.00",
            method="CASH",
            currency="USD",
            exchange_rate="3.7525",
        )
    assert (payment.amount_pen, payment.exchange_rate) == (Decimal("112.58"), Decimal("3.7525"))


@pytest.mark.parametrize(
    ("kwargs", "field", "code"),
    [
        ({"amount": "-5.00"}, "amount", "INVALID_AMOUNT"),
        ({"amount": "0"}, "amount", "INVALID_AMOUNT"),
        ({"amount": "10.001"}, "amount", "INVALID_AMOUNT"),
        ({"amount": "NaN"}, "amount", "INVALID_AMOUNT"),
        ({"amount": "100000000.00"}, "amount", "AMOUNT_TOO_LARGE"),  # MAX_AMOUNT + 0.01
        ({"method": "BITCOIN"}, "method", "INVALID_METHOD"),
        ({"currency": "USD"}, "exchange_rate", "EXCHANGE_RATE_REQUIRED"),
        ({"currency": "EUR"}, "currency", "INVALID_CURRENCY"),
        ({"paid_at": timezone.now() + dt.timedelta(days=1)}, "paid_at", "IN_THE_FUTURE"),
        # Odd numbers and dates are coded, not crashes.
        ({"amount": "1e30"}, "amount", "AMOUNT_TOO_LARGE"),
        ({"amount": "sNaN"}, "amount", "INVALID_AMOUNT"),
        ({"amount": "Infinity"}, "amount", "INVALID_AMOUNT"),
        ({"exchange_rate": "sNaN"}, "exchange_rate", "INVALID_CURRENCY"),
        ({"paid_at": timezone.now() - dt.timedelta(days=30)}, "paid_at", "INVALID_DATE"),
        ({"paid_at": timezone.now().replace(tzinfo=None)}, "paid_at", "INVALID_DATE"),  # naive
    ],
)
def test_bad_payments_get_a_code_and_write_nothing(
    clinic1, patient, receptionist, kwargs, field, code
):
    with tenant_context(clinic1):
        with pytest.raises(ValidationError) as raised:
            payments.payment_record(
                actor=receptionist,
                patient=patient,
                **{"amount": "10.00", "method": "CASH", **kwargs},
            )
        assert raised.value.error_dict[field][0].code == code
        assert not Payment.objects.exists()


def test_an_allocation_larger_than_the_receipt_owes_is_refused_and_nothing_written(
    clinic1, patient, receptionist
):
    with tenant_context(clinic1):
        receipt = services.receipt_issue(
            actor=receptionist,
            patient=patient,
            charges=[charge(clinic1, patient, receptionist, "40.00")],
        )
        with pytest.raises(ValidationError) as raised:
            payments.payment_record(
                actor=receptionist,
                patient=patient,
                amount="50.00",
                method="CASH",
                allocations=[(receipt, "50.00")],
            )
        assert (
            raised.value.error_dict["allocations.0.receipt_id"][0].code
            == "ALLOCATION_EXCEEDS_BALANCE"
        )
        assert not Payment.objects.exists()


def test_bad_payment_input_over_http_is_coded(client, clinic1, patient, receptionist, token_for):
    token = token_for(clinic1, receptionist)
    query = "mutation($p: ID!, $a: Decimal!) { recordPayment(input: {patientId: $p, amount: $a, method: CASH}) { __typename ... on OperationInfo { messages { code field } } } }"
    payload = run(client, token, query, p=global_id("Patient", patient.pk), a="-3")
    assert payload == {
        "__typename": "OperationInfo",
        "messages": [{"code": "INVALID_AMOUNT", "field": "amount"}],
    }
    _, body = graphql(
        client,
        query.replace("CASH", "BITCOIN"),
        host="clinica1.localhost",
        token=token,
        variables={"p": global_id("Patient", patient.pk), "a": "3"},
    )
    assert body["errors"]
    assert body.get("data") is None
    with tenant_context(clinic1):
        assert not Payment.objects.exists()


@pytest.mark.parametrize(
    ("base", "include", "expected"),
    [
        ("100.00", True, "100.00"),
        ("10.00", False, "11.80"),
        ("0.05", False, "0.06"),  # 0.059
        ("0.25", False, "0.30"),  # 0.295 → half up
        ("33.33", False, "39.33"),  # 39.3294
    ],
)
def test_charge_amounts_with_igv(base, include, expected):
    assert charge_amount(
        Decimal(base), rate=Decimal("0.18"), prices_include_tax=include
    ) == Decimal(expected)


@pytest.mark.parametrize(
    ("total", "subtotal", "tax"),
    [
        ("100.00", "84.75", "15.25"),
        ("120.00", "101.69", "18.31"),
        ("0.01", "0.01", "0.00"),
        ("118.00", "100.00", "18.00"),
        ("33.33", "28.25", "5.08"),
    ],
)
def test_receipt_split_rounds_half_up_and_adds_up(total, subtotal, tax):
    split = split_total(Decimal(total), rate=Decimal("0.18"))
    assert (split.subtotal, split.tax) == (Decimal(subtotal), Decimal(tax))
    assert split.subtotal + split.tax == split.total


def test_tax_excluded_prices_add_igv_to_charges(clinic1, patient, receptionist):
    with tenant_context(clinic1):
        BillingSettings.objects.update_or_create(pk=1, defaults={"prices_include_tax": False})
        c = services.charge_add(
            actor=receptionist,
            patient=patient,
            concept="Kit",
            quantity=3,
            unit_price="10.00",
            discount="5.00",
        )
        receipt = services.receipt_issue(actor=receptionist, patient=patient, charges=[c])
    assert c.amount == Decimal("29.50")  # (30 − 5) × 1.18
    assert (receipt.subtotal, receipt.tax, receipt.total) == (
        Decimal("25.00"),
        Decimal("4.50"),
        Decimal("29.50"),
    )


def test_the_cash_report_follows_the_clinic_day_not_utc(clinic1, patient, receptionist):
    lima = ZoneInfo("America/Lima")
    with tenant_context(clinic1):
        monday_date, tuesday_date = LAST_MONDAY, LAST_MONDAY + dt.timedelta(days=1)
        late = dt.datetime.combine(monday_date, dt.time(23, 30), tzinfo=lima)  # Tuesday in UTC
        early = dt.datetime.combine(tuesday_date, dt.time(0, 30), tzinfo=lima)
        for at, method in ((late, "CASH"), (early, "CARD")):
            Payment.objects.create(
                patient=patient,
                amount="10.00",
                amount_pen="10.00",
                method=method,
                paid_at=at,
                received_by=receptionist,
            )
        monday = selectors.cash_report(date_from=monday_date, date_to=monday_date, tz=lima)
        tuesday = selectors.cash_report(date_from=tuesday_date, date_to=tuesday_date, tz=lima)
        utc_monday = selectors.cash_report(
            date_from=monday_date, date_to=monday_date, tz=ZoneInfo("UTC")
        )
    assert set(monday.by_method) == {"CASH"}
    assert set(tuesday.by_method) == {"CARD"}
    assert utc_monday.by_method == {}


def test_the_cash_report_refuses_a_backwards_range(client, clinic1, receptionist, token_for):
    _, body = graphql(
        client,
        f'{{ cashReport(from: "{LAST_MONDAY + dt.timedelta(days=1)}", to: "{LAST_MONDAY}") {{ totalReceived }} }}',
        host="clinica1.localhost",
        token=token_for(clinic1, receptionist),
    )
    assert body["errors"][0]["extensions"]["code"] == "INVALID_DATE_RANGE"


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("rows", [10, 200])
def test_statement_and_receipts_cost_the_same_statements(
    client, clinic1, patient, receptionist, token_for, django_assert_num_queries, rows, compiled,
    settings,
):  # fmt: skip
    """Both executions: the normal one, and the compiled one (graphql_api/billing/compiled.py),
    whose one statement checks the patient and reads the rows."""
    settings.GRAPHQL_COMPILED_READS = compiled
    token = token_for(clinic1, receptionist)
    with tenant_context(clinic1):
        charges = Charge.objects.bulk_create(
            Charge(
                patient=patient,
                concept=f"C{i}",
                unit_price="1.00",
                amount="1.00",
                created_by=receptionist,
            )
            for i in range(rows)
        )
        Payment.objects.bulk_create(
            Payment(
                patient=patient,
                amount="1.00",
                amount_pen="1.00",
                method="CASH",
                received_by=receptionist,
            )
            for _ in range(rows)
        )
        for i in range(len(charges)):
            Receipt.objects.create(
                receipt_type="BOLETA",
                series="B001",
                number=i + 1,
                patient=patient,
                customer_name="J",
                igv_rate="0.18",
                subtotal="0.85",
                tax="0.15",
                total="1.00",
                issued_by=receptionist,
            )
    p = global_id("Patient", patient.pk)
    # cold routing: host 1 (before the transaction), the transaction's schema 1, token 1,
    # then patient check 1, charges 1, payments 1; or the compiled statement 1
    with django_assert_num_queries(4 if compiled else 6):
        statement = run(
            client, token, "query($p: ID!) { accountStatement(patientId: $p) { balance } }", p=p
        )
    assert statement[-1]["balance"] == "0.00"
    # warm routing: no host lookup; the request's transaction sets its schema 1, token 1,
    # then patient check 1, page with count + patient + issuer 1; or the compiled statement 1
    with django_assert_num_queries(3 if compiled else 4):
        page = run(
            client,
            token,
            "query($p: ID!) { receipts(patientId: $p, first: 50) { totalCount edges { node { fullNumber patient { fullName } issuedBy { fullName } } } } }",
            p=p,
        )
    assert page["totalCount"] == rows


def test_dentists_read_billing_but_do_not_write_and_assistants_see_nothing(
    client, clinic1, patient, make_staff, token_for
):
    from backend.accounts.models import Role

    p = global_id("Patient", patient.pk)
    dentist = token_for(clinic1, make_staff(clinic1, Role.DENTIST))
    assistant = token_for(clinic1, make_staff(clinic1, Role.ASSISTANT))
    assert run(
        client, dentist, "query($p: ID!) { patientBalance(patientId: $p) { balance } }", p=p
    ) == {"balance": "0.00"}
    _, body = graphql(
        client,
        "query($p: ID!) { patientBalance(patientId: $p) { balance } }",
        host="clinica1.localhost",
        token=assistant,
        variables={"p": p},
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    _, body = graphql(
        client,
        'mutation($p: ID!) { addCharge(input: {patientId: $p, concept: "X", unitPrice: "1"}) { __typename } }',
        host="clinica1.localhost",
        token=dentist,
        variables={"p": p},
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    with tenant_context(clinic1):
        assert not Charge.objects.exists()


def test_refunded_credit_cannot_be_allocated_again(clinic1, patient, receptionist, admin):
    with tenant_context(clinic1):
        payment = payments.payment_record(
            actor=receptionist, patient=patient, amount="100.00", method="CASH"
        )
        payments.refund_record(
            actor=admin, patient=patient, amount="100.00", method="CASH", reason="Devolución"
        )
        receipt = services.receipt_issue(
            actor=receptionist,
            patient=patient,
            charges=[charge(clinic1, patient, receptionist, "100.00")],
        )
        with pytest.raises(ValidationError) as raised:
            payments.payment_allocate(
                actor=receptionist, payment=payment, receipt=receipt, amount="100.00"
            )
        assert raised.value.error_dict["amount"][0].code == "ALLOCATION_EXCEEDS_PAYMENT"
        assert payments.patient_credit(patient) == Decimal("0.00")


def test_an_empty_allocation_list_keeps_the_money_as_credit(clinic1, patient, receptionist):
    with tenant_context(clinic1):
        receipt = services.receipt_issue(
            actor=receptionist,
            patient=patient,
            charges=[charge(clinic1, patient, receptionist, "30.00")],
        )
        payments.payment_record(
            actor=receptionist, patient=patient, amount="30.00", method="CASH", allocations=[]
        )
        receipt.refresh_from_db()
        assert receipt.status == "ISSUED"
        assert payments.patient_credit(patient) == Decimal("30.00")


def test_a_receipt_for_nothing_is_paid_at_once(clinic1, patient, receptionist):
    with tenant_context(clinic1):
        free = services.charge_add(
            actor=receptionist,
            patient=patient,
            concept="Control de garantía",
            quantity=1,
            unit_price="0.00",
        )
        receipt = services.receipt_issue(actor=receptionist, patient=patient, charges=[free])
    assert (receipt.total, receipt.status) == (Decimal("0.00"), "PAID")


def test_too_many_charges_at_once_is_refused_not_cut_short(
    client, clinic1, patient, receptionist, token_for
):
    ids = [global_id("Charge", i) for i in range(1, 202)]
    query = "mutation($p: ID!, $c: [ID!]!) { issueReceipt(input: {patientId: $p, chargeIds: $c, receiptType: BOLETA}) { ... on OperationInfo { messages { code field } } } }"
    payload = run(
        client, token_for(clinic1, receptionist), query, p=global_id("Patient", patient.pk), c=ids
    )
    assert payload == {"messages": [{"code": "TOO_MANY", "field": "chargeIds"}]}
