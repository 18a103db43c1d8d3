"""What each query must answer an allowed caller, against the role matrix's world
(`tests/accounts/matrix_world.py`: one patient José Pérez with a 10:00 appointment two weeks
ahead, a draft and a signed note, a planned caries on tooth 16, a draft plan with one 120.00
item, charges of 50.00 (not invoiced) and 120.00 (on receipt B001-00000001), a payment of
20.00 today).

Written from the README and docs/permissions.md: the expected values are literals of the
world, never read back through the code under test. ``arrange`` adds what the world lacks
for the query to have something to show.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from backend.accounts.models import User
from backend.audit.models import AuditEvent
from backend.clinical.models import MedicalHistory
from backend.patients.models import Patient
from tenants_core import backups
from tenants_core.models import Clinic
from tests.dates import on_the_wire
from tests.spec.run import Run, money, registry

ANSWERS, answer = registry()


def _nodes(connection: dict) -> list:
    return [edge["node"] for edge in connection["edges"]]


# --- open, and the signed-in user --------------------------------------------------------


@answer("query currentClinic")
def _(run: Run) -> None:
    assert run.data == {"name": "Clínica Dental Norte", "subdomain": "clinica1"}


@answer("query me")
def _(run: Run) -> None:
    assert run.data["email"] == run.caller.email
    assert run.data["role"] == (run.caller.role or None)


# --- staff and the audit trail -------------------------------------------------------------


@answer("query staff")
def _(run: Run) -> None:
    emails = {node["email"] for node in _nodes(run.data)}
    assert {"admin@clinica1.pe", run.caller.email} <= emails
    assert emails == set(User.objects.values_list("email", flat=True))
    assert run.data["totalCount"] == len(emails)


def _probe_event(run: Run) -> None:
    AuditEvent.objects.create(action="matrix.probe.seen", entity_type="matrix.probe")


@answer("query auditEvents", arrange=_probe_event)
def _(run: Run) -> None:
    assert run.data == {"totalCount": 1, "edges": [{"node": {"action": "matrix.probe.seen"}}]}


# --- patients, resources, the agenda -------------------------------------------------------


@answer("query patient")
def _(run: Run) -> None:
    assert run.data == {"fullName": "José Pérez", "documentNumber": "12345678"}


@answer("query patients")
def _(run: Run) -> None:
    assert run.data == {"totalCount": 1, "edges": [{"node": {"fullName": "José Pérez"}}]}


@answer("query professional")
def _(run: Run) -> None:
    assert run.data == {"fullName": "Dr. Soto"}


@answer("query professionals")
def _(run: Run) -> None:
    assert run.data == {"totalCount": 1, "edges": [{"node": {"fullName": "Dr. Soto"}}]}


@answer("query chair")
def _(run: Run) -> None:
    assert run.data == {"name": "Sillón 1"}


@answer("query chairs")
def _(run: Run) -> None:
    assert run.data == {"totalCount": 1, "edges": [{"node": {"name": "Sillón 1"}}]}


@answer("query appointment")
def _(run: Run) -> None:
    assert run.data["status"] == "SCHEDULED"
    assert dt.datetime.fromisoformat(run.data["startsAt"]) == dt.datetime.fromisoformat(
        run.ids["at_10"]
    )
    assert run.data["startsAt"].endswith("-05:00"), "times carry the clinic's offset"


@answer("query appointments")
def _(run: Run) -> None:
    assert run.data == {
        "totalCount": 1,
        "edges": [{"node": {"id": run.ids["appointment"], "status": "SCHEDULED"}}],
    }


@answer("query availability")
def _(run: Run) -> None:
    # Hours 08:00–20:00, a booking 10:00–10:30: every 15 minutes from the opening, then the
    # first minute after the booking, then every 15 minutes until the last 30 minutes fit.
    day = dt.date.fromisoformat(run.ids["day"])
    lima = dt.datetime.fromisoformat(run.ids["at_10"]).tzinfo

    def at(minutes: int) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(0), lima) + dt.timedelta(minutes=minutes)

    expected = [at(m) for m in range(8 * 60, 9 * 60 + 31, 15)] + [
        at(m) for m in range(10 * 60 + 30, 19 * 60 + 31, 15)
    ]
    starts = [dt.datetime.fromisoformat(slot["startsAt"]) for slot in run.data]
    ends = [dt.datetime.fromisoformat(slot["endsAt"]) for slot in run.data]
    assert starts == expected
    assert ends == [start + dt.timedelta(minutes=30) for start in expected]


# --- clinical records ----------------------------------------------------------------------


def _two_anamnesis_versions(run: Run) -> None:
    patient = run.get(Patient, "patient")
    for version, allergies in ((1, "Polen"), (2, "Polen, látex")):
        MedicalHistory.objects.create(
            patient=patient, version=version, allergies=allergies, recorded_by=run.caller
        )


@answer("query medicalHistory", arrange=_two_anamnesis_versions)
def _(run: Run) -> None:
    assert run.data == {"version": 2, "allergies": "Polen, látex"}


@answer("query medicalHistoryVersions", arrange=_two_anamnesis_versions)
def _(run: Run) -> None:
    assert sorted(run.data, key=lambda v: v["version"]) == [
        {"version": 1, "allergies": "Polen"},
        {"version": 2, "allergies": "Polen, látex"},
    ]


@answer("query clinicalNote")
def _(run: Run) -> None:
    assert run.data == {"status": "DRAFT", "subjective": "Dolor"}


@answer("query clinicalNotes")
def _(run: Run) -> None:
    assert run.data["totalCount"] == 2
    assert {node["id"] for node in _nodes(run.data)} == {run.ids["note"], run.ids["signed_note"]}


@answer("query odontogram")
def _(run: Run) -> None:
    assert run.data == {
        "teeth": [{"tooth": 16, "findings": [{"condition": "CARIES", "state": "PLANNED"}]}]
    }


# --- catalog and plans ---------------------------------------------------------------------


@answer("query procedures")
def _(run: Run) -> None:
    assert run.data["totalCount"] == 1
    [node] = _nodes(run.data)
    assert node["code"] == "RES1"
    assert money(node["defaultPrice"]) == money("120.00")


@answer("query treatmentPlan")
def _(run: Run) -> None:
    assert run.data["status"] == "DRAFT"
    assert run.data["title"] == "Plan"
    assert money(run.data["totals"]["net"]) == money("120.00")


@answer("query treatmentPlans")
def _(run: Run) -> None:
    assert run.data == {"totalCount": 1, "edges": [{"node": {"id": run.ids["plan"]}}]}


# --- billing -------------------------------------------------------------------------------


@answer("query billingSettings")
def _(run: Run) -> None:
    # IGV 18%, prices tax-included by default (README, Billing).
    assert money(run.data["igvRate"]) == money("0.18")
    assert run.data["pricesIncludeTax"] is True


@answer("query patientBalance")
def _(run: Run) -> None:
    # balance = charges − payments + refunds; the unapplied payment is credit.
    assert {key: money(value) for key, value in run.data.items()} == {
        "charges": money("170.00"),
        "payments": money("20.00"),
        "refunds": money("0.00"),
        "balance": money("150.00"),
        "credit": money("20.00"),
    }


@answer("query accountStatement")
def _(run: Run) -> None:
    assert sorted(m["kind"] for m in run.data) == ["CHARGE", "CHARGE", "PAYMENT"]
    assert money(run.data[-1]["balance"]) == money("150.00")  # a running balance


@answer("query uninvoicedCharges")
def _(run: Run) -> None:
    assert [(c["concept"], money(c["amount"])) for c in run.data] == [("Consulta", money("50"))]


@answer("query receipt")
def _(run: Run) -> None:
    assert run.data["fullNumber"] == "B001-00000001"
    assert run.data["status"] == "ISSUED"
    assert money(run.data["total"]) == money("120.00")


@answer("query receipts")
def _(run: Run) -> None:
    assert run.data == {"totalCount": 1, "edges": [{"node": {"fullNumber": "B001-00000001"}}]}


@answer("query cashReport")
def _(run: Run) -> None:
    # Today (clinic-local), the world's 20.00 cash payment was received.
    assert money(run.data["totalReceived"]) == money("20.00")
    assert money(run.data["totalRefunded"]) == money("0.00")


@answer("query clinicDashboard")
def _(run: Run) -> None:
    # Today to two weeks ahead: the 10:00 appointment, the 20.00 cash payment, and José
    # owing 50.00 + 120.00 − 20.00.
    assert run.data["appointmentsTotal"] == 1
    assert run.data["collected"]["currency"] == "PEN"
    assert money(run.data["collected"]["amount"]) == money("20.00")
    assert money(run.data["outstanding"]["receivable"]["amount"]) == money("150.00")
    assert run.data["outstanding"]["patientsOwing"] == 1


# --- the platform --------------------------------------------------------------------------


@answer("query plans")
def _(run: Run) -> None:
    assert sorted(plan["code"] for plan in run.data) == ["BASIC", "ENTERPRISE", "PROFESSIONAL"]


@answer("query clinics")
def _(run: Run) -> None:
    subdomains = {node["subdomain"] for node in _nodes(run.data)}
    assert {"clinica1", "clinica2", "cerrada"} <= subdomains
    assert subdomains == set(
        Clinic.objects.exclude(schema_name="public").values_list("subdomain", flat=True)
    )
    assert run.data["totalCount"] == len(subdomains)


def _a_backup_of_clinica2(run: Run) -> None:
    clinic = Clinic.objects.get(subdomain="clinica2")
    backup = backups.clinic_backup_create(clinic=clinic, actor=run.caller)
    run.ids["backup"] = str(backup.id)
    run.extra["backup"] = backup


@answer("query clinicBackups", arrange=_a_backup_of_clinica2)
def _(run: Run) -> None:
    backup = run.extra["backup"]
    assert run.data == [{"id": str(backup.id), "sha256": backup.sha256}]
    assert len(backup.sha256) == 64


def _clinica2_rolled_up(run: Run) -> None:
    from backend.metrics.rollup import clinic_day_rollup

    clinic = Clinic.objects.select_related("plan").get(subdomain="clinica2")
    run.extra["row"] = clinic_day_rollup(clinic=clinic, day=dt.date(2024, 7, 1))


@answer("query clinicMetrics", arrange=_clinica2_rolled_up)
def _(run: Run) -> None:
    # One entry per day; the day the rollup did not compute has nulls.
    assert run.data == [
        {
            "day": "2024-07-01",
            "patients": run.extra["row"].patients,
            "computedAt": on_the_wire(run.extra["row"].computed_at),
        },
        {"day": "2024-07-02", "patients": None, "computedAt": None},
    ]


@answer("query platformMetrics")
def _(run: Run) -> None:
    assert run.data["mrr"]["currency"] == "USD"
    by_status = {item["status"]: item["count"] for item in run.data["clinicsByStatus"]}
    assert by_status == {
        status: Clinic.objects.exclude(schema_name="public").filter(status=status.lower()).count()
        for status in by_status
    }
    assert sum(by_status.values()) == Clinic.objects.exclude(schema_name="public").count()


_ = timezone  # the answers are relative to the world's dates, which are clinic-local


# --- patient messaging (the world: rules 48 h and 3 h from the defaults plus a 60-minute
# reminder, a 6-month recall of RES1, one FAILED reminder, one open reply) -------------------


@answer("query messagingSettings")
def _(run: Run) -> None:
    assert run.data["enabled"] is True
    assert run.data["quietStart"] == "21:00:00"
    assert run.data["rules"] == [
        {"kind": "CONFIRMATION_REQUEST", "minutesBefore": 2880},
        {"kind": "REMINDER", "minutesBefore": 180},
        {"kind": "REMINDER", "minutesBefore": 60},
    ]
    assert run.data["recallRules"] == [{"months": 6}]
    assert run.data["monthlyMessageQuota"] == 1000  # clinica1: professional plan


@answer("query messageTemplates")
def _(run: Run) -> None:
    kinds = {(t["kind"], t["channel"]) for t in run.data}
    assert len(run.data) == 12
    assert ("RECALL", "EMAIL") in kinds
    assert ("REMINDER", "WHATSAPP") in kinds


@answer("query previewMessageTemplate")
def _(run: Run) -> None:
    assert run.data == {"subject": "", "body": "Hola María, su cita es a las 10:30."}


@answer("query notifications")
def _(run: Run) -> None:
    assert run.data == {
        "totalCount": 1,
        "edges": [
            {
                "node": {
                    "id": run.ids["notification"],
                    "status": "FAILED",
                    "body": "Hola José, le recordamos su cita.",
                    "patient": {"fullName": "José Pérez"},
                }
            }
        ],
    }


@answer("query patientContactPreference")
def _(run: Run) -> None:
    assert run.data == {"whatsapp": True, "sms": True, "optedOut": False}


@answer("query inbox")
def _(run: Run) -> None:
    assert run.data == {
        "totalCount": 1,
        "edges": [{"node": {"id": run.ids["inbox_message"], "body": "¿Puedo ir más tarde?"}}],
    }


# --- the assistant's conversations (the world's: José's web conversation, HANDED_OFF because
# he asked for a person; the assistant's settings at their defaults) -------------------------


@answer("query assistantConversations")
def _(run: Run) -> None:
    assert run.data == {
        "totalCount": 1,
        "edges": [{"node": {"status": "HANDED_OFF", "handoffReason": "REQUESTED",
                            "patient": {"fullName": "José Pérez"}}}],
    }  # fmt: skip


@answer("query assistantConversation")
def _(run: Run) -> None:
    assert run.data == {
        "status": "HANDED_OFF",
        "messages": [
            {"author": "PATIENT", "text": "Quiero hablar con alguien", "intent": "HUMAN"},
            {"author": "ASSISTANT", "text": "Le comunico con una persona.", "intent": None},
        ],
    }


@answer("query assistantSettings")
def _(run: Run) -> None:
    assert run.data == {"enabled": True, "transcriptRetentionDays": 365}


@answer("query assistantTranscript")
def _(run: Run) -> None:
    # Who wrote each message, never which staff member nor the intent.
    assert run.data == {
        "status": "HANDED_OFF",
        "messages": [
            {"author": "PATIENT", "text": "Quiero hablar con alguien"},
            {"author": "ASSISTANT", "text": "Le comunico con una persona."},
        ],
    }


# --- patient documents ---------------------------------------------------------------------


@answer("query patientDocuments")
def _(run: Run) -> None:
    # The world's signed consent; its archived twin stays out of the list.
    assert run.data == {"totalCount": 1, "edges": [{"node": {"kind": "CONSENT",
                                                             "note": "Consentimiento"}}]}  # fmt: skip
