"""The staff's messaging surface through GraphQL: settings, rules, templates, contact
preferences, the message log, resending and the inbox; each change audited, each refusal
coded and changing nothing, another clinic's rows never reachable."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context
from procrastinate.contrib.django.models import ProcrastinateJob

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from backend.notifications.models import (
    ContactPreference,
    InboxMessage,
    MessageTemplate,
    MessageUsage,
    MessagingSettings,
    Notification,
    NotificationRule,
    RecallRule,
)
from backend.scheduling.models import Appointment
from backend.treatments.models import Procedure
from tests.accounts.matrix_world import distinct_ids
from tests.conftest import error_code, graphql, operation_codes
from tests.factories import ChairFactory, PatientFactory, ProfessionalFactory
from tests.ids import global_id

pytestmark = pytest.mark.django_db

HOST = "clinica1.localhost"
HOST2 = "clinica2.localhost"
PUBLIC = "localhost"


def gid(obj: Any) -> str:
    return global_id(type(obj).__name__, obj.pk)


def _appointment(patient, *, days: float = 5) -> Appointment:
    starts = timezone.now().replace(microsecond=0) + dt.timedelta(days=days)
    return Appointment.objects.create(
        patient=patient,
        professional=ProfessionalFactory(),
        chair=ChairFactory(),
        starts_at=starts,
        ends_at=starts + dt.timedelta(minutes=30),
    )


def _notification(patient, appointment=None, **fields) -> Notification:
    values = dict(
        kind="REMINDER" if appointment is not None else "RECALL",
        channel="WHATSAPP",
        status="SENT",
        patient=patient,
        appointment=appointment,
        send_at=timezone.now() - dt.timedelta(hours=1),
        recipient="+51987654321",
        body="Hola José, le recordamos su cita.",
    )
    values.update(fields)
    return Notification.objects.create(**values)


def trail(clinic) -> list[tuple[str, str]]:
    with tenant_context(clinic):
        return list(AuditEvent.objects.order_by("pk").values_list("action", "entity_type"))


def _state(clinic) -> tuple[Any, ...]:
    """Everything the staff's mutations may write, to prove a refusal wrote nothing."""
    with tenant_context(clinic):
        return (
            list(MessagingSettings.objects.values()),
            list(NotificationRule.objects.order_by("pk").values()),
            list(RecallRule.objects.order_by("pk").values()),
            list(MessageTemplate.objects.order_by("pk").values()),
            list(ContactPreference.objects.order_by("pk").values()),
            list(Notification.objects.order_by("pk").values()),
            list(InboxMessage.objects.order_by("pk").values()),
            list(AuditEvent.objects.order_by("pk").values_list("pk", "action")),
            ProcrastinateJob.objects.count(),
        )


@pytest.fixture
def tokens(clinic1, make_staff, token_for, admin_token) -> dict[str, str]:
    return {
        "ADMIN": admin_token,
        **{
            role: token_for(clinic1, make_staff(clinic1, role))
            for role in (Role.DENTIST, Role.ASSISTANT, Role.RECEPTIONIST)
        },
    }


def ask(client, query, token=None, host=HOST, **variables) -> dict[str, Any]:
    status, body = graphql(client, query, host=host, token=token, variables=variables)
    assert status in (200, 400, 401, 403), body
    return body


# --- settings -------------------------------------------------------------------------------

SETTINGS = """{ messagingSettings { enabled channelOrder quietStart quietEnd recallEnabled
  rules { id kind minutesBefore isActive } recallRules { id months procedure { name } }
  messagesUsedThisMonth monthlyMessageQuota heldMessages } }"""

UPDATE_SETTINGS = """mutation($input: UpdateMessagingSettingsInput!) {
  updateMessagingSettings(input: $input) {
    __typename
    ... on MessagingSettings { enabled channelOrder quietStart quietEnd recallEnabled }
    ... on OperationInfo { messages { code field message } }
  } }"""


