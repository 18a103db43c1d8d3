from django.apps import AppConfig


class TenantsCoreConfig(AppConfig):
    name = "tenants_core"
    verbose_name = "Clinics (platform)"
