"""Changing patient messaging: settings, rules, templates, contact choices, resending, the
inbox. Each is atomic and audited."""

from __future__ import annotations

from typing import cast

import strawberry
import strawberry_django
from strawberry import relay

from backend.notifications import services, staff_selectors
from backend.notifications.permissions import NotificationPermission
from backend.patients import selectors as patient_selectors
from backend.treatments import selectors as treatment_selectors
from graphql_api.core.context import Info
from graphql_api.core.ids import decode_id
from graphql_api.core.permissions import clinic_permission
from graphql_api.notifications.inputs import (
    ContactPreferenceInput,
    MessageTemplateInput,
    UpdateMessagingSettingsInput,
)
from graphql_api.notifications.queries import messaging_settings_view
from graphql_api.notifications.types import (
    ContactPreference,
    InboxMessage,
    MessageTemplate,
    MessagingSettings,
    Notification,
    NotificationKind,
    NotificationRule,
    RecallRule,
    contact_preference,
)

MANAGE = NotificationPermission.MANAGE_MESSAGING
SEND = NotificationPermission.SEND_NOTIFICATIONS
INBOX = NotificationPermission.HANDLE_INBOX


def _rule(global_id: relay.GlobalID):
    return staff_selectors.notification_rule_get(rule_id=decode_id(global_id, "NotificationRule"))


def _recall_rule(global_id: relay.GlobalID):
    return staff_selectors.recall_rule_get(rule_id=decode_id(global_id, "RecallRule"))


@strawberry.type
class Mutation:
    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(MANAGE),
        description="Change the messaging switches; fields left out stay as they are.",
    )
    def update_messaging_settings(
        self, info: Info, input: UpdateMessagingSettingsInput
    ) -> MessagingSettings:
        services.messaging_settings_update(
            actor=info.context.require_user(),
            enabled=input.enabled,
            channel_order=[c.value for c in input.channel_order]
            if input.channel_order is not None
            else None,
            quiet_start=input.quiet_start,
            quiet_end=input.quiet_end,
            recall_enabled=input.recall_enabled,
        )
        return messaging_settings_view(info)

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(MANAGE),
        description="Send a CONFIRMATION_REQUEST or REMINDER `minutesBefore` (1 to 43,200) "
        "each appointment; one rule per kind and time (INVALID_RULE).",
    )
    def create_notification_rule(
        self, info: Info, kind: NotificationKind, minutes_before: int, is_active: bool = True
    ) -> NotificationRule:
        return cast(
            NotificationRule,
            services.notification_rule_create(
                actor=info.context.require_user(),
                kind=kind.value,
                minutes_before=minutes_before,
                is_active=is_active,
            ),
        )

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(MANAGE),
        description="Move a rule or switch it on or off.",
    )
    def update_notification_rule(
        self,
        info: Info,
        id: relay.GlobalID,
        minutes_before: int | None = None,
        is_active: bool | None = None,
    ) -> NotificationRule:
        return cast(
            NotificationRule,
            services.notification_rule_update(
                actor=info.context.require_user(),
                rule=_rule(id),
                minutes_before=minutes_before,
                is_active=is_active,
            ),
        )

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(MANAGE),
        description="Remove a rule; its messages not yet sent are cancelled.",
    )
    def delete_notification_rule(self, info: Info, id: relay.GlobalID) -> NotificationRule:
        return cast(
            NotificationRule,
            services.notification_rule_delete(actor=info.context.require_user(), rule=_rule(id)),
        )

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(MANAGE),
        description="Invite patients back `months` (1 to 60) after their last `procedure`; one "
        "rule per procedure (INVALID_RULE).",
    )
    def create_recall_rule(
        self,
        info: Info,
        procedure_id: relay.GlobalID,
        months: int,
        is_active: bool = True,
    ) -> RecallRule:
        procedure = treatment_selectors.procedure_get(
            procedure_id=decode_id(procedure_id, "Procedure", field="procedure_id")
        )
        return cast(
            RecallRule,
            services.recall_rule_create(
                actor=info.context.require_user(),
                procedure=procedure,
                months=months,
                is_active=is_active,
            ),
        )

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(MANAGE),
        description="Change a recall rule's months or switch it on or off.",
    )
    def update_recall_rule(
        self,
        info: Info,
        id: relay.GlobalID,
        months: int | None = None,
        is_active: bool | None = None,
    ) -> RecallRule:
        return cast(
            RecallRule,
            services.recall_rule_update(
                actor=info.context.require_user(),
                rule=_recall_rule(id),
                months=months,
                is_active=is_active,
            ),
        )

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(MANAGE),
        description="Remove a recall rule; its invitations not yet sent are cancelled.",
    )
    def delete_recall_rule(self, info: Info, id: relay.GlobalID) -> RecallRule:
        return cast(
            RecallRule,
            services.recall_rule_delete(actor=info.context.require_user(), rule=_recall_rule(id)),
        )

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(MANAGE),
        description="Set the words of one kind of message on one channel. Refused with "
        "UNKNOWN_PLACEHOLDER (naming them) or INVALID_TEMPLATE.",
    )
    def update_message_template(self, info: Info, input: MessageTemplateInput) -> MessageTemplate:
        return cast(
            MessageTemplate,
            services.message_template_update(
                actor=info.context.require_user(),
                kind=input.kind.value,
                channel=input.channel.value,
                subject=input.subject,
                body=input.body,
                whatsapp_template_name=input.whatsapp_template_name,
            ),
        )

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(SEND),
        description="Change what a patient agreed to receive; fields left out stay as they are.",
    )
    def update_contact_preference(
        self, info: Info, patient_id: relay.GlobalID, input: ContactPreferenceInput
    ) -> ContactPreference:
        patient = patient_selectors.patient_get(
            patient_id=decode_id(patient_id, "Patient", field="patient_id")
        )
        preference = services.contact_preference_update(
            actor=info.context.require_user(),
            patient=patient,
            whatsapp=input.whatsapp,
            sms=input.sms,
            email=input.email,
            opted_out=input.opted_out,
        )
        return contact_preference(preference)

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(SEND),
        description="Send a message again now (one that was sent, failed, skipped or held). "
        "Refused with NOT_RESENDABLE when it was cancelled, is still pending, or its "
        "appointment has started.",
    )
    def resend_notification(self, info: Info, id: relay.GlobalID) -> Notification:
        actor = info.context.require_user()
        notification = staff_selectors.notification_get(
            actor=actor, notification_id=decode_id(id, "Notification")
        )
        return cast(
            Notification, services.notification_resend(actor=actor, notification=notification)
        )

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(INBOX),
        description="Mark a patient's message as answered.",
    )
    def mark_inbox_message_handled(self, info: Info, id: relay.GlobalID) -> InboxMessage:
        actor = info.context.require_user()
        message = staff_selectors.inbox_message_get(
            actor=actor, message_id=decode_id(id, "InboxMessage")
        )
        return cast(InboxMessage, services.inbox_message_handle(actor=actor, message=message))
