from django.apps import AppConfig


class BrandingConfig(AppConfig):
    name = "backend.branding"
    label = "branding"
    verbose_name = "Clinic branding (logo)"
