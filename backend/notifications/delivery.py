"""Planning, sending and answering messages.

Planning runs inside the scheduling service's transaction (``hooks``); sending is a job
(``tasks.send_notification``) deferred in the same transaction as the row it sends.

**The at-least-once window.** Jobs are delivered at least once (a killed worker's job runs
again). A message is sent in three steps: (1) in one transaction the row is locked, checked
(due, consent, appointment still active, the plan's quota reserved), rendered and marked
``SENDING``, and that is COMMITTED; (2) the provider is called, outside any transaction;
(3) in a second transaction the outcome is recorded (``SENT`` with the provider's id, or
``FAILED``, or back to ``SCHEDULED`` for a retry when the provider was unreachable). A worker
killed between (2) and (3) leaves a visible ``SENDING`` row. The job that runs again finds
that row ``SENDING`` and does NOT send it again (the provider may have accepted it): it marks
it ``FAILED`` with ``PROVIDER_UNAVAILABLE`` and a reason saying the outcome is unknown, which
staff see and may resend. So a crash can cost one message, visibly, never a silent double send;
the window is one provider call (``MESSAGING_TIMEOUT_SECONDS`` at most). A provider call that
times out after the provider accepted the message is retried as an outage: that one can arrive
twice (README, "The at-least-once window")."""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.audit.services import audit_record
from backend.clinic_admin.selectors import clinic_profile_get
from backend.notifications import channels, rendering, selectors
from backend.notifications.errors import NotificationError
from backend.notifications.models import (
    METERED_CHANNELS,
    PENDING_STATUSES,
    Channel,
    ContactPreference,
    InboxMessage,
    MessageUsage,
    MessagingSettings,
    Notification,
    NotificationKind,
    NotificationRule,
    NotificationStatus,
)
from backend.patients.models import Patient
from backend.scheduling.hooks import AppointmentEvent
from backend.scheduling.models import INACTIVE_STATUSES, Appointment, AppointmentStatus
from tenants_core.context import current_clinic, current_timezone

logger = logging.getLogger(__name__)

S = NotificationStatus
CODE = NotificationKind.VERIFICATION_CODE
# What a sent one-time code becomes in the stored message, in live mode: staff read message
# bodies, and must never be able to read a patient's code and pass for them.
CODE_MASK = "••••••"
# A code that could not go out within this time is not sent at all: it has expired (or will
# have by the time it arrives), and the patient asks for a new one.
CODE_MAX_AGE = dt.timedelta(minutes=15)
UNKNOWN_OUTCOME_REASON = (
    "The worker stopped while handing the message to the provider: it may or may not have "
    "been sent."
)


def _now() -> dt.datetime:
    """The planning clock (a function, so that tests can set it)."""
    return timezone.now()


# --- quiet hours -----------------------------------------------------------------------------


def quiet_hours_apply(
    moment: dt.datetime, quiet_start: dt.time, quiet_end: dt.time, zone: ZoneInfo
) -> dt.datetime:
    """``moment``, or the next ``quiet_end`` (clinic time) when it falls in
    ``[quiet_start, quiet_end)``; the window may cross midnight (21:00 → 08:00)."""
    local = moment.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    if quiet_start < quiet_end:
        quiet, day = quiet_start <= clock < quiet_end, local.date()
    else:  # crosses midnight
        quiet = clock >= quiet_start or clock < quiet_end
        day = local.date() + dt.timedelta(days=1) if clock >= quiet_start else local.date()
    if not quiet:
        return moment
    return dt.datetime.combine(day, quiet_end, tzinfo=zone).astimezone(dt.UTC)


# --- planning --------------------------------------------------------------------------------


def _allowed_channels(
    patient: Patient,
    order: list[str],
    preference: ContactPreference | None,
    available: frozenset[str],
) -> list[str]:
    return [
        channel
        for channel in order
        if channel in available and selectors.patient_can_receive(patient, channel, preference)
    ]


def _send_time(
    rule: NotificationRule, starts_at: dt.datetime, row: MessagingSettings, now: dt.datetime
) -> dt.datetime | None:
    """When ``rule``'s message for an appointment at ``starts_at`` goes out; None: not at all."""
    moment = starts_at - dt.timedelta(minutes=rule.minutes_before)
    if moment < now:
        if rule.kind != NotificationKind.CONFIRMATION_REQUEST:
            return None  # a reminder that is already late is not worth sending
        moment = now
    moment = quiet_hours_apply(moment, row.quiet_start, row.quiet_end, current_timezone())
    return moment if moment < starts_at else None


