"""Billing's hot reads answered by the compiled statement, byte for byte the normal answer:
``receipts``, ``receipt`` and ``accountStatement`` for every role that reads billing, in
English and in Spanish (a payment reads as its method's translated name); the same refusals,
never compiled, for everyone else; one data statement plus the token lookup, at 10 receipts as
at 100; an unknown patient's ``NOT_FOUND`` left to the normal execution."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, cast

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from strawberry.relay import to_base64

from backend.accounts.models import Role, User
from backend.accounts.roles import role_has_permission
from backend.billing import payments, services
from backend.billing.models import (
    Charge,
    Payment,
    PaymentKind,
    PaymentMethod,
    Receipt,
    ReceiptLine,
    ReceiptStatus,
    ReceiptType,
)
from backend.billing.permissions import BillingPermission
from backend.patients.models import Patient
from backend.resources.models import Professional
from graphql_api.core.compiled import plans
from tenants_core import routing
from tenants_core.models import Clinic
from tests.conftest import error_code
from tests.factories import PatientFactory
from tests.graphql_api.compiled.harness import Answer, compiled_count, equivalent
from tests.graphql_api.compiled.test_differential import (
    EXAMPLES,
    INSTANTS,
    PHASES,
    SEED,
    TEXT,
    ZONES,
)
from tests.graphql_api.compiled.world_billing import billing_of
from tests.ids import global_id

pytestmark = pytest.mark.django_db

READERS = [role for role in Role if role_has_permission(role, BillingPermission.VIEW_BILLING)]
NOT_READERS = [role for role in Role if role not in READERS]

CHARGE = (
    "id concept quantity unitPrice discount amount currency createdAt "
    "professional { id fullName licenseNumber }"
)
RECEIPT = (
    "__typename id fullNumber receiptType series number customerName customerDocument igvRate "
    "subtotal tax total currency status issuedAt voidReason voidedAt "
    "patient { id fullName allergies hasAlerts } issuedBy { id fullName role } "
    f"lines {{ amount charge {{ {CHARGE} }} }}"
)
RECEIPTS = (
    "query Receipts($p: ID, $s: [ReceiptStatus!], $first: Int, $after: String) { "
    "receipts(patientId: $p, status: $s, first: $first, after: $after) { totalCount "
    "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } "
    f"edges {{ cursor node {{ {RECEIPT} }} }} }} }}"
)
ONE_RECEIPT = f"query Receipt($id: ID!) {{ receipt(id: $id) {{ {RECEIPT} }} }}"
STATEMENT = (
    "query Statement($p: ID!) { accountStatement(patientId: $p) "
    "{ __typename at kind description amount balance } }"
)
BOTH = (
    "query Both($p: ID!, $first: Int) { accountStatement(patientId: $p) "
    "{ at kind description amount balance } "
    f"receipts(patientId: $p, first: $first) {{ totalCount edges {{ node {{ {RECEIPT} }} }} }} }}"
)


def _nothing(world: Any, type_name: str) -> str:
    return to_base64(type_name, f"{world.clinic.pk}.999999")


def _reads(world: Any) -> list[tuple[str, dict[str, Any]]]:
    """Every billing read, with arguments that find rows."""
    billing = billing_of(world)
    jose, maria = billing.patients[0], billing.patients[1]
    void = billing.receipts_by_status["VOID"][0]
    return [
        (RECEIPTS, {}),
        (RECEIPTS, {"p": jose}),
        (RECEIPTS, {"p": maria, "s": ["PAID", "ISSUED"]}),
        (RECEIPTS, {"s": ["VOID", "PARTIALLY_PAID"], "first": 1}),
        (RECEIPTS, {"first": 2, "after": to_base64("arrayconnection", 1)}),
        (ONE_RECEIPT, {"id": void}),
        *((STATEMENT, {"p": patient}) for patient in billing.patients),
        (BOTH, {"p": jose, "first": 100}),
    ]


def test_the_world_holds_every_edge(world):
    """The rows these tests compare hold what Python and PostgreSQL could disagree on."""
    billing = billing_of(world)
    assert set(billing.receipts_by_status) == {"ISSUED", "PARTIALLY_PAID", "PAID", "VOID"}
    body = json.loads(equivalent(world.host, RECEIPTS, {}, world.tokens[Role.ADMIN]).body)
    nodes = [edge["node"] for edge in body["data"]["receipts"]["edges"]]
    assert {node["receiptType"] for node in nodes} == {"BOLETA", "FACTURA"}
    assert {node["igvRate"] for node in nodes} == {"0.1800"}
    assert "B001-123456789" in {node["fullNumber"] for node in nodes}
    assert all((node["voidedAt"] is None) == (node["status"] != "VOID") for node in nodes)
    charges = [line["charge"] for node in nodes for line in node["lines"]]
    assert {charge["professional"] is None for charge in charges} == {True, False}
    assert "0.00" in {charge["amount"] for charge in charges}
    statement = json.loads(
        equivalent(world.host, STATEMENT, {"p": billing.patients[0]}, world.tokens[Role.ADMIN]).body
    )["data"]["accountStatement"]
    assert {m["kind"] for m in statement} == {"CHARGE", "PAYMENT", "REFUND"}
    assert {"Cash", "Card", "Yape"} <= {m["description"] for m in statement}


@pytest.mark.parametrize("role", READERS)
def test_every_billing_reader_gets_the_compiled_answer(world, role):
    for query, variables in _reads(world):
        answer = equivalent(world.host, query, variables, world.tokens[role])
        assert answer.compiled, (query, variables)
        assert b'"errors"' not in answer.body


@pytest.mark.parametrize("who", [*NOT_READERS, "nobody", "wrong", "other_clinic", "public"])
def test_refusals_are_the_normal_ones_and_never_compiled(world, who):
    host = "localhost" if who == "public" else world.host
    token = {
        "nobody": None,
        "wrong": "not-a-token",
        "other_clinic": world.other_clinic_token,
        "public": world.tokens[Role.ADMIN],
    }.get(who) or world.tokens.get(who)
    for query, variables in _reads(world):
        answer = equivalent(host, query, variables, token)
        assert not answer.compiled, (who, query)
        assert error_code(json.loads(answer.body)) is not None, answer.body


@pytest.mark.parametrize(
    ("query", "argument"),
    [(RECEIPTS, "p"), (STATEMENT, "p"), (BOTH, "p"), (ONE_RECEIPT, "id")],
)
@pytest.mark.parametrize("which", ["nothing", "other_clinic", "other_type"])
def test_an_unknown_row_is_the_normal_not_found(world, query, argument, which):
    type_name = "Receipt" if argument == "id" else "Patient"
    value = {
        "nothing": _nothing(world, type_name),
        "other_clinic": world.other_ids[type_name][0],
        "other_type": world.ids["Chair"][0],
    }[which]
    answer = equivalent(world.host, query, {argument: value}, world.tokens[Role.RECEPTIONIST])
    assert not answer.compiled
    assert error_code(json.loads(answer.body)) == "NOT_FOUND"


def _answer_in(language: str, world: Any, query: str, variables: dict[str, Any], *, compiled: bool):
    before = compiled_count()
    with override_settings(GRAPHQL_COMPILED_READS=compiled):
        response = Client().post(
            "/graphql",
            data={"query": query, "variables": variables},
            content_type="application/json",
            HTTP_HOST=world.host,
            HTTP_AUTHORIZATION=f"Bearer {world.tokens[Role.ADMIN]}",
            HTTP_ACCEPT_LANGUAGE=language,
        )
    return Answer(response.status_code, response.content, compiled_count() > before)


def test_a_payment_reads_as_its_method_in_the_request_language(world):
    """One cached plan serves both languages: the labels are the request's parameters."""
    jose = billing_of(world).patients[0]
    texts = {}
    for language in ("en", "es", "en", "es"):
        for query in (STATEMENT, BOTH):
            normal = _answer_in(language, world, query, {"p": jose}, compiled=False)
            compiled = _answer_in(language, world, query, {"p": jose}, compiled=True)
            assert compiled.compiled
            assert (compiled.status, compiled.body) == (normal.status, normal.body)
            texts[language] = compiled.body.decode()
    assert '"Cash"' in texts["en"]
    assert '"Efectivo"' in texts["es"]
    assert '"Tarjeta"' in texts["es"]
    assert plans.stats()["compiled"] == 2  # STATEMENT and BOTH, whatever the language


