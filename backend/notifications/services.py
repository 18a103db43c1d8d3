"""Staff-facing writes of patient messaging: settings and rules, templates, contact
preferences, resending, the inbox. Each is atomic and audited; bad input is a coded
``ValidationError`` and changes nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.audit.services import assign, audit_record
from backend.clinic_admin.selectors import clinic_profile_get
from backend.core.changes import diff
from backend.jobs.runtime import clinic_job
from backend.notifications import rendering
from backend.notifications.codes import masked_destination as masked_destination
from backend.notifications.codes import verification_code_send as verification_code_send
from backend.notifications.errors import NotificationError
from backend.notifications.models import (
    Channel,
    ContactPreference,
    InboxMessage,
    MessageTemplate,
    MessagingSettings,
    Notification,
    NotificationKind,
    NotificationRule,
    NotificationStatus,
    RecallRule,
)
from backend.patients.models import Patient
from backend.treatments.models import Procedure

MAX_MINUTES_BEFORE = 60 * 24 * 30
RULE_KINDS = (NotificationKind.CONFIRMATION_REQUEST.value, NotificationKind.REMINDER.value)
# A message that went out, failed or was held may be tried again; CANCELLED (the appointment
# moved away) may not, nor may anything still waiting or on its way.
RESENDABLE = frozenset(
    {
        NotificationStatus.FAILED,
        NotificationStatus.SKIPPED,
        NotificationStatus.HELD,
        NotificationStatus.SENT,
        NotificationStatus.DELIVERED,
        NotificationStatus.READ,
    }
)


def messaging_settings_get() -> MessagingSettings:
    """The clinic's messaging settings (migration 0002 creates the row; without it, the
    defaults, unsaved: a read writes nothing)."""
    try:
        return MessagingSettings.objects.get(pk=1)
    except MessagingSettings.DoesNotExist:
        return MessagingSettings(pk=1)


@transaction.atomic
def messaging_settings_update(
    *,
    actor: User,
    enabled: bool | None = None,
    channel_order: list[str] | None = None,
    quiet_start: dt.time | None = None,
    quiet_end: dt.time | None = None,
    recall_enabled: bool | None = None,
) -> MessagingSettings:
    """Change the messaging switches; a value left out (None) is kept."""
    MessagingSettings.objects.get_or_create(pk=1)
    row = MessagingSettings.objects.select_for_update().get(pk=1)
    values: dict[str, Any] = {}
    if enabled is not None:
        values["enabled"] = enabled
    if recall_enabled is not None:
        values["recall_enabled"] = recall_enabled
    if channel_order is not None:
        if not channel_order or len(set(channel_order)) != len(channel_order):
            raise ValidationError(
                {
                    "channel_order": ValidationError(
                        _("List each channel at most once, and at least one."),
                        code=NotificationError.INVALID_RULE,
                    )
                }
            )
        if any(channel not in Channel.values for channel in channel_order):
            raise ValidationError(
                {
                    "channel_order": ValidationError(
                        _("Unknown channel."), code=NotificationError.INVALID_RULE
                    )
                }
            )
        values["channel_order"] = list(channel_order)
    start = quiet_start if quiet_start is not None else row.quiet_start
    end = quiet_end if quiet_end is not None else row.quiet_end
    if start == end:
        raise ValidationError(
            {
                "quiet_end": ValidationError(
                    _("Quiet hours must start and end at different times."),
                    code=NotificationError.INVALID_QUIET_HOURS,
                )
            }
        )
    if quiet_start is not None:
        values["quiet_start"] = quiet_start.replace(microsecond=0, tzinfo=None)
    if quiet_end is not None:
        values["quiet_end"] = quiet_end.replace(microsecond=0, tzinfo=None)
    changes = assign(row, values)
    row.updated_at = timezone.now()
    row.save()
    audit_record(actor=actor, action="messaging.update_settings", entity=row, changes=changes)
    return row


def _rule_values(kind: str | None, minutes_before: int | None) -> None:
    if kind is not None and kind not in RULE_KINDS:
        raise ValidationError(
            {"kind": ValidationError(_("Rules send confirmation requests or reminders."),
                                     code=NotificationError.INVALID_RULE)}
        )  # fmt: skip
    if minutes_before is not None and not 1 <= minutes_before <= MAX_MINUTES_BEFORE:
        raise ValidationError(
            {
                "minutes_before": ValidationError(
                    _("Between 1 minute and 30 days (%(max)d minutes) before.")
                    % {"max": MAX_MINUTES_BEFORE},
                    code=NotificationError.INVALID_RULE,
                )
            }
        )


def _rule_taken() -> ValidationError:
    return ValidationError(
        {
            "minutes_before": ValidationError(
                _("There is already a rule of this kind at this time."),
                code=NotificationError.INVALID_RULE,
            )
        }
    )


@transaction.atomic
def notification_rule_create(
    *, actor: User, kind: str, minutes_before: int, is_active: bool = True
) -> NotificationRule:
    """Send a <kind> <minutes_before> minutes before each appointment from now on."""
    _rule_values(kind, minutes_before)
    # Checked first so that a refusal writes nothing; the constraint still guards a race.
    if NotificationRule.objects.filter(kind=kind, minutes_before=minutes_before).exists():
        raise _rule_taken()
    try:
        with transaction.atomic():
            rule = NotificationRule.objects.create(
                kind=kind, minutes_before=minutes_before, is_active=is_active
            )
    except IntegrityError:
        raise _rule_taken() from None
    audit_record(
        actor=actor,
        action="notification_rule.create",
        entity=rule,
        changes={"kind": kind, "minutes_before": minutes_before, "is_active": is_active},
    )
    return rule


@transaction.atomic
def notification_rule_update(
    *,
    actor: User,
    rule: NotificationRule,
    minutes_before: int | None = None,
    is_active: bool | None = None,
) -> NotificationRule:
    """Move a rule or switch it on or off; messages already planned keep their time."""
    _rule_values(None, minutes_before)
    rule = NotificationRule.objects.select_for_update().get(pk=rule.pk)
    values: dict[str, Any] = {}
    if minutes_before is not None:
        values["minutes_before"] = minutes_before
    if is_active is not None:
        values["is_active"] = is_active
    taken = NotificationRule.objects.filter(
        kind=rule.kind, minutes_before=values.get("minutes_before", rule.minutes_before)
    ).exclude(pk=rule.pk)
    if taken.exists():
        raise _rule_taken()
    changes = assign(rule, values)
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError:
        raise _rule_taken() from None
    audit_record(actor=actor, action="notification_rule.update", entity=rule, changes=changes)
    return rule


@transaction.atomic
def notification_rule_delete(*, actor: User, rule: NotificationRule) -> NotificationRule:
    """Remove a rule. Its messages still planned are cancelled; sent ones stay in history."""
    rule_id = rule.pk
    Notification.objects.filter(rule_id=rule_id, status__in=_PENDING).update(
        status=NotificationStatus.CANCELLED, updated_at=timezone.now()
    )
    rule.delete()
    rule.pk = rule_id  # the payload still names what was removed
    audit_record(
        actor=actor,
        action="notification_rule.delete",
        entity_type="notifications.notificationrule",
        entity_id=rule_id,
        changes={"kind": rule.kind, "minutes_before": rule.minutes_before},
    )
    return rule


_PENDING = (NotificationStatus.SCHEDULED, NotificationStatus.HELD)


def _months(months: int | None) -> None:
    if months is not None and not 1 <= months <= 60:
        raise ValidationError(
            {
                "months": ValidationError(
                    _("Between 1 and 60 months."), code=NotificationError.INVALID_RULE
                )
            }
        )


def _recall_rule_taken() -> ValidationError:
    return ValidationError(
        {
            "procedure_id": ValidationError(
                _("This procedure already has a recall rule."),
                code=NotificationError.INVALID_RULE,
            )
        }
    )


@transaction.atomic
def recall_rule_create(
    *, actor: User, procedure: Procedure, months: int, is_active: bool = True
) -> RecallRule:
    """Invite patients back ``months`` after their last ``procedure``; one rule a procedure."""
    _months(months)
    if RecallRule.objects.filter(procedure=procedure).exists():
        raise _recall_rule_taken()
    try:
        with transaction.atomic():
            rule = RecallRule.objects.create(
                procedure=procedure, months=months, is_active=is_active
            )
    except IntegrityError:
        raise _recall_rule_taken() from None
    audit_record(
        actor=actor,
        action="recall_rule.create",
        entity=rule,
        changes={"procedure": procedure.pk, "months": months, "is_active": is_active},
    )
    return rule


@transaction.atomic
def recall_rule_update(
    *, actor: User, rule: RecallRule, months: int | None = None, is_active: bool | None = None
) -> RecallRule:
    _months(months)
    rule = RecallRule.objects.select_for_update().get(pk=rule.pk)
    values: dict[str, Any] = {}
    if months is not None:
        values["months"] = months
    if is_active is not None:
        values["is_active"] = is_active
    changes = assign(rule, values)
    rule.save()
    audit_record(actor=actor, action="recall_rule.update", entity=rule, changes=changes)
    return rule


@transaction.atomic
def recall_rule_delete(*, actor: User, rule: RecallRule) -> RecallRule:
    """Remove a recall rule; its invitations still planned are cancelled."""
    rule_id = rule.pk
    Notification.objects.filter(recall_rule_id=rule_id, status__in=_PENDING).update(
        status=NotificationStatus.CANCELLED, updated_at=timezone.now()
    )
    rule.delete()
    rule.pk = rule_id
    audit_record(
        actor=actor,
        action="recall_rule.delete",
        entity_type="notifications.recallrule",
        entity_id=rule_id,
        changes={"procedure": rule.procedure_id, "months": rule.months},
    )
    return rule


def template_validate(*, kind: str, subject: str, body: str) -> None:
    """``INVALID_TEMPLATE`` for an empty body or broken braces, ``UNKNOWN_PLACEHOLDER``
    naming the placeholders this kind of message cannot fill."""
    if not body.strip():
        raise ValidationError(
            {
                "body": ValidationError(
                    _("Write the message."), code=NotificationError.INVALID_TEMPLATE
                )
            }
        )
    allowed = rendering.placeholders_allowed(kind)
    for field, text in (("subject", subject), ("body", body)):
        try:
            unknown = rendering.unknown_placeholders(text, allowed)
        except rendering.TemplateSyntaxError:
            raise ValidationError(
                {
                    field: ValidationError(
                        _("Check the braces: write placeholders as {name}, and “{{” for a "
                          "literal brace."),
                        code=NotificationError.INVALID_TEMPLATE,
                    )
                }
            ) from None  # fmt: skip
        if unknown:
            raise ValidationError(
                {
                    field: ValidationError(
                        _("Unknown placeholders: %(names)s.") % {"names": ", ".join(unknown)},
                        code=NotificationError.UNKNOWN_PLACEHOLDER,
                    )
                }
            )
    if kind == NotificationKind.VERIFICATION_CODE and "code" not in rendering.placeholders_in(body):
        raise ValidationError(
            {
                "body": ValidationError(
                    _("A verification code message must carry the code: write {code}."),
                    code=NotificationError.INVALID_TEMPLATE,
                )
            }
        )


@transaction.atomic
def message_template_update(
    *,
    actor: User,
    kind: str,
    channel: str,
    body: str,
    subject: str = "",
    whatsapp_template_name: str = "",
) -> MessageTemplate:
    """Set the clinic's words for one kind of message on one channel."""
    template_validate(kind=kind, subject=subject, body=body)
    template, created = MessageTemplate.objects.select_for_update().get_or_create(
        kind=kind, channel=channel, defaults={"body": body}
    )
    changes = assign(
        template,
        {"subject": subject, "body": body, "whatsapp_template_name": whatsapp_template_name},
    )
    template.updated_at = timezone.now()
    template.save()
    audit_record(
        actor=actor,
        action="message_template.update",
        entity=template,
        changes=changes if not created else {"kind": kind, "channel": channel, "body": body},
    )
    return template


