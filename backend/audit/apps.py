from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "backend.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from backend.audit.services import audit_record
        from tenants_core.clinic_hooks import event_recorder_register

        # The platform's events (clinic.create, clinic.suspend…) go to the same trail.
        event_recorder_register(audit_record)
