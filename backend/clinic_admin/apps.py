from django.apps import AppConfig


class ClinicAdminConfig(AppConfig):
    name = "backend.clinic_admin"
    label = "clinic_admin"
    verbose_name = "Clinic profile, opening hours and closures"
