"""Billing rows for the compiled reads' world (``build_world`` calls ``build_billing``), made
by the billing services so they are consistent: charges with and without a professional (one
of 0.00), boletas and a factura in every status (ISSUED, PARTIALLY_PAID, PAID, VOID with its
``voided_at``), payments in PEN and in USD at an exchange rate, credit, refunds, and a receipt
numbered past eight digits (imported history). Times are then set where Python and PostgreSQL
could disagree: odd microseconds (truncated), a charge and a payment at the same instant
(charges first), two payments at the same instant (by id), two receipts issued together."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, cast

from django_tenants.utils import tenant_context

from backend.accounts.models import User
from backend.billing import payments, services
from backend.billing.models import Charge, Payment, Receipt
from backend.patients.models import Patient
from backend.resources.models import Professional
from tests.dates import MONDAY, lima
from tests.factories import PatientFactory, StaffFactory
from tests.ids import global_id

RUC = "20100070970"


@dataclass
class BillingWorld:
    patients: list[str] = field(default_factory=list)  # global IDs of patients with movements
    receipts_by_status: dict[str, list[str]] = field(default_factory=dict)


def billing_of(world: Any) -> BillingWorld:
    return world.billing


def _at(days: int, hour: int, minute: int = 0, micro: int = 0) -> dt.datetime:
    return lima(MONDAY - dt.timedelta(days=days), hour) + dt.timedelta(
        minutes=minute, microseconds=micro
    )


def _charge(actor: User, patient: Patient, concept: str, price: str, **options: Any) -> Charge:
    professional = options.pop("professional", None)
    at = options.pop("at")
    options.setdefault("quantity", 1)
    charge = services.charge_add(
        actor=actor, patient=patient, concept=concept, unit_price=price, **options
    )
    Charge.objects.filter(pk=charge.pk).update(professional=professional, created_at=at)
    charge.refresh_from_db()
    return charge


def _paid(payment: Payment, at: dt.datetime) -> Payment:
    Payment.objects.filter(pk=payment.pk).update(paid_at=at)
    return payment


def _issued(receipt: Receipt, at: dt.datetime) -> Receipt:
    Receipt.objects.filter(pk=receipt.pk).update(issued_at=at)
    receipt.refresh_from_db()
    return receipt


def build_billing(world: Any) -> None:
    """Billing rows in the world's clinic (and one receipt in the other clinic)."""
    billing = BillingWorld()
    with tenant_context(world.clinic):
        admin = User.objects.get(email="admin@w.pe")
        desk = User.objects.get(email="receptionist@w.pe")
        linked, other = Professional.objects.filter(is_active=True).order_by("pk")[:2]
        people = list(Patient.objects.order_by("pk"))
        jose, maria, nusta, ana, zoe = people[0], people[1], people[2], people[3], people[5]

        # José: a boleta ISSUED, a factura PARTIALLY_PAID (PEN, then USD), a boleta PAID then
        # VOID (its money back to credit), a refund of part of it; a free charge; ties.
        cleaning = _charge(
            desk, jose, "Limpieza dental", "120.00", professional=linked, at=_at(9, 9, 0, 123456)
        )
        resin = _charge(
            desk, jose, "Resina “compuesta” 50%", "85.50", quantity=2, discount="10.00",
            professional=other, at=_at(9, 9, 30),
        )  # fmt: skip
        x_ray = _charge(admin, jose, "Radiografía", "0", at=_at(8, 10))
        visit = _charge(admin, jose, "Consulta", "50", at=_at(8, 11, 15, 999_999))
        _issued(
            services.receipt_issue(actor=desk, patient=jose, charges=[cleaning, x_ray]),
            _at(8, 12, 0, 500_000),
        )
        factura = _issued(
            services.receipt_issue(
                actor=admin, patient=jose, charges=[resin], receipt_type="FACTURA",
                customer_name="Dientes & Cía S.A.C.", customer_document=RUC,
            ),
            _at(8, 12, 0, 500_000),  # issued together with the boleta: by id
        )  # fmt: skip
        _paid(
            payments.payment_record(
                actor=desk, patient=jose, amount="40.00", method="CASH",
                allocations=[(factura, "40.00")],
            ),
            _at(8, 11, 15, 999_999),  # with the consultation's charge: the charge first
        )  # fmt: skip
        _paid(
            payments.payment_record(
                actor=desk, patient=jose, amount="10.00", method="CARD", currency="USD",
                exchange_rate="3.7512", allocations=[(factura, "37.51")],
            ),
            _at(7, 16, 45, 1),
        )  # fmt: skip
        voided = _issued(
            services.receipt_issue(actor=desk, patient=jose, charges=[visit]), _at(7, 17)
        )
        _paid(
            payments.payment_record(
                actor=desk, patient=jose, amount=str(voided.total), method="YAPE",
                reference="YP-0001", allocations=[(voided, str(voided.total))],
            ),
            _at(6, 8),
        )  # fmt: skip
        services.receipt_void(actor=admin, receipt=voided, reason="Error en el concepto")
        Receipt.objects.filter(pk=voided.pk).update(voided_at=_at(6, 9, 59, 999_999))
        _paid(
            payments.refund_record(
                actor=admin, patient=jose, amount="20.00", method="CASH",
                reason="Devolución parcial — anulación",
            ),
            _at(6, 10),
        )  # fmt: skip

        # María: a boleta PAID by card, another ISSUED, a payment kept as credit; two payments
        # at the same instant.
        crown = _charge(
            desk, maria, "Corona de porcelana", "1450.90", professional=linked, at=_at(5, 9)
        )
        whitening = _charge(desk, maria, "Blanqueamiento", "399.99", at=_at(5, 9, 5))
        paid = _issued(
            services.receipt_issue(actor=desk, patient=maria, charges=[crown]), _at(5, 10)
        )
        twin = _at(5, 10, 30, 250_000)
        _paid(
            payments.payment_record(
                actor=desk, patient=maria, amount=str(paid.total), method="CARD",
                allocations=[(paid, str(paid.total))],
            ),
            twin,
        )  # fmt: skip
        _paid(
            payments.payment_record(
                actor=desk, patient=maria, amount="100.00", method="TRANSFER", allocations=[]
            ),
            twin,
        )
        _issued(services.receipt_issue(actor=admin, patient=maria, charges=[whitening]), _at(4, 8))

        # Ñusta: charges on no receipt, a payment in USD kept as credit, a refund of it.
        _charge(admin, nusta, "Extracción simple", "180", professional=other, at=_at(4, 9))
        _charge(admin, nusta, "Control", "0.01", at=_at(4, 9, 1))
        _paid(
            payments.payment_record(
                actor=desk, patient=nusta, amount="25.55", method="PLIN", currency="USD",
                exchange_rate="3.8001",
            ),
            _at(3, 12),
        )  # fmt: skip
        _paid(
            payments.refund_record(
                actor=admin, patient=nusta, amount="5.10", method="TRANSFER",
                reason="Saldo a favor",
            ),
            _at(3, 13),
        )  # fmt: skip

        # Ana: a receipt of imported history, numbered past eight digits.
        old = _charge(desk, ana, "Ortodoncia (cuota)", "250", professional=linked, at=_at(2, 9))
        imported = _issued(
            services.receipt_issue(actor=desk, patient=ana, charges=[old]), _at(2, 10)
        )
        Receipt.objects.filter(pk=imported.pk).update(number=123_456_789)

        # Zoë: a payment larger than what is owed (the balance goes below zero).
        _charge(desk, zoe, "Sellantes", "60", at=_at(1, 9))
        _paid(
            payments.payment_record(actor=desk, patient=zoe, amount="75.00", method="CASH"),
            _at(1, 10),
        )

        receipts = list(Receipt.objects.order_by("pk"))
        billing.patients = [
            global_id("Patient", p.pk, world.clinic) for p in (jose, maria, nusta, ana, zoe)
        ]
        for receipt in receipts:
            billing.receipts_by_status.setdefault(receipt.status, []).append(
                global_id("Receipt", receipt.pk, world.clinic)
            )
        world.ids["Receipt"] = [global_id("Receipt", r.pk, world.clinic) for r in receipts]
    with tenant_context(world.other_clinic):
        stranger = cast(User, StaffFactory(role="RECEPTIONIST", email="caja@otra.pe"))
        patient = cast(Patient, PatientFactory(first_name="Rosa", last_name="Otra"))
        charge = services.charge_add(
            actor=stranger, patient=patient, concept="Consulta", quantity=1, unit_price="80"
        )
        other_receipt = services.receipt_issue(actor=stranger, patient=patient, charges=[charge])
        world.other_ids["Receipt"] = [global_id("Receipt", other_receipt.pk, world.other_clinic)]
    world.billing = billing