def _clinic_tables() -> set[str]:
    tenant = set(django_settings.TENANT_APPS)
    return {
        model._meta.db_table for model in apps.get_models() if model._meta.app_config.name in tenant
    }


def _statements(world: Any, query: str, variables: dict[str, Any]) -> tuple[list[str], Answer]:
    """Every statement of a warm request (routing and plan cached)."""
    equivalent(world.host, query, variables, world.tokens[Role.ADMIN])
    before = compiled_count()
    with CaptureQueriesContext(connection) as captured:
        response = Client().post(
            "/graphql",
            data={"query": query, "variables": variables},
            content_type="application/json",
            HTTP_HOST=world.host,
            HTTP_AUTHORIZATION=f"Bearer {world.tokens[Role.ADMIN]}",
        )
    answer = Answer(response.status_code, response.content, compiled_count() > before)
    return [q["sql"] for q in captured.captured_queries], answer


def _add_receipts(world: Any, patient_id: int, count: int) -> None:
    with tenant_context(world.clinic):
        desk = User.objects.get(email="receptionist@w.pe")
        patient = Patient.objects.get(pk=patient_id)
        for index in range(count):
            charge = services.charge_add(
                actor=desk, patient=patient, concept=f"Cuota {index}", quantity=1,
                unit_price=f"{10 + index}.{index % 100:02d}",
            )  # fmt: skip
            receipt = services.receipt_issue(actor=desk, patient=patient, charges=[charge])
            if index % 3:
                payments.payment_record(
                    actor=desk, patient=patient, amount="5.05",
                    method=["CASH", "CARD", "YAPE"][index % 3],
                    allocations=[(receipt, "5.05")],
                )  # fmt: skip


