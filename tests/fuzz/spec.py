"""What the fuzzer knows about each operation, read from the specification, not the code.

- Which operations exist, on which domain, and which need no token: the Operations table of
  ``docs/permissions.md``.
- Which kind of row each ID argument names: ``ID_TYPES`` below, written from the schema's
  descriptions (``updatePatient(id)`` changes a patient…). A new ID argument fails
  ``test_every_id_argument_names_a_known_node_type`` until it is added here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Operation:
    kind: str  # "query" or "mutation"
    name: str
    domain: str  # "clinic", "platform" or "any"
    requires: str  # "nothing", "signed in", "platform superuser" or a permission

    @property
    def anonymous(self) -> bool:
        return self.requires == "nothing"


def operations() -> list[Operation]:
    """The rows of the Operations table of docs/permissions.md."""
    text = (ROOT / "docs" / "permissions.md").read_text(encoding="utf-8")
    row = re.compile(r"^\| `(query|mutation) (\w+)` \| (\w+) \| ([^|]+?) \|", re.MULTILINE)
    return [
        Operation(kind, name, domain, requires.strip().strip("`"))
        for kind, name, domain, requires in row.findall(text)
    ]


# The node type each ID argument names, by argument (or input field) name...
ID_TYPES_BY_NAME = {
    "patientId": "Patient",
    "professionalId": "Professional",
    "dentistId": "Professional",
    "chairId": "Chair",
    "appointmentId": "Appointment",
    "noteId": "ClinicalNote",
    "planId": "TreatmentPlan",
    "procedureId": "Procedure",
    "userId": "StaffUser",
    "actor": "StaffUser",
    "chargeIds": "Charge",
    "receiptId": "Receipt",
    "paymentId": "Payment",
    "backupId": "ClinicBackup",  # a backup's UUID, not a global ID
    "conversationId": "AssistantConversationKey",  # the web widget's UUID, not a global ID
}
# "ID"s that are keys (UUIDs), not global IDs: the global-ID hazards do not apply to them.
KEY_TYPES = frozenset({"ClinicBackup", "AssistantConversationKey"})
# ...and, for an argument called `id`, by operation.
ID_TYPES_OF_ID = {
    **dict.fromkeys(["patient", "updatePatient", "archivePatient"], "Patient"),
    **dict.fromkeys(
        ["professional", "updateProfessional", "deactivateProfessional"], "Professional"
    ),
    **dict.fromkeys(["chair", "updateChair", "deactivateChair"], "Chair"),
    **dict.fromkeys(
        ["appointment", "rescheduleAppointment", "changeAppointmentStatus", "cancelAppointment"],
        "Appointment",
    ),
    **dict.fromkeys(["clinicalNote", "updateClinicalNote", "signClinicalNote"], "ClinicalNote"),
    **dict.fromkeys(["treatmentPlan", "changeTreatmentPlanStatus"], "TreatmentPlan"),
    **dict.fromkeys(["cancelTreatmentPlanItem", "completeTreatmentPlanItem"], "TreatmentPlanItem"),
    **dict.fromkeys(["receipt", "voidReceipt"], "Receipt"),
    **dict.fromkeys(["changeStaffRole", "deactivateStaffUser"], "StaffUser"),
    "removeTimeOff": "TimeOff",
    "removeClinicClosure": "ClinicClosure",
    **dict.fromkeys(["changeFindingState", "removeFinding"], "Finding"),
    **dict.fromkeys(["updateProcedure", "deactivateProcedure"], "Procedure"),
    **dict.fromkeys(["updateNotificationRule", "deleteNotificationRule"], "NotificationRule"),
    **dict.fromkeys(["updateRecallRule", "deleteRecallRule"], "RecallRule"),
    "resendNotification": "Notification",
    "markInboxMessageHandled": "InboxMessage",
    **dict.fromkeys(
        [
            "assistantConversation",
            "replyToAssistantConversation",
            "takeOverAssistantConversation",
            "releaseAssistantConversation",
            "closeAssistantConversation",
        ],
        "AssistantConversation",
    ),
    **dict.fromkeys(
        ["updatePatientDocument", "archivePatientDocument", "unarchivePatientDocument"],
        "PatientDocument",
    ),
}


def id_type(operation: str, argument: str) -> str | None:
    """The node type an ID argument (or input field) names; None when unknown."""
    if argument == "id":
        return ID_TYPES_OF_ID.get(operation)
    return ID_TYPES_BY_NAME.get(argument)
