"""What each mutation must have done, on the database, when an allowed caller makes the role
matrix's call (`tests/accounts/matrix_world.py`) against its world: the row created,
changed, voided, the status moved, the token revoked.

Written from the README, docs/permissions.md and the schema's own descriptions: the
expected values are the call's literals and the world's, never read back through the code
under test. ``arrange`` first puts the world in the state the call needs (a plan the
patient accepted, a procedure performed, a backup to restore).
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db.models import Q
from django_tenants.utils import tenant_context

from backend.accounts.models import AuthToken, User
from backend.assistant.models import AssistantSettings, Conversation, ConversationMessage
from backend.billing.models import (
    BillingSettings,
    Charge,
    Payment,
    PaymentAllocation,
    Receipt,
    ReceiptLine,
)
from backend.branding.models import ClinicLogo
from backend.branding.services import logo_set
from backend.clinic_admin.models import ClinicClosure, ClinicProfile, OpeningShift
from backend.clinical.models import ClinicalNote, Finding, MedicalHistory, NoteAddendum
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
from backend.resources.models import Chair, Professional, TimeOff
from backend.scheduling.models import Appointment
from backend.treatments.models import (
    PerformedProcedure,
    Procedure,
    TreatmentPlan,
    TreatmentPlanItem,
)
from tenants_core import backups
from tenants_core.models import Clinic, ClinicBackup, Domain, MessagingSender
from tests.accounts.matrix_world import MATRIX_LOGO
from tests.spec.answers import _a_backup_of_clinica2
from tests.spec.run import Run, money, registry

EFFECTS, effect = registry()


def _at(run: Run, name: str) -> dt.datetime:
    return dt.datetime.fromisoformat(run.ids[name])


# --- signing in and out, staff ---------------------------------------------------------------


def _tokens_so_far(run: Run) -> None:
    run.extra["tokens"] = set(AuthToken.objects.values_list("pk", flat=True))


@effect("mutation login", arrange=_tokens_so_far)
def _(run: Run) -> None:
    assert run.data["__typename"] == "AuthToken"
    [issued] = AuthToken.objects.exclude(pk__in=run.extra["tokens"])
    assert (issued.user_id, issued.revoked_at) == (run.caller.pk, None)


@effect("mutation logout")
def _(run: Run) -> None:
    assert run.data is True
    # The caller's only token, the one the call was made with, is revoked.
    [token] = AuthToken.objects.filter(user=run.caller)
    assert token.revoked_at is not None


@effect("mutation createStaffUser")
def _(run: Run) -> None:
    user = User.objects.get(email="matrix@x.pe")
    assert (user.full_name, user.role, user.is_active) == ("M", "ASSISTANT", True)
    assert user.check_password("Muy-segura-123")


@effect("mutation changeStaffRole")
def _(run: Run) -> None:
    assert run.get(User, "staff").role == "RECEPTIONIST"


@effect("mutation deactivateStaffUser")
def _(run: Run) -> None:
    assert run.get(User, "staff").is_active is False


@effect("mutation updateClinicSettings")
def _(run: Run) -> None:
    assert Clinic.objects.get(pk=run.tenant.pk).restrict_notes_to_author is True


@effect("mutation updateClinicProfile")
def _(run: Run) -> None:
    assert Clinic.objects.get(pk=run.tenant.pk).name == "Clínica Norte SAC"
    profile = ClinicProfile.objects.get()
    assert (profile.ubigeo, profile.whatsapp) == ("150122", "+51987654321")  # E.164, region PE
    assert profile.phone == ""  # not sent: unchanged


@effect("mutation setOpeningHours")
def _(run: Run) -> None:
    assert list(OpeningShift.objects.order_by("opens_at").values_list(
        "weekday", "opens_at", "closes_at")) == [
        (1, dt.time(8), dt.time(13)), (1, dt.time(14), dt.time(20))]  # fmt: skip


@effect("mutation addClinicClosure")
def _(run: Run) -> None:
    day = dt.date.fromisoformat(run.ids["closure_day"])
    assert ClinicClosure.objects.filter(starts_on=day, ends_on=day, reason="Feriado").exists()


@effect("mutation removeClinicClosure")
def _(run: Run) -> None:
    assert not ClinicClosure.objects.filter(pk=run.pk("closure")).exists()


def _a_logo(run: Run) -> None:
    name, content, _type = MATRIX_LOGO
    logo_set(actor=run.caller, content=content, name=name)


@effect("mutation uploadClinicLogo")
def _(run: Run) -> None:
    # README: re-encoded as PNG at 512 and 128 px (never upscaled), public under its hash.
    logo = ClinicLogo.objects.select_related("large", "small").get()
    assert run.data["url"] == f"http://clinica1.localhost/logo/{logo.sha256}-512.png"
    assert (run.data["width"], run.data["height"]) == (64, 32)
    assert [(f.width, f.height, f.content_type) for f in (logo.large, logo.small)] == [
        (64, 32, "image/png"),
        (64, 32, "image/png"),
    ]


@effect("mutation removeClinicLogo", arrange=_a_logo)
def _(run: Run) -> None:
    assert run.data == {"__typename": "Clinic"}
    logo_files = StoredFile.objects.filter(purpose="logo")
    assert (ClinicLogo.objects.count(), logo_files.count()) == (0, 0)


@effect("mutation updateBillingSettings")
def _(run: Run) -> None:
    [row] = BillingSettings.objects.all()
    assert row.igv_rate == money("0.10")
    assert row.prices_include_tax is True  # not sent: unchanged


# --- patients -------------------------------------------------------------------------------


@effect("mutation createPatient")
def _(run: Run) -> None:
    patient = Patient.objects.get(document_type="DNI", document_number="44556677")
    assert (patient.first_name, patient.last_name, patient.is_archived) == ("Ana", "Díaz", False)


@effect("mutation updatePatient")
def _(run: Run) -> None:
    assert run.get(Patient, "patient").phone == "+51987654321"  # E.164, region PE


@effect("mutation setPatientFrontDeskAlert")
def _(run: Run) -> None:
    patient = run.get(Patient, "patient")
    assert patient.front_desk_alert == "Avisar al doctor"
    assert patient.front_desk_alert_by_id == run.caller.pk
    assert patient.front_desk_alert_at is not None


@effect("mutation archivePatient")
def _(run: Run) -> None:
    assert run.get(Patient, "patient").is_archived is True


# --- professionals, time off, chairs --------------------------------------------------------


@effect("mutation createProfessional")
def _(run: Run) -> None:
    created = Professional.objects.get(license_number="99887")
    assert (created.full_name, created.is_active) == ("Dra. Ruiz", True)


@effect("mutation updateProfessional")
def _(run: Run) -> None:
    assert run.get(Professional, "professional").specialty == "Ortodoncia"


@effect("mutation deactivateProfessional")
def _(run: Run) -> None:
    assert run.get(Professional, "professional").is_active is False


@effect("mutation addTimeOff")
def _(run: Run) -> None:
    assert TimeOff.objects.filter(
        professional_id=run.pk("professional"),
        starts_at=_at(run, "off_from"),
        ends_at=_at(run, "off_to"),
    ).exists()


@effect("mutation removeTimeOff")
def _(run: Run) -> None:
    assert not TimeOff.objects.filter(pk=run.pk("time_off")).exists()


@effect("mutation createChair")
def _(run: Run) -> None:
    assert Chair.objects.get(name="Sillón 9").is_active is True


@effect("mutation updateChair")
def _(run: Run) -> None:
    assert run.get(Chair, "chair").name == "Sillón 8"


@effect("mutation deactivateChair")
def _(run: Run) -> None:
    assert run.get(Chair, "chair").is_active is False


# --- the agenda -----------------------------------------------------------------------------


@effect("mutation scheduleAppointment")
def _(run: Run) -> None:
    booked = Appointment.objects.get(starts_at=_at(run, "at_11"))
    assert (booked.patient_id, booked.professional_id, booked.chair_id) == (
        run.pk("patient"), run.pk("professional"), run.pk("chair"),
    )  # fmt: skip
    assert booked.ends_at == _at(run, "at_11_30")
    assert booked.status == "SCHEDULED"
    assert booked.created_by_id == run.caller.pk


@effect("mutation rescheduleAppointment")
def _(run: Run) -> None:
    moved = run.get(Appointment, "appointment")
    assert (moved.starts_at, moved.ends_at) == (_at(run, "at_12"), _at(run, "at_12_30"))
    assert moved.status == "SCHEDULED"


@effect("mutation changeAppointmentStatus")
def _(run: Run) -> None:
    assert run.get(Appointment, "appointment").status == "CONFIRMED"


@effect("mutation cancelAppointment")
def _(run: Run) -> None:
    cancelled = run.get(Appointment, "appointment")
    assert (cancelled.status, cancelled.cancellation_reason) == ("CANCELLED", "Paciente avisó")


# --- clinical records -----------------------------------------------------------------------


@effect("mutation recordMedicalHistory")
def _(run: Run) -> None:
    [version] = MedicalHistory.objects.filter(patient_id=run.pk("patient"))
    assert (version.version, version.allergies) == (1, "Látex")
    assert version.recorded_by_id == run.caller.pk
    assert run.get(Patient, "patient").allergies == "Látex"  # copied to the patient


@effect("mutation createClinicalNote")
def _(run: Run) -> None:
    note = ClinicalNote.objects.get(subjective="Dolor al masticar")
    assert (note.patient_id, note.author_id, note.status) == (
        run.pk("patient"), run.caller.pk, "DRAFT",
    )  # fmt: skip


@effect("mutation updateClinicalNote")
def _(run: Run) -> None:
    note = run.get(ClinicalNote, "note")
    assert (note.plan, note.subjective, note.status) == ("Control", "Dolor", "DRAFT")


@effect("mutation signClinicalNote")
def _(run: Run) -> None:
    note = run.get(ClinicalNote, "note")
    assert (note.status, note.signed_by_id) == ("SIGNED", run.caller.pk)
    assert note.signed_at is not None


@effect("mutation addNoteAddendum")
def _(run: Run) -> None:
    [addendum] = NoteAddendum.objects.all()
    assert (addendum.note_id, addendum.author_id, addendum.text) == (
        run.pk("signed_note"), run.caller.pk, "Corrección",
    )  # fmt: skip


@effect("mutation recordFinding")
def _(run: Run) -> None:
    finding = Finding.objects.get(tooth=26)
    assert (finding.condition, finding.surfaces, finding.state) == ("CARIES", ["O"], "EXISTING")
    assert (finding.recorded_by_id, finding.resolved_at) == (run.caller.pk, None)


@effect("mutation changeFindingState")
def _(run: Run) -> None:
    # Findings are never edited: the old entry is closed, a new one opens.
    old = run.get(Finding, "finding")
    assert old.resolved_at is not None
    new = Finding.objects.get(replaces=old)
    assert (new.tooth, new.condition, new.state, new.resolved_at) == (
        16,
        "CARIES",
        "EXISTING",
        None,
    )


@effect("mutation removeFinding")
def _(run: Run) -> None:
    removed = run.get(Finding, "finding")
    assert removed.resolved_at is not None
    assert not Finding.objects.filter(tooth=16, resolved_at__isnull=True).exists()


# --- catalog and plans ------------------------------------------------------------------------


@effect("mutation createProcedure")
def _(run: Run) -> None:
    created = Procedure.objects.get(code="X1")
    assert (created.name, created.category, created.is_active) == ("Nuevo", "PREVENTION", True)
    assert created.default_price == money("50.00")


@effect("mutation updateProcedure")
def _(run: Run) -> None:
    assert run.get(Procedure, "procedure").default_price == money("60.00")


@effect("mutation deactivateProcedure")
def _(run: Run) -> None:
    assert run.get(Procedure, "procedure").is_active is False


@effect("mutation createTreatmentPlan")
def _(run: Run) -> None:
    plan = TreatmentPlan.objects.get(title="Plan nuevo")
    assert (plan.patient_id, plan.dentist_id, plan.status) == (
        run.pk("patient"), run.pk("professional"), "DRAFT",
    )  # fmt: skip


@effect("mutation addTreatmentPlanItem")
def _(run: Run) -> None:
    item = TreatmentPlanItem.objects.get(plan_id=run.pk("plan"), tooth=17)
    assert (item.procedure_id, item.surfaces, item.status) == (
        run.pk("procedure"), ["O"], "PLANNED",
    )  # fmt: skip
    assert item.price == money("120.00")  # the catalog's price
    # Planned on the chart too: completing it turns this finding into an existing one.
    assert item.planned_finding_id is not None
    planned = Finding.objects.get(pk=item.planned_finding_id)
    assert (planned.tooth, planned.state, planned.resolved_at) == (17, "PLANNED", None)


@effect("mutation cancelTreatmentPlanItem")
def _(run: Run) -> None:
    assert run.get(TreatmentPlanItem, "item").status == "CANCELLED"


@effect("mutation changeTreatmentPlanStatus")
def _(run: Run) -> None:
    assert run.get(TreatmentPlan, "plan").status == "PRESENTED"


def _plan_accepted(run: Run) -> None:
    TreatmentPlan.objects.filter(pk=run.pk("plan")).update(status="ACCEPTED")


@effect("mutation completeTreatmentPlanItem", arrange=_plan_accepted)
def _(run: Run) -> None:
    item = run.get(TreatmentPlanItem, "item")
    assert item.status == "DONE"
    performed = PerformedProcedure.objects.get(plan_item=item)
    assert (performed.patient_id, performed.procedure_id, performed.tooth) == (
        run.pk("patient"), run.pk("procedure"), 16,
    )  # fmt: skip
    assert performed.price == money("120.00")
    # The chart shows the result; the plan's only item is done, so the plan is completed.
    assert Finding.objects.filter(
        tooth=16, condition="RESTORATION", state="EXISTING", resolved_at__isnull=True
    ).exists()
    assert run.get(TreatmentPlan, "plan").status == "COMPLETED"


# --- billing ----------------------------------------------------------------------------------


def _a_performed_procedure(run: Run) -> None:
    run.extra["performed"] = PerformedProcedure.objects.create(
        patient_id=run.pk("patient"), procedure_id=run.pk("procedure"),
        professional_id=run.pk("professional"), performed_by=run.caller, tooth=16,
        surfaces=["O"], price="120.00",
    )  # fmt: skip


@effect("mutation chargePerformedProcedures", arrange=_a_performed_procedure)
def _(run: Run) -> None:
    charge = Charge.objects.get(performed_procedure=run.extra["performed"])
    assert charge.patient_id == run.pk("patient")
    assert charge.amount == money("120.00")  # prices include IGV by default


@effect("mutation addCharge")
def _(run: Run) -> None:
    charge = Charge.objects.get(concept="Kit")
    assert (charge.patient_id, charge.quantity, charge.created_by_id) == (
        run.pk("patient"), 1, run.caller.pk,
    )  # fmt: skip
    assert (charge.unit_price, charge.amount) == (money("10.00"), money("10.00"))


@effect("mutation issueReceipt")
def _(run: Run) -> None:
    line = ReceiptLine.objects.get(charge_id=run.pk("charge"), is_void=False)
    receipt = line.receipt
    # Numbered after the series' last receipt; IGV 18% split out of the 50.00 total.
    assert receipt.full_number == "B001-00000002"
    assert (receipt.receipt_type, receipt.status, receipt.issued_by_id) == (
        "BOLETA", "ISSUED", run.caller.pk,
    )  # fmt: skip
    assert (receipt.total, receipt.subtotal, receipt.tax) == (
        money("50.00"), money("42.37"), money("7.63"),
    )  # fmt: skip


@effect("mutation voidReceipt")
def _(run: Run) -> None:
    receipt = run.get(Receipt, "receipt")
    assert (receipt.status, receipt.void_reason, receipt.voided_by_id) == (
        "VOID", "Error", run.caller.pk,
    )  # fmt: skip
    assert receipt.full_number == "B001-00000001"  # keeps its number
    assert not receipt.lines.filter(is_void=False).exists()  # its charges are free again


@effect("mutation recordPayment")
def _(run: Run) -> None:
    payment = Payment.objects.get(~Q(pk=run.pk("payment")), patient_id=run.pk("patient"))
    assert (payment.kind, payment.method, payment.received_by_id) == (
        "PAYMENT", "CASH", run.caller.pk,
    )  # fmt: skip
    assert payment.amount == payment.amount_pen == money("10.00")
    # Applied to the oldest receipt owed: B001-00000001 is now partly paid.
    [allocation] = payment.allocations.all()
    assert (allocation.receipt_id, allocation.amount) == (run.pk("receipt"), money("10.00"))
    assert run.get(Receipt, "receipt").status == "PARTIALLY_PAID"


@effect("mutation allocatePayment")
def _(run: Run) -> None:
    [allocation] = PaymentAllocation.objects.all()
    assert (allocation.payment_id, allocation.receipt_id) == (run.pk("payment"), run.pk("receipt"))
    assert (allocation.amount, allocation.released_at) == (money("1.00"), None)
    assert run.get(Receipt, "receipt").status == "PARTIALLY_PAID"


@effect("mutation refundPayment")
def _(run: Run) -> None:
    refund = Payment.objects.get(kind="REFUND")
    assert (refund.patient_id, refund.method, refund.reason) == (
        run.pk("patient"), "CASH", "Devolución",
    )  # fmt: skip
    assert refund.amount == money("1.00")


# --- the platform (checked in the public schema) ----------------------------------------------


@effect("mutation createClinic")
def _(run: Run) -> None:
    clinic = Clinic.objects.select_related("plan").get(subdomain="matriz")
    assert (clinic.name, clinic.legal_id, clinic.plan.code, clinic.status) == (
        "Matriz", "20600000005", "basic", "active",
    )  # fmt: skip
    assert list(Domain.objects.filter(tenant=clinic).values_list("domain", flat=True)) == [
        "matriz.localhost"
    ]
    with tenant_context(clinic):
        admin = get_user_model().objects.get()
        assert (admin.email, admin.role, admin.is_active) == ("a@m.pe", "ADMIN", True)
        assert admin.check_password("Muy-segura-123")


@effect("mutation changeClinicPlan")
def _(run: Run) -> None:
    assert Clinic.objects.get(subdomain="clinica2").plan.code == "enterprise"


@effect("mutation suspendClinic")
def _(run: Run) -> None:
    clinic = Clinic.objects.get(subdomain="clinica2")
    assert (clinic.status, clinic.suspension_reason) == ("suspended", "test")


@effect("mutation reactivateClinic")
def _(run: Run) -> None:
    assert Clinic.objects.get(subdomain="cerrada").status == "active"


@effect("mutation addClinicDomain")
def _(run: Run) -> None:
    domain = Domain.objects.get(domain="smile.localhost")
    assert (domain.tenant.subdomain, domain.is_primary) == ("clinica2", False)


@effect("mutation backupClinic")
def _(run: Run) -> None:
    [backup] = ClinicBackup.objects.filter(subdomain="clinica2")
    assert backup.created_by == run.caller.email
    assert (backups.backup_dir() / backup.file_name).stat().st_size == backup.size_bytes > 0


@effect("mutation restoreClinic", arrange=_a_backup_of_clinica2)
def _(run: Run) -> None:
    copy = Clinic.objects.get(subdomain="copia")
    assert (copy.name, copy.status) == ("Dental Smile", "active")  # clinica2's
    assert list(Domain.objects.filter(tenant=copy).values_list("domain", flat=True)) == [
        "copia.localhost"
    ]
    with tenant_context(copy):  # clinica2's data, in the copy
        assert get_user_model().objects.filter(email="admin@clinica2.pe").exists()


# --- patient messaging ----------------------------------------------------------------------


@effect("mutation updateMessagingSettings")
def _(run: Run) -> None:
    settings_row = MessagingSettings.objects.get()
    assert (settings_row.quiet_start, settings_row.quiet_end) == (dt.time(22), dt.time(8))


@effect("mutation createNotificationRule")
def _(run: Run) -> None:
    rule = NotificationRule.objects.get(kind="CONFIRMATION_REQUEST", minutes_before=1440)
    assert rule.is_active


@effect("mutation updateNotificationRule")
def _(run: Run) -> None:
    assert run.get(NotificationRule, "notification_rule").minutes_before == 120


@effect("mutation deleteNotificationRule")
def _(run: Run) -> None:
    assert not NotificationRule.objects.filter(pk=run.pk("notification_rule")).exists()
    # its message (FAILED, already tried) stays in the history, without its rule
    assert run.get(Notification, "notification").rule_id is None


def _no_recall_rule_yet(run: Run) -> None:
    RecallRule.objects.all().delete()


@effect("mutation createRecallRule", arrange=_no_recall_rule_yet)
def _(run: Run) -> None:
    [rule] = RecallRule.objects.all()
    assert (rule.procedure_id, rule.months) == (run.pk("procedure"), 12)


@effect("mutation updateRecallRule")
def _(run: Run) -> None:
    assert run.get(RecallRule, "recall_rule").months == 9


@effect("mutation deleteRecallRule")
def _(run: Run) -> None:
    assert not RecallRule.objects.exists()


@effect("mutation updateMessageTemplate")
def _(run: Run) -> None:
    template = MessageTemplate.objects.get(kind="REMINDER", channel="SMS")
    assert template.body == "Recuerde su cita el {date} a las {time}."


@effect("mutation updateContactPreference")
def _(run: Run) -> None:
    preference = ContactPreference.objects.get(patient_id=run.pk("patient"))
    assert (preference.whatsapp, preference.sms, preference.opted_out_at) == (True, False, None)


@effect("mutation resendNotification")
def _(run: Run) -> None:
    notification = run.get(Notification, "notification")
    assert (notification.status, notification.failure_code) == ("SCHEDULED", "")


@effect("mutation assistantMessage")
def _(run: Run) -> None:
    assert run.data["__typename"] == "AssistantReply"
    # A new conversation, answered as an anonymous visitor whoever calls (no token is sent).
    conversation = Conversation.objects.latest("id")
    assert conversation.status == "OPEN"
    assert (conversation.channel, conversation.patient_id) == ("WEB", None)
    assert conversation.messages.values_list("author", "text").first() == ("PATIENT", "hola")


@effect("mutation markInboxMessageHandled")
def _(run: Run) -> None:
    message = run.get(InboxMessage, "inbox_message")
    assert message.handled_at is not None
    assert message.handled_by_id == run.caller.pk


# --- the assistant's conversations (the world's: José's web conversation, HANDED_OFF because
# he asked for a person) ----------------------------------------------------------------------


@effect("mutation replyToAssistantConversation")
def _(run: Run) -> None:
    conversation = run.get(Conversation, "assistant_conversation")
    # A reply takes over the conversation that waited for a person.
    assert (conversation.status, conversation.assigned_to_id) == ("TAKEN_OVER", run.caller.pk)
    reply = ConversationMessage.objects.filter(conversation=conversation).last()
    assert reply is not None
    assert (reply.author, reply.staff_id, reply.text) == (
        "STAFF", run.caller.pk, "Hola José, le atiende la recepción.",
    )  # fmt: skip


@effect("mutation takeOverAssistantConversation")
def _(run: Run) -> None:
    conversation = run.get(Conversation, "assistant_conversation")
    assert (conversation.status, conversation.assigned_to_id) == ("TAKEN_OVER", run.caller.pk)


@effect("mutation releaseAssistantConversation")
def _(run: Run) -> None:
    conversation = run.get(Conversation, "assistant_conversation")
    assert (conversation.status, conversation.assigned_to_id, conversation.handoff_reason) == (
        "OPEN", None, "",
    )  # fmt: skip


@effect("mutation closeAssistantConversation")
def _(run: Run) -> None:
    conversation = run.get(Conversation, "assistant_conversation")
    assert (conversation.status, conversation.closed_by_id) == ("CLOSED", run.caller.pk)
    assert conversation.closed_at is not None


@effect("mutation updateAssistantSettings")
def _(run: Run) -> None:
    row = AssistantSettings.objects.get()
    assert (row.enabled, row.transcript_retention_days) == (False, 90)


@effect("mutation setClinicMessagingSender")
def _(run: Run) -> None:
    [sender] = MessagingSender.objects.all()
    assert (sender.clinic.subdomain, sender.channel, sender.external_id) == (
        "clinica2", "SMS", "+51911111111",
    )  # fmt: skip


def _a_sender_of_clinica2(run: Run) -> None:
    MessagingSender.objects.create(
        clinic=Clinic.objects.get(subdomain="clinica2"), channel="SMS", external_id="+51922222222"
    )


@effect("mutation removeClinicMessagingSender", arrange=_a_sender_of_clinica2)
def _(run: Run) -> None:
    assert not MessagingSender.objects.exists()


# --- patient documents ---------------------------------------------------------------------


@effect("mutation uploadPatientDocument")
def _(run: Run) -> None:
    from backend.documents.models import PatientDocument

    document = PatientDocument.objects.select_related("original").get(
        original__original_name="consentimiento.png"
    )
    assert (document.kind, document.patient_id, document.created_by_id) == (
        "CONSENT", run.pk("patient"), run.caller.pk,
    )  # fmt: skip
    assert (document.original.content_type, document.original.size_bytes) == ("image/png", 69)
    assert document.preview is not None  # an image gets its thumbnail


@effect("mutation updatePatientDocument")
def _(run: Run) -> None:
    from backend.documents.models import PatientDocument

    assert run.get(PatientDocument, "document").note == "Firmado"


@effect("mutation archivePatientDocument")
def _(run: Run) -> None:
    from backend.documents.models import PatientDocument

    document = run.get(PatientDocument, "document")
    assert document.archived_at is not None
    assert document.archived_by_id == run.caller.pk


@effect("mutation unarchivePatientDocument")
def _(run: Run) -> None:
    from backend.documents.models import PatientDocument

    document = run.get(PatientDocument, "archived_document")
    assert (document.archived_at, document.archived_by_id) == (None, None)