_INSERT_PLANNED = """
INSERT INTO notifications_notification
    (kind, channel, status, patient_id, appointment_id, rule_id, send_at, recipient, subject,
     body, provider_message_id, failure_code, failure_reason, attempts, created_at, updated_at)
SELECT v.kind, v.channel, 'SCHEDULED', %s, %s, v.rule_id, v.send_at, '', '', '', '', '', '',
       0, %s, %s
FROM unnest(%s::varchar[], %s::varchar[], %s::bigint[], %s::timestamptz[])
    AS v(kind, channel, rule_id, send_at)
ON CONFLICT (appointment_id, rule_id, channel)
    WHERE appointment_id IS NOT NULL AND rule_id IS NOT NULL
DO NOTHING
RETURNING id, send_at
"""
# After a reschedule, a rule whose message was already sent, failed or cancelled is asked
# again for the new time: its row on the chosen channel starts over (one that a worker is
# sending right now is left alone).
_REARM = _INSERT_PLANNED.replace(
    "DO NOTHING",
    """DO UPDATE SET status = 'SCHEDULED', send_at = EXCLUDED.send_at, recipient = '',
    subject = '', body = '', provider_message_id = '', failure_code = '', failure_reason = '',
    attempts = 0, sent_at = NULL, delivered_at = NULL, read_at = NULL,
    updated_at = EXCLUDED.updated_at
    WHERE notifications_notification.status <> 'SENDING'""",
)


