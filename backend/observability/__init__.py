"""Production observability: Prometheus ``/metrics``, OpenTelemetry tracing, Sentry, and the
request fields of the log lines. Low in the layers: it reads the request (its clinic's plan,
its GraphQL operation label) and never imports a clinic app or ``graphql_api``."""