def test_one_data_statement_and_the_token_lookup_at_10_and_at_100_receipts(world):
    with tenant_context(world.clinic):
        patient = cast(Patient, PatientFactory(first_name="Muchos", last_name="Recibos"))
    p = global_id("Patient", patient.pk, world.clinic)
    reads: list[tuple[str, dict[str, Any]]] = [
        (RECEIPTS, {"p": p, "first": 100}),
        (STATEMENT, {"p": p}),
        (BOTH, {"p": p, "first": 100}),
    ]
    tables = _clinic_tables()
    counts = {}
    for total in (10, 100):
        _add_receipts(world, patient.pk, total - (10 if total == 100 else 0))
        for query, variables in reads:
            statements, answer = _statements(world, query, variables)
            assert answer.compiled, answer.body[:500]
            reading = [sql for sql in statements if any(f'"{t}"' in sql for t in tables)]
            counts[total, query] = len(reading)
            # The transaction's schema (backend/core/db_backend), the token, and the answer
            # (the patient's NOT_FOUND check inside it).
            schema, token, data = statements
            assert schema.startswith("SELECT set_config('search_path'"), schema
            assert 'FROM "accounts_authtoken"' in token, token
            assert data.startswith("SELECT json_build_object("), data
            assert reading == [token, data]
        body = json.loads(answer.body)
        assert body["data"]["receipts"]["totalCount"] == total
    assert set(counts.values()) == {2}, counts


# --- generated data ---------------------------------------------------------------------------

MONEY = st.decimals(min_value=0, max_value=Decimal("4999999999.99"), places=2)
POSITIVE = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999999999.99"), places=2)
DOCUMENT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)
RUC = st.from_regex(r"(10|15|17|20)[0-9]{9}", fullmatch=True)
EVERY_FIELD = (
    "query Everything($p: ID!) { accountStatement(patientId: $p) "
    "{ __typename at kind description amount balance } "
    f"receipts(patientId: $p, first: 100) {{ totalCount edges {{ node {{ {RECEIPT} }} }} }} }}"
)


