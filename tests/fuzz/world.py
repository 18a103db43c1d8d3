"""The rows the fuzzer's IDs name: one small clinic world in clinica1 (the clinic under test)
and one in clinica2 (another clinic), built per test and rolled back with it.

Every ID carries its clinic (graphql_api/core/ids.py), so clinica2's IDs name nothing here
even where its rows share their numbers with rows here; so that an answer of clinica1 can
still be told apart from clinica2's by its rows alone, clinica2's rows get primary keys from ``OTHER_PK_BASE`` up, which clinica1 never reaches (the
fixture checks it), and their text carries ``OTHER_SENTINEL``, which must never appear in an
answer of clinica1.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django_tenants.utils import schema_context, tenant_context

from backend.accounts.models import Role
from backend.assistant.models import Conversation, ConversationMessage
from backend.billing.models import Charge, Payment, Receipt, ReceiptLine
from backend.clinic_admin.models import ClinicClosure
from backend.clinical.models import ClinicalNote, Finding, MedicalHistory, NoteAddendum
from backend.documents.models import PatientDocument
from backend.files.models import StoredFile
from backend.notifications.models import InboxMessage, Notification, NotificationRule, RecallRule
from backend.patients.models import Patient
from backend.resources.models import Chair, Professional, TimeOff, WorkingHours
from backend.scheduling.models import Appointment
from backend.treatments.models import Procedure, TreatmentPlan, TreatmentPlanItem
from tenants_core.models import Clinic, ClinicBackup
from tests.ids import global_id

OTHER_PK_BASE = 9_000_000
OTHER_SENTINEL = "Otraclinica"
# A key no clinic's sequence reaches: the ID of a row that exists nowhere.
ABSENT_PK = 8_800_000_000


@dataclass
class World:
    """Global IDs of a clinic's rows, by node type; the raw primary keys too."""

    clinic: Clinic
    ids: dict[str, list[str]] = field(default_factory=dict)
    pks: dict[str, list[int]] = field(default_factory=dict)
    emails: list[str] = field(default_factory=list)

    def add(self, type_name: str, *rows: object) -> None:
        for row in rows:
            pk = row.pk  # type: ignore[attr-defined]
            self.ids.setdefault(type_name, []).append(global_id(type_name, pk, self.clinic))
            self.pks.setdefault(type_name, []).append(pk)