def _insert_planned(
    *,
    patient_id: int,
    appointment_id: int,
    planned: list[tuple[str, str, int, dt.datetime]],
    rearm: bool = False,
) -> list[tuple[int, dt.datetime]]:
    """Insert (kind, channel, rule id, send_at) rows in one statement; a row that exists
    already (the unique constraint: a concurrent or repeated planning) is left alone, or with
    ``rearm`` scheduled again from scratch unless it is being sent."""
    if not planned:
        return []
    now = timezone.now()
    kinds, chans, rules, times = (list(column) for column in zip(*planned, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            _REARM if rearm else _INSERT_PLANNED,
            [patient_id, appointment_id, now, now, kinds, chans, rules, times],
        )
        return [(row[0], row[1]) for row in cursor.fetchall()]


def _defer(rows: list[tuple[int, dt.datetime]]) -> None:
    from backend.notifications import tasks  # tasks imports this module

    tasks.send_notifications_defer(rows)


def appointment_messages_plan(appointment: Appointment, event: AppointmentEvent) -> None:
    """Schedule, move or cancel ``appointment``'s messages to match its new state (the
    scheduling hook; runs in the booking's transaction). A fixed number of statements,
    whatever the number of rules and channels."""
    now = _now()
    pending = Notification.objects.filter(
        appointment_id=appointment.pk, status__in=PENDING_STATUSES
    )
    if event == AppointmentEvent.STATUS_CHANGED:
        if appointment.status in INACTIVE_STATUSES:
            pending.update(status=S.CANCELLED, updated_at=now)
        elif appointment.status == AppointmentStatus.CONFIRMED:
            pending.filter(kind=NotificationKind.CONFIRMATION_REQUEST).update(
                status=S.CANCELLED, updated_at=now
            )
        return
    if not appointment.is_active:
        return
    row = selectors.messaging_settings()
    if not row.enabled:
        return
    rules = list(NotificationRule.objects.filter(is_active=True))
    wanted = {rule.pk: (rule, _send_time(rule, appointment.starts_at, row, now)) for rule in rules}
    to_defer: list[tuple[int, dt.datetime]] = []
    have_rows: set[int] = set()
    finished: set[int] = set()  # rules whose message went out (or failed) for the old time
    if event == AppointmentEvent.RESCHEDULED:
        existing = list(
            Notification.objects.filter(appointment_id=appointment.pk, rule__isnull=False)
            .select_for_update()
            .only("id", "rule_id", "status", "send_at")
        )
        moved, dropped = [], []
        for notification in existing:
            assert notification.rule_id is not None
            if notification.status == S.SENDING:
                have_rows.add(notification.rule_id)
                continue
            if notification.status not in PENDING_STATUSES:
                finished.add(notification.rule_id)
                continue
            have_rows.add(notification.rule_id)
            _rule, send_at = wanted.get(notification.rule_id, (None, None))
            if send_at is None:
                dropped.append(notification.pk)
            else:
                notification.send_at, notification.status = send_at, S.SCHEDULED
                notification.failure_code = notification.failure_reason = ""
                notification.updated_at = now
                moved.append(notification)
                to_defer.append((notification.pk, send_at))
        if moved:
            Notification.objects.bulk_update(
                moved, ["send_at", "status", "failure_code", "failure_reason", "updated_at"]
            )
        if dropped:
            Notification.objects.filter(pk__in=dropped).update(status=S.CANCELLED, updated_at=now)
    missing = [
        (rule, send_at)
        for rule, send_at in wanted.values()
        if send_at is not None and rule.pk not in have_rows
    ]
    rearmed = {rule.pk for rule, _send_at in missing if rule.pk in finished}
    if missing:
        patient = appointment.patient
        allowed = _allowed_channels(
            patient,
            row.channel_order,
            selectors.contact_preference(patient.pk),
            selectors.sending_channels(),
        )
        if allowed:
            planned = [(rule.kind, allowed[0], rule.pk, send_at) for rule, send_at in missing]
            for rearm in (False, True):
                part = [p for p in planned if (p[2] in rearmed) == rearm]
                if part:
                    to_defer += _insert_planned(
                        patient_id=patient.pk,
                        appointment_id=appointment.pk,
                        planned=part,
                        rearm=rearm,
                    )
    _defer(to_defer)


def _plan_fallback(notification: Notification, now: dt.datetime) -> Notification | None:
    """After a provider refused ``notification``, the same rule on the next channel the
    patient can receive, as a new row (deferred in this transaction)."""
    if notification.rule_id is None or notification.appointment_id is None:
        return None
    appointment = notification.appointment
    assert appointment is not None
    row = selectors.messaging_settings()
    order = list(row.channel_order)
    later = order[order.index(notification.channel) + 1 :] if notification.channel in order else []
    allowed = _allowed_channels(
        notification.patient,
        later,
        selectors.contact_preference(notification.patient_id),
        selectors.sending_channels(),
    )
    send_at = quiet_hours_apply(now, row.quiet_start, row.quiet_end, current_timezone())
    if not allowed or send_at >= appointment.starts_at or not appointment.is_active:
        return None
    rows = _insert_planned(
        patient_id=notification.patient_id,
        appointment_id=appointment.pk,
        planned=[(notification.kind, allowed[0], notification.rule_id, send_at)],
    )
    _defer(rows)
    return Notification.objects.get(pk=rows[0][0]) if rows else None


# --- sending ---------------------------------------------------------------------------------


def _month_of(moment: dt.datetime) -> dt.date:
    return moment.astimezone(current_timezone()).date().replace(day=1)


def _usage_locked(month: dt.date) -> MessageUsage:
    """This month's counter, locked; created on first use without a race (ON CONFLICT)."""
    MessageUsage.objects.bulk_create([MessageUsage(month=month)], ignore_conflicts=True)
    return MessageUsage.objects.select_for_update().get(month=month)


def _usage_add(channel: str, moment: dt.datetime, delta: int) -> None:
    usage = _usage_locked(_month_of(moment))
    field = channel.lower()
    setattr(usage, field, max(getattr(usage, field) + delta, 0))
    usage.save(update_fields=[field])


def _recipient(patient: Patient, channel: str) -> str:
    return patient.email if channel == Channel.EMAIL else patient.phone


def message_values(notification: Notification) -> dict[str, str]:
    """What the placeholders become: the clinic, the date and time in its zone, the
    professional, the address, the link. Never the appointment's reason, notes or any
    clinical field."""
    clinic = current_clinic()
    zone = clinic.timezone or str(current_timezone())
    profile = clinic_profile_get()
    values = {
        "patient_first_name": notification.patient.first_name,
        "clinic_name": clinic.name,
        "clinic_phone": profile.phone,
        "address": profile.address_text,
    }
    appointment = notification.appointment
    if appointment is not None:
        domain = clinic.get_primary_domain()
        values.update(
            date=rendering.spanish_date(appointment.starts_at, zone),
            time=rendering.spanish_time(appointment.starts_at, zone),
            professional=appointment.professional.full_name,
            link=(links_url(domain.domain, appointment.pk, notification.pk) if domain else ""),
        )
    if notification.kind == CODE:
        values["code"] = notification.one_time_code
    if notification.recall_rule_id is not None:
        recall = notification.recall_rule
        assert recall is not None
        values.update(procedure=recall.procedure.name, months=str(recall.months))
    return values


def links_url(domain: str, appointment_id: int, notification_id: int) -> str:
    from backend.notifications import links

    return links.link_url(
        domain=domain, appointment_id=appointment_id, notification_id=notification_id
    )


def _appointment_ics(appointment: Appointment | None) -> bytes | None:
    if appointment is None:
        return None
    try:  # part of issue 15 that may land later
        from backend.notifications import calendar  # type: ignore[attr-defined,unused-ignore]

        return calendar.appointment_ics(appointment)  # type: ignore[no-any-return,unused-ignore]
    except (ImportError, AttributeError):
        return None


def _outgoing(notification: Notification) -> channels.OutgoingMessage | None:
    template = selectors.template_for(notification.kind, notification.channel)
    if template is None:
        return None
    values = message_values(notification)
    body = rendering.render(template.body, values)
    subject = rendering.render(template.subject, values) if template.subject else ""
    whatsapp_parameters: list[str] = []
    if notification.channel == Channel.WHATSAPP:
        whatsapp_parameters = [
            values.get(name, "") for name in rendering.placeholders_in(template.body)
        ]
    return channels.OutgoingMessage(
        channel=notification.channel,
        recipient=notification.recipient,
        body=body,
        subject=subject,
        sender=selectors.sender_for(notification.channel),
        whatsapp_template_name=template.whatsapp_template_name,
        whatsapp_parameters=whatsapp_parameters,
        # An authentication template's copy-code button takes the code as its parameter.
        whatsapp_button_code=notification.one_time_code
        if notification.channel == Channel.WHATSAPP and notification.kind == CODE
        else "",
        ics=_appointment_ics(notification.appointment)
        if notification.channel == Channel.EMAIL
        else None,
        reference=f"{current_clinic().schema_name}:{notification.pk}",
    )


def _code_hide(notification: Notification, *, keep: bool) -> list[str]:
    """A one-time code's message leaving ``SENDING`` (or never sent): in live mode the code
    is masked wherever it was written (the development outbox keeps it readable, which is how
    a developer signs in); unless ``keep`` (a retry renders it again) the code is forgotten.
    The fields changed."""
    code = notification.one_time_code
    if notification.kind != CODE or not code:
        return []
    if settings.MESSAGING_BACKEND != "outbox":
        notification.body = notification.body.replace(code, CODE_MASK)
        notification.subject = notification.subject.replace(code, CODE_MASK)
        notification.failure_reason = notification.failure_reason.replace(code, CODE_MASK)
    if not keep:
        notification.one_time_code = ""
    return ["body", "subject", "failure_reason", "one_time_code"]


def _finish(notification: Notification, status: str, code: str = "", reason: str = "") -> None:
    notification.status = status
    notification.failure_code = code
    notification.failure_reason = reason[:500]
    notification.updated_at = timezone.now()
    hidden = _code_hide(notification, keep=status == S.SCHEDULED)
    notification.save(
        update_fields=list(
            dict.fromkeys(["status", "failure_code", "failure_reason", "updated_at", *hidden])
        )
    )


def _prepare(
    notification_id: int, now: dt.datetime, attempt: int
) -> tuple[Notification, channels.OutgoingMessage] | None:
    """Step 1 (its own transaction): lock, check, reserve quota, render, mark SENDING."""
    notification = (
        Notification.objects.select_for_update(of=("self",))
        .select_related("patient", "appointment__professional", "recall_rule__procedure")
        .filter(pk=notification_id)
        .first()
    )
    if notification is None:
        return None
    if notification.status == S.SENDING:
        _finish(notification, S.FAILED, NotificationError.PROVIDER_UNAVAILABLE,
                UNKNOWN_OUTCOME_REASON)  # fmt: skip
        logger.warning(
            "Notification %s found SENDING: outcome unknown, not resent.", notification_id
        )
        return None
    if notification.status != S.SCHEDULED or notification.send_at > now:
        return None  # moved, cancelled, or sent already: another job owns it
    appointment = notification.appointment
    if appointment is not None and (not appointment.is_active or appointment.starts_at <= now):
        _finish(notification, S.CANCELLED)
        return None
    # A code the patient just asked for goes whatever the reminders' switch and opt-out say;
    # one that waited too long (an outage, retries) has expired and does not go at all.
    asked_for = notification.kind == CODE
    if asked_for and now - notification.created_at > CODE_MAX_AGE:
        _finish(notification, S.CANCELLED)
        return None
    if not asked_for and not selectors.messaging_settings().enabled:
        _finish(notification, S.CANCELLED)
        return None
    patient = notification.patient
    preference = selectors.contact_preference(patient.pk)
    if not asked_for and preference is not None and not preference.allows(notification.channel):
        _finish(notification, S.SKIPPED, NotificationError.OPTED_OUT,
                _("The patient does not accept messages on this channel."))  # fmt: skip
        return None
    recipient = _recipient(patient, notification.channel)
    if not recipient or patient.is_archived:
        _finish(notification, S.SKIPPED, NotificationError.NO_CONTACT,
                _("The patient has no contact for this channel."))  # fmt: skip
        return None
    if notification.channel in METERED_CHANNELS:
        usage = _usage_locked(_month_of(now))
        if usage.metered >= current_clinic().max_monthly_messages:
            # A held code would be worthless by the time the quota allows it: it fails.
            _finish(notification, S.FAILED if asked_for else S.HELD,
                    NotificationError.PLAN_LIMIT_REACHED,
                    _("The plan's monthly message quota is used up."))  # fmt: skip
            return None
    notification.recipient = recipient
    message = _outgoing(notification)
    if message is None:
        _finish(notification, S.FAILED, NotificationError.INVALID_TEMPLATE,
                _("The clinic has no template for this message."))  # fmt: skip
        return None
    _usage_add(notification.channel, now, 1)  # reserved now: concurrent workers never overshoot
    notification.subject, notification.body = message.subject, message.body
    notification.status, notification.attempts = S.SENDING, max(attempt, notification.attempts + 1)
    notification.failure_code = notification.failure_reason = ""
    notification.updated_at = timezone.now()
    notification.save()
    return notification, message


def notification_send(
    *,
    notification_id: int,
    now: dt.datetime | None = None,
    attempt: int = 1,
    final_attempt: bool = True,
) -> None:
    """The job: send one due notification (locks it; does nothing if it is no longer due).

    ``attempt``/``final_attempt`` come from the job (``tasks.send_notification``): when the
    provider is unreachable, ``ProviderUnavailable`` is re-raised so that the job retries with
    backoff, except on the final attempt, which marks the message ``FAILED``. Called with the
    connection on the clinic's schema and no transaction open (or inside a test's)."""
    now = now or timezone.now()
    with transaction.atomic():
        prepared = _prepare(notification_id, now, attempt)
    if prepared is None:
        return
    notification, message = prepared
    try:
        provider_id = channels.send(message)
    except channels.ProviderRejected as error:
        with transaction.atomic():
            notification = _relock(notification_id)
            _usage_add(notification.channel, now, -1)
            _finish(notification, S.FAILED, error.code or NotificationError.PROVIDER_REJECTED,
                    error.reason)  # fmt: skip
            _plan_fallback(notification, now)
        return
    except channels.ProviderUnavailable as error:
        with transaction.atomic():
            notification = _relock(notification_id)
            _usage_add(notification.channel, now, -1)
            if final_attempt:
                _finish(notification, S.FAILED, NotificationError.PROVIDER_UNAVAILABLE,
                        str(error) or _("The provider could not be reached."))  # fmt: skip
            else:
                _finish(notification, S.SCHEDULED, NotificationError.PROVIDER_UNAVAILABLE,
                        str(error))  # fmt: skip
        if final_attempt:
            return
        raise
    with transaction.atomic():
        notification = _relock(notification_id)
        notification.status = S.SENT
        notification.provider_message_id = provider_id
        notification.sent_at = timezone.now()
        notification.updated_at = notification.sent_at
        hidden = _code_hide(notification, keep=False)
        notification.save(
            update_fields=["status", "provider_message_id", "sent_at", "updated_at", *hidden]
        )


def _relock(notification_id: int) -> Notification:
    return (
        Notification.objects.select_for_update(of=("self",))
        .select_related("patient", "appointment")
        .get(pk=notification_id)
    )


# --- delivery reports ------------------------------------------------------------------------

_PROGRESS = {S.SENDING: 0, S.SENT: 1, S.DELIVERED: 2, S.READ: 3}


def notification_status_record(
    *,
    channel: str,
    provider_message_id: str,
    status: str,
    error_code: str = "",
    error_reason: str = "",
    at: dt.datetime | None = None,
) -> Notification | None:
    """A provider's delivery report (sent, delivered, read, failed) for one of our messages;
    None when the id is not ours. Never moves a status backwards (READ stays READ). A failure
    plans the same message on the patient's next channel."""
    if not provider_message_id:
        return None
    at = at or timezone.now()
    status = status.upper()
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update()
            .filter(channel=channel, provider_message_id=provider_message_id)
            .first()
        )
        if notification is None:
            return None
        current = _PROGRESS.get(S(notification.status))
        if current is None:  # FAILED, CANCELLED…: final
            return notification
        if status == S.FAILED:
            if notification.status in (S.SENDING, S.SENT):
                notification.failure_code = (error_code or NotificationError.PROVIDER_REJECTED)[:32]
                notification.failure_reason = error_reason[:500]
                notification.status = S.FAILED
                # Accepted, then undeliverable (WhatsApp reports most failures this way, not
                # in its answer): the next channel, as for an immediate refusal.
                _plan_fallback(notification, _now())
        elif status in _PROGRESS and _PROGRESS[S(status)] > current:
            notification.status = status
            if status in (S.DELIVERED, S.READ) and notification.delivered_at is None:
                notification.delivered_at = at
            if status == S.READ:
                notification.read_at = at
        else:
            return notification
        notification.updated_at = timezone.now()
        notification.save()
        return notification


