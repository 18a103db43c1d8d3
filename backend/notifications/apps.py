from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "backend.notifications"
    label = "notifications"
    verbose_name = "Patient messaging"

    def ready(self) -> None:
        from backend.notifications import hooks

        hooks.register()
