"""Reads of patient messaging for the clinic's staff: the settings page, the message log, the
inbox. Every ID they take is looked up in the current clinic's schema (``NOT_FOUND``
otherwise), so an ID of another clinic names nothing here."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.core.lookups import get_or_not_found
from backend.notifications.models import (
    ContactPreference,
    InboxMessage,
    MessageTemplate,
    MessageUsage,
    Notification,
    NotificationRule,
    NotificationStatus,
    RecallRule,
)
from backend.patients.models import Patient
from tenants_core.context import current_timezone
from tenants_core.models import Clinic


def notification_rule_list() -> QuerySet[NotificationRule]:
    return NotificationRule.objects.all()


def recall_rule_list() -> QuerySet[RecallRule]:
    return RecallRule.objects.select_related("procedure")


def notification_rule_get(*, rule_id: int | str) -> NotificationRule:
    return get_or_not_found(NotificationRule, rule_id, _("No such notification rule."))


def recall_rule_get(*, rule_id: int | str) -> RecallRule:
    return get_or_not_found(RecallRule, rule_id, _("No such recall rule."))


def message_template_list() -> QuerySet[MessageTemplate]:
    return MessageTemplate.objects.all()


def notification_get(*, actor: User, notification_id: int | str) -> Notification:
    return get_or_not_found(Notification, notification_id, _("No such message."))


def notification_list(
    *,
    actor: User,
    statuses: list[str] | None = None,
    channels: list[str] | None = None,
    kinds: list[str] | None = None,
    patient_id: int | None = None,
    appointment_id: int | None = None,
) -> QuerySet[Notification]:
    """The messages ``actor`` may see (every role that reads them sees all: their bodies hold
    no clinical detail), newest first. A patient or appointment filter this clinic does not
    have is ``NOT_FOUND``, not an empty list."""
    from backend.scheduling.selectors import appointment_get

    if patient_id is not None:
        get_or_not_found(Patient, patient_id, _("No such patient."))
    if appointment_id is not None:
        appointment_get(actor=actor, appointment_id=appointment_id)
    notifications = Notification.objects.all()
    if statuses:
        notifications = notifications.filter(status__in=statuses)
    if channels:
        notifications = notifications.filter(channel__in=channels)
    if kinds:
        notifications = notifications.filter(kind__in=kinds)
    if patient_id is not None:
        notifications = notifications.filter(patient_id=patient_id)
    if appointment_id is not None:
        notifications = notifications.filter(appointment_id=appointment_id)
    return notifications.order_by("-send_at", "-id")


def inbox_message_list(*, actor: User, handled: bool | None = None) -> QuerySet[InboxMessage]:
    """Patients' messages no rule understood, newest first; ``handled`` keeps the handled
    (True) or open (False) ones."""
    messages = InboxMessage.objects.all()
    if handled is not None:
        messages = messages.filter(handled_at__isnull=not handled)
    return messages.order_by("-received_at", "-id")


def inbox_message_get(*, actor: User, message_id: int | str) -> InboxMessage:
    return get_or_not_found(InboxMessage, message_id, _("No such inbox message."))


def contact_preference_of(*, patient: Patient) -> ContactPreference:
    """The patient's preference; an unsaved default one (every channel allowed) when there is
    no row."""
    try:
        return ContactPreference.objects.get(patient=patient)
    except ContactPreference.DoesNotExist:
        return ContactPreference(patient=patient)


@dataclass(frozen=True)
class MessagingUsage:
    used: int  # metered messages (WhatsApp and SMS) sent this month, clinic time
    quota: int  # the plan's monthly allowance
    held: int  # messages held because the quota is used up


def messaging_usage(*, clinic: Clinic) -> MessagingUsage:
    month = timezone.localdate(timezone=current_timezone()).replace(day=1)
    usage = MessageUsage.objects.filter(month=month).first()
    return MessagingUsage(
        used=usage.metered if usage is not None else 0,
        quota=clinic.max_monthly_messages,
        held=Notification.objects.filter(status=NotificationStatus.HELD).count(),
    )
