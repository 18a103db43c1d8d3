"""The role matrix's world and calls: one of every object in a clinic, and one call per
operation of the schema that uses them.

A variable value ``"{name}"`` in ``CALLS`` is filled from the world: the global ID of one of
its objects, or one of its dates (``day``, ``at_11``…). Dates are relative to today in the
clinic's time zone (two weeks ahead), so that bookings never fall in the past.

Other tests build on it: `tests/test_health_data.py` (the world and the mutation calls),
the fuzzers and `tests/test_filters_cross_clinic.py` (the world).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from backend.accounts.models import AuthToken, Role, User
from backend.assistant.models import AssistantSettings, Conversation, ConversationMessage
from backend.audit.models import AuditEvent
from backend.billing.models import (
    BillingSettings,
    Charge,
    Payment,
    PaymentAllocation,
    Receipt,
    ReceiptLine,
)
from backend.branding.models import ClinicLogo
from backend.clinic_admin.models import ClinicClosure, ClinicProfile, OpeningShift
from backend.clinical.models import ClinicalNote, Finding, MedicalHistory, NoteAddendum
from backend.documents.models import PatientDocument
from backend.files.models import StoredFile
from backend.notifications.models import (
    ContactPreference,
    InboxMessage,
    MessageTemplate,
    MessagingSettings,
    Notification,
    NotificationRule,
    RecallRule,
)
from backend.patients.models import Patient
from backend.resources.models import Chair, Professional, TimeOff, WorkingHours
from backend.scheduling.models import Appointment
from backend.treatments.models import (
    PerformedProcedure,
    Procedure,
    TreatmentPlan,
    TreatmentPlanItem,
)
from tenants_core.models import Clinic, ClinicBackup, Domain, MessagingSender
from tests.branding.images import png as logo_png
from tests.ids import global_id

# A 64×32 PNG: the logo the matrix uploads, and the one effects.py arranges before a removal.
MATRIX_LOGO = ("logo.png", logo_png(64, 32), "image/png")
# The files of the calls that upload, by field, then by variable path (multipart requests).
UPLOADS: dict[str, dict[str, tuple[str, bytes, str]]] = {
    "uploadClinicLogo": {"file": MATRIX_LOGO},
}

# One call per operation.
CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "patient": (
        "query($id: ID!) { patient(id: $id) { fullName documentNumber } }",
        {"id": "{patient}"},
    ),
    "patients": (
        '{ patients(first: 5, search: "per") { totalCount edges { node { fullName } } } }',
        {},
    ),
    "professional": (
        "query($id: ID!) { professional(id: $id) { fullName } }",
        {"id": "{professional}"},
    ),
    "professionals": (
        "{ professionals(first: 5) { totalCount edges { node { fullName } } } }",
        {},
    ),
    "chair": ("query($id: ID!) { chair(id: $id) { name } }", {"id": "{chair}"}),
    "chairs": ("{ chairs(first: 5) { totalCount edges { node { name } } } }", {}),
    "appointment": (
        "query($id: ID!) { appointment(id: $id) { status startsAt } }",
        {"id": "{appointment}"},
    ),
    "appointments": (
        "{ appointments(first: 5) { totalCount edges { node { id status } } } }",
        {},
    ),
    "availability": (
        "query($p: ID!, $d: Date!) { availability(professionalId: $p, date: $d,"
        " durationMinutes: 30) { startsAt endsAt } }",
        {"p": "{professional}", "d": "{day}"},
    ),
    "createPatient": (
        "mutation($input: CreatePatientInput!) { createPatient(input: $input) { ...Outcome } }",
        {
            "input": {
                "firstName": "Ana",
                "lastName": "Díaz",
                "documentType": "DNI",
                "documentNumber": "44556677",
            }
        },
    ),
    "updatePatient": (
        'mutation($id: ID!) { updatePatient(id: $id, input: {phone: "987654321"}) { ...Outcome } }',
        {"id": "{patient}"},
    ),
    "setPatientFrontDeskAlert": (
        'mutation($p: ID!) { setPatientFrontDeskAlert(patientId: $p, text: "Avisar al doctor") { ...Outcome } }',
        {"p": "{patient}"},
    ),
    "archivePatient": (
        "mutation($id: ID!) { archivePatient(id: $id) { ...Outcome } }",
        {"id": "{patient}"},
    ),
    "createProfessional": (
        'mutation { createProfessional(input: {fullName: "Dra. Ruiz", licenseNumber: "99887"}) { ...Outcome } }',
        {},
    ),
    "updateProfessional": (
        'mutation($id: ID!) { updateProfessional(id: $id, input: {specialty: "Ortodoncia"}) { ...Outcome } }',
        {"id": "{professional}"},
    ),
    "deactivateProfessional": (
        "mutation($id: ID!) { deactivateProfessional(id: $id) { ...Outcome } }",
        {"id": "{professional}"},
    ),
    "addTimeOff": (
        "mutation($input: TimeOffInput!) { addTimeOff(input: $input) { ...Outcome } }",
        {
            "input": {
                "professionalId": "{professional}",
                "startsAt": "{off_from}",
                "endsAt": "{off_to}",
            }
        },
    ),
    "removeTimeOff": (
        "mutation($id: ID!) { removeTimeOff(id: $id) { ...Outcome } }",
        {"id": "{time_off}"},
    ),
    "createChair": ('mutation { createChair(name: "Sillón 9") { ...Outcome } }', {}),
    "updateChair": (
        'mutation($id: ID!) { updateChair(id: $id, name: "Sillón 8") { ...Outcome } }',
        {"id": "{chair}"},
    ),
    "deactivateChair": (
        "mutation($id: ID!) { deactivateChair(id: $id) { ...Outcome } }",
        {"id": "{chair}"},
    ),
    "scheduleAppointment": (
        "mutation($input: ScheduleAppointmentInput!) { scheduleAppointment(input: $input) { ...Outcome } }",
        {
            "input": {
                "patientId": "{patient}",
                "professionalId": "{professional}",
                "chairId": "{chair}",
                "startsAt": "{at_11}",
                "endsAt": "{at_11_30}",
            }
        },
    ),
    "rescheduleAppointment": (
        "mutation($id: ID!, $input: RescheduleAppointmentInput!) {"
        " rescheduleAppointment(id: $id, input: $input) { ...Outcome } }",
        {"id": "{appointment}", "input": {"startsAt": "{at_12}", "endsAt": "{at_12_30}"}},
    ),
    "changeAppointmentStatus": (
        "mutation($id: ID!) { changeAppointmentStatus(id: $id, status: CONFIRMED) { ...Outcome } }",
        {"id": "{appointment}"},
    ),
    "cancelAppointment": (
        'mutation($id: ID!) { cancelAppointment(id: $id, reason: "Paciente avisó") { ...Outcome } }',
        {"id": "{appointment}"},
    ),
    "currentClinic": ("{ currentClinic { name subdomain } }", {}),
    "billingSettings": ("{ billingSettings { igvRate pricesIncludeTax } }", {}),
    "updateBillingSettings": (
        'mutation { updateBillingSettings(igvRate: "0.10") { ...Outcome } }',
        {},
    ),
    "patientBalance": (
        "query($p: ID!) { patientBalance(patientId: $p) { charges payments refunds balance credit } }",
        {"p": "{patient}"},
    ),
    "accountStatement": (
        "query($p: ID!) { accountStatement(patientId: $p) { kind amount balance } }",
        {"p": "{patient}"},
    ),
    "uninvoicedCharges": (
        "query($p: ID!) { uninvoicedCharges(patientId: $p) { concept amount } }",
        {"p": "{patient}"},
    ),
    "receipt": (
        "query($id: ID!) { receipt(id: $id) { fullNumber status total } }",
        {"id": "{receipt}"},
    ),
    "receipts": (
        "query($p: ID!) { receipts(patientId: $p, first: 5) { totalCount edges { node { fullNumber } } } }",
        {"p": "{patient}"},
    ),
    "cashReport": (
        "query($d: Date!) { cashReport(from: $d, to: $d) { totalReceived totalRefunded } }",
        {"d": "{today}"},
    ),
    "clinicDashboard": (
        "query($f: Date!, $t: Date!) { clinicDashboard(from: $f, to: $t) { appointmentsTotal collected { amount currency } outstanding { receivable { amount } patientsOwing } } }",
        {"f": "{today}", "t": "{day}"},
    ),
    "chargePerformedProcedures": (
        "mutation($p: ID!) { chargePerformedProcedures(patientId: $p) { ... on OperationInfo { ...Outcome } } }",
        {"p": "{patient}"},
    ),
    "addCharge": (
        'mutation($p: ID!) { addCharge(input: {patientId: $p, concept: "Kit", unitPrice: "10.00"}) { ...Outcome } }',
        {"p": "{patient}"},
    ),
    "issueReceipt": (
        "mutation($p: ID!, $c: ID!) { issueReceipt(input: {patientId: $p, chargeIds: [$c], receiptType: BOLETA}) { ...Outcome } }",
        {"p": "{patient}", "c": "{charge}"},
    ),
    "voidReceipt": (
        'mutation($id: ID!) { voidReceipt(id: $id, reason: "Error") { ...Outcome } }',
        {"id": "{receipt}"},
    ),
    "recordPayment": (
        'mutation($p: ID!) { recordPayment(input: {patientId: $p, amount: "10.00", method: CASH}) { ...Outcome } }',
        {"p": "{patient}"},
    ),
    "allocatePayment": (
        'mutation($pay: ID!, $r: ID!) { allocatePayment(paymentId: $pay, receiptId: $r, amount: "1.00") { ...Outcome } }',
        {"pay": "{payment}", "r": "{receipt}"},
    ),
    "refundPayment": (
        'mutation($p: ID!) { refundPayment(input: {patientId: $p, amount: "1.00", method: CASH, reason: "Devolución"}) { ...Outcome } }',
        {"p": "{patient}"},
    ),
    "updateClinicSettings": (
        "mutation { updateClinicSettings(restrictNotesToAuthor: true) { ...Outcome } }",
        {},
    ),
    "updateClinicProfile": (
        'mutation { updateClinicProfile(input: {name: "Clínica Norte SAC", ubigeo: "150122",'
        ' whatsapp: "987654321"}) { ...Outcome } }',
        {},
    ),
    "setOpeningHours": (
        "mutation { setOpeningHours(input: {shifts: ["
        '{weekday: MONDAY, opensAt: "08:00", closesAt: "13:00"},'
        '{weekday: MONDAY, opensAt: "14:00", closesAt: "20:00"}]}) { ...Outcome } }',
        {},
    ),
    "addClinicClosure": (
        "mutation($d: Date!) { addClinicClosure(input: {startsOn: $d, endsOn: $d,"
        ' reason: "Feriado"}) { ...Outcome } }',
        {"d": "{closure_day}"},
    ),
    "removeClinicClosure": (
        "mutation($id: ID!) { removeClinicClosure(id: $id) { ...Outcome } }",
        {"id": "{closure}"},
    ),
    # Sent as a multipart request with the file of UPLOADS (tests/accounts/matrix_calls.py).
    "uploadClinicLogo": (
        "mutation($file: Upload!) { uploadClinicLogo(file: $file) {"
        " __typename ... on ClinicLogo { url width height } ... on OperationInfo { ...Outcome } } }",
        {},
    ),
    "removeClinicLogo": ("mutation { removeClinicLogo { ...Outcome } }", {}),
    "medicalHistory": (
        "query($p: ID!) { medicalHistory(patientId: $p) { version allergies } }",
        {"p": "{patient}"},
    ),
    "medicalHistoryVersions": (
        "query($p: ID!) { medicalHistoryVersions(patientId: $p) { version allergies } }",
        {"p": "{patient}"},
    ),
    "clinicalNote": (
        "query($id: ID!) { clinicalNote(id: $id) { status subjective } }",
        {"id": "{note}"},
    ),
    "clinicalNotes": (
        "query($p: ID!) { clinicalNotes(patientId: $p, first: 5) { totalCount edges { node { id } } } }",
        {"p": "{patient}"},
    ),
    "odontogram": (
        "query($p: ID!) { odontogram(patientId: $p) { teeth { tooth findings { condition state } } } }",
        {"p": "{patient}"},
    ),
    "procedures": (
        '{ procedures(first: 5, search: "Resina simple") { totalCount edges { node { code defaultPrice } } } }',
        {},
    ),
    "treatmentPlan": (
        "query($id: ID!) { treatmentPlan(id: $id) { status title totals { net } } }",
        {"id": "{plan}"},
    ),
    "treatmentPlans": (
        "query($p: ID!) { treatmentPlans(patientId: $p, first: 5) { totalCount edges { node { id } } } }",
        {"p": "{patient}"},
    ),
    "recordMedicalHistory": (
        'mutation($p: ID!) { recordMedicalHistory(patientId: $p, input: {allergies: "Látex"}) { ...Outcome } }',
        {"p": "{patient}"},
    ),
    "createClinicalNote": (
        'mutation($p: ID!) { createClinicalNote(input: {patientId: $p, subjective: "Dolor al masticar"}) { ...Outcome } }',
        {"p": "{patient}"},
    ),
    "updateClinicalNote": (
        'mutation($id: ID!) { updateClinicalNote(id: $id, input: {plan: "Control"}) { ...Outcome } }',
        {"id": "{note}"},
    ),
    "signClinicalNote": (
        "mutation($id: ID!) { signClinicalNote(id: $id) { ...Outcome } }",
        {"id": "{note}"},
    ),
    "addNoteAddendum": (
        'mutation($id: ID!) { addNoteAddendum(noteId: $id, text: "Corrección") { ...Outcome } }',
        {"id": "{signed_note}"},
    ),
    "recordFinding": (
        'mutation($p: ID!) { recordFinding(input: {patientId: $p, tooth: 26, condition: CARIES, surfaces: ["O"]}) { ...Outcome } }',
        {"p": "{patient}"},
    ),
    "changeFindingState": (
        "mutation($id: ID!) { changeFindingState(id: $id, state: EXISTING) { ...Outcome } }",
        {"id": "{finding}"},
    ),
    "removeFinding": (
        "mutation($id: ID!) { removeFinding(id: $id) { ...Outcome } }",
        {"id": "{finding}"},
    ),
    "createProcedure": (
        'mutation { createProcedure(input: {code: "X1", name: "Nuevo", category: PREVENTION, defaultPrice: "50.00"}) { ...Outcome } }',
        {},
    ),
    "updateProcedure": (
        'mutation($id: ID!) { updateProcedure(id: $id, input: {defaultPrice: "60.00"}) { ...Outcome } }',
        {"id": "{procedure}"},
    ),
    "deactivateProcedure": (
        "mutation($id: ID!) { deactivateProcedure(id: $id) { ...Outcome } }",
        {"id": "{procedure}"},
    ),
    "createTreatmentPlan": (
        'mutation($p: ID!, $d: ID!) { createTreatmentPlan(input: {patientId: $p, dentistId: $d, title: "Plan nuevo"}) { ...Outcome } }',
        {"p": "{patient}", "d": "{professional}"},
    ),
    "addTreatmentPlanItem": (
        'mutation($id: ID!, $proc: ID!) { addTreatmentPlanItem(planId: $id, input: {procedureId: $proc, tooth: 17, surfaces: ["O"]}) { ...Outcome } }',
        {"id": "{plan}", "proc": "{procedure}"},
    ),
    "cancelTreatmentPlanItem": (
        "mutation($id: ID!) { cancelTreatmentPlanItem(id: $id) { ...Outcome } }",
        {"id": "{item}"},
    ),
    "changeTreatmentPlanStatus": (
        "mutation($id: ID!) { changeTreatmentPlanStatus(id: $id, status: PRESENTED) { ...Outcome } }",
        {"id": "{plan}"},
    ),
    "completeTreatmentPlanItem": (
        "mutation($id: ID!) { completeTreatmentPlanItem(id: $id) { ...Outcome } }",
        {"id": "{item}"},
    ),
    "me": ("{ me { email role } }", {}),
    "staff": ("{ staff(first: 50) { totalCount edges { node { email } } } }", {}),
    "auditEvents": (
        '{ auditEvents(first: 5, entityType: "matrix.probe") { totalCount edges { node { action } } } }',
        {},
    ),
    "plans": ("{ plans { code } }", {}),
    "clinics": ("{ clinics(first: 100) { totalCount edges { node { subdomain } } } }", {}),
    "clinicBackups": ('{ clinicBackups(subdomain: "clinica2") { id sha256 } }', {}),
    "clinicMetrics": (
        '{ clinicMetrics(subdomain: "clinica2", from: "2024-07-01", to: "2024-07-02")'
        " { day patients computedAt } }",
        {},
    ),
    "platformMetrics": (
        '{ platformMetrics(from: "2024-07-01", to: "2024-07-01")'
        " { mrr { currency } clinicsByStatus { status count } } }",
        {},
    ),
    "backupClinic": ('mutation { backupClinic(subdomain: "clinica2") { ...Outcome } }', {}),
    "restoreClinic": (
        'mutation($b: ID!) { restoreClinic(subdomain: "clinica2", targetSubdomain: "copia",'
        " backupId: $b) { ...Outcome } }",
        {"b": "{backup}"},
    ),
    "login": (
        'mutation { login(email: "x@y.pe", password: "nope") { ...Outcome } }',
        {},
    ),
    "logout": ("mutation { logout }", {}),
    "createStaffUser": (
        "mutation($input: CreateStaffUserInput!) { createStaffUser(input: $input) { ...Outcome } }",
        {
            "input": {
                "email": "matrix@x.pe",
                "fullName": "M",
                "role": "ASSISTANT",
                "password": "Muy-segura-123",
            }
        },
    ),
    "changeStaffRole": (
        "mutation($id: ID!) { changeStaffRole(id: $id, role: RECEPTIONIST) { ...Outcome } }",
        {"id": "{staff}"},
    ),
    "deactivateStaffUser": (
        "mutation($id: ID!) { deactivateStaffUser(id: $id) { ...Outcome } }",
        {"id": "{staff}"},
    ),
    "createClinic": (
        "mutation($input: CreateClinicInput!) { createClinic(input: $input) { ...Outcome } }",
        {
            "input": {
                "subdomain": "matriz",
                "name": "Matriz",
                "legalId": "20600000005",
                "email": "m@m.pe",
                "plan": "BASIC",
                "adminEmail": "a@m.pe",
                "adminPassword": "Muy-segura-123",
            }
        },
    ),
    "changeClinicPlan": (
        'mutation { changeClinicPlan(subdomain: "clinica2", plan: ENTERPRISE) { ...Outcome } }',
        {},
    ),
    "suspendClinic": (
        'mutation { suspendClinic(subdomain: "clinica2", reason: "test") { ...Outcome } }',
        {},
    ),
    "reactivateClinic": ('mutation { reactivateClinic(subdomain: "cerrada") { ...Outcome } }', {}),
    "addClinicDomain": (
        'mutation { addClinicDomain(subdomain: "clinica2", domain: "smile.localhost") { ...Outcome } }',
        {},
    ),
    # Patient messaging.
    "messagingSettings": (
        "{ messagingSettings { enabled quietStart rules { kind minutesBefore }"
        " recallRules { months } monthlyMessageQuota } }",
        {},
    ),
    "messageTemplates": ("{ messageTemplates { kind channel body } }", {}),
    "previewMessageTemplate": (
        "query { previewMessageTemplate(input: {kind: REMINDER, channel: SMS,"
        ' body: "Hola {patient_first_name}, su cita es a las {time}."}) { subject body } }',
        {},
    ),
    "notifications": (
        "{ notifications(first: 5) { totalCount edges { node { id status body"
        " patient { fullName } } } } }",
        {},
    ),
    "patientContactPreference": (
        "query($p: ID!) { patientContactPreference(patientId: $p) { whatsapp sms optedOut } }",
        {"p": "{patient}"},
    ),
    "inbox": ("{ inbox(first: 5) { totalCount edges { node { id body } } } }", {}),
    "updateMessagingSettings": (
        'mutation { updateMessagingSettings(input: {quietStart: "22:00:00"}) { ...Outcome } }',
        {},
    ),
    "createNotificationRule": (
        "mutation { createNotificationRule(kind: CONFIRMATION_REQUEST, minutesBefore: 1440)"
        " { ...Outcome } }",
        {},
    ),
    "updateNotificationRule": (
        "mutation($id: ID!) { updateNotificationRule(id: $id, minutesBefore: 120) { ...Outcome } }",
        {"id": "{notification_rule}"},
    ),
    "deleteNotificationRule": (
        "mutation($id: ID!) { deleteNotificationRule(id: $id) { ...Outcome } }",
        {"id": "{notification_rule}"},
    ),
    "createRecallRule": (
        "mutation($p: ID!) { createRecallRule(procedureId: $p, months: 12) { ...Outcome } }",
        {"p": "{procedure}"},
    ),
    "updateRecallRule": (
        "mutation($id: ID!) { updateRecallRule(id: $id, months: 9) { ...Outcome } }",
        {"id": "{recall_rule}"},
    ),
    "deleteRecallRule": (
        "mutation($id: ID!) { deleteRecallRule(id: $id) { ...Outcome } }",
        {"id": "{recall_rule}"},
    ),
    "updateMessageTemplate": (
        "mutation { updateMessageTemplate(input: {kind: REMINDER, channel: SMS,"
        ' body: "Recuerde su cita el {date} a las {time}."}) { ...Outcome } }',
        {},
    ),
    "updateContactPreference": (
        "mutation($p: ID!) { updateContactPreference(patientId: $p, input: {sms: false})"
        " { ...Outcome } }",
        {"p": "{patient}"},
    ),
    "resendNotification": (
        "mutation($id: ID!) { resendNotification(id: $id) { ...Outcome } }",
        {"id": "{notification}"},
    ),
    "assistantMessage": (
        'mutation { assistantMessage(input: {text: "hola"}) { ...Outcome } }',
        {},
    ),
    "markInboxMessageHandled": (
        "mutation($id: ID!) { markInboxMessageHandled(id: $id) { ...Outcome } }",
        {"id": "{inbox_message}"},
    ),
    # The assistant's conversations.
    "assistantConversations": (
        "{ assistantConversations(first: 5) { totalCount edges { node { status handoffReason"
        " patient { fullName } } } } }",
        {},
    ),
    "assistantConversation": (
        "query($id: ID!) { assistantConversation(id: $id) { status"
        " messages { author text intent } } }",
        {"id": "{assistant_conversation}"},
    ),
    "assistantSettings": ("{ assistantSettings { enabled transcriptRetentionDays } }", {}),
    "assistantTranscript": (
        "query($c: ID!) { assistantTranscript(conversationId: $c) { status"
        " messages { author text } } }",
        {"c": "{assistant_public_id}"},
    ),
    "replyToAssistantConversation": (
        'mutation($id: ID!) { replyToAssistantConversation(id: $id, text: "Hola José, le'
        ' atiende la recepción.") { ...Outcome } }',
        {"id": "{assistant_conversation}"},
    ),
    "takeOverAssistantConversation": (
        "mutation($id: ID!) { takeOverAssistantConversation(id: $id) { ...Outcome } }",
        {"id": "{assistant_conversation}"},
    ),
    "releaseAssistantConversation": (
        "mutation($id: ID!) { releaseAssistantConversation(id: $id) { ...Outcome } }",
        {"id": "{assistant_conversation}"},
    ),
    "closeAssistantConversation": (
        "mutation($id: ID!) { closeAssistantConversation(id: $id) { ...Outcome } }",
        {"id": "{assistant_conversation}"},
    ),
    "updateAssistantSettings": (
        "mutation { updateAssistantSettings(enabled: false, transcriptRetentionDays: 90)"
        " { ...Outcome } }",
        {},
    ),
    # Patient documents: the world's are signed consents, which every role reads and files.
    "patientDocuments": (
        "query($p: ID!) { patientDocuments(patientId: $p, first: 5) { totalCount"
        " edges { node { kind note } } } }",
        {"p": "{patient}"},
    ),
    "uploadPatientDocument": (
        "mutation($input: UploadPatientDocumentInput!) { uploadPatientDocument(input: $input)"
        " { ...Outcome } }",
        {"input": {"patientId": "{patient}", "kind": "CONSENT", "file": None}},
    ),
    "updatePatientDocument": (
        'mutation($id: ID!) { updatePatientDocument(id: $id, input: {note: "Firmado"})'
        " { ...Outcome } }",
        {"id": "{document}"},
    ),
    "archivePatientDocument": (
        "mutation($id: ID!) { archivePatientDocument(id: $id) { ...Outcome } }",
        {"id": "{document}"},
    ),
    "unarchivePatientDocument": (
        "mutation($id: ID!) { unarchivePatientDocument(id: $id) { ...Outcome } }",
        {"id": "{archived_document}"},
    ),
    "setClinicMessagingSender": (
        'mutation { setClinicMessagingSender(subdomain: "clinica2", channel: SMS,'
        ' externalId: "+51911111111") { ...Outcome } }',
        {},
    ),
    "removeClinicMessagingSender": (
        'mutation { removeClinicMessagingSender(subdomain: "clinica2", channel: SMS)'
        " { ...Outcome } }",
        {},
    ),
}

# The files of the calls that upload (GraphQL multipart: variable path → name, bytes, type).
# A 1×1 PNG: a signed consent, as far as the matrix is concerned.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de"
    "0000000c49444154789c63f8ffff3f0005fe02fe0def46b80000000049454e44ae426082"
)
UPLOADS["uploadPatientDocument"] = {"input.file": ("consentimiento.png", TINY_PNG, "image/png")}

# A mutation's selection: its result's type, or its refusal's codes.
OUTCOME = "fragment Outcome on OperationInfo { messages { code } }"

TYPE_NAMES = dict(
    staff="StaffUser", patient="Patient", professional="Professional", chair="Chair",
    appointment="Appointment", time_off="TimeOff", note="ClinicalNote", signed_note="ClinicalNote",
    finding="Finding", procedure="Procedure", plan="TreatmentPlan", item="TreatmentPlanItem",
    charge="Charge", receipt="Receipt", payment="Payment", notification="Notification",
    inbox_message="InboxMessage", notification_rule="NotificationRule", recall_rule="RecallRule",
    closure="ClinicClosure", assistant_conversation="AssistantConversation",
    document="PatientDocument", archived_document="PatientDocument",
)  # fmt: skip


def world_dates(tz: ZoneInfo) -> dict[str, str]:
    """The world's dates: today and a day two weeks ahead, in the clinic's time zone."""
    today = timezone.localdate(timezone=tz)
    day = today + dt.timedelta(days=14)

    def at(days: int, hour: int, minute: int = 0) -> str:
        return dt.datetime.combine(
            day + dt.timedelta(days=days), dt.time(hour, minute), tz
        ).isoformat()

    return {
        "today": today.isoformat(),
        "day": day.isoformat(),
        "at_10": at(0, 10),
        "at_11": at(0, 11),
        "at_11_30": at(0, 11, 30),
        "at_12": at(0, 12),
        "at_12_30": at(0, 12, 30),
        "off_from": at(25, 0),
        "off_to": at(26, 0),
        "closure_day": (day + dt.timedelta(days=40)).isoformat(),
    }


# IDs that name nothing: enough for calls that must be refused before any lookup.
WORLD_ELSEWHERE = {
    **{name: global_id(type_name, 424242, None) for name, type_name in TYPE_NAMES.items()},
    **world_dates(ZoneInfo(settings.DEFAULT_CLINIC_TIMEZONE)),
    "backup": "5f0c2a8e-0000-4000-8000-000000000000",
    "assistant_public_id": "7b1d9c4e-0000-4000-8000-000000000000",
}


def fill(value: Any, world: dict[str, str]) -> Any:
    """``value`` with each ``"{name}"`` replaced by the world's value."""
    if isinstance(value, dict):
        return {key: fill(item, world) for key, item in value.items()}
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return world[value[1:-1]]
    return value