# --- replies ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboundOutcome:
    # "confirmed", "cancelled", "opted_out", "inbox", "ignored", or a registered handler's
    # own ("assistant")
    action: str
    appointment_id: int | None = None
    inbox_message_id: int | None = None


class InboundHandler(Protocol):
    """Takes a patient's WhatsApp message that no reply rule understood (the assistant
    registers one: this app may not import it). Runs in the webhook's transaction; returns
    None to leave the message to the staff's inbox."""

    def __call__(
        self,
        *,
        channel: str,
        sender: str,  # E.164
        body: str,
        patient: Patient | None,  # the patient this phone is on file for (None: unknown)
        in_reply_to: Notification | None,  # the message of ours it answers, if any
        reminder_appointment_id: int | None,  # that message's appointment
        provider_message_id: str,
        now: dt.datetime,
    ) -> InboundOutcome | None: ...


# "Does ``sender`` have a conversation that spoke after ``since``?" A bare "1" or "sí" then
# answers that conversation (its numbered options, its question) rather than an older
# confirmation request, unless the patient quoted the request itself.
InboundClaim = Callable[..., bool]

# Process-wide, and holding no clinic's data: functions, registered once from ``ready()``.
_inbound_handlers: list[tuple[InboundHandler, InboundClaim | None]] = []
# Channels whose unmatched messages a handler may take: WhatsApp only (SMS and email replies
# go to the inbox, as before: nothing would answer them within their session).
HANDLED_CHANNELS = frozenset({Channel.WHATSAPP.value})


