from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "backend.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
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