def message_template_preview(
    *, clinic: Any, kind: str, subject: str, body: str, now: dt.datetime | None = None
) -> tuple[str, str]:
    """``(subject, body)`` rendered with sample values, in Spanish; writes nothing."""
    template_validate(kind=kind, subject=subject, body=body)
    moment = (now or timezone.now()) + dt.timedelta(days=2)
    zone = clinic.timezone
    profile = clinic_profile_get()
    sample = {
        "patient_first_name": "María",
        "clinic_name": clinic.name,
        "clinic_phone": profile.phone or "+51 1 234 5678",
        "date": rendering.spanish_date(moment, zone),
        "time": "10:30",
        "professional": "Dra. Ana Torres",
        "address": profile.address_text or "Av. Larco 123, Miraflores",
        "link": f"https://{clinic.subdomain}.example.pe/c/ejemplo",
        "procedure": "Profilaxis",
        "months": "6",
        "code": "482913",
    }
    return rendering.render(subject, sample), rendering.render(body, sample)


@transaction.atomic
def contact_preference_update(
    *,
    actor: User,
    patient: Patient,
    whatsapp: bool | None = None,
    sms: bool | None = None,
    email: bool | None = None,
    opted_out: bool | None = None,
) -> ContactPreference:
    """What the patient agreed to receive; ``opted_out`` stops every message (staff source)."""
    preference, _created = ContactPreference.objects.select_for_update().get_or_create(
        patient=patient
    )
    before = {
        "whatsapp": preference.whatsapp,
        "sms": preference.sms,
        "email": preference.email,
        "opted_out": preference.opted_out_at is not None,
    }
    if whatsapp is not None:
        preference.whatsapp = whatsapp
    if sms is not None:
        preference.sms = sms
    if email is not None:
        preference.email = email
    if opted_out is True and preference.opted_out_at is None:
        preference.opted_out_at = timezone.now()
        preference.opt_out_source = "staff"
    elif opted_out is False:
        preference.opted_out_at = None
        preference.opt_out_source = ""
    after = {
        "whatsapp": preference.whatsapp,
        "sms": preference.sms,
        "email": preference.email,
        "opted_out": preference.opted_out_at is not None,
    }
    preference.updated_at = timezone.now()
    preference.save()
    audit_record(
        actor=actor,
        action="contact_preference.update",
        entity=preference,
        changes={"patient": patient.pk, **diff(before, after)},
    )
    return preference


