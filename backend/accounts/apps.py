from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "backend.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from backend.accounts.auth import token_live
        from backend.accounts.platform_hooks import first_admin_create, restored_tokens_revoke
        from backend.files.signing import credential_check_register
        from tenants_core.clinic_hooks import provisioning_step_register, restore_step_register
        from tenants_core.limits import Resource, resource_register

        # Active staff users count against the plan's max_users.
        resource_register(
            Resource(
                name="users",
                table="accounts_user",
                condition="is_active",
                limit_attribute="max_users",
                label=_("active users"),
            )
        )
        # A signed file link works only while the sign-in it was made for does.
        credential_check_register(token_live)
        provisioning_step_register(first_admin_create)
        restore_step_register(restored_tokens_revoke)
