"""What each operation writes to the audit trail: the specification, by hand.

README: "Every mutation, login, failed login and logout appends an `AuditEvent` in the same
transaction (in the clinic's schema; platform actions in the public schema)", and "Every
read of a note is audited". `tests/audit/test_audit_completeness.py` makes each call once,
as an allowed role, and compares the events it appended with these tables, in order.

**Whoever adds a mutation, or changes what one records, changes this table on purpose, in
the same commit.** A mutation of the schema missing here fails the test.
"""

from __future__ import annotations

# The events a successful call appends to the trail of the schema it was made in (a clinic's,
# or the public one for platform operations), in order.
# fmt: off
AUDIT: dict[str, tuple[str, ...]] = {
    # Signing in and out (on any domain), staff and the clinic's settings.
    "mutation login":                     ("auth.login",),
    "mutation logout":                    ("auth.logout",),
    "mutation createStaffUser":           ("staff.create",),
    "mutation changeStaffRole":           ("staff.change_role",),
    "mutation deactivateStaffUser":       ("staff.deactivate",),
    "mutation updateClinicSettings":      ("clinic.update_settings",),
    "mutation updateClinicProfile":       ("clinic.update_identity", "clinic_profile.update"),
    "mutation setOpeningHours":           ("clinic.set_opening_hours",),
    "mutation addClinicClosure":          ("clinic.add_closure",),
    "mutation removeClinicClosure":       ("clinic.remove_closure",),
    "mutation uploadClinicLogo":          ("clinic_logo.set",),
    "mutation removeClinicLogo":          ("clinic_logo.remove",),
    "mutation updateBillingSettings":     ("billing.update_settings",),
    # Patients.
    "mutation createPatient":             ("patient.create",),
    "mutation updatePatient":             ("patient.update",),
    "mutation archivePatient":            ("patient.archive",),
    "mutation setPatientFrontDeskAlert":  ("patient.set_front_desk_alert",),
    # Professionals, time off, chairs.
    "mutation createProfessional":        ("professional.create",),
    "mutation updateProfessional":        ("professional.update",),
    "mutation deactivateProfessional":    ("professional.deactivate",),
    "mutation addTimeOff":                ("professional.add_time_off",),
    "mutation removeTimeOff":             ("professional.remove_time_off",),
    "mutation createChair":               ("chair.create",),
    "mutation updateChair":               ("chair.update",),
    "mutation deactivateChair":           ("chair.deactivate",),
    # The agenda: a cancellation is a change of status (to CANCELLED, with its reason).
    "mutation scheduleAppointment":       ("appointment.schedule",),
    "mutation rescheduleAppointment":     ("appointment.reschedule",),
    "mutation changeAppointmentStatus":   ("appointment.change_status",),
    "mutation cancelAppointment":         ("appointment.change_status",),
    # Clinical records.
    "mutation recordMedicalHistory":      ("medical_history.record",),
    "mutation createClinicalNote":        ("clinical_note.create",),
    "mutation updateClinicalNote":        ("clinical_note.update",),
    "mutation signClinicalNote":          ("clinical_note.sign",),
    "mutation addNoteAddendum":           ("clinical_note.add_addendum",),
    "mutation recordFinding":             ("odontogram.record",),
    "mutation changeFindingState":        ("odontogram.change_state",),
    "mutation removeFinding":             ("odontogram.remove",),
    # Catalog and plans. An item on a tooth is planned on the chart too; completing the
    # plan's only item records its result on the chart, then moves the plan to IN_PROGRESS
    # and, nothing being left, to COMPLETED.
    "mutation createProcedure":           ("procedure.create",),
    "mutation updateProcedure":           ("procedure.update",),
    "mutation deactivateProcedure":       ("procedure.deactivate",),
    "mutation createTreatmentPlan":       ("treatment_plan.create",),
    "mutation addTreatmentPlanItem":      ("odontogram.record", "treatment_plan.add_item"),
    "mutation cancelTreatmentPlanItem":   ("treatment_plan.cancel_item",),
    "mutation changeTreatmentPlanStatus": ("treatment_plan.change_status",),
    "mutation completeTreatmentPlanItem": ("odontogram.record", "treatment_plan.complete_item",
                                           "treatment_plan.change_status",
                                           "treatment_plan.change_status"),
    # Billing.
    "mutation chargePerformedProcedures": ("billing.charge_performed",),
    "mutation addCharge":                 ("billing.add_charge",),
    "mutation issueReceipt":              ("billing.issue_receipt",),
    "mutation voidReceipt":               ("billing.void_receipt",),
    "mutation recordPayment":             ("billing.record_payment",),
    "mutation allocatePayment":           ("billing.allocate_payment",),
    "mutation refundPayment":             ("billing.refund",),
    # Patient messaging.
    "mutation updateMessagingSettings":   ("messaging.update_settings",),
    "mutation createNotificationRule":    ("notification_rule.create",),
    "mutation updateNotificationRule":    ("notification_rule.update",),
    "mutation deleteNotificationRule":    ("notification_rule.delete",),
    "mutation createRecallRule":          ("recall_rule.create",),
    "mutation updateRecallRule":          ("recall_rule.update",),
    "mutation deleteRecallRule":          ("recall_rule.delete",),
    "mutation updateMessageTemplate":     ("message_template.update",),
    "mutation updateContactPreference":   ("contact_preference.update",),
    "mutation resendNotification":        ("notification.resend",),
    "mutation markInboxMessageHandled":   ("inbox_message.handle",),
    # A visitor's greeting changes nothing of the clinic: its transcript is the record. What the
    # assistant does (a booking, a cancellation, a hand-off) is audited by the services.
    "mutation assistantMessage":          (),
    # The assistant's conversations (the world's waits for a person: HANDED_OFF).
    "mutation replyToAssistantConversation":  ("assistant.reply",),
    "mutation takeOverAssistantConversation": ("assistant.take_over",),
    "mutation releaseAssistantConversation":  ("assistant.release",),
    "mutation closeAssistantConversation":    ("assistant.close",),
    "mutation updateAssistantSettings":       ("assistant.update_settings",),
    # Patient documents (each download is audited too: tests/documents).
    "mutation uploadPatientDocument":     ("patient_document.upload",),
    "mutation updatePatientDocument":     ("patient_document.update",),
    "mutation archivePatientDocument":    ("patient_document.archive",),
    "mutation unarchivePatientDocument":  ("patient_document.unarchive",),
    # The platform, in the public schema's trail.
    "mutation createClinic":              ("clinic.create",),
    "mutation changeClinicPlan":          ("clinic.change_plan",),
    "mutation suspendClinic":             ("clinic.suspend",),
    "mutation reactivateClinic":          ("clinic.reactivate",),
    "mutation addClinicDomain":           ("clinic.add_domain",),
    "mutation backupClinic":              ("clinic.backup",),
    "mutation restoreClinic":             ("clinic.restore",),
    "mutation setClinicMessagingSender":  ("clinic.set_messaging_sender",),
    "mutation removeClinicMessagingSender": ("clinic.remove_messaging_sender",),
}
# fmt: on

# A new clinic's own trail starts with its first admin, created by the platform operator.
AUDIT_IN_THE_NEW_CLINIC: dict[str, tuple[str, ...]] = {
    "mutation createClinic": ("staff.create",),
}

# A refused login is audited too (README), by the email it was tried with.
REFUSED_LOGIN_AUDIT: dict[str, tuple[str, ...]] = {
    "INVALID_CREDENTIALS": ("auth.login_failed",),
    "LOGIN_THROTTLED": ("auth.login_throttled",),
}

# Reads write nothing, except reads of clinical notes (one event per note read).
QUERY_AUDIT: dict[str, tuple[str, ...]] = {
    "query clinicalNote": ("clinical_note.read",),
    "query clinicalNotes": ("clinical_note.read", "clinical_note.read"),  # the world's two
}