@transaction.atomic
def notification_resend(
    *, actor: User, notification: Notification, now: dt.datetime | None = None
) -> Notification:
    """Try a message again now: back to SCHEDULED, and its sending job deferred in this
    transaction. ``NOT_RESENDABLE`` when it was cancelled, is still pending or on its way, or
    its appointment has started."""
    from backend.notifications.tasks import send_notification  # the tasks import delivery

    now = now or timezone.now()
    notification = (
        Notification.objects.select_for_update(of=("self",))
        .select_related("appointment")
        .get(pk=notification.pk)
    )
    if notification.status not in RESENDABLE:
        raise ValidationError(
            _("Only a message that was sent, failed, skipped or held can be sent again."),
            code=NotificationError.NOT_RESENDABLE,
        )
    if notification.kind == NotificationKind.VERIFICATION_CODE:
        # The code is not kept once sent, and an old code is worth nothing: the patient asks
        # the assistant for a new one.
        raise ValidationError(
            _("A verification code is never sent again: the patient asks for a new one."),
            code=NotificationError.NOT_RESENDABLE,
        )
    appointment = notification.appointment
    if appointment is not None and appointment.starts_at <= now:
        raise ValidationError(
            _("The appointment has already started."), code=NotificationError.NOT_RESENDABLE
        )
    before = {"status": notification.status, "send_at": notification.send_at.isoformat()}
    notification.status = NotificationStatus.SCHEDULED
    notification.send_at = now
    # A new attempt: what the provider said of the previous one no longer describes it (a late
    # receipt naming the old provider id then finds nothing to change).
    notification.failure_code = ""
    notification.failure_reason = ""
    notification.provider_message_id = ""
    notification.sent_at = notification.delivered_at = notification.read_at = None
    notification.updated_at = now
    notification.save(
        update_fields=[
            "status", "send_at", "failure_code", "failure_reason", "provider_message_id",
            "sent_at", "delivered_at", "read_at", "updated_at",
        ]
    )  # fmt: skip
    clinic_job(send_notification, notification_id=notification.pk)
    audit_record(
        actor=actor,
        action="notification.resend",
        entity=notification,
        changes=diff(before, {"status": notification.status, "send_at": now.isoformat()}),
    )
    return notification


@transaction.atomic
def inbox_message_handle(*, actor: User, message: InboxMessage) -> InboxMessage:
    """Mark a patient's message as answered; handling it twice keeps the first handler."""
    message = InboxMessage.objects.select_for_update().get(pk=message.pk)
    if message.handled_at is None:
        message.handled_at = timezone.now()
        message.handled_by = actor
        message.save(update_fields=["handled_at", "handled_by"])
        audit_record(
            actor=actor,
            action="inbox_message.handle",
            entity=message,
            changes={"handled_at": message.handled_at.isoformat()},
        )
    return message
