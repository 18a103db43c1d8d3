from django.apps import AppConfig


class AssistantConfig(AppConfig):
    name = "backend.assistant"
    label = "assistant"
    verbose_name = "Patient assistant"