def call_document(field: str) -> tuple[str, dict[str, Any]]:
    """The call's document, its mutation payload selected as ``__typename`` and codes."""
    query, variables = CALLS[field]
    if "...Outcome" in query:
        query = query.replace(
            "{ ...Outcome }", "{ __typename ... on OperationInfo { ...Outcome } }"
        )
        query += "\n" + OUTCOME
    return query, variables


def build_world(clinic: Clinic, caller: User, make_staff: Any) -> dict[str, str]:
    """One of everything in ``clinic``; the professional is the caller when the caller is a
    dentist, so that row rules ("their own appointments") let the call through. Returns the
    objects' global IDs and the world's dates (see ``world_dates``)."""
    make_staff(clinic, Role.ADMIN)  # so that no call trips the last-admin rule
    staff = make_staff(clinic, Role.DENTIST)
    dates = world_dates(ZoneInfo(clinic.timezone))
    with tenant_context(clinic):
        patient = Patient.objects.create(
            first_name="José", last_name="Pérez", document_type="DNI", document_number="12345678"
        )
        professional = Professional.objects.create(
            full_name="Dr. Soto",
            license_number="12345",
            user=caller if caller.role == Role.DENTIST else None,
        )
        for weekday in range(7):
            WorkingHours.objects.create(
                professional=professional,
                weekday=weekday,
                start_time=dt.time(8),
                end_time=dt.time(20),
            )
        chair = Chair.objects.create(name="Sillón 1")
        starts = dt.datetime.fromisoformat(dates["at_10"])
        appointment = Appointment.objects.create(
            patient=patient, professional=professional, chair=chair,
            starts_at=starts, ends_at=starts + dt.timedelta(minutes=30),
        )  # fmt: skip
        time_off = TimeOff.objects.create(
            professional=professional, starts_at=starts + dt.timedelta(days=60),
            ends_at=starts + dt.timedelta(days=61),
        )  # fmt: skip
        clinician = caller if caller.role in (Role.DENTIST, Role.ADMIN) else staff
        note = ClinicalNote.objects.create(patient=patient, author=clinician, subjective="Dolor")
        signed_note = ClinicalNote.objects.create(
            patient=patient, author=clinician, subjective="Control", status="SIGNED",
            signed_by=clinician, signed_at=starts - dt.timedelta(days=20),
        )  # fmt: skip
        finding = Finding.objects.create(
            patient=patient,
            tooth=16,
            surfaces=["O"],
            condition="CARIES",
            state="PLANNED",
            recorded_by=staff,
        )
        procedure = Procedure.objects.create(
            code="RES1", name="Resina simple", category="RESTORATIVE", default_price="120.00",
            requires_tooth=True, result_condition="RESTORATION", result_material="RESIN",
        )  # fmt: skip
        plan = TreatmentPlan.objects.create(
            patient=patient, dentist=professional, title="Plan", created_by=staff
        )
        item = TreatmentPlanItem.objects.create(
            plan=plan, procedure=procedure, tooth=16, surfaces=["O"], price="120.00"
        )
        charge = Charge.objects.create(
            patient=patient,
            concept="Consulta",
            unit_price="50.00",
            amount="50.00",
            created_by=staff,
        )
        billed = Charge.objects.create(
            patient=patient,
            concept="Resina",
            unit_price="120.00",
            amount="120.00",
            created_by=staff,
        )
        receipt = Receipt.objects.create(
            receipt_type="BOLETA", series="B001", number=1, patient=patient, customer_name="José Pérez",
            igv_rate="0.18", subtotal="101.69", tax="18.31", total="120.00", issued_by=staff,
        )  # fmt: skip
        ReceiptLine.objects.create(receipt=receipt, charge=billed, amount="120.00")
        payment = Payment.objects.create(
            patient=patient, amount="20.00", amount_pen="20.00", method="CASH", received_by=staff
        )
        notification_rule = NotificationRule.objects.create(kind="REMINDER", minutes_before=60)
        recall_rule = RecallRule.objects.create(procedure=procedure, months=6)
        notification = Notification.objects.create(
            kind="REMINDER", channel="WHATSAPP", status="FAILED", patient=patient,
            appointment=appointment, rule=notification_rule, recipient="+51987654321",
            send_at=starts - dt.timedelta(hours=1), body="Hola José, le recordamos su cita.",
            failure_code="PROVIDER_REJECTED",
        )  # fmt: skip
        inbox_message = InboxMessage.objects.create(
            channel="WHATSAPP", sender="+51987654321", patient=patient,
            in_reply_to=notification, body="¿Puedo ir más tarde?",
        )  # fmt: skip
        closure = ClinicClosure.objects.create(
            starts_on=starts.date() + dt.timedelta(days=50),
            ends_on=starts.date() + dt.timedelta(days=51),
        )
        document, archived_document = (
            PatientDocument.objects.create(
                patient=patient, kind="CONSENT", created_by=staff, note="Consentimiento",
                original=StoredFile.objects.create(
                    key=f"clinics/{clinic.schema_name}/document/matrix{n}.png",
                    purpose="document", content_type="image/png", size_bytes=len(TINY_PNG),
                    sha256="0" * 64, original_name=f"consentimiento{n}.png", width=1, height=1,
                ),
                archived_at=starts - dt.timedelta(days=1) if n else None,
                archived_by=staff if n else None,
            )
            for n in (0, 1)
        )  # fmt: skip
        assistant_conversation = Conversation.objects.create(
            channel="WEB", status="HANDED_OFF", handoff_reason="REQUESTED", patient=patient,
            handed_off_at=timezone.now(),
        )  # fmt: skip
        for author, text, intent in (
            ("PATIENT", "Quiero hablar con alguien", "HUMAN"),
            ("ASSISTANT", "Le comunico con una persona.", ""),
        ):
            ConversationMessage.objects.create(
                conversation=assistant_conversation, author=author, text=text, intent=intent,
                ip="203.0.113.9" if author == "PATIENT" else None,
            )  # fmt: skip
    objects = dict(
        staff=staff, patient=patient, professional=professional, chair=chair,
        appointment=appointment, time_off=time_off, note=note, signed_note=signed_note,
        finding=finding, procedure=procedure, plan=plan, item=item, charge=charge,
        receipt=receipt, payment=payment, notification=notification, inbox_message=inbox_message,
        notification_rule=notification_rule, recall_rule=recall_rule, closure=closure,
        document=document, archived_document=archived_document,
        assistant_conversation=assistant_conversation,
    )  # fmt: skip
    return (
        {name: global_id(TYPE_NAMES[name], obj.pk, clinic) for name, obj in objects.items()}
        | dates
        | {"assistant_public_id": str(assistant_conversation.public_id)}
    )


