"""Reading patient messaging: settings, templates, the message log, the inbox."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import strawberry
import strawberry_django
from strawberry import relay

from backend.notifications import services, staff_selectors
from backend.notifications.models import InboxMessage as InboxMessageModel
from backend.notifications.models import Notification as NotificationModel
from backend.notifications.permissions import NotificationPermission
from backend.patients import selectors as patient_selectors
from graphql_api.core.context import Info
from graphql_api.core.ids import decode_id
from graphql_api.core.pagination import ListConnection
from graphql_api.core.permissions import clinic_permission
from graphql_api.notifications.inputs import MessageTemplateInput, NotificationFilter
from graphql_api.notifications.types import (
    Channel,
    ContactPreference,
    InboxMessage,
    MessageTemplate,
    MessagingSettings,
    Notification,
    NotificationRule,
    RecallRule,
    TemplatePreview,
    contact_preference,
)

VIEW = NotificationPermission.VIEW_NOTIFICATIONS
MANAGE = NotificationPermission.MANAGE_MESSAGING
INBOX = NotificationPermission.HANDLE_INBOX


def _pk(global_id: relay.GlobalID | None, type_name: str, field: str) -> int | None:
    return int(decode_id(global_id, type_name, field=field)) if global_id else None


def messaging_settings_view(info: Info) -> MessagingSettings:
    """The settings page: the switches, the rules and this month's usage."""
    row = services.messaging_settings_get()
    usage = staff_selectors.messaging_usage(clinic=info.context.tenant)
    return MessagingSettings(
        enabled=row.enabled,
        channel_order=[Channel(value) for value in row.channel_order],
        quiet_start=row.quiet_start,
        quiet_end=row.quiet_end,
        recall_enabled=row.recall_enabled,
        rules=cast(list[NotificationRule], list(staff_selectors.notification_rule_list())),
        recall_rules=cast(list[RecallRule], list(staff_selectors.recall_rule_list())),
        messages_used_this_month=usage.used,
        monthly_message_quota=usage.quota,
        held_messages=usage.held,
    )


@strawberry.type
class Query:
    @strawberry.field(
        extensions=clinic_permission(VIEW),
        description="The messaging switches, the rules, and this month's use of the quota.",
    )
    def messaging_settings(self, info: Info) -> MessagingSettings:
        return messaging_settings_view(info)

    @strawberry_django.field(
        extensions=clinic_permission(VIEW),
        description="The clinic's templates, by kind and channel, with their placeholders.",
    )
    def message_templates(self, info: Info) -> list[MessageTemplate]:
        return cast(list[MessageTemplate], staff_selectors.message_template_list())

    @strawberry.field(
        extensions=clinic_permission(MANAGE),
        description="A template rendered with sample values, in Spanish; nothing is saved. "
        "Refused with UNKNOWN_PLACEHOLDER or INVALID_TEMPLATE.",
    )
    def preview_message_template(self, info: Info, input: MessageTemplateInput) -> TemplatePreview:
        subject, body = services.message_template_preview(
            clinic=info.context.tenant,
            kind=input.kind.value,
            subject=input.subject,
            body=input.body,
        )
        return TemplatePreview(subject=subject, body=body)

    @strawberry_django.connection(
        ListConnection[Notification],
        extensions=clinic_permission(VIEW),
        description="Messages to patients, newest first.",
    )
    def notifications(
        self, info: Info, filters: NotificationFilter | None = None
    ) -> Iterable[NotificationModel]:
        filters = filters or NotificationFilter()
        return staff_selectors.notification_list(
            actor=info.context.require_user(),
            statuses=[s.value for s in filters.status] if filters.status else None,
            channels=[c.value for c in filters.channel] if filters.channel else None,
            kinds=[k.value for k in filters.kind] if filters.kind else None,
            patient_id=_pk(filters.patient_id, "Patient", "patient_id"),
            appointment_id=_pk(filters.appointment_id, "Appointment", "appointment_id"),
        )

    @strawberry_django.connection(
        ListConnection[InboxMessage],
        extensions=clinic_permission(INBOX),
        description="Patients' messages no rule understood, newest first; `handled: false` "
        "keeps the open ones.",
    )
    def inbox(self, info: Info, handled: bool | None = None) -> Iterable[InboxMessageModel]:
        return staff_selectors.inbox_message_list(
            actor=info.context.require_user(), handled=handled
        )

    @strawberry.field(
        extensions=clinic_permission(VIEW),
        description="What a patient agreed to receive.",
    )
    def patient_contact_preference(
        self, info: Info, patient_id: relay.GlobalID
    ) -> ContactPreference:
        patient = patient_selectors.patient_get(
            patient_id=decode_id(patient_id, "Patient", field="patient_id")
        )
        return contact_preference(staff_selectors.contact_preference_of(patient=patient))