def inbound_handler_register(fn: InboundHandler, *, claims: InboundClaim | None = None) -> None:
    """Offer ``fn`` every WhatsApp message that today goes to the inbox (first registered,
    first asked; registering the same function again does nothing). ``claims(channel=,
    sender=, since=)``: see ``InboundClaim``."""
    if all(registered is not fn for registered, _claims in _inbound_handlers):
        _inbound_handlers.append((fn, claims))


def inbound_handler_unregister(fn: InboundHandler) -> None:
    _inbound_handlers[:] = [entry for entry in _inbound_handlers if entry[0] is not fn]


def _claimed(channel: str, sender: str, since: dt.datetime | None) -> bool:
    if channel not in HANDLED_CHANNELS or since is None:
        return False
    return any(
        claims is not None and claims(channel=channel, sender=sender, since=since)
        for _fn, claims in _inbound_handlers
    )


def _to_handler(
    *,
    channel: str,
    sender: str,
    body: str,
    patient: Patient | None,
    in_reply_to: Notification | None,
    provider_message_id: str,
    now: dt.datetime,
) -> InboundOutcome | None:
    if channel not in HANDLED_CHANNELS:
        return None
    for fn, _claims in list(_inbound_handlers):
        try:
            with transaction.atomic():  # a handler that fails leaves nothing half-written
                outcome = fn(
                    channel=channel,
                    sender=sender,
                    body=body,
                    patient=patient,
                    in_reply_to=in_reply_to,
                    reminder_appointment_id=in_reply_to.appointment_id if in_reply_to else None,
                    provider_message_id=provider_message_id,
                    now=now,
                )
        except Exception:
            # The patient's message is never lost to a bug in a handler: the inbox keeps it.
            # (The message itself is not logged: it may carry a code or health details.)
            logger.exception("Inbound handler %r failed; the message goes to the inbox.", fn)
            continue
        if outcome is not None:
            return outcome
    return None