def test_settings_show_the_default_rules_and_this_months_usage_against_the_plan(
    client, clinic1, tokens
):
    with tenant_context(clinic1):
        # The clinic's month (Lima), not UTC's: they differ for five hours at each month's turn.
        month = timezone.localdate(timezone=ZoneInfo(clinic1.timezone)).replace(day=1)
        MessageUsage.objects.create(month=month, whatsapp=7, sms=3, email=50)
        patient = PatientFactory()
        _notification(patient, status="HELD", failure_code="PLAN_LIMIT_REACHED")
    data = ask(client, SETTINGS, tokens["DENTIST"])["data"]["messagingSettings"]
    assert data["enabled"] is True
    assert data["channelOrder"] == ["WHATSAPP", "SMS", "EMAIL"]
    assert (data["quietStart"], data["quietEnd"]) == ("21:00:00", "08:00:00")
    assert [(r["kind"], r["minutesBefore"]) for r in data["rules"]] == [
        ("CONFIRMATION_REQUEST", 2880),
        ("REMINDER", 180),
    ]
    assert data["messagesUsedThisMonth"] == 10  # WhatsApp and SMS; email is free
    assert data["monthlyMessageQuota"] == clinic1.plan.monthly_messages > 0
    assert data["heldMessages"] == 1


def test_admin_updates_the_settings_and_the_change_is_audited(client, clinic1, tokens):
    body = ask(
        client,
        UPDATE_SETTINGS,
        tokens["ADMIN"],
        input={
            "enabled": False,
            "channelOrder": ["SMS", "WHATSAPP"],
            "quietStart": "22:00",
            "quietEnd": "07:30",
            "recallEnabled": False,
        },
    )
    result = body["data"]["updateMessagingSettings"]
    assert result == {
        "__typename": "MessagingSettings",
        "enabled": False,
        "channelOrder": ["SMS", "WHATSAPP"],
        "quietStart": "22:00:00",
        "quietEnd": "07:30:00",
        "recallEnabled": False,
    }
    with tenant_context(clinic1):
        row = MessagingSettings.objects.get()
        assert (row.enabled, row.channel_order, row.quiet_start, row.quiet_end) == (
            False, ["SMS", "WHATSAPP"], dt.time(22), dt.time(7, 30),
        )  # fmt: skip
        event = AuditEvent.objects.get(action="messaging.update_settings")
        assert event.changes["enabled"] == {"from": "True", "to": "False"}


@pytest.mark.parametrize(
    ("given", "code"),
    [
        ({"quietStart": "08:00", "quietEnd": "08:00"}, "INVALID_QUIET_HOURS"),
        ({"quietStart": "08:00"}, "INVALID_QUIET_HOURS"),  # the stored end is 08:00
        ({"channelOrder": []}, "INVALID_RULE"),
        ({"channelOrder": ["SMS", "SMS"]}, "INVALID_RULE"),
    ],
)
def test_bad_settings_are_coded_and_change_nothing(client, clinic1, tokens, given, code):
    before = _state(clinic1)
    body = ask(client, UPDATE_SETTINGS, tokens["ADMIN"], input=given)
    assert operation_codes(body["data"]["updateMessagingSettings"]) == [code]
    assert _state(clinic1) == before


# --- rules ----------------------------------------------------------------------------------

CREATE_RULE = """mutation($kind: NotificationKind!, $minutes: Int!) {
  createNotificationRule(kind: $kind, minutesBefore: $minutes) {
    __typename ... on NotificationRule { id kind minutesBefore isActive }
    ... on OperationInfo { messages { code field } } } }"""
UPDATE_RULE = """mutation($id: ID!, $minutes: Int, $active: Boolean) {
  updateNotificationRule(id: $id, minutesBefore: $minutes, isActive: $active) {
    __typename ... on NotificationRule { minutesBefore isActive }
    ... on OperationInfo { messages { code field } } } }"""
DELETE_RULE = """mutation($id: ID!) { deleteNotificationRule(id: $id) {
    __typename ... on NotificationRule { id kind }
    ... on OperationInfo { messages { code } } } }"""


