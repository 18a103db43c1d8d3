from django.apps import AppConfig


class AssistantConfig(AppConfig):
    name = "backend.assistant"
    label = "assistant"
    verbose_name = "Patient assistant"

    def ready(self) -> None:
        from backend.assistant import whatsapp

        whatsapp.register()
