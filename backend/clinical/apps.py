from django.apps import AppConfig


class ClinicalConfig(AppConfig):
    name = "backend.clinical"
    label = "clinical"
    verbose_name = "Clinical records"
