"""The one limit of a single amount (``backend.core.money.MAX_AMOUNT``), at its boundary: the
limit itself is accepted, one cent more is refused with the same code and message as before,
by billing and by the catalog and plans alike."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from backend.billing import payments, services
from backend.billing.models import Charge, Payment
from backend.core.money import CENT, MAX_AMOUNT
from backend.treatments.models import PerformedProcedure, Procedure, TreatmentPlanItem
from backend.treatments.money import amount

pytestmark = pytest.mark.django_db

ONE_CENT_MORE = MAX_AMOUNT + CENT


def test_the_limit_is_what_the_narrowest_money_column_holds():
    for model, field in (
        (Procedure, "default_price"),
        (TreatmentPlanItem, "price"),
        (TreatmentPlanItem, "discount"),
        (PerformedProcedure, "price"),
    ):
        column = model._meta.get_field(field)
        digits = column.max_digits - column.decimal_places
        assert Decimal(10**digits) - CENT == MAX_AMOUNT, (model, field)
    # billing's columns hold it with the IGV (at most 50%) or the largest exchange rate on top
    for model, field in ((Charge, "amount"), (Payment, "amount_pen")):
        column = model._meta.get_field(field)
        assert Decimal(10 ** (column.max_digits - column.decimal_places)) > MAX_AMOUNT * 20


def test_a_payment_of_the_limit_is_recorded_and_one_cent_more_is_refused(
    clinic1, patient, receptionist
):
    with tenant_context(clinic1):
        payment = payments.payment_record(
            actor=receptionist, patient=patient, amount=str(MAX_AMOUNT), method="CASH"
        )
        assert payment.amount_pen == MAX_AMOUNT
        with pytest.raises(ValidationError) as raised:
            payments.payment_record(
                actor=receptionist, patient=patient, amount=str(ONE_CENT_MORE), method="CASH"
            )
    [error] = raised.value.error_dict["amount"]
    assert error.code == "AMOUNT_TOO_LARGE"
    assert error.message == "At most 99999999.99."


def test_a_charge_of_the_limit_is_added_and_one_cent_more_is_refused(
    clinic1, patient, receptionist
):
    def add(quantity, unit_price):
        return services.charge_add(
            actor=receptionist,
            patient=patient,
            concept="Rehabilitación",
            quantity=quantity,
            unit_price=str(unit_price),
        )

    with tenant_context(clinic1):
        assert add(1, MAX_AMOUNT).unit_price == MAX_AMOUNT
        for quantity, unit_price in ((1, ONE_CENT_MORE), (2, MAX_AMOUNT)):  # 2: the base
            with pytest.raises(ValidationError) as raised:
                add(quantity, unit_price)
            assert raised.value.error_dict["unit_price"][0].code == "AMOUNT_TOO_LARGE"


def test_a_price_of_the_limit_is_accepted_and_one_cent_more_is_refused():
    assert amount(str(MAX_AMOUNT), "price") == MAX_AMOUNT
    with pytest.raises(ValidationError) as raised:
        amount(str(ONE_CENT_MORE), "price")
    [error] = raised.value.error_dict["price"]
    assert error.code == "INVALID_AMOUNT"
    assert error.message == "Give an amount from 0 to 99,999,999.99 with at most two decimals."