def test_rules_are_created_updated_and_deleted_with_audit(client, clinic1, tokens):
    created = ask(client, CREATE_RULE, tokens["ADMIN"], kind="REMINDER", minutes=60)["data"][
        "createNotificationRule"
    ]
    assert (created["kind"], created["minutesBefore"], created["isActive"]) == (
        "REMINDER", 60, True,
    )  # fmt: skip
    updated = ask(client, UPDATE_RULE, tokens["ADMIN"], id=created["id"], minutes=90, active=False)
    assert updated["data"]["updateNotificationRule"] == {
        "__typename": "NotificationRule", "minutesBefore": 90, "isActive": False,
    }  # fmt: skip
    with tenant_context(clinic1):
        rule = NotificationRule.objects.get(kind="REMINDER", minutes_before=90)
        patient = PatientFactory()
        pending = _notification(
            patient, _appointment(patient), status="SCHEDULED", rule=rule,
            send_at=timezone.now() + dt.timedelta(days=1),
        )  # fmt: skip
    deleted = ask(client, DELETE_RULE, tokens["ADMIN"], id=created["id"])
    assert deleted["data"]["deleteNotificationRule"]["id"] == created["id"]
    with tenant_context(clinic1):
        assert not NotificationRule.objects.filter(pk=rule.pk).exists()
        pending.refresh_from_db()
        assert pending.status == "CANCELLED"
    assert [a for a, _ in trail(clinic1) if a.startswith("notification_rule.")] == [
        "notification_rule.create",
        "notification_rule.update",
        "notification_rule.delete",
    ]


@pytest.mark.parametrize(
    ("kind", "minutes"),
    [("REMINDER", 0), ("REMINDER", 43201), ("RECALL", 60), ("CONFIRMATION_REQUEST", 2880)],
)
def test_bad_rules_are_invalid_rule_and_change_nothing(client, clinic1, tokens, kind, minutes):
    before = _state(clinic1)
    body = ask(client, CREATE_RULE, tokens["ADMIN"], kind=kind, minutes=minutes)
    assert operation_codes(body["data"]["createNotificationRule"]) == ["INVALID_RULE"]
    assert _state(clinic1) == before


def test_moving_a_rule_onto_another_is_invalid_rule(client, clinic1, tokens):
    with tenant_context(clinic1):
        reminder = NotificationRule.objects.get(kind="REMINDER")
        NotificationRule.objects.create(kind="REMINDER", minutes_before=60)
    before = _state(clinic1)
    body = ask(client, UPDATE_RULE, tokens["ADMIN"], id=gid(reminder), minutes=60)
    assert operation_codes(body["data"]["updateNotificationRule"]) == ["INVALID_RULE"]
    assert _state(clinic1) == before


CREATE_RECALL = """mutation($p: ID!, $months: Int!) { createRecallRule(procedureId: $p,
  months: $months) { __typename ... on RecallRule { id months procedure { name } }
  ... on OperationInfo { messages { code field } } } }"""
UPDATE_RECALL = """mutation($id: ID!, $months: Int) { updateRecallRule(id: $id, months: $months) {
  __typename ... on RecallRule { months } ... on OperationInfo { messages { code } } } }"""
DELETE_RECALL = """mutation($id: ID!) { deleteRecallRule(id: $id) {
  __typename ... on OperationInfo { messages { code } } } }"""


def _procedure(code="PROF", name="Profilaxis") -> Procedure:
    return Procedure.objects.create(
        code=code, name=name, category="PREVENTIVE", default_price="80.00"
    )


def test_recall_rules_follow_the_catalog(client, clinic1, clinic2, tokens):
    with tenant_context(clinic1):
        procedure = _procedure()
    created = ask(client, CREATE_RECALL, tokens["ADMIN"], p=gid(procedure), months=6)["data"][
        "createRecallRule"
    ]
    assert (created["months"], created["procedure"]["name"]) == (6, "Profilaxis")
    again = ask(client, CREATE_RECALL, tokens["ADMIN"], p=gid(procedure), months=12)
    assert operation_codes(again["data"]["createRecallRule"]) == ["INVALID_RULE"]
    too_long = ask(client, UPDATE_RECALL, tokens["ADMIN"], id=created["id"], months=61)
    assert operation_codes(too_long["data"]["updateRecallRule"]) == ["INVALID_RULE"]
    ok = ask(client, UPDATE_RECALL, tokens["ADMIN"], id=created["id"], months=12)
    assert ok["data"]["updateRecallRule"] == {"__typename": "RecallRule", "months": 12}
    with tenant_context(clinic2):  # another clinic's procedure names nothing here
        distinct_ids(clinic2)
        foreign = _procedure(code="F1", name="Ajena")
    body = ask(client, CREATE_RECALL, tokens["ADMIN"], p=gid(foreign), months=6)
    assert operation_codes(body["data"]["createRecallRule"]) == ["NOT_FOUND"]
    gone = ask(client, DELETE_RECALL, tokens["ADMIN"], id=created["id"])
    assert gone["data"]["deleteRecallRule"]["__typename"] == "RecallRule"
    with tenant_context(clinic1):
        assert not RecallRule.objects.exists()
    assert [a for a, _ in trail(clinic1) if a.startswith("recall_rule.")] == [
        "recall_rule.create", "recall_rule.update", "recall_rule.delete",
    ]  # fmt: skip


