"""Every role against every operation, driven by the permission matrix read from the schema
(the same source as docs/permissions.md)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django_tenants.utils import schema_context, tenant_context
from strawberry.relay import to_base64

from backend.accounts.models import Role, User
from backend.audit.models import AuditEvent
from backend.billing.models import Charge, Payment, PaymentAllocation, Receipt, ReceiptLine
from backend.clinical.models import ClinicalNote, Finding, MedicalHistory, NoteAddendum
from backend.patients.models import Patient
from backend.scheduling.models import Appointment
from backend.staff.models import Chair, Professional, TimeOff, WorkingHours
from backend.treatments.models import Procedure, TreatmentPlan, TreatmentPlanItem
from graphql_api.permission_docs import operation_rules
from tests.conftest import error_code, graphql
from tests.dates import MONDAY

pytestmark = pytest.mark.django_db

# One call per operation. A variable value "{name}" is the global ID of an object of the
# test's world (see `world`).
CALLS = {
    "patient": ("query($id: ID!) { patient(id: $id) { fullName } }", {"id": "{patient}"}),
    "patients": ('{ patients(first: 5, search: "per") { totalCount } }', {}),
    "professional": (
        "query($id: ID!) { professional(id: $id) { fullName } }",
        {"id": "{professional}"},
    ),
    "professionals": ("{ professionals(first: 5) { totalCount } }", {}),
    "chair": ("query($id: ID!) { chair(id: $id) { name } }", {"id": "{chair}"}),
    "chairs": ("{ chairs(first: 5) { totalCount } }", {}),
    "appointment": ("query($id: ID!) { appointment(id: $id) { status } }", {"id": "{appointment}"}),
    "appointments": ("{ appointments(first: 5) { totalCount } }", {}),
    "availability": (
        f'query($p: ID!) {{ availability(professionalId: $p, date: "{MONDAY}", durationMinutes: 30) {{ startsAt }} }}',
        {"p": "{professional}"},
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
        f'mutation($p: ID!) {{ addTimeOff(input: {{professionalId: $p, startsAt: "{MONDAY + dt.timedelta(days=25)}T00:00:00-05:00", endsAt: "{MONDAY + dt.timedelta(days=26)}T00:00:00-05:00"}}) {{ ...Outcome }} }}',
        {"p": "{professional}"},
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
                "startsAt": f"{MONDAY}T11:00:00-05:00",
                "endsAt": f"{MONDAY}T11:30:00-05:00",
            }
        },
    ),
    "rescheduleAppointment": (
        f'mutation($id: ID!) {{ rescheduleAppointment(id: $id, input: {{startsAt: "{MONDAY}T12:00:00-05:00", endsAt: "{MONDAY}T12:30:00-05:00"}}) {{ ...Outcome }} }}',
        {"id": "{appointment}"},
    ),
    "changeAppointmentStatus": (
        "mutation($id: ID!) { changeAppointmentStatus(id: $id, status: CONFIRMED) { ...Outcome } }",
        {"id": "{appointment}"},
    ),
    "cancelAppointment": (
        'mutation($id: ID!) { cancelAppointment(id: $id, reason: "Paciente avisó") { ...Outcome } }',
        {"id": "{appointment}"},
    ),
    "currentClinic": ("{ currentClinic { name } }", {}),
    "billingSettings": ("{ billingSettings { igvRate } }", {}),
    "updateBillingSettings": (
        'mutation { updateBillingSettings(igvRate: "0.18") { ...Outcome } }',
        {},
    ),
    "patientBalance": (
        "query($p: ID!) { patientBalance(patientId: $p) { balance } }",
        {"p": "{patient}"},
    ),
    "accountStatement": (
        "query($p: ID!) { accountStatement(patientId: $p) { balance } }",
        {"p": "{patient}"},
    ),
    "uninvoicedCharges": (
        "query($p: ID!) { uninvoicedCharges(patientId: $p) { amount } }",
        {"p": "{patient}"},
    ),
    "receipt": ("query($id: ID!) { receipt(id: $id) { fullNumber } }", {"id": "{receipt}"}),
    "receipts": (
        "query($p: ID!) { receipts(patientId: $p, first: 5) { totalCount } }",
        {"p": "{patient}"},
    ),
    "cashReport": (f'{{ cashReport(from: "{MONDAY}", to: "{MONDAY}") {{ totalReceived }} }}', {}),
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
    "medicalHistory": (
        "query($p: ID!) { medicalHistory(patientId: $p) { version } }",
        {"p": "{patient}"},
    ),
    "medicalHistoryVersions": (
        "query($p: ID!) { medicalHistoryVersions(patientId: $p) { version } }",
        {"p": "{patient}"},
    ),
    "clinicalNote": ("query($id: ID!) { clinicalNote(id: $id) { status } }", {"id": "{note}"}),
    "clinicalNotes": (
        "query($p: ID!) { clinicalNotes(patientId: $p, first: 5) { totalCount } }",
        {"p": "{patient}"},
    ),
    "odontogram": (
        "query($p: ID!) { odontogram(patientId: $p) { teeth { tooth } } }",
        {"p": "{patient}"},
    ),
    "procedures": ("{ procedures(first: 5) { totalCount } }", {}),
    "treatmentPlan": (
        "query($id: ID!) { treatmentPlan(id: $id) { status totals { net } } }",
        {"id": "{plan}"},
    ),
    "treatmentPlans": (
        "query($p: ID!) { treatmentPlans(patientId: $p, first: 5) { totalCount } }",
        {"p": "{patient}"},
    ),
    "recordMedicalHistory": (
        'mutation($p: ID!) { recordMedicalHistory(patientId: $p, input: {allergies: "Látex"}) { ...Outcome } }',
        {"p": "{patient}"},
    ),
    "createClinicalNote": (
        'mutation($p: ID!) { createClinicalNote(input: {patientId: $p, subjective: "Dolor"}) { ...Outcome } }',
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
        'mutation($p: ID!) { recordFinding(input: {patientId: $p, tooth: 16, condition: CARIES, surfaces: ["O"]}) { ...Outcome } }',
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
        'mutation($p: ID!, $d: ID!) { createTreatmentPlan(input: {patientId: $p, dentistId: $d, title: "Plan"}) { ...Outcome } }',
        {"p": "{patient}", "d": "{professional}"},
    ),
    "addTreatmentPlanItem": (
        'mutation($id: ID!, $proc: ID!) { addTreatmentPlanItem(planId: $id, input: {procedureId: $proc, tooth: 16, surfaces: ["O"]}) { ...Outcome } }',
        {"id": "{plan}", "proc": "{procedure}"},
    ),
    "cancelTreatmentPlanItem": (
        "mutation($id: ID!) { cancelTreatmentPlanItem(itemId: $id) { ...Outcome } }",
        {"id": "{item}"},
    ),
    "changeTreatmentPlanStatus": (
        "mutation($id: ID!) { changeTreatmentPlanStatus(id: $id, status: PRESENTED) { ...Outcome } }",
        {"id": "{plan}"},
    ),
    "completeTreatmentPlanItem": (
        "mutation($id: ID!) { completeTreatmentPlanItem(itemId: $id) { ...Outcome } }",
        {"id": "{item}"},
    ),
    "me": ("{ me { email } }", {}),
    "staff": ("{ staff(first: 5) { totalCount } }", {}),
    "auditEvents": ("{ auditEvents(first: 5) { totalCount } }", {}),
    "plans": ("{ plans { code } }", {}),
    "clinics": ("{ clinics(first: 5) { totalCount } }", {}),
    "clinicBackups": ('{ clinicBackups(subdomain: "clinica2") { id sha256 } }', {}),
    "backupClinic": ('mutation { backupClinic(subdomain: "clinica2") { ...Outcome } }', {}),
    "restoreClinic": (
        'mutation { restoreClinic(subdomain: "clinica2", targetSubdomain: "copia",'
        ' backupId: "5f0c2a8e-0000-4000-8000-000000000000") { ...Outcome } }',
        {},
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
}
RULES = operation_rules()
CLINIC_RULES = [r for r in RULES if r.domain != "platform" and r.signed_in]
PLATFORM_RULES = [r for r in RULES if r.domain == "platform"]


OUTCOME = "fragment Outcome on OperationInfo { messages { code } }"


def _fill(value, world):
    if isinstance(value, dict):
        return {key: _fill(item, world) for key, item in value.items()}
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return world[value[1:-1]]
    return value


def call(client, rule, host, token, world=None):
    query, variables = CALLS[rule.field]
    if "...Outcome" in query:
        query = query.replace(
            "{ ...Outcome }", "{ __typename ... on OperationInfo { ...Outcome } }"
        )
        query += "\n" + OUTCOME
    variables = _fill(variables, world or WORLD_ELSEWHERE)
    status, body = graphql(client, query, host=host, token=token, variables=variables)
    assert status == 200, body
    return body


def test_every_operation_has_a_call_in_this_test():
    assert {rule.field for rule in RULES} == set(CALLS)


def test_every_clinic_operation_except_sign_in_needs_a_token_or_a_role():
    open_fields = {r.field for r in RULES if not r.signed_in and not r.platform_admin}
    assert open_fields == {"currentClinic", "login"}


# IDs that name nothing: enough for calls that must be refused before any lookup.
WORLD_ELSEWHERE = {
    name: to_base64(type_name, 424242)
    for name, type_name in [
        ("staff", "StaffUser"), ("patient", "Patient"), ("professional", "Professional"),
        ("chair", "Chair"), ("appointment", "Appointment"), ("time_off", "TimeOff"),
        ("note", "ClinicalNote"), ("signed_note", "ClinicalNote"), ("finding", "Finding"),
        ("procedure", "Procedure"), ("plan", "TreatmentPlan"), ("item", "TreatmentPlanItem"),
        ("charge", "Charge"), ("receipt", "Receipt"), ("payment", "Payment"),
    ]
}  # fmt: skip
TYPE_NAMES = dict(
    staff="StaffUser", patient="Patient", professional="Professional", chair="Chair",
    appointment="Appointment", time_off="TimeOff", note="ClinicalNote", signed_note="ClinicalNote",
    finding="Finding", procedure="Procedure", plan="TreatmentPlan", item="TreatmentPlanItem",
    charge="Charge", receipt="Receipt", payment="Payment",
)  # fmt: skip


def build_world(clinic, caller, make_staff):
    """One of everything in ``clinic``; the professional is the caller when the caller is a
    dentist, so that row rules ("their own appointments") let the call through."""
    make_staff(clinic, Role.ADMIN)  # so that no call trips the last-admin rule
    staff = make_staff(clinic, Role.DENTIST)
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
        starts = dt.datetime.combine(MONDAY, dt.time(10), tzinfo=ZoneInfo("America/Lima"))
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
            signed_by=clinician, signed_at=starts,
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
    objects = dict(
        staff=staff, patient=patient, professional=professional, chair=chair,
        appointment=appointment, time_off=time_off, note=note, signed_note=signed_note,
        finding=finding, procedure=procedure, plan=plan, item=item, charge=charge,
        receipt=receipt, payment=payment,
    )  # fmt: skip
    return {name: to_base64(TYPE_NAMES[name], obj.pk) for name, obj in objects.items()}


def snapshot(clinic):
    """Everything a refused call must leave untouched."""
    with tenant_context(clinic):
        return (
            list(User.objects.order_by("pk").values_list("pk", "role", "is_active")),
            list(
                Patient.objects.order_by("pk").values_list(
                    "pk", "phone", "is_archived", "allergies", "medical_alerts", "front_desk_alert"
                )
            ),
            list(Professional.objects.order_by("pk").values_list("pk", "specialty", "is_active")),
            list(Chair.objects.order_by("pk").values_list("pk", "name", "is_active")),
            list(Appointment.objects.order_by("pk").values_list("pk", "starts_at", "status")),
            list(TimeOff.objects.order_by("pk").values_list("pk")),
            list(ClinicalNote.objects.order_by("pk").values_list("pk", "status", "plan")),
            NoteAddendum.objects.count(),
            list(Finding.objects.order_by("pk").values_list("pk", "resolved_at")),
            MedicalHistory.objects.count(),
            list(Procedure.objects.order_by("pk").values_list("pk", "default_price", "is_active")),
            list(TreatmentPlan.objects.order_by("pk").values_list("pk", "status")),
            list(TreatmentPlanItem.objects.order_by("pk").values_list("pk", "status")),
            list(Charge.objects.order_by("pk").values_list("pk", "amount")),
            list(Receipt.objects.order_by("pk").values_list("pk", "status")),
            list(Payment.objects.order_by("pk").values_list("pk", "amount")),
            PaymentAllocation.objects.count(),
            AuditEvent.objects.exclude(action__startswith="auth.").count(),
        )


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("rule", CLINIC_RULES, ids=lambda r: r.operation)
def test_role_against_operation(client, clinic1, make_staff, token_for, role, rule):
    caller = make_staff(clinic1, role)
    world = build_world(clinic1, caller, make_staff)
    before = snapshot(clinic1)
    body = call(client, rule, "clinica1.localhost", token_for(clinic1, caller), world)

    if rule.allows(role):
        assert "errors" not in body, body
    else:
        assert error_code(body) == "FORBIDDEN", body
        assert snapshot(clinic1) == before


def test_a_dentist_cannot_change_the_status_of_another_professionals_appointment(
    client, clinic1, make_staff, token_for
):
    dentist = make_staff(clinic1, Role.DENTIST)
    world = build_world(clinic1, make_staff(clinic1, Role.ADMIN), make_staff)  # not the dentist's
    before = snapshot(clinic1)
    rule = next(r for r in CLINIC_RULES if r.field == "changeAppointmentStatus")
    body = call(client, rule, "clinica1.localhost", token_for(clinic1, dentist), world)
    assert error_code(body) == "FORBIDDEN"
    assert snapshot(clinic1) == before


@pytest.mark.parametrize("rule", CLINIC_RULES, ids=lambda r: r.operation)
def test_clinic_operations_without_a_token_are_unauthenticated(client, clinic1, make_staff, rule):
    world = build_world(clinic1, make_staff(clinic1, Role.ADMIN), make_staff)
    before = snapshot(clinic1)
    body = call(client, rule, "clinica1.localhost", None, world)
    assert error_code(body) == "UNAUTHENTICATED"
    assert snapshot(clinic1) == before


@pytest.mark.parametrize(
    "rule", [r for r in CLINIC_RULES if r.domain == "clinic"], ids=lambda r: r.operation
)
def test_clinic_operations_answer_tenant_domain_only_on_the_platform(client, platform_token, rule):
    body = call(client, rule, "localhost", platform_token)
    assert error_code(body) == "TENANT_DOMAIN_ONLY"


@pytest.mark.parametrize(
    "rule", [r for r in CLINIC_RULES if "'{" in str(CALLS[r.field][1])], ids=lambda r: r.operation
)
def test_another_clinics_ids_are_not_found(client, clinic1, clinic2, make_staff, token_for, rule):
    """IDs of clinica2's objects used on clinica1: NOT_FOUND, and nothing of either changes."""
    world2 = build_world(clinic2, make_staff(clinic2, Role.ADMIN), make_staff)
    admin = make_staff(clinic1, Role.ADMIN)
    before = snapshot(clinic1), snapshot(clinic2)
    body = call(client, rule, "clinica1.localhost", token_for(clinic1, admin), world2)
    data = (body.get("data") or {}).get(rule.field)
    if isinstance(data, dict) and "messages" in data:
        codes = [message["code"] for message in data["messages"]]
    else:
        codes = [error_code(body)]
    assert "NOT_FOUND" in codes, body
    assert (snapshot(clinic1), snapshot(clinic2)) == before


