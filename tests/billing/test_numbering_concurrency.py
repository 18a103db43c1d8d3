"""40 parallel issues in one series give exactly 40 consecutive numbers (real uvicorn,
4 worker processes, committed data)."""

import concurrent.futures

import pytest

from backend.accounts.models import Role, User
from backend.billing.models import Charge, Receipt
from backend.core.tenancy import clinic_context
from backend.patients.models import Patient
from tests.conftest import TEST_PASSWORD, http_login, running_uvicorn
from tests.ids import global_id

pytestmark = pytest.mark.slow

ISSUE = """
mutation($p: ID!, $c: ID!) {
  issueReceipt(input: {patientId: $p, chargeIds: [$c], receiptType: BOLETA}) {
    __typename ... on Receipt { number } ... on OperationInfo { messages { code } }
  }
}
"""


def test_40_parallel_receipts_get_40_consecutive_numbers(django_db_blocker, committed_clinic):
    clinic = committed_clinic("caja-paralela", plan="professional")
    with django_db_blocker.unblock(), clinic_context(clinic):
        cashier = User.objects.create_user(
            email="caja@paralela.pe", password=TEST_PASSWORD, role=Role.RECEPTIONIST
        )
        patient = Patient.objects.create(
            first_name="P", last_name="Q", document_type="DNI", document_number="12345678"
        )
        charges = Charge.objects.bulk_create(
            Charge(
                patient=patient,
                concept=f"C{i}",
                unit_price="10.00",
                amount="10.00",
                created_by=cashier,
            )
            for i in range(40)
        )
    with running_uvicorn(django_db_blocker, workers=4) as server:
        token = http_login(server, "caja-paralela.localhost", "caja@paralela.pe")["token"]

        def issue(charge):
            response = server.post(
                "caja-paralela.localhost",
                {"query": ISSUE, "variables": {"p": global_id("Patient", patient.pk, clinic), "c": global_id("Charge", charge.pk, clinic)}},
                headers={"Authorization": f"Bearer {token}"}, timeout=60,
            )  # fmt: skip
            assert response.status_code == 200, response.text
            return response.json()["data"]["issueReceipt"]

        with concurrent.futures.ThreadPoolExecutor(max_workers=40) as pool:
            results = list(pool.map(issue, charges))

    assert all(r["__typename"] == "Receipt" for r in results), results
    assert sorted(r["number"] for r in results) == list(range(1, 41))
    with django_db_blocker.unblock(), clinic_context(clinic):
        assert sorted(Receipt.objects.values_list("number", flat=True)) == list(range(1, 41))