CONFIRM_WORDS = frozenset({"1", "si", "confirmo", "confirmar", "ok", "confirmado"})
CANCEL_WORDS = frozenset({"2", "no", "cancelar", "cancelo"})
OPT_OUT_WORDS = frozenset({"baja", "stop"})
# "BAJA" or "STOP" in a short reply ("STOP por favor", "no, baja") opts out; in a longer message
# it is a word like any other ("la hinchazón no baja, ¿es normal?" is a question for the
# staff's inbox), unless the patient asks for it in so many words ("quiero darme de baja").
OPT_OUT_MAX_WORDS = 3
OPT_OUT_PHRASES = ("dar de baja", "darme de baja", "denme de baja", "darse de baja")


def reply_words(text: str) -> str:
    """Lower case, no accents, no punctuation, single spaces: " ¡Sí! " → "si"."""
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(char for char in text if not unicodedata.combining(char)).lower()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def reply_intent(text: str) -> str:
    """ "opt_out", "confirm", "cancel" or "" (anything else)."""
    words = reply_words(text)
    tokens = words.split()
    if (OPT_OUT_WORDS & set(tokens) and len(tokens) <= OPT_OUT_MAX_WORDS) or any(
        phrase in words for phrase in OPT_OUT_PHRASES
    ):
        return "opt_out"
    if words in CONFIRM_WORDS:
        return "confirm"
    if words in CANCEL_WORDS:
        return "cancel"
    return ""