# --- templates ------------------------------------------------------------------------------

TEMPLATES = """{ messageTemplates { kind channel subject body whatsappTemplateName
  placeholders { name description } } }"""
UPDATE_TEMPLATE = """mutation($input: MessageTemplateInput!) { updateMessageTemplate(input: $input) {
  __typename ... on MessageTemplate { kind channel body updatedAt }
  ... on OperationInfo { messages { code field message } } } }"""
PREVIEW = """query($input: MessageTemplateInput!) {
  previewMessageTemplate(input: $input) { subject body } }"""


def test_templates_list_their_placeholders_by_kind(client, clinic1, tokens):
    templates = ask(client, TEMPLATES, tokens["RECEPTIONIST"])["data"]["messageTemplates"]
    assert len(templates) == 12  # 4 kinds x 3 channels
    by_key = {(t["kind"], t["channel"]): t for t in templates}
    recall = {p["name"] for p in by_key["RECALL", "SMS"]["placeholders"]}
    reminder = {p["name"] for p in by_key["REMINDER", "WHATSAPP"]["placeholders"]}
    assert {"procedure", "months"} <= recall
    assert "link" not in recall
    assert {"link", "date", "time"} <= reminder
    assert "procedure" not in reminder
    assert by_key["REMINDER", "WHATSAPP"]["whatsappTemplateName"] == "appointment_reminder"


def test_admin_updates_a_template_and_it_is_audited(client, clinic1, tokens):
    body = ask(
        client,
        UPDATE_TEMPLATE,
        tokens["ADMIN"],
        input={"kind": "REMINDER", "channel": "SMS", "body": "Cita {date} {time}, {clinic_name}"},
    )
    assert body["data"]["updateMessageTemplate"]["body"] == "Cita {date} {time}, {clinic_name}"
    with tenant_context(clinic1):
        assert MessageTemplate.objects.get(kind="REMINDER", channel="SMS").body.startswith("Cita")
    assert ("message_template.update", "notifications.messagetemplate") in trail(clinic1)


@pytest.mark.parametrize(
    ("kind", "text", "code", "named"),
    [
        ("REMINDER", "Hola {nombre} y {procedure}", "UNKNOWN_PLACEHOLDER", "nombre, procedure"),
        ("RECALL", "Vuelva: {link}", "UNKNOWN_PLACEHOLDER", "link"),
        ("REMINDER", "Hola {patient_first_name", "INVALID_TEMPLATE", None),
        ("REMINDER", "Hola {0}", "INVALID_TEMPLATE", None),
        ("REMINDER", "   ", "INVALID_TEMPLATE", None),
    ],
)
def test_bad_templates_are_refused_naming_the_placeholders(
    client, clinic1, tokens, kind, text, code, named
):
    before = _state(clinic1)
    body = ask(
        client, UPDATE_TEMPLATE, tokens["ADMIN"],
        input={"kind": kind, "channel": "WHATSAPP", "body": text},
    )  # fmt: skip
    [message] = body["data"]["updateMessageTemplate"]["messages"]
    assert (message["code"], message["field"]) == (code, "body")
    if named:
        assert named in message["message"]
    assert _state(clinic1) == before
    preview = ask(
        client, PREVIEW, tokens["ADMIN"], input={"kind": kind, "channel": "SMS", "body": text}
    )
    assert error_code(preview) == code
    assert _state(clinic1) == before


def test_preview_renders_spanish_sample_values_and_writes_nothing(client, clinic1, tokens):
    before = _state(clinic1)
    body = ask(
        client,
        PREVIEW,
        tokens["ADMIN"],
        input={
            "kind": "REMINDER",
            "channel": "EMAIL",
            "subject": "Su cita en {clinic_name}",
            "body": "Hola {patient_first_name}, el {date} a las {time}.",
        },
    )
    preview = body["data"]["previewMessageTemplate"]
    assert preview["subject"] == f"Su cita en {clinic1.name}"
    assert preview["body"].startswith("Hola María, el ")
    weekday = preview["body"].removeprefix("Hola María, el ").split(" ")[0]
    assert weekday in {"lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"}
    assert " de " in preview["body"]
    assert "a las 10:30." in preview["body"]
    assert _state(clinic1) == before


