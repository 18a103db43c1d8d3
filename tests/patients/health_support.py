"""What the health-data tests of patients share: the clinic's host, the patient query that
reads every health field, and what is stored (the ``staff`` fixture: ``conftest.py``)."""

from __future__ import annotations

from typing import Any

from django_tenants.utils import tenant_context

from backend.audit.models import AuditEvent
from backend.patients.models import Patient

HOST = "clinica1.localhost"

READ = """
query($id: ID!) {
  patient(id: $id) {
    allergies medicalAlerts hasAlerts
    frontDeskAlert { text writtenBy { id fullName } writtenAt }
  }
}
"""


def stored(clinic: Any, patient: Any) -> dict[str, Any]:
    with tenant_context(clinic):
        return Patient.objects.values(
            "allergies", "medical_alerts", "phone", "front_desk_alert", "front_desk_alert_by",
            "front_desk_alert_at",
        ).get(pk=patient.pk)  # fmt: skip


def events(clinic: Any, action: str) -> list[AuditEvent]:
    with tenant_context(clinic):
        return list(AuditEvent.objects.filter(action=action).order_by("pk"))