@st.composite
def billing_rows(draw: Any) -> dict[str, Any]:
    """A patient's charges, payments, refunds and receipts as the database allows them, at
    instants that often coincide (ties: charges first, then by id)."""
    shared = draw(st.lists(INSTANTS, min_size=1, max_size=3))
    instant = st.sampled_from(shared) | INSTANTS
    charges = draw(
        st.lists(
            st.fixed_dictionaries(
                {"concept": TEXT, "amount": MONEY, "at": instant, "professional": st.booleans()}
            ),
            max_size=6,
        )
    )
    moves = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "kind": st.sampled_from(PaymentKind.values),
                    "method": st.sampled_from(PaymentMethod.values),
                    "amount_pen": POSITIVE,
                    "reason": TEXT,
                    "at": instant,
                }
            ),
            max_size=6,
        )
    )
    receipts = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "receipt_type": st.sampled_from(ReceiptType.values),
                    "number": st.integers(0, 2**31 - 1),
                    "status": st.sampled_from(ReceiptStatus.values),
                    "igv_rate": st.decimals(min_value=0, max_value=Decimal("0.9999"), places=4),
                    "subtotal": MONEY,
                    "tax": MONEY,
                    "customer_name": TEXT,
                    "ruc": RUC,
                    "document": DOCUMENT,
                    "void_reason": TEXT,
                    "at": instant,
                    "voided_at": INSTANTS,
                    "lines": st.lists(st.integers(0, 5), max_size=3, unique=True),
                }
            ),
            max_size=4,
            unique_by=lambda receipt: (receipt["receipt_type"], receipt["number"]),
        )
    )
    return {"charges": charges, "moves": moves, "receipts": receipts}


def _write(rows: dict[str, Any], user: User, professional: Any) -> Patient:
    patient = cast(Patient, PatientFactory(first_name="Generada", last_name="Cuenta"))
    charges = Charge.objects.bulk_create(
        Charge(
            patient=patient, concept=item["concept"], unit_price=item["amount"],
            amount=item["amount"], created_at=item["at"], created_by=user,
            professional=professional if item["professional"] else None,
        )
        for item in rows["charges"]
    )  # fmt: skip
    Payment.objects.bulk_create(
        Payment(
            patient=patient, kind=item["kind"], method=item["method"], amount=item["amount_pen"],
            amount_pen=item["amount_pen"], paid_at=item["at"], received_by=user,
            reason=item["reason"] or ("x" if item["kind"] == PaymentKind.REFUND else ""),
        )
        for item in rows["moves"]
    )  # fmt: skip
    live: set[int] = set()
    for item in rows["receipts"]:
        void = item["status"] == ReceiptStatus.VOID
        factura = item["receipt_type"] == ReceiptType.FACTURA
        receipt = Receipt.objects.create(
            receipt_type=item["receipt_type"], series="F900" if factura else "B900",  # not the world's series
            number=item["number"], patient=patient, customer_name=item["customer_name"],
            customer_document=item["ruc"] if factura else item["document"],
            igv_rate=item["igv_rate"], subtotal=item["subtotal"], tax=item["tax"],
            total=item["subtotal"] + item["tax"], status=item["status"], issued_by=user,
            issued_at=item["at"], void_reason=item["void_reason"],
            voided_at=item["voided_at"] if void else None,
        )  # fmt: skip
        for index in item["lines"]:
            if index >= len(charges) or (not void and index in live):
                continue  # a charge is on one live receipt at most
            if not void:
                live.add(index)
            charge = charges[index]
            ReceiptLine.objects.create(
                receipt=receipt, charge=charge, amount=charge.amount, is_void=void
            )
    return patient


def test_generated_billing_rows_answer_alike(world):
    """Rows hypothesis writes (any Unicode text, amounts to ten digits, receipt numbers to
    2^31 - 1, IGV rates to four places, instants from 1890 to 2090 that often coincide), read
    back with every covered field by both executions, in zones with half-hour, DST and seconds
    offsets, for every role that reads billing."""
    tally = {"compiled": 0, "examples": 0}
    with tenant_context(world.clinic):
        user = User.objects.get(email="admin@w.pe")
        professional = Professional.objects.order_by("pk").first()

    @seed(SEED)
    @settings(
        max_examples=max(10, EXAMPLES // 3),
        deadline=None,
        database=None,
        phases=PHASES,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(rows=billing_rows(), zone=st.sampled_from(ZONES), role=st.sampled_from(READERS))
    def generated(rows: dict[str, Any], zone: str, role: str) -> None:
        Clinic.objects.filter(pk=world.clinic.pk).update(timezone=zone)
        routing.invalidate()
        with transaction.atomic():
            with tenant_context(world.clinic):
                patient = _write(rows, user, professional)
            connection.set_schema_to_public()
            p = global_id("Patient", patient.pk, world.clinic)
            answer = equivalent(world.host, EVERY_FIELD, {"p": p}, world.tokens[role])
            tally["examples"] += 1
            tally["compiled"] += answer.compiled
            transaction.set_rollback(True)

    generated()
    assert tally["compiled"] == tally["examples"], tally