# --- contact preferences --------------------------------------------------------------------

PREFERENCE = """query($p: ID!) { patientContactPreference(patientId: $p) {
  patient { fullName } whatsapp sms email optedOut optedOutAt optOutSource } }"""
UPDATE_PREFERENCE = """mutation($p: ID!, $input: ContactPreferenceInput!) {
  updateContactPreference(patientId: $p, input: $input) {
    __typename ... on ContactPreference { whatsapp sms email optedOut optOutSource }
    ... on OperationInfo { messages { code field } } } }"""


def test_contact_preferences_default_to_every_channel_and_change_with_audit(
    client, clinic1, tokens
):
    with tenant_context(clinic1):
        patient = PatientFactory(first_name="José", last_name="Pérez")
    shown = ask(client, PREFERENCE, tokens["ASSISTANT"], p=gid(patient))
    assert shown["data"]["patientContactPreference"] == {
        "patient": {"fullName": "José Pérez"}, "whatsapp": True, "sms": True, "email": True,
        "optedOut": False, "optedOutAt": None, "optOutSource": "",
    }  # fmt: skip
    with tenant_context(clinic1):
        assert not ContactPreference.objects.exists()  # the read wrote nothing
    changed = ask(
        client, UPDATE_PREFERENCE, tokens["RECEPTIONIST"], p=gid(patient),
        input={"sms": False, "optedOut": True},
    )  # fmt: skip
    assert changed["data"]["updateContactPreference"] == {
        "__typename": "ContactPreference", "whatsapp": True, "sms": False, "email": True,
        "optedOut": True, "optOutSource": "staff",
    }  # fmt: skip
    resumed = ask(
        client, UPDATE_PREFERENCE, tokens["ADMIN"], p=gid(patient), input={"optedOut": False}
    )
    assert resumed["data"]["updateContactPreference"]["optedOut"] is False
    with tenant_context(clinic1):
        preference = ContactPreference.objects.get(patient=patient)
        assert (preference.sms, preference.opted_out_at) == (False, None)
        events = AuditEvent.objects.filter(action="contact_preference.update").order_by("pk")
        assert [e.changes.get("opted_out") for e in events] == [
            {"from": False, "to": True}, {"from": True, "to": False},
        ]  # fmt: skip


# --- the message log ------------------------------------------------------------------------

NOTIFICATIONS = """query($filters: NotificationFilter, $first: Int) {
  notifications(filters: $filters, first: $first) { totalCount edges { node {
    id kind channel status recipient subject body failureCode failureReason attempts
    sendAt sentAt deliveredAt readAt
    patient { id fullName } appointment { id startsAt status }
  } } } }"""


def test_notifications_list_newest_first_with_filters_and_clinic_offset(client, clinic1, tokens):
    with tenant_context(clinic1):
        jose, maria = PatientFactory(first_name="José"), PatientFactory(first_name="María")
        appointment = _appointment(jose)
        now = timezone.now().replace(microsecond=0)
        old = _notification(jose, appointment, send_at=now - dt.timedelta(days=2), sent_at=now)
        failed = _notification(
            jose, appointment, channel="SMS", status="FAILED", failure_code="PROVIDER_REJECTED",
            failure_reason="Número inválido", send_at=now - dt.timedelta(days=1),
        )  # fmt: skip
        recall = _notification(maria, kind="RECALL", channel="EMAIL", send_at=now)
    data = ask(client, NOTIFICATIONS, tokens["DENTIST"], first=10)["data"]["notifications"]
    assert data["totalCount"] == 3
    nodes = [edge["node"] for edge in data["edges"]]
    assert [n["id"] for n in nodes] == [gid(recall), gid(failed), gid(old)]
    assert nodes[1]["failureCode"] == "PROVIDER_REJECTED"
    assert nodes[1]["appointment"]["id"] == gid(appointment)
    assert nodes[0]["appointment"] is None
    assert nodes[0]["patient"]["fullName"].startswith("María")
    assert nodes[2]["sentAt"].endswith("-05:00")  # Lima
    assert dt.datetime.fromisoformat(nodes[2]["sendAt"]) == old.send_at

    def ids(filters):
        body = ask(client, NOTIFICATIONS, tokens["ADMIN"], filters=filters, first=10)
        return [edge["node"]["id"] for edge in body["data"]["notifications"]["edges"]]

    assert ids({"status": ["FAILED"]}) == [gid(failed)]
    assert ids({"channel": ["WHATSAPP", "EMAIL"]}) == [gid(recall), gid(old)]
    assert ids({"kind": ["RECALL"]}) == [gid(recall)]
    assert ids({"patientId": gid(jose)}) == [gid(failed), gid(old)]
    assert ids({"appointmentId": gid(appointment), "channel": ["SMS"]}) == [gid(failed)]