def distinct_ids(clinic: Clinic) -> None:
    """Number the clinic's next rows from 500,000: its IDs then name nothing in a clinic whose
    own rows are numbered from 1, so that finding one there would be a leak, not a clash.
    (``setval`` is not transactional: the numbers stay taken after the test.)"""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(format('%%I.%%I', schemaname, sequencename)::regclass,"
            " greatest(500000, last_value)) FROM pg_sequences WHERE schemaname = %s",
            [clinic.schema_name],
        )


def snapshot(clinic: Clinic) -> tuple[Any, ...]:
    """Everything a refused call must leave untouched, in the clinic's schema and its row."""
    with tenant_context(clinic):
        return (
            Clinic.objects.filter(pk=clinic.pk).values().get(),
            list(User.objects.order_by("pk").values_list("pk", "role", "is_active")),
            list(AuthToken.objects.order_by("pk").values_list("pk", "revoked_at")),
            list(
                Patient.objects.order_by("pk").values_list(
                    "pk", "phone", "is_archived", "allergies", "medical_alerts", "front_desk_alert"
                )
            ),
            list(Professional.objects.order_by("pk").values_list("pk", "specialty", "is_active")),
            list(Chair.objects.order_by("pk").values_list("pk", "name", "is_active")),
            list(
                Appointment.objects.order_by("pk").values_list(
                    "pk", "starts_at", "ends_at", "status"
                )
            ),
            list(TimeOff.objects.order_by("pk").values_list("pk", "starts_at", "ends_at")),
            list(ClinicalNote.objects.order_by("pk").values_list("pk", "status", "plan")),
            list(NoteAddendum.objects.order_by("pk").values_list("pk")),
            list(Finding.objects.order_by("pk").values_list("pk", "state", "resolved_at")),
            list(MedicalHistory.objects.order_by("pk").values_list("pk")),
            list(Procedure.objects.order_by("pk").values_list("pk", "default_price", "is_active")),
            list(TreatmentPlan.objects.order_by("pk").values_list("pk", "status")),
            list(TreatmentPlanItem.objects.order_by("pk").values_list("pk", "status")),
            list(PerformedProcedure.objects.order_by("pk").values_list("pk")),
            list(BillingSettings.objects.order_by("pk").values()),
            list(Charge.objects.order_by("pk").values_list("pk", "amount")),
            list(Receipt.objects.order_by("pk").values_list("pk", "status")),
            list(ReceiptLine.objects.order_by("pk").values_list("pk", "is_void")),
            list(Payment.objects.order_by("pk").values_list("pk", "kind", "amount")),
            list(PaymentAllocation.objects.order_by("pk").values_list("pk", "released_at")),
            list(MessagingSettings.objects.values()),
            list(NotificationRule.objects.order_by("pk").values()),
            list(RecallRule.objects.order_by("pk").values()),
            list(MessageTemplate.objects.order_by("pk").values()),
            list(ContactPreference.objects.order_by("pk").values()),
            list(Notification.objects.order_by("pk").values()),
            list(InboxMessage.objects.order_by("pk").values()),
            list(ClinicProfile.objects.values()),
            list(OpeningShift.objects.order_by("pk").values()),
            list(ClinicClosure.objects.order_by("pk").values()),
            list(ClinicLogo.objects.values()),
            list(
                PatientDocument.objects.order_by("pk").values_list(
                    "pk", "kind", "note", "teeth", "archived_at"
                )
            ),
            list(StoredFile.objects.order_by("pk").values_list("pk", "key")),
            list(Conversation.objects.order_by("pk").values()),
            list(ConversationMessage.objects.order_by("pk").values()),
            list(AssistantSettings.objects.values()),
            list(AuditEvent.objects.order_by("pk").values_list("pk", "action")),
        )


def platform_snapshot() -> tuple[Any, ...]:
    """What a refused platform call must leave untouched, in the public schema."""
    connection.set_schema_to_public()  # type: ignore[attr-defined]
    return (
        list(Clinic.objects.order_by("pk").values_list("pk", "plan_id", "status")),
        list(Domain.objects.order_by("pk").values_list("pk", "domain")),
        list(ClinicBackup.objects.order_by("pk").values_list("pk")),
        list(MessagingSender.objects.order_by("pk").values()),
        list(AuditEvent.objects.order_by("pk").values_list("pk", "action")),
    )
