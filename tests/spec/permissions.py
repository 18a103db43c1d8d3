"""Who may call each GraphQL operation: the permission matrix, written by hand from the
"Operations" table of docs/permissions.md (the specification), never read from the code.

`tests/accounts/test_role_matrix.py` calls every operation as every role and compares the
answer with this table; a test there fails when the schema has an operation this table
lacks, or this table one the schema lacks.

**Whoever changes a permission changes this table, on purpose, in the same commit.**
docs/permissions.md is generated from the code, so it cannot serve as the check: this
table is the copy that does not follow the code.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("ADMIN", "DENTIST", "ASSISTANT", "RECEPTIONIST")

CLINIC = "clinic"  # a clinic's domain only: TENANT_DOMAIN_ONLY on the platform's
PLATFORM = "platform"  # the platform's domain only: PUBLIC_DOMAIN_ONLY on a clinic's
ANY = "any"  # both


@dataclass(frozen=True)
class Access:
    operation: str  # "query staff", "mutation login"
    domain: str
    roles: frozenset[str]  # the clinic roles allowed, signed in on their clinic's domain
    anonymous: bool = False  # open without a token
    superuser: bool = False  # a platform superuser may call it (on the platform's domain)

    @property
    def field(self) -> str:
        return self.operation.split(" ", 1)[1]

    @property
    def kind(self) -> str:
        return self.operation.split(" ", 1)[0]

    def allows(self, role: str) -> bool:
        return role in self.roles


Y, N = True, False


def clinic(
    operation: str, admin: bool, dentist: bool, assistant: bool, receptionist: bool
) -> Access:
    """A clinic operation, for the roles marked ``Y``."""
    allowed = (admin, dentist, assistant, receptionist)
    return Access(operation, CLINIC, frozenset(r for r, y in zip(ROLES, allowed, strict=True) if y))


def platform(operation: str) -> Access:
    """A platform operation: platform superusers only, on the platform's domain."""
    return Access(operation, PLATFORM, frozenset(), superuser=True)


def signed_in(operation: str) -> Access:
    """Any signed-in user, on any domain: every clinic role and the platform's operators."""
    return Access(operation, ANY, frozenset(ROLES), superuser=True)