@pytest.mark.parametrize("rows", [10, 1000])
def test_notifications_cost_the_same_statements_for_10_and_1000_rows(
    client, clinic1, tokens, django_assert_num_queries, rows
):
    with tenant_context(clinic1):
        patients = [PatientFactory() for _ in range(3)]
        appointments = [_appointment(p) for p in patients]
        now = timezone.now()
        Notification.objects.bulk_create(
            Notification(
                kind="REMINDER", channel="WHATSAPP", status="SENT", patient=patients[i % 3],
                appointment=appointments[i % 3], send_at=now - dt.timedelta(minutes=i),
                body="Hola", sent_at=now,
            )
            for i in range(rows)
        )  # fmt: skip
    ask(client, "{ messageTemplates { kind } }", tokens["ADMIN"])  # warm the routing
    # the token (1) + SET to the clinic (1) + the page with its count, patients and
    # appointments (1)
    with django_assert_num_queries(3):
        body = ask(client, NOTIFICATIONS, tokens["ADMIN"], first=100)
    assert body["data"]["notifications"]["totalCount"] == rows
    assert len(body["data"]["notifications"]["edges"]) == min(rows, 100)


def test_another_clinics_ids_name_nothing(client, clinic1, clinic2, tokens):
    with tenant_context(clinic2):
        distinct_ids(clinic2)  # its keys name nothing in clinica1
        stranger = PatientFactory(first_name="Ajena")
        appointment = _appointment(stranger)
        theirs = _notification(stranger, appointment, status="FAILED")
        message = InboxMessage.objects.create(channel="SMS", sender="+51911111111", body="Hola")
        rule = NotificationRule.objects.create(kind="REMINDER", minutes_before=30)
    before = _state(clinic1), _state(clinic2)
    admin = tokens["ADMIN"]
    assert ask(client, NOTIFICATIONS, admin, first=10)["data"]["notifications"]["totalCount"] == 0
    for filters in ({"patientId": gid(stranger)}, {"appointmentId": gid(appointment)}):
        body = ask(client, NOTIFICATIONS, admin, filters=filters, first=10)
        assert error_code(body) == "NOT_FOUND"
    resend = ask(client, RESEND, admin, id=gid(theirs))["data"]["resendNotification"]
    assert operation_codes(resend) == ["NOT_FOUND"]
    handled = ask(client, HANDLE, admin, id=gid(message))["data"]["markInboxMessageHandled"]
    assert operation_codes(handled) == ["NOT_FOUND"]
    assert error_code(ask(client, PREFERENCE, admin, p=gid(stranger))) == "NOT_FOUND"
    assert ask(client, INBOX, admin)["data"]["inbox"]["totalCount"] == 0
    gone = ask(client, DELETE_RULE, admin, id=gid(rule))["data"]["deleteNotificationRule"]
    assert operation_codes(gone) == ["NOT_FOUND"]
    assert (_state(clinic1), _state(clinic2)) == before
    with tenant_context(clinic2):
        assert NotificationRule.objects.filter(pk=rule.pk).exists()


# --- resending ------------------------------------------------------------------------------

RESEND = """mutation($id: ID!) { resendNotification(id: $id) {
  __typename ... on Notification { status sendAt failureCode }
  ... on OperationInfo { messages { code } } } }"""