def build_world(clinic: Clinic, *, pk_base: int | None, label: str, password: str) -> World:
    """One or two of everything an operation can name, in ``clinic``. ``pk_base``: explicit
    primary keys from there up (None: the sequences'); ``label`` goes into every name."""
    counter = itertools.count(1)

    def pk() -> dict[str, int]:
        return {} if pk_base is None else {"pk": pk_base + next(counter)}

    world = World(clinic)
    zone = ZoneInfo(clinic.timezone)
    tomorrow = dt.datetime.now(zone).date() + dt.timedelta(days=1)
    at = lambda day, hour: dt.datetime.combine(day, dt.time(hour), zone)  # noqa: E731
    user_model = get_user_model()
    with tenant_context(clinic):
        users = {}
        for role in (Role.ADMIN, Role.ADMIN, Role.DENTIST, Role.ASSISTANT, Role.RECEPTIONIST):
            email = f"fuzz-{str(role).lower()}{len(users)}@{clinic.subdomain}.pe"
            extra = {"id": pk()["pk"]} if pk_base is not None else {}
            users[email] = user_model.objects.create_user(
                email=email, password=password, full_name=f"{label} {role}", role=role, **extra
            )
            world.emails.append(email)
        admin, _, dentist, *_ = users.values()
        world.add("StaffUser", *users.values())
        patients = [
            Patient.objects.create(
                first_name=f"{label} José",
                last_name="Pérez",
                document_type="DNI",
                document_number=number,
                **pk(),
            )
            for number in ("12345678", "87654321")
        ]
        world.add("Patient", *patients)
        professionals = [
            Professional.objects.create(
                full_name=f"{label} Dra. Soto", license_number="12345", user=dentist, **pk()
            ),
            Professional.objects.create(
                full_name=f"{label} Dr. Ruiz", license_number="5432", **pk()
            ),
        ]
        world.add("Professional", *professionals)
        for professional in professionals:
            for weekday in range(7):
                WorkingHours.objects.create(
                    professional=professional,
                    weekday=weekday,
                    start_time=dt.time(8),
                    end_time=dt.time(20),
                    **pk(),
                )
        chairs = [Chair.objects.create(name=f"{label} Sillón {n}", **pk()) for n in (1, 2)]
        world.add("Chair", *chairs)
        patient = patients[0]
        appointments = [
            Appointment.objects.create(
                patient=patient,
                professional=professionals[0],
                chair=chairs[0],
                starts_at=at(tomorrow, hour),
                ends_at=at(tomorrow, hour) + dt.timedelta(minutes=30),
                status=status,
                reason=f"{label} control",
                **pk(),
            )
            for hour, status in ((10, "SCHEDULED"), (11, "CONFIRMED"))
        ]
        world.add("Appointment", *appointments)
        time_off = TimeOff.objects.create(
            professional=professionals[0],
            starts_at=at(tomorrow + dt.timedelta(days=60), 8),
            ends_at=at(tomorrow + dt.timedelta(days=61), 8),
            reason=label,
            **pk(),
        )
        world.add("TimeOff", time_off)
        closure = ClinicClosure.objects.create(
            starts_on=tomorrow + dt.timedelta(days=70),
            ends_on=tomorrow + dt.timedelta(days=71),
            reason=label,
            **pk(),
        )
        world.add("ClinicClosure", closure)
        MedicalHistory.objects.create(
            patient=patient, version=1, allergies=f"{label} látex", recorded_by=admin, **pk()
        )
        draft = ClinicalNote.objects.create(
            patient=patient, author=admin, subjective=f"{label} dolor", **pk()
        )
        signed = ClinicalNote.objects.create(
            patient=patient,
            author=admin,
            subjective=f"{label} control",
            status="SIGNED",
            signed_by=admin,
            signed_at=at(tomorrow - dt.timedelta(days=2), 9),
            **pk(),
        )
        NoteAddendum.objects.create(note=signed, author=admin, text=f"{label} addendum", **pk())
        world.add("ClinicalNote", draft, signed)
        finding = Finding.objects.create(
            patient=patient,
            tooth=16,
            surfaces=["O"],
            condition="CARIES",
            state="PLANNED",
            recorded_by=admin,
            notes=label,
            **pk(),
        )
        world.add("Finding", finding)
        procedures = [
            Procedure.objects.create(
                code="RES1",
                name=f"{label} Resina",
                category="RESTORATIVE",
                default_price="120.00",
                requires_tooth=True,
                result_condition="RESTORATION",
                result_material="RESIN",
                **pk(),
            ),
            Procedure.objects.create(
                code="CONS",
                name=f"{label} Consulta",
                category="DIAGNOSIS",
                default_price="50.00",
                **pk(),
            ),
        ]
        world.add("Procedure", *procedures)
        plans = [
            TreatmentPlan.objects.create(
                patient=patient,
                dentist=professionals[0],
                title=f"{label} plan",
                status=status,
                created_by=admin,
                **pk(),
            )
            for status in ("DRAFT", "IN_PROGRESS")
        ]
        world.add("TreatmentPlan", *plans)
        items = [
            TreatmentPlanItem.objects.create(
                plan=plan,
                procedure=procedures[0],
                tooth=16,
                surfaces=["O"],
                price="120.00",
                **pk(),
            )
            for plan in plans
        ]
        world.add("TreatmentPlanItem", *items)
        charges = [
            Charge.objects.create(
                patient=patient,
                concept=f"{label} {concept}",
                unit_price=amount,
                amount=amount,
                created_by=admin,
                **pk(),
            )
            for concept, amount in (("consulta", "50.00"), ("resina", "120.00"), ("kit", "30.00"))
        ]
        world.add("Charge", *charges)
        receipt = Receipt.objects.create(
            receipt_type="BOLETA",
            series="B001",
            number=1,
            patient=patient,
            customer_name=f"{label} José Pérez",
            igv_rate="0.18",
            subtotal="101.69",
            tax="18.31",
            total="120.00",
            issued_by=admin,
            **pk(),
        )
        ReceiptLine.objects.create(receipt=receipt, charge=charges[1], amount="120.00", **pk())
        world.add("Receipt", receipt)
        payment = Payment.objects.create(
            patient=patient,
            amount="80.00",
            amount_pen="80.00",
            method="CASH",
            received_by=admin,
            reference=label,
            **pk(),
        )
        world.add("Payment", payment)
        rule = NotificationRule.objects.create(kind="REMINDER", minutes_before=60, **pk())
        world.add("NotificationRule", rule)
        world.add(
            "RecallRule", RecallRule.objects.create(procedure=procedures[1], months=6, **pk())
        )
        notifications = [
            Notification.objects.create(
                kind="REMINDER",
                channel=channel,
                status=status,
                patient=patient,
                appointment=appointments[0],
                rule=rule,
                send_at=at(tomorrow, 7),
                recipient="+51987654321",
                body=f"{label} recordatorio",
                **pk(),
            )
            for channel, status in (("WHATSAPP", "FAILED"), ("SMS", "CANCELLED"))
        ]
        world.add("Notification", *notifications)
        inbox_message = InboxMessage.objects.create(
            channel="WHATSAPP",
            sender="+51987654321",
            patient=patient,
            in_reply_to=notifications[0],
            body=f"{label} ¿puedo ir más tarde?",
            **pk(),
        )
        world.add("InboxMessage", inbox_message)
        documents = [
            PatientDocument.objects.create(
                patient=patient, kind=kind, note=f"{label} documento", created_by=admin,
                original=StoredFile.objects.create(
                    key=f"clinics/{clinic.schema_name}/document/fuzz{kind}.png", purpose="document",
                    content_type="image/png", size_bytes=69, sha256="0" * 64,
                    original_name=f"{label}.png", width=1, height=1, **pk(),
                ),
                **pk(),
            )
            for kind in ("XRAY", "CONSENT")
        ]  # fmt: skip
        world.add("PatientDocument", *documents)
        conversations = [
            Conversation.objects.create(
                channel=channel, phone=phone, status=status, patient=patient, **pk()
            )
            for channel, phone, status in (
                ("WEB", "", "HANDED_OFF"), ("WHATSAPP", "+51987654321", "TAKEN_OVER"),
            )
        ]  # fmt: skip
        for conversation in conversations:
            ConversationMessage.objects.create(
                conversation=conversation, author="PATIENT", text=f"{label} ¿a cuánto está?",
                intent="PRICES", **pk(),
            )  # fmt: skip
        world.add("AssistantConversation", *conversations)
        # The web widget's key of a conversation: a UUID, not a global ID (spec.KEY_TYPES).
        world.ids["AssistantConversationKey"] = [str(c.public_id) for c in conversations[:1]]
    return world


def add_backups(clinic: Clinic) -> list[str]:
    """A backup row of ``clinic`` whose file is gone (an operator deleted it): restoring it
    must be refused with a code. Returns the backup IDs a fuzzer may name."""
    with schema_context("public"):
        backup = ClinicBackup.objects.create(
            id=uuid.uuid4(),
            clinic=clinic,
            subdomain=clinic.subdomain,
            schema_name=clinic.schema_name,
            file_name="fuzz-missing.dump",
            size_bytes=1,
            sha256="0" * 64,
            tables=1,
            rows=1,
            migrations_fingerprint="0" * 64,
        )
    return [str(backup.id)]