# fmt: off
ACCESS: dict[str, Access] = {access.operation: access for access in (
    #       operation                              ADMIN DENTIST ASSISTANT RECEPTIONIST
    # Open: the clinic's public card, and signing in.
    Access("query currentClinic", CLINIC, frozenset(ROLES), anonymous=True),
    Access("mutation login", ANY, frozenset(ROLES), anonymous=True, superuser=True),
    # The patient assistant: the clinic's web widget, for any visitor.
    Access("mutation assistantMessage", CLINIC, frozenset(ROLES), anonymous=True),
    signed_in("query me"),
    signed_in("mutation logout"),
    # Staff and the clinic's settings: admins.
    clinic("query staff",                          Y,    N,      N,        N),
    clinic("mutation createStaffUser",             Y,    N,      N,        N),
    clinic("mutation changeStaffRole",             Y,    N,      N,        N),
    clinic("mutation deactivateStaffUser",         Y,    N,      N,        N),
    clinic("mutation updateClinicSettings",        Y,    N,      N,        N),
    clinic("mutation updateClinicProfile",         Y,    N,      N,        N),
    clinic("mutation setOpeningHours",             Y,    N,      N,        N),
    clinic("mutation addClinicClosure",            Y,    N,      N,        N),
    clinic("mutation removeClinicClosure",         Y,    N,      N,        N),
    clinic("mutation uploadClinicLogo",            Y,    N,      N,        N),
    clinic("mutation removeClinicLogo",            Y,    N,      N,        N),
    clinic("mutation updateBillingSettings",       Y,    N,      N,        N),
    clinic("query auditEvents",                    Y,    N,      N,        N),
    # Patients.
    clinic("query patient",                        Y,    Y,      Y,        Y),
    clinic("query patients",                       Y,    Y,      Y,        Y),
    clinic("mutation createPatient",               Y,    Y,      N,        Y),
    clinic("mutation updatePatient",               Y,    Y,      N,        Y),
    clinic("mutation archivePatient",              Y,    N,      N,        Y),
    clinic("mutation setPatientFrontDeskAlert",    Y,    Y,      N,        N),
    # Professionals, their time off, chairs.
    clinic("query professional",                   Y,    Y,      Y,        Y),
    clinic("query professionals",                  Y,    Y,      Y,        Y),
    clinic("query chair",                          Y,    Y,      Y,        Y),
    clinic("query chairs",                         Y,    Y,      Y,        Y),
    clinic("mutation createProfessional",          Y,    N,      N,        Y),
    clinic("mutation updateProfessional",          Y,    N,      N,        Y),
    clinic("mutation deactivateProfessional",      Y,    N,      N,        Y),
    clinic("mutation addTimeOff",                  Y,    N,      N,        Y),
    clinic("mutation removeTimeOff",               Y,    N,      N,        Y),
    clinic("mutation createChair",                 Y,    N,      N,        Y),
    clinic("mutation updateChair",                 Y,    N,      N,        Y),
    clinic("mutation deactivateChair",             Y,    N,      N,        Y),
    # The agenda. A dentist changes the status of their own appointments only (a row rule).
    clinic("query appointment",                    Y,    Y,      Y,        Y),
    clinic("query appointments",                   Y,    Y,      Y,        Y),
    clinic("query availability",                   Y,    Y,      Y,        Y),
    clinic("mutation scheduleAppointment",         Y,    N,      N,        Y),
    clinic("mutation rescheduleAppointment",       Y,    N,      N,        Y),
    clinic("mutation changeAppointmentStatus",     Y,    Y,      N,        Y),
    clinic("mutation cancelAppointment",           Y,    N,      N,        Y),
    # Clinical records: never the front desk.
    clinic("query medicalHistory",                 Y,    Y,      Y,        N),
    clinic("query medicalHistoryVersions",         Y,    Y,      Y,        N),
    clinic("query clinicalNote",                   Y,    Y,      Y,        N),
    clinic("query clinicalNotes",                  Y,    Y,      Y,        N),
    clinic("query odontogram",                     Y,    Y,      Y,        N),
    clinic("mutation recordMedicalHistory",        Y,    Y,      N,        N),
    clinic("mutation createClinicalNote",          Y,    Y,      N,        N),
    clinic("mutation updateClinicalNote",          Y,    Y,      N,        N),
    clinic("mutation signClinicalNote",            Y,    Y,      N,        N),
    clinic("mutation addNoteAddendum",             Y,    Y,      N,        N),
    clinic("mutation recordFinding",               Y,    Y,      Y,        N),
    clinic("mutation changeFindingState",          Y,    Y,      Y,        N),
    clinic("mutation removeFinding",               Y,    Y,      Y,        N),
    # The procedure catalog and treatment plans.
    clinic("query procedures",                     Y,    Y,      Y,        Y),
    clinic("mutation createProcedure",             Y,    N,      N,        N),
    clinic("mutation updateProcedure",             Y,    N,      N,        N),
    clinic("mutation deactivateProcedure",         Y,    N,      N,        N),
    clinic("query treatmentPlan",                  Y,    Y,      Y,        Y),
    clinic("query treatmentPlans",                 Y,    Y,      Y,        Y),
    clinic("mutation createTreatmentPlan",         Y,    Y,      N,        N),
    clinic("mutation addTreatmentPlanItem",        Y,    Y,      N,        N),
    clinic("mutation cancelTreatmentPlanItem",     Y,    Y,      N,        N),
    clinic("mutation changeTreatmentPlanStatus",   Y,    Y,      N,        N),
    clinic("mutation completeTreatmentPlanItem",   Y,    Y,      N,        N),
    # Billing: the assistant sees none of it; voids and refunds are the admins'.
    clinic("query billingSettings",                Y,    Y,      N,        Y),
    clinic("query patientBalance",                 Y,    Y,      N,        Y),
    clinic("query accountStatement",               Y,    Y,      N,        Y),
    clinic("query uninvoicedCharges",              Y,    Y,      N,        Y),
    clinic("query receipt",                        Y,    Y,      N,        Y),
    clinic("query receipts",                       Y,    Y,      N,        Y),
    clinic("query cashReport",                     Y,    Y,      N,        Y),
    clinic("mutation chargePerformedProcedures",   Y,    N,      N,        Y),
    clinic("mutation addCharge",                   Y,    N,      N,        Y),
    clinic("mutation issueReceipt",                Y,    N,      N,        Y),
    clinic("mutation recordPayment",               Y,    N,      N,        Y),
    clinic("mutation allocatePayment",             Y,    N,      N,        Y),
    clinic("mutation voidReceipt",                 Y,    N,      N,        N),
    clinic("mutation refundPayment",               Y,    N,      N,        N),
    # The clinic dashboard: admins only (it ranks colleagues and sums the clinic's money).
    clinic("query clinicDashboard",                Y,    N,      N,        N),
    # Patient messaging: everyone who reads the agenda reads the messages (no clinical detail
    # in them); the front desk resends, keeps contact choices and answers the inbox; admins
    # set the rules and the words.
    clinic("query messagingSettings",              Y,    Y,      Y,        Y),
    clinic("query messageTemplates",               Y,    Y,      Y,        Y),
    clinic("query previewMessageTemplate",         Y,    N,      N,        N),
    clinic("query notifications",                  Y,    Y,      Y,        Y),
    clinic("query patientContactPreference",       Y,    Y,      Y,        Y),
    clinic("query inbox",                          Y,    N,      N,        Y),
    clinic("mutation updateMessagingSettings",     Y,    N,      N,        N),
    clinic("mutation createNotificationRule",      Y,    N,      N,        N),
    clinic("mutation updateNotificationRule",      Y,    N,      N,        N),
    clinic("mutation deleteNotificationRule",      Y,    N,      N,        N),
    clinic("mutation createRecallRule",            Y,    N,      N,        N),
    clinic("mutation updateRecallRule",            Y,    N,      N,        N),
    clinic("mutation deleteRecallRule",            Y,    N,      N,        N),
    clinic("mutation updateMessageTemplate",       Y,    N,      N,        N),
    clinic("mutation updateContactPreference",     Y,    N,      N,        Y),
    clinic("mutation resendNotification",          Y,    N,      N,        Y),
    clinic("mutation markInboxMessageHandled",     Y,    N,      N,        Y),
    # The assistant's conversations: the front desk reads and answers them (no clinical
    # record in them); admins switch it and set the transcripts' retention. The web widget
    # reads its own conversation's transcript without a token, by its secret key.
    clinic("query assistantConversations",         Y,    N,      N,        Y),
    clinic("query assistantConversation",          Y,    N,      N,        Y),
    clinic("query assistantSettings",              Y,    N,      N,        N),
    Access("query assistantTranscript", CLINIC, frozenset(ROLES), anonymous=True),
    clinic("mutation replyToAssistantConversation", Y,   N,      N,        Y),
    clinic("mutation takeOverAssistantConversation", Y,  N,      N,        Y),
    clinic("mutation releaseAssistantConversation", Y,   N,      N,        Y),
    clinic("mutation closeAssistantConversation",  Y,    N,      N,        Y),
    clinic("mutation updateAssistantSettings",     Y,    N,      N,        N),
    # Patient documents, by kind: the front desk reads and files ID documents and signed
    # consents (the world's), never radiographs (tests/documents).
    clinic("query patientDocuments",               Y,    Y,      Y,        Y),
    clinic("mutation uploadPatientDocument",       Y,    Y,      Y,        Y),
    clinic("mutation updatePatientDocument",       Y,    Y,      Y,        Y),
    clinic("mutation archivePatientDocument",      Y,    Y,      Y,        Y),
    clinic("mutation unarchivePatientDocument",    Y,    Y,      Y,        Y),
    # The platform.
    platform("query plans"),
    platform("query clinics"),
    platform("query clinicBackups"),
    platform("query clinicMetrics"),
    platform("query platformMetrics"),
    platform("mutation createClinic"),
    platform("mutation changeClinicPlan"),
    platform("mutation suspendClinic"),
    platform("mutation reactivateClinic"),
    platform("mutation addClinicDomain"),
    platform("mutation backupClinic"),
    platform("mutation restoreClinic"),
    platform("mutation setClinicMessagingSender"),
    platform("mutation removeClinicMessagingSender"),
)}
# fmt: on
