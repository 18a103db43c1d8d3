from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "backend.observability"
    label = "observability"
    verbose_name = "Observability"

    def ready(self) -> None:
        from backend.observability import sentry, tracing

        # Both are off unless their setting is given (OTEL_EXPORTER_OTLP_ENDPOINT, SENTRY_DSN).
        # Here, before the request handler loads its middleware: Django's OpenTelemetry
        # instrumentation inserts its own middleware into settings.MIDDLEWARE.
        tracing.configure()
        sentry.configure()
