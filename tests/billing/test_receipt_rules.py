"""Receipt numbering, issuing and voiding (``backend/billing/services.py``) as the README and
the docstrings promise them, where the mutation run found that no test held them
(docs/testing.md, target ``receipt-numbering``).

Each test names the mutants it kills; each was checked by applying them by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from backend.billing import services
from backend.billing.models import BillingSettings, Receipt, ReceiptSeries

pytestmark = pytest.mark.django_db


def a_charge(patient, actor):
    return services.charge_add(
        actor=actor, patient=patient, concept="Limpieza", quantity=1, unit_price="10.00"
    )


def test_a_new_series_continues_after_the_receipts_already_numbered_in_it(
    clinic1, patient, receptionist
):
    """ "A new series continues after any receipt already numbered in it (imported
    history)": B002 holds receipts up to 7 but has no series row yet, so the next is 8,
    while F001, with no history, starts at 1. Kills ``existing or 0`` → ``and``."""
    with tenant_context(clinic1):
        for number in (3, 7):
            Receipt.objects.create(
                receipt_type="BOLETA", series="B002", number=number, patient=patient,
                customer_name="Importado", customer_document="12345678",
                igv_rate=Decimal("0.1800"), subtotal=Decimal("8.47"), tax=Decimal("1.53"),
                total=Decimal("10.00"), issued_by=receptionist,
            )  # fmt: skip
        BillingSettings.objects.update_or_create(pk=1, defaults={"boleta_series": "B002"})
        assert not ReceiptSeries.objects.filter(series="B002").exists()

        boleta = services.receipt_issue(
            actor=receptionist, patient=patient, charges=[a_charge(patient, receptionist)]
        )
        factura = services.receipt_issue(
            actor=receptionist, patient=patient, charges=[a_charge(patient, receptionist)],
            receipt_type="FACTURA", customer_name="Empresa SAC", customer_document="20100070970",
        )  # fmt: skip
    assert boleta.full_number == "B002-00000008"
    assert factura.full_number == "F001-00000001"


def test_a_void_reason_may_have_300_characters_not_301(clinic1, patient, receptionist, admin):
    """ "needs a reason" of at most 300 characters (the column's size). Kills ``> 300`` →
    ``>= 300`` and the bound moved either way."""
    with tenant_context(clinic1):
        first = services.receipt_issue(
            actor=receptionist, patient=patient, charges=[a_charge(patient, receptionist)]
        )
        second = services.receipt_issue(
            actor=receptionist, patient=patient, charges=[a_charge(patient, receptionist)]
        )
        with pytest.raises(ValidationError) as refused:
            services.receipt_void(actor=admin, receipt=second, reason="x" * 301)
        assert refused.value.error_dict["reason"][0].code == "REASON_REQUIRED"
        second.refresh_from_db()
        assert second.status != "VOID"

        voided = services.receipt_void(actor=admin, receipt=first, reason="y" * 300)
        voided.refresh_from_db()
    assert (voided.status, voided.void_reason) == ("VOID", "y" * 300)


def test_a_customer_name_may_have_200_characters_not_201(clinic1, patient, receptionist):
    """Kills ``> 200`` → ``>= 200`` and the bound moved either way; a refused issue takes no
    number."""
    with tenant_context(clinic1):
        with pytest.raises(ValidationError) as refused:
            services.receipt_issue(
                actor=receptionist, patient=patient, charges=[a_charge(patient, receptionist)],
                customer_name="N" * 201,
            )  # fmt: skip
        assert refused.value.error_dict["customer_name"][0].code == "INVALID_CUSTOMER"
        receipt = services.receipt_issue(
            actor=receptionist, patient=patient, charges=[a_charge(patient, receptionist)],
            customer_name="N" * 200,
        )  # fmt: skip
    assert (receipt.customer_name, receipt.number) == ("N" * 200, 1)


def test_a_boletas_customer_document_may_have_12_characters_not_13(clinic1, patient, receptionist):
    """A boleta's customer document (DNI, CE, passport) fits in 12 characters. Kills
    ``> 12`` → ``>= 12`` and the bound moved either way."""
    with tenant_context(clinic1):
        with pytest.raises(ValidationError) as refused:
            services.receipt_issue(
                actor=receptionist, patient=patient, charges=[a_charge(patient, receptionist)],
                customer_document="P" * 13,
            )  # fmt: skip
        assert refused.value.error_dict["customer_document"][0].code == "INVALID_CUSTOMER"
        receipt = services.receipt_issue(
            actor=receptionist, patient=patient, charges=[a_charge(patient, receptionist)],
            customer_document="P" * 12,
        )  # fmt: skip
    assert (receipt.customer_document, receipt.number) == ("P" * 12, 1)


class AuditDown(Exception):
    """The last write of a service fails (the audit insert), after the number was taken."""


def test_an_issue_that_fails_after_taking_its_number_gives_it_back(
    clinic1, patient, receptionist, monkeypatch
):
    """ "A rolled-back issue gives its number back, so numbers have no gaps": the issue fails
    at its last write, and nothing of it stays (no receipt, no line, the series where it
    was), so the next issue gets 1. Kills ``@atomic_service`` removed from ``receipt_issue``
    (inside a caller's transaction the service's savepoint is what rolls it back)."""
    with tenant_context(clinic1):
        charge = a_charge(patient, receptionist)

        def audit_down(**_: object) -> None:
            raise AuditDown

        monkeypatch.setattr(services, "audit_record", audit_down)
        with pytest.raises(AuditDown):
            services.receipt_issue(actor=receptionist, patient=patient, charges=[charge])
        monkeypatch.undo()
        assert not Receipt.objects.exists()
        assert not ReceiptSeries.objects.filter(last_number__gt=0).exists()

        receipt = services.receipt_issue(actor=receptionist, patient=patient, charges=[charge])
    assert receipt.full_number == "B001-00000001"


def test_a_void_that_fails_at_its_last_write_changes_nothing(
    clinic1, patient, receptionist, admin, monkeypatch
):
    """Kills ``@atomic_service`` removed from ``receipt_void``: the receipt, its lines and
    what was paid on it stay as they were."""
    with tenant_context(clinic1):
        receipt = services.receipt_issue(
            actor=receptionist, patient=patient, charges=[a_charge(patient, receptionist)]
        )

        def audit_down(**_: object) -> None:
            raise AuditDown

        monkeypatch.setattr(services, "audit_record", audit_down)
        with pytest.raises(AuditDown):
            services.receipt_void(actor=admin, receipt=receipt, reason="Error de digitación")
        receipt.refresh_from_db()
        assert (receipt.status, receipt.void_reason) == ("ISSUED", "")
        assert not receipt.lines.filter(is_void=True).exists()
