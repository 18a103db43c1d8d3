from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "backend.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.core.signals import request_finished

        from backend.core.log_context import request_unbind

        # A thread that served a request (WSGI, the test client) logs nothing more about it.
        request_finished.connect(request_unbind, dispatch_uid="log_context.request_unbind")
