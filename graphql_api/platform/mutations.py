"""Platform mutations: public domain, superusers only. Clinics are addressed by subdomain."""

from __future__ import annotations

from typing import cast

import strawberry
import strawberry_django

from graphql_api.clinic_settings.types import PlanCode
from graphql_api.core.context import Info
from graphql_api.core.permissions import platform_admin
from graphql_api.platform.inputs import CreateClinicInput
from graphql_api.platform.types import ClinicBackup, ManagedClinic
from tenants_core import backups, restore, selectors, services
from tenants_core.models import MessagingChannel


@strawberry.type
class Mutation:
    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=platform_admin(),
        description="Provision a clinic: schema, domain <subdomain>.<BASE_DOMAIN>, first admin.",
    )
    def create_clinic(self, info: Info, input: CreateClinicInput) -> ManagedClinic:
        return services.clinic_provision(
            subdomain=input.subdomain,
            name=input.name,
            legal_id=input.legal_id,
            email=input.email,
            plan=input.plan.value,
            admin_email=input.admin_email,
            admin_password=input.admin_password,
            timezone=input.timezone,
            actor=info.context.require_user(),
        )

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=platform_admin(),
        description="Move a clinic to another plan; refused below its current usage.",
    )
    def change_clinic_plan(self, info: Info, subdomain: str, plan: PlanCode) -> ManagedClinic:
        return services.clinic_plan_change(
            actor=info.context.require_user(),
            clinic=selectors.clinic_get(subdomain=subdomain),
            plan=plan.value,
        )

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=platform_admin(),
        description="Suspend a clinic: its users cannot sign in and its tokens stop working. "
        "Its data is kept.",
    )
    def suspend_clinic(self, info: Info, subdomain: str, reason: str) -> ManagedClinic:
        return services.clinic_suspend(
            actor=info.context.require_user(),
            clinic=selectors.clinic_get(subdomain=subdomain),
            reason=reason,
        )

    @strawberry_django.mutation(
        handle_django_errors=True, extensions=platform_admin(), description="Lift a suspension."
    )
    def reactivate_clinic(self, info: Info, subdomain: str) -> ManagedClinic:
        return services.clinic_reactivate(
            actor=info.context.require_user(), clinic=selectors.clinic_get(subdomain=subdomain)
        )

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=platform_admin(),
        description="Route another host name to a clinic.",
    )
    def add_clinic_domain(self, info: Info, subdomain: str, domain: str) -> ManagedClinic:
        clinic = selectors.clinic_get(subdomain=subdomain)
        services.clinic_domain_add(actor=info.context.require_user(), clinic=clinic, domain=domain)
        return clinic

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=platform_admin(),
        description="Back up a clinic's schema into a compressed, checksummed, encrypted file.",
    )
    def backup_clinic(self, info: Info, subdomain: str) -> ClinicBackup:
        return cast(
            ClinicBackup,
            backups.clinic_backup_create(
                clinic=selectors.clinic_get(subdomain=subdomain), actor=info.context.require_user()
            ),
        )

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=platform_admin(),
        description="Restore a backup of the clinic at `subdomain` into a new clinic at "
        "`targetSubdomain`, or over the same clinic (`targetSubdomain` = `subdomain`) with "
        "`confirmOverwrite: true`, which replaces all its data and ends its sessions. The "
        "backup's checksum and signature are verified before anything is written.",
    )
    def restore_clinic(
        self,
        info: Info,
        subdomain: str,
        backup_id: strawberry.ID,
        target_subdomain: str,
        confirm_overwrite: bool = False,
    ) -> ManagedClinic:
        return restore.clinic_restore(
            subdomain=subdomain,
            backup_id=str(backup_id),
            target_subdomain=target_subdomain,
            confirm_overwrite=confirm_overwrite,
            actor=info.context.require_user(),
        )

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=platform_admin(),
        description="Give a clinic its WhatsApp or SMS sender (replacing the one it had on "
        "that channel): `externalId` is the WhatsApp phone-number id, or the SMS number in "
        "E.164. Refused with SENDER_TAKEN when another clinic has it, INVALID_SENDER when it "
        "cannot be one.",
    )
    def set_clinic_messaging_sender(
        self,
        info: Info,
        subdomain: str,
        channel: MessagingChannel,
        external_id: str,
        display_number: str = "",
    ) -> ManagedClinic:
        clinic = selectors.clinic_get(subdomain=subdomain)
        services.clinic_messaging_sender_set(
            actor=info.context.require_user(),
            clinic=clinic,
            channel=channel.value,
            external_id=external_id,
            display_number=display_number,
        )
        return clinic

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=platform_admin(),
        description="Take a clinic's sender on a channel away (SENDER_NOT_FOUND if it has none).",
    )
    def remove_clinic_messaging_sender(
        self, info: Info, subdomain: str, channel: MessagingChannel
    ) -> ManagedClinic:
        return services.clinic_messaging_sender_remove(
            actor=info.context.require_user(),
            clinic=selectors.clinic_get(subdomain=subdomain),
            channel=channel.value,
        )