def _sender_key(channel: str, sender: str) -> str:
    sender = (sender or "").strip()
    if channel == Channel.EMAIL:
        return sender.lower()
    try:
        number = phonenumbers.parse(sender if sender.startswith("+") else f"+{sender}", None)
    except phonenumbers.NumberParseException:
        return sender
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _patients_for(channel: str, sender: str) -> list[Patient]:
    if not sender:
        return []
    lookup = Q(email__iexact=sender) if channel == Channel.EMAIL else Q(phone=sender)
    return list(Patient.objects.filter(lookup).order_by("-id"))


def _answered_notification(
    channel: str, patients: list[Patient], in_reply_to: str, now: dt.datetime
) -> Notification | None:
    """The confirmation request a reply answers: the one it quotes, else the latest sent to
    one of ``patients`` for an upcoming active appointment."""
    ids = [patient.pk for patient in patients]
    requests = Notification.objects.filter(patient_id__in=ids).select_related("appointment")
    if in_reply_to:
        quoted = requests.filter(channel=channel, provider_message_id=in_reply_to).first()
        if quoted is not None:
            return quoted
    return (
        requests.filter(
            kind=NotificationKind.CONFIRMATION_REQUEST,
            status__in=(S.SENT, S.DELIVERED, S.READ),
            appointment__starts_at__gt=now,
        )
        .exclude(appointment__status__in=INACTIVE_STATUSES)
        .order_by("-sent_at", "-id")
        .first()
    )


def _opt_out(channel: str, patients: list[Patient], now: dt.datetime) -> None:
    ids = [patient.pk for patient in patients]
    existing = {
        pref.patient_id: pref for pref in ContactPreference.objects.filter(patient_id__in=ids)
    }
    for patient in patients:
        preference = existing.get(patient.pk) or ContactPreference(patient=patient)
        if preference.opted_out_at is None:
            preference.opted_out_at, preference.opt_out_source = now, channel
            preference.updated_at = now
            preference.save()
    cancelled = Notification.objects.filter(patient_id__in=ids, status__in=PENDING_STATUSES).update(
        status=S.CANCELLED, updated_at=now
    )
    for patient in patients:
        audit_record(
            actor=None,
            actor_email=f"patient:{patient.pk}",
            action="notifications.opt_out",
            entity=patient,
            changes={"via": channel, "pending_cancelled": cancelled},
        )


def _to_inbox(
    *,
    channel: str,
    sender: str,
    body: str,
    patient: Patient | None,
    in_reply_to: Notification | None,
    provider_message_id: str,
    now: dt.datetime,
) -> InboundOutcome:
    message = InboxMessage.objects.create(
        channel=channel,
        sender=sender,
        patient=patient,
        in_reply_to=in_reply_to,
        body=body,
        provider_message_id=provider_message_id[:128],
        received_at=now,
    )
    audit_record(
        actor=None,
        actor_email=f"patient:{patient.pk}" if patient else sender,
        action="notifications.inbox_receive",
        entity=message,
        changes={"channel": channel, "patient_id": patient.pk if patient else None},
    )
    return InboundOutcome("inbox", inbox_message_id=message.pk)


@transaction.atomic
def inbound_message_receive(
    *,
    channel: str,
    sender: str,
    body: str,
    provider_message_id: str = "",
    in_reply_to_provider_id: str = "",
    button_payload: str = "",
    now: dt.datetime | None = None,
) -> InboundOutcome:
    """A patient's message (``sender``: E.164 phone or email): confirm, cancel, opt out
    ("BAJA", "STOP"); on WhatsApp anything else goes to the registered handler (the
    assistant), else, and on the other channels, to the staff inbox. ``button_payload``: a
    quick-reply button's payload, which our templates set to the answer itself ("1" or "2");
    it wins over the text."""
    from backend.scheduling.services import appointment_patient_respond

    now = now or timezone.now()
    sender = _sender_key(channel, sender)
    patients = _patients_for(channel, sender)
    intent = reply_intent(body)
    if button_payload and intent != "opt_out":
        intent = reply_intent(button_payload) or intent
    if intent == "opt_out" and patients:
        _opt_out(channel, patients, now)
        return InboundOutcome("opted_out")
    answered = (
        _answered_notification(channel, patients, in_reply_to_provider_id, now)
        if patients
        else None
    )
    patient = answered.patient if answered is not None else (patients[0] if patients else None)
    appointment = answered.appointment if answered is not None else None
    quoted = bool(in_reply_to_provider_id) and (
        answered is not None and answered.provider_message_id == in_reply_to_provider_id
    )
    if (
        intent in ("confirm", "cancel")
        and appointment is not None
        and (quoted or not _claimed(channel, sender, answered.sent_at if answered else None))
    ):
        label = str(Channel(channel).label) if channel in Channel.values else channel
        try:
            with transaction.atomic():
                appointment_patient_respond(
                    appointment=appointment,
                    confirm=intent == "confirm",
                    via=channel.lower(),
                    reason=""
                    if intent == "confirm"
                    else _("Cancelled by the patient via %(channel)s") % {"channel": label},
                    now=now,
                )
        except ValidationError:
            pass  # too late, or already cancelled: staff read it in the inbox
        else:
            action = "confirmed" if intent == "confirm" else "cancelled"
            return InboundOutcome(action, appointment_id=appointment.pk)
    handled = _to_handler(
        channel=channel,
        sender=sender,
        body=body,
        patient=patient,
        in_reply_to=answered,
        provider_message_id=provider_message_id,
        now=now,
    )
    if handled is not None:
        return handled
    return _to_inbox(
        channel=channel,
        sender=sender,
        body=body,
        patient=patient,
        in_reply_to=answered,
        provider_message_id=provider_message_id,
        now=now,
    )