@pytest.mark.parametrize("status", ["FAILED", "SKIPPED", "HELD", "SENT"])
def test_resend_schedules_a_new_attempt_now_and_defers_its_job(client, clinic1, tokens, status):
    with tenant_context(clinic1):
        patient = PatientFactory()
        notification = _notification(
            patient, _appointment(patient), status=status, failure_code="X", failure_reason="y",
            provider_message_id="wamid.old", sent_at=timezone.now() - dt.timedelta(hours=1),
        )  # fmt: skip
    jobs = ProcrastinateJob.objects.count()
    body = ask(client, RESEND, tokens["RECEPTIONIST"], id=gid(notification))
    result = body["data"]["resendNotification"]
    assert (result["status"], result["failureCode"]) == ("SCHEDULED", "")
    with tenant_context(clinic1):
        notification.refresh_from_db()
        assert notification.status == "SCHEDULED"
        assert abs(notification.send_at - timezone.now()) < dt.timedelta(minutes=1)
        assert (notification.provider_message_id, notification.sent_at) == ("", None)
        assert AuditEvent.objects.filter(
            action="notification.resend", entity_id=str(notification.pk)
        ).exists()
    connection.set_schema_to_public()
    [job] = ProcrastinateJob.objects.order_by("-id")[: ProcrastinateJob.objects.count() - jobs]
    assert job.task_name == "notifications.send"
    assert job.args == {
        "clinic_id": clinic1.pk, "clinic_schema": clinic1.schema_name,
        "notification_id": notification.pk,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("status", "days"), [("CANCELLED", 5), ("SCHEDULED", 5), ("SENDING", 5), ("FAILED", -1)]
)
def test_what_cannot_be_resent_is_not_resendable_and_changes_nothing(
    client, clinic1, tokens, status, days
):
    with tenant_context(clinic1):
        patient = PatientFactory()
        notification = _notification(patient, _appointment(patient, days=days), status=status)
    before = _state(clinic1)
    body = ask(client, RESEND, tokens["ADMIN"], id=gid(notification))
    assert operation_codes(body["data"]["resendNotification"]) == ["NOT_RESENDABLE"]
    assert _state(clinic1) == before


# --- the inbox ------------------------------------------------------------------------------

INBOX = """query($handled: Boolean) { inbox(handled: $handled, first: 10) { totalCount edges {
  node { id channel sender body receivedAt handledAt handledBy { fullName }
         patient { fullName } inReplyTo { id } } } } }"""
HANDLE = """mutation($id: ID!) { markInboxMessageHandled(id: $id) {
  __typename ... on InboxMessage { handledAt handledBy { fullName } }
  ... on OperationInfo { messages { code } } } }"""


def test_the_inbox_lists_open_replies_and_staff_mark_them_handled(
    client, clinic1, tokens, clinic1_admin
):
    with tenant_context(clinic1):
        patient = PatientFactory(first_name="José", last_name="Pérez")
        sent = _notification(patient, _appointment(patient))
        older = InboxMessage.objects.create(
            channel="WHATSAPP", sender="+51987654321", patient=patient, in_reply_to=sent,
            body="¿Puedo ir más tarde?", received_at=timezone.now() - dt.timedelta(hours=1),
        )  # fmt: skip
        newer = InboxMessage.objects.create(channel="SMS", sender="+51911111111", body="Hola")
    data = ask(client, INBOX, tokens["RECEPTIONIST"], handled=False)["data"]["inbox"]
    assert data["totalCount"] == 2
    nodes = [edge["node"] for edge in data["edges"]]
    assert [n["id"] for n in nodes] == [gid(newer), gid(older)]
    assert nodes[1]["patient"] == {"fullName": "José Pérez"}
    assert nodes[1]["inReplyTo"] == {"id": gid(sent)}
    handled = ask(client, HANDLE, tokens["ADMIN"], id=gid(older))["data"]
    assert handled["markInboxMessageHandled"]["handledBy"] == {"fullName": clinic1_admin.full_name}
    assert handled["markInboxMessageHandled"]["handledAt"].endswith("-05:00")
    open_ids = [e["node"]["id"] for e in ask(client, INBOX, tokens["ADMIN"], handled=False)[
        "data"]["inbox"]["edges"]]  # fmt: skip
    done_ids = [e["node"]["id"] for e in ask(client, INBOX, tokens["ADMIN"], handled=True)[
        "data"]["inbox"]["edges"]]  # fmt: skip
    assert (open_ids, done_ids) == ([gid(newer)], [gid(older)])
    assert ("inbox_message.handle", "notifications.inboxmessage") in trail(clinic1)


# --- who may call what ----------------------------------------------------------------------

# operation → (document, the roles allowed). The full matrix (every role, every operation,
# anonymous and platform callers) is tests/spec/permissions.py; this pins the intent here.
ROLES_ALLOWED = {
    "messagingSettings": (SETTINGS, {"ADMIN", "DENTIST", "ASSISTANT", "RECEPTIONIST"}),
    "notifications": (NOTIFICATIONS, {"ADMIN", "DENTIST", "ASSISTANT", "RECEPTIONIST"}),
    "inbox": (INBOX, {"ADMIN", "RECEPTIONIST"}),
}