@pytest.mark.parametrize("rule", PLATFORM_RULES, ids=lambda r: r.operation)
def test_platform_operations_answer_public_domain_only_on_a_clinic(
    client, clinic1, admin_token, rule
):
    body = call(client, rule, "clinica1.localhost", admin_token)
    assert error_code(body) == "PUBLIC_DOMAIN_ONLY"


@pytest.mark.parametrize("rule", PLATFORM_RULES, ids=lambda r: r.operation)
def test_platform_operations_refuse_a_non_superuser(client, public_tenant, token_for, rule):
    with schema_context("public"):
        operator = get_user_model().objects.create_user(email="soporte@platform.pe", password="x")
    body = call(client, rule, "localhost", token_for(public_tenant, operator))
    assert error_code(body) == "FORBIDDEN"


@pytest.mark.parametrize("rule", PLATFORM_RULES, ids=lambda r: r.operation)
def test_platform_operations_without_a_token_are_unauthenticated(client, public_tenant, rule):
    body = call(client, rule, "localhost", None)
    assert error_code(body) == "UNAUTHENTICATED"


@pytest.mark.parametrize("rule", PLATFORM_RULES, ids=lambda r: r.operation)
def test_platform_operations_work_for_a_superuser(client, platform_token, rule):
    body = call(client, rule, "localhost", platform_token)
    assert "errors" not in body, body
