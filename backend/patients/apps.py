from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PatientsConfig(AppConfig):
    name = "backend.patients"
    label = "patients"
    verbose_name = "Patients"

    def ready(self) -> None:
        from tenants_core.limits import Resource, resource_register

        # Patients that are not archived count against the plan's max_patients.
        resource_register(
            Resource(
                name="patients",
                table="patients_patient",
                condition="NOT is_archived",
                limit_attribute="max_patients",
                label=_("patients"),
            )
        )