@pytest.mark.parametrize("operation", sorted(ROLES_ALLOWED))
def test_reads_follow_the_permission_matrix_and_need_a_clinic_token(
    client, clinic1, clinic2, tokens, token_for, make_staff, operation
):
    document, allowed = ROLES_ALLOWED[operation]
    variables = {"first": 5} if operation == "notifications" else {}
    for role, token in tokens.items():
        body = ask(client, document, token, **variables)
        assert (error_code(body) is None) == (role in allowed), (role, body)
        if role not in allowed:
            assert error_code(body) == "FORBIDDEN"
    assert error_code(ask(client, document, None, **variables)) == "UNAUTHENTICATED"
    assert error_code(ask(client, document, "not-a-token", **variables)) == "UNAUTHENTICATED"
    # clinica1's admin token on clinica2's domain is no token there
    assert error_code(ask(client, document, tokens["ADMIN"], HOST2, **variables)) == (
        "UNAUTHENTICATED"
    )
    assert error_code(ask(client, document, None, PUBLIC, **variables)) == "TENANT_DOMAIN_ONLY"


def test_writes_are_refused_to_roles_without_the_permission_and_change_nothing(
    client, clinic1, tokens
):
    with tenant_context(clinic1):
        patient = PatientFactory()
        notification = _notification(patient, _appointment(patient), status="FAILED")
        message = InboxMessage.objects.create(channel="SMS", sender="+51911111111", body="Hola")
    before = _state(clinic1)
    calls = [
        (UPDATE_SETTINGS, {"input": {"enabled": False}}, {"ADMIN"}),
        (CREATE_RULE, {"kind": "REMINDER", "minutes": 30}, {"ADMIN"}),
        (UPDATE_TEMPLATE, {"input": {"kind": "REMINDER", "channel": "SMS", "body": "x"}},
         {"ADMIN"}),
        (PREVIEW, {"input": {"kind": "REMINDER", "channel": "SMS", "body": "x"}}, {"ADMIN"}),
        (UPDATE_PREFERENCE, {"p": gid(patient), "input": {"sms": False}},
         {"ADMIN", "RECEPTIONIST"}),
        (RESEND, {"id": gid(notification)}, {"ADMIN", "RECEPTIONIST"}),
        (HANDLE, {"id": gid(message)}, {"ADMIN", "RECEPTIONIST"}),
    ]  # fmt: skip
    for document, variables, allowed in calls:
        for role in {"DENTIST", "ASSISTANT", "RECEPTIONIST"} - allowed:
            assert error_code(ask(client, document, tokens[role], **variables)) == "FORBIDDEN"
        assert error_code(ask(client, document, None, **variables)) == "UNAUTHENTICATED"
        assert error_code(ask(client, document, None, PUBLIC, **variables)) == (
            "TENANT_DOMAIN_ONLY"
        )
    assert _state(clinic1) == before


def test_a_second_resend_before_the_first_goes_out_is_refused_and_defers_nothing(
    client, clinic1, tokens
):
    with tenant_context(clinic1):
        patient = PatientFactory()
        notification = _notification(patient, _appointment(patient), status="FAILED")
    first = ask(client, RESEND, tokens["ADMIN"], id=gid(notification))
    assert first["data"]["resendNotification"]["status"] == "SCHEDULED"
    before = _state(clinic1)
    second = ask(client, RESEND, tokens["RECEPTIONIST"], id=gid(notification))
    assert operation_codes(second["data"]["resendNotification"]) == ["NOT_RESENDABLE"]
    assert _state(clinic1) == before  # the job count included


def test_handling_an_inbox_message_twice_keeps_the_first_handler(
    client, clinic1, tokens, clinic1_admin
):
    with tenant_context(clinic1):
        message = InboxMessage.objects.create(channel="SMS", sender="+51911111111", body="Hola")
    ask(client, HANDLE, tokens["ADMIN"], id=gid(message))
    before = _state(clinic1)
    again = ask(client, HANDLE, tokens["RECEPTIONIST"], id=gid(message))
    assert again["data"]["markInboxMessageHandled"]["handledBy"] == {
        "fullName": clinic1_admin.full_name
    }
    assert _state(clinic1) == before
