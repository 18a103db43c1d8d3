from django.apps import AppConfig


class DemoConfig(AppConfig):
    """No models: an app so that ``manage.py dev`` (``management/commands/dev.py``) is found."""

    name = "backend.demo"
    label = "demo"
    verbose_name = "Demo data"