# --- recall ----------------------------------------------------------------------------------

_RECALL_SQL = """
WITH last_done AS (
    SELECT pp.patient_id, r.id AS rule_id,
           (max(pp.performed_at) AT TIME ZONE %(zone)s)::date AS last_on, r.months
    FROM treatments_performedprocedure pp
    JOIN notifications_recallrule r ON r.procedure_id = pp.procedure_id AND r.is_active
    GROUP BY pp.patient_id, r.id, r.months
), due AS (
    SELECT l.patient_id, l.rule_id,
           (l.last_on + make_interval(months => l.months))::date AS due_on
    FROM last_done l
    WHERE (l.last_on + make_interval(months => l.months))::date <= %(today)s
)
INSERT INTO notifications_notification
    (kind, channel, status, patient_id, appointment_id, rule_id, recall_rule_id, recall_due_on,
     send_at, recipient, subject, body, provider_message_id, failure_code, failure_reason,
     attempts, created_at, updated_at)
SELECT 'RECALL', c.channel, 'SCHEDULED', p.id, NULL, NULL, d.rule_id, d.due_on,
       %(send_at)s, '', '', '', '', '', '', 0, %(now)s, %(now)s
FROM due d
JOIN patients_patient p ON p.id = d.patient_id AND NOT p.is_archived
LEFT JOIN notifications_contactpreference cp ON cp.patient_id = p.id
CROSS JOIN LATERAL (SELECT {channel_case} AS channel) c
WHERE c.channel IS NOT NULL
  AND cp.opted_out_at IS NULL
  AND NOT EXISTS (
      SELECT 1 FROM scheduling_appointment a
      WHERE a.patient_id = p.id AND a.starts_at > %(now)s
        AND a.status NOT IN %(inactive)s)
ON CONFLICT (patient_id, recall_rule_id, recall_due_on) WHERE recall_rule_id IS NOT NULL
DO NOTHING
RETURNING id, send_at
"""

_CHANNEL_TEST = {
    Channel.WHATSAPP: "p.phone <> '' AND coalesce(cp.whatsapp, true)",
    Channel.SMS: "p.phone <> '' AND coalesce(cp.sms, true)",
    Channel.EMAIL: "p.email <> '' AND coalesce(cp.email, true)",
}


def recall_plan(*, today: dt.date | None = None, now: dt.datetime | None = None) -> int:
    """The periodic job: plan recall messages due today; how many. Set-based: one statement
    plans every patient of every rule, one more defers their jobs."""
    now = now or timezone.now()
    zone = current_timezone()
    today = today or now.astimezone(zone).date()
    row = selectors.messaging_settings()
    if not (row.enabled and row.recall_enabled):
        return 0
    available = selectors.sending_channels()
    order = [channel for channel in row.channel_order if channel in available]
    if not order:
        return 0
    channel_case = (
        "CASE "
        + " ".join(f"WHEN {_CHANNEL_TEST[Channel(c)]} THEN '{Channel(c).value}'" for c in order)
        + " END"
    )
    send_at = quiet_hours_apply(now, row.quiet_start, row.quiet_end, zone)
    params: dict[str, Any] = {
        "zone": str(zone),
        "today": today,
        "send_at": send_at,
        "now": now,
        "inactive": tuple(str(status) for status in INACTIVE_STATUSES),
    }
    with connection.cursor() as cursor:
        cursor.execute(_RECALL_SQL.format(channel_case=channel_case), params)
        rows = [(r[0], r[1]) for r in cursor.fetchall()]
    _defer(rows)
    return len(rows)
