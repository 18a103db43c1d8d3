from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "backend.metrics"
    label = "metrics"
    verbose_name = "Per-clinic metrics (daily rollup)"
