"""Settings, configured from the environment (see the README's configuration table)."""

from __future__ import annotations

import os
import re
import secrets
import sysconfig
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from backend.core.db_backend.driver import pin_psycopg2
from backend.core.log_context import LOG_FORMATS, logging_config_from
from backend.core.server_command import ServerLimits, trusted_proxies_parse
from backend.db import EmbeddedDatabaseRefused, database_settings
from backend.observability.access import networks_parse
from tenants_core.backup_crypto import generate_key, parse_keys

BASE_DIR = Path(__file__).resolve().parent.parent


pin_psycopg2()  # before any app loads: Django keeps psycopg2 beside the worker's psycopg 3


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
DATA_DIR = Path(os.environ.get("DATA_DIR") or BASE_DIR / ".data").resolve()
PORT = int(os.environ.get("PORT") or 8000)
BASE_DOMAIN = (os.environ.get("BASE_DOMAIN") or "localhost").strip().lower()
GRAPHIQL = env_bool("GRAPHIQL", DEBUG)
# Introspection answers only in development unless enabled explicitly.
GRAPHQL_INTROSPECTION = env_bool("GRAPHQL_INTROSPECTION", DEBUG)
# Request bodies larger than this are refused with 413 before anything reads them.
MAX_REQUEST_BYTES = int(os.environ.get("MAX_REQUEST_BYTES") or 256 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BYTES
# File uploads (the GraphQL multipart request spec) have their own limit: a multipart body may
# carry MAX_UPLOAD_BYTES of files plus MAX_REQUEST_BYTES of operations; each kind of file
# (a logo, a document) is checked against its own limit as well.
MAX_UPLOAD_BYTES = int(os.environ.get("MAX_UPLOAD_BYTES") or 15 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FILES = 10
# No single SQL statement of a request may run longer than this.
DB_STATEMENT_TIMEOUT_MS = int(os.environ.get("DB_STATEMENT_TIMEOUT_MS") or 10_000)


def _dev_file(name: str, make: Callable[[], str]) -> str:
    """Development only: a value generated once into ``DATA_DIR/<name>`` (owner-only) and
    kept, so tokens, sessions and backups survive restarts. Created atomically: processes
    starting together (uvicorn workers, tests) all read the same value."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / name
    if not path.exists():
        fd, partial = tempfile.mkstemp(dir=DATA_DIR, prefix=f".{name}.")  # mode 0600
        with os.fdopen(fd, "w") as file:
            file.write(make())
        try:
            os.link(partial, path)  # fails if another process got there first
        except FileExistsError:
            pass
        finally:
            os.unlink(partial)
    return path.read_text().strip()


# Keys that must never sign anything: the placeholder docker-compose.yml once defaulted to,
# and words that mark a placeholder rather than a secret.
_PLACEHOLDER_SECRET_KEYS = frozenset({"change-me-in-production-please-0123456789"})
_PLACEHOLDER_WORDS = ("changeme", "change-me", "change_me", "replace-me", "your-secret", "insecure")
SECRET_KEY_MIN_LENGTH = 50


def secret_key_problem(key: str) -> str | None:
    """Why ``key`` cannot be a production ``SECRET_KEY`` (Django signs with it, as did backups
    made before encryption), or None: the bar of Django's ``security.W009`` check, plus
    placeholders."""
    generate = 'generate one with: python -c "import secrets; print(secrets.token_urlsafe(64))"'
    if not key:
        return f"SECRET_KEY is required when DEBUG is off; {generate}"
    if len(key) < SECRET_KEY_MIN_LENGTH:
        return f"SECRET_KEY must have at least {SECRET_KEY_MIN_LENGTH} characters; {generate}"
    if len(set(key)) < 5:
        return f"SECRET_KEY must not repeat a few characters; {generate}"
    lowered = key.lower()
    if key in _PLACEHOLDER_SECRET_KEYS or any(word in lowered for word in _PLACEHOLDER_WORDS):
        return f"SECRET_KEY is a placeholder (or Django's django-insecure- one); {generate}"
    return None


def _secret_key() -> str:
    key = os.environ.get("SECRET_KEY", "")
    if DEBUG:
        return key or _dev_file("secret_key", lambda: secrets.token_urlsafe(50))
    problem = secret_key_problem(key)
    if problem:
        raise ImproperlyConfigured(problem)
    return key


SECRET_KEY = _secret_key()
# Former SECRET_KEYs, comma-separated: Django still accepts what they signed, and backups made
# before encryption (signed with SECRET_KEY) still verify. Not checked like SECRET_KEY: after a
# rotation away from a placeholder, the placeholder is what the old backups need.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])


def _backup_encryption_keys() -> str:
    """``<key-id>:<base64 32 bytes>[,...]``: the first seals new backups, all open old ones.
    Required outside DEBUG, so that a missing key shows at deploy time rather than when a
    clinic's data must be restored; generated once into DATA_DIR in development."""
    value = os.environ.get("BACKUP_ENCRYPTION_KEYS", "").strip()
    if not value:
        if not DEBUG:
            raise ImproperlyConfigured(
                "BACKUP_ENCRYPTION_KEYS is required when DEBUG is off: <key-id>:<base64 of 32 "
                "random bytes>; generate one with: python -m tenants_core.backup_crypto k1"
            )
        value = _dev_file("backup_keys", lambda: generate_key(f"dev-{secrets.token_hex(4)}"))
    try:
        parse_keys(value)
    except ValueError as error:
        raise ImproperlyConfigured(f"BACKUP_ENCRYPTION_KEYS: {error}") from None
    return value


BACKUP_ENCRYPTION_KEYS = _backup_encryption_keys()

# Clinics live at <subdomain>.<BASE_DOMAIN> and at the custom domains operators add
# (addClinicDomain); the platform itself answers on BASE_DOMAIN. Which hosts are served is
# the Domain table's to say, not a list fixed at start: ClinicTenantMiddleware answers
# UNKNOWN_HOST to any other host before a view runs (the middleware before it never builds a
# URL from the host: request ids, /metrics, the TLS ask, CORS), so a custom domain works as
# soon as it is added, with no restart. Django still refuses a malformed Host header.
ALLOWED_HOSTS = ["*"]

# Reverse proxies whose X-Forwarded-For uvicorn believes (backend/core/server_command.py):
# behind them, the client's IP is what login throttling and the audit trail see. Default none:
# the peer's own address, whatever X-Forwarded-For says.
try:
    TRUSTED_PROXIES = trusted_proxies_parse(os.environ.get("TRUSTED_PROXIES") or "")
except ValueError as error:
    raise ImproperlyConfigured(f"TRUSTED_PROXIES: {error}") from None

# How much one uvicorn worker takes on and how it stops (backend/core/server_command.py):
# WEB_CONCURRENCY_LIMIT requests in flight (each holds a database connection; the next one gets
# 503 SERVER_BUSY), WEB_GRACEFUL_SHUTDOWN_SECONDS, WEB_KEEP_ALIVE_SECONDS, WEB_BACKLOG.
try:
    SERVER_LIMITS = ServerLimits.from_environment(os.environ)
except ValueError as error:
    raise ImproperlyConfigured(str(error)) from None
WEB_CONCURRENCY_LIMIT = SERVER_LIMITS.requests
# Connections of PostgreSQL's max_connections that `manage.py serve` leaves to everything else
# (job workers, migrations, backups, operators, superuser_reserved_connections): it warns at
# start when its workers × WEB_CONCURRENCY_LIMIT would eat into them (docs/scaling.md).
DB_CONNECTIONS_RESERVED = int(os.environ.get("DB_CONNECTIONS_RESERVED") or 20)

# Observability (backend/observability). /metrics is off unless a token or networks are given.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN") or ""
METRICS_TOKEN_MIN_LENGTH = 32
if METRICS_TOKEN and not DEBUG and len(METRICS_TOKEN) < METRICS_TOKEN_MIN_LENGTH:
    # Anyone who guesses it reads the platform's traffic and error counts.
    raise ImproperlyConfigured(
        f"METRICS_TOKEN must have at least {METRICS_TOKEN_MIN_LENGTH} characters; generate one"
        ' with: python -c "import secrets; print(secrets.token_urlsafe(32))"'
    )
METRICS_ALLOWED_IPS = networks_parse(os.environ.get("METRICS_ALLOWED_IPS") or "")
# The proxy's on-demand TLS question (tenants_core/tls_ask.py, GET /internal/tls-ask): the
# networks that may ask it, comma-separated; empty, any address (its answer, served or not,
# is what a request with that Host learns anyway). Behind Caddy, its network.
TLS_ASK_ALLOWED_IPS = networks_parse(
    os.environ.get("TLS_ASK_ALLOWED_IPS") or "", setting="TLS_ASK_ALLOWED_IPS"
)
# Distinct GraphQL operation names a process labels metrics with; later ones are "other".
METRICS_MAX_OPERATIONS = int(os.environ.get("METRICS_MAX_OPERATIONS") or 200)
# OpenTelemetry tracing: off unless an OTLP/HTTP endpoint is given (the SDK reads the other
# OTEL_* variables itself: OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_HEADERS…).
OTEL_EXPORTER_OTLP_ENDPOINT = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or ""
TRACING_ENABLED = bool(OTEL_EXPORTER_OTLP_ENDPOINT)
# Sentry: off unless a DSN is given. Events never carry patient data (observability/sentry.py).
SENTRY_DSN = os.environ.get("SENTRY_DSN") or ""
SENTRY_ENVIRONMENT = os.environ.get("SENTRY_ENVIRONMENT") or ""

_base_domain_pattern = re.escape(BASE_DOMAIN)
CORS_ALLOWED_ORIGIN_REGEXES = env_list(
    "CORS_ALLOWED_ORIGIN_REGEXES",
    [rf"^https?://([a-z0-9-]+\.)*{_base_domain_pattern}(:\d+)?$"],
)
CORS_ALLOW_HEADERS = ("authorization", "content-type", "accept", "accept-language")
# Scripts may read the request id, so that a front end can quote it in a support request.
CORS_EXPOSE_HEADERS = ("x-request-id",)

SHARED_APPS = [
    "tenants_core",
    "django_tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "backend.accounts",
    "backend.audit",
    "django.contrib.postgres",
    "backend.core",
    "backend.observability",  # no models: /metrics, tracing, Sentry
    "graphql_api",
    "backend.demo",  # no models: the demo data and `manage.py dev`
    "corsheaders",
    "strawberry_django",
    # The job queue's tables live once, in the public schema; every job names its clinic.
    "procrastinate.contrib.django",
    "backend.jobs",
    "backend.metrics",  # the daily per-clinic rollup: public tables only
    # The platform console (Django admin, public domain only): its sessions live once, in the
    # public schema; SimpleAdminConfig, because nothing registers on django.contrib.admin.site.
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin.apps.SimpleAdminConfig",
    "backend.console",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "backend.accounts",
    "backend.audit",
    "backend.files",
    "backend.patients",
    "backend.resources",
    "backend.clinic_admin",
    "backend.scheduling",
    "backend.clinical",
    "backend.treatments",
    "backend.documents",
    "backend.billing",
    "backend.notifications",
    "backend.branding",
    "backend.assistant",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants_core.Clinic"
TENANT_DOMAIN_MODEL = "tenants_core.Domain"
PUBLIC_SCHEMA_NAME = "public"
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
# The clinic's schema is chosen inside each transaction (backend/core/db_backend), never for the
# session, so any pool mode that keeps transactions whole is safe. A statement outside a
# transaction while a clinic is selected is a bug: "raise" refuses it (tests, development),
# "log" logs it with its stack and runs it in a transaction of its own (the default outside DEBUG).
TENANCY_GUARD = os.environ.get("TENANCY_GUARD") or ("raise" if DEBUG else "log")
if TENANCY_GUARD not in {"raise", "log"}:
    raise ImproperlyConfigured("TENANCY_GUARD must be 'raise' or 'log'.")
# Host → clinic routing is cached per process (tenants_core.routing): up to TENANT_CACHE_SIZE
# clinic hosts and TENANT_CACHE_NEGATIVE_SIZE unknown ones. Each process rereads the routing
# version row at most every TENANT_CACHE_CHECK_SECONDS: a change committed by another process
# (a suspension, a plan) is seen within that bound. Keep it well under a second.
TENANT_CACHE_SIZE = int(os.environ.get("TENANT_CACHE_SIZE") or 1000)
TENANT_CACHE_NEGATIVE_SIZE = int(os.environ.get("TENANT_CACHE_NEGATIVE_SIZE") or 1000)
TENANT_CACHE_CHECK_SECONDS = float(os.environ.get("TENANT_CACHE_CHECK_SECONDS") or 0.5)
if not 0 <= TENANT_CACHE_CHECK_SECONDS <= 1:
    raise ImproperlyConfigured("TENANT_CACHE_CHECK_SECONDS must be between 0 and 1.")
# btree_gist, pg_trgm and unaccent live once in this schema, seen by every clinic.
PG_EXTRA_SEARCH_PATHS = ["extensions"]
# django-tenants reads the tenant schemas once at start-up to validate that setting; expected.
warnings.filterwarnings(
    "ignore", message="Accessing the database during app initialization", category=RuntimeWarning
)
AUTH_USER_MODEL = "accounts.User"
# New clinics copy the migrated template schema (tenants_core.schema_template) instead of
# running every migration; off, they are migrated. tenants_core comes before django_tenants in
# SHARED_APPS so that its migrate_schemas (skips current clinics, runs in parallel) wins.
PROVISION_FROM_TEMPLATE = env_bool("PROVISION_FROM_TEMPLATE", True)

MIDDLEWARE = [
    # The first three touch no database. Ids every answer, CORS preflights included.
    "backend.core.middleware.RequestIdMiddleware",
    # /metrics (any Host, no clinic routing) and the request metrics of every other request.
    "backend.observability.middleware.ObservabilityMiddleware",
    # Outside every middleware that can refuse a request (size, unknown host, suspended clinic,
    # database down) and around Django's error handlers: a browser front end must be able to
    # read each refusal's code. Preflights are answered here, whatever the host.
    "corsheaders.middleware.CorsMiddleware",
    # Over WEB_CONCURRENCY_LIMIT (counted by RequestConcurrencyLimit around Django): 503
    # SERVER_BUSY, before anything opens a database connection.
    "backend.core.middleware.ServerBusyMiddleware",
    "backend.core.middleware.RequestSizeLimitMiddleware",
    # The proxy's on-demand TLS question: any Host (the proxy asks at the app's address),
    # answered from public rows before any clinic is routed.
    "tenants_core.tls_ask.TlsAskMiddleware",
    "tenants_core.middleware.ClinicTenantMiddleware",
    "backend.audit.context.AuditContextMiddleware",
    "backend.accounts.middleware.BearerTokenMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "backend.urls"
ASGI_APPLICATION = "backend.asgi.application"
WSGI_APPLICATION = "backend.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                # The console's templates (Django admin); lazy, so nothing else pays for them.
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASE_URL = os.environ.get("DATABASE_URL") or None
DATABASE_EMBEDDED = DATABASE_URL is None
# Without DATABASE_URL: the embedded PostgreSQL in DATA_DIR (backend/db.py), which outside DEBUG
# only an explicit EMBEDDED_POSTGRES=1 allows (a production-like run on a developer's machine).
EMBEDDED_POSTGRES = env_bool("EMBEDDED_POSTGRES", False)
try:
    DATABASES = {
        "default": database_settings(
            DATABASE_URL, DATA_DIR, embedded_allowed=DEBUG or EMBEDDED_POSTGRES
        )
    }
except EmbeddedDatabaseRefused as error:
    raise ImproperlyConfigured(str(error)) from None
DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
    f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS}"
)
# Which process holds a connection, as pg_stat_activity shows it.
DATABASES["default"]["OPTIONS"].setdefault("application_name", f"dental:{os.getpid()}")
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Persistent connections (seconds; 0 closes after each request). Keep 0 under uvicorn: Django
# runs each ASGI request in a thread of its own, so persistent connections are never reused.
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("CONN_MAX_AGE") or 0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Argon2 first. The test suite swaps in a fast hasher (and hands the same list to the uvicorn
# it starts, so that both agree); production never sets this.
PASSWORD_HASHERS = env_list(
    "PASSWORD_HASHERS",
    [
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ],
)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Authentication: opaque bearer tokens, and login throttling per account and client IP.
AUTH_TOKEN_TTL_SECONDS = int(os.environ.get("AUTH_TOKEN_TTL_SECONDS") or 12 * 3600)
LOGIN_THROTTLE_MAX_FAILURES = 5
LOGIN_THROTTLE_WINDOW_SECONDS = 15 * 60
LOGIN_THROTTLE_MAX_FAILURES_PER_IP = 50  # across accounts: password spraying

# GraphQL limits (a query is refused before it runs when it exceeds one).
GRAPHQL_MAX_DEPTH = int(os.environ.get("GRAPHQL_MAX_DEPTH") or 10)
GRAPHQL_MAX_ALIASES = int(os.environ.get("GRAPHQL_MAX_ALIASES") or 15)
GRAPHQL_MAX_TOKENS = int(os.environ.get("GRAPHQL_MAX_TOKENS") or 1000)
# Longest query text, in characters, checked before parsing (graphql_api/core/document_limits.py).
GRAPHQL_MAX_QUERY_LENGTH = int(os.environ.get("GRAPHQL_MAX_QUERY_LENGTH") or 32_768)
# Largest page a connection returns (`first`/`last`).
GRAPHQL_MAX_PAGE_SIZE = int(os.environ.get("GRAPHQL_MAX_PAGE_SIZE") or 100)
# Persisted (trusted) documents, off by default (graphql_api/core/persisted_documents.py): the
# path of a manifest {"<sha256 hex>": "<document text>"} (what codegen's client preset writes
# with persistedDocuments), so a client may send {"documentId": "sha256:<hex>"} instead of the
# text; with GRAPHQL_PERSISTED_ONLY, any request that is not a registered document is refused.
GRAPHQL_PERSISTED_DOCUMENTS = os.environ.get("GRAPHQL_PERSISTED_DOCUMENTS") or ""
GRAPHQL_PERSISTED_ONLY = env_bool("GRAPHQL_PERSISTED_ONLY", False)
# Compiled reads (graphql_api/core/compiled): covered queries answered by one SQL statement that
# builds the JSON in PostgreSQL; off, every query runs through graphql-core. The plan cache
# keeps at most GRAPHQL_COMPILED_PLANS documents (least recently used go first).
GRAPHQL_COMPILED_READS = env_bool("GRAPHQL_COMPILED_READS", True)
GRAPHQL_COMPILED_PLANS = int(os.environ.get("GRAPHQL_COMPILED_PLANS") or 256)

# Platform operator created by scripts/dev (required there when DEBUG is off).
PLATFORM_ADMIN_EMAIL = os.environ.get("PLATFORM_ADMIN_EMAIL") or (
    "admin@localhost" if DEBUG else ""
)
PLATFORM_ADMIN_PASSWORD = os.environ.get("PLATFORM_ADMIN_PASSWORD") or ("admin" if DEBUG else "")
DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD") or "demo1234!"
# Per-clinic backups ("respaldos"): one folder per clinic under this one.
BACKUP_DIR = Path(os.environ.get("BACKUP_DIR") or DATA_DIR / "backups").resolve()
# A restore over a clinic waits this long for its requests in flight, then gives up.
RESTORE_LOCK_TIMEOUT_MS = int(os.environ.get("RESTORE_LOCK_TIMEOUT_MS") or 30_000)
# Whole-database backups (tenants_core/database_backup.py): `manage.py backup_database`, and
# the `platform.database_backup` job on DATABASE_BACKUP_CRON (UTC; "off": no periodic job).
# Sealed pg_dump files under BACKUP_DIR/database/; the newest DATABASE_BACKUP_KEEP are kept,
# on the machine and, separately, in the bucket.
DATABASE_BACKUP_CRON = (os.environ.get("DATABASE_BACKUP_CRON") or "30 3 * * *").strip()
if DATABASE_BACKUP_CRON != "off":
    from croniter import croniter  # procrastinate's own cron parser

    if not croniter.is_valid(DATABASE_BACKUP_CRON):
        raise ImproperlyConfigured(
            "DATABASE_BACKUP_CRON must be a cron expression (UTC), such as '30 3 * * *', or 'off'."
        )
DATABASE_BACKUP_KEEP = int(os.environ.get("DATABASE_BACKUP_KEEP") or 7)
# The database pg_dump reads, when not DATABASE_URL's: PostgreSQL itself when DATABASE_URL goes
# through a pooler in transaction mode (pg_dump keeps session settings), or a read-only role.
DATABASE_BACKUP_URL = os.environ.get("DATABASE_BACKUP_URL") or ""
if DATABASE_BACKUP_KEEP < 1:
    raise ImproperlyConfigured("DATABASE_BACKUP_KEEP must be at least 1.")


def database_backup_s3(environ: Any) -> dict[str, Any] | None:
    """Where whole-database backups are copied off the machine: ``DATABASE_BACKUP_S3_BUCKET``
    (unset: nowhere) under ``DATABASE_BACKUP_S3_PREFIX``. The endpoint, region and credentials
    are the ``S3_*`` ones of file storage unless ``DATABASE_BACKUP_S3_*`` overrides them (a
    bucket at another provider, or credentials that can reach only the backups)."""
    bucket = (environ.get("DATABASE_BACKUP_S3_BUCKET") or "").strip()
    if not bucket:
        return None

    def pick(name: str) -> str | None:
        return environ.get(f"DATABASE_BACKUP_S3_{name}") or environ.get(f"S3_{name}") or None

    prefix = environ.get("DATABASE_BACKUP_S3_PREFIX")
    prefix = "database/" if prefix is None else prefix.strip().strip("/")
    return {
        "bucket": bucket,
        "prefix": f"{prefix}/" if prefix and not prefix.endswith("/") else prefix,
        "endpoint_url": pick("ENDPOINT_URL"),
        "region_name": pick("REGION"),
        "access_key": pick("ACCESS_KEY_ID"),
        "secret_key": pick("SECRET_ACCESS_KEY"),
    }


DATABASE_BACKUP_S3 = database_backup_s3(os.environ)

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
# The checkout's locale/, or, in an installed wheel (the image), the copy that pyproject's
# data-files put in <prefix>/share/dental-saas/locale.
LOCALE_PATHS = [
    path
    for path in (
        BASE_DIR / "locale",
        Path(sysconfig.get_path("data")) / "share" / "dental-saas" / "locale",
    )
    if path.is_dir()
][:1]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"  # stored time is UTC; each clinic shows its own IANA zone
DEFAULT_CLINIC_TIMEZONE = "America/Lima"
AVAILABILITY_STEP_MINUTES = 15  # free slots start every 15 minutes
# The patient assistant (backend/assistant): a message's length, the messages a conversation,
# an IP address and a WhatsApp number may send per window, and how long a verified patient
# stays verified without writing.
ASSISTANT_MAX_MESSAGE_CHARS = int(os.environ.get("ASSISTANT_MAX_MESSAGE_CHARS") or 500)
ASSISTANT_RATE_WINDOW_SECONDS = int(os.environ.get("ASSISTANT_RATE_WINDOW_SECONDS") or 600)
ASSISTANT_RATE_PER_CONVERSATION = int(os.environ.get("ASSISTANT_RATE_PER_CONVERSATION") or 40)
ASSISTANT_RATE_PER_IP = int(os.environ.get("ASSISTANT_RATE_PER_IP") or 120)
ASSISTANT_RATE_PER_PHONE = int(os.environ.get("ASSISTANT_RATE_PER_PHONE") or 40)
ASSISTANT_VERIFIED_MINUTES = int(os.environ.get("ASSISTANT_VERIFIED_MINUTES") or 30)
# Bookings of anonymous visitors (new patients) one address may make a day; more need a person.
ASSISTANT_VISITOR_BOOKINGS_PER_DAY = int(os.environ.get("ASSISTANT_VISITOR_BOOKINGS_PER_DAY") or 3)

# Background jobs (procrastinate, backend/jobs): a queue table in this same database.
# Workers: `manage.py worker` (scripts/dev runs one). A worker that stops sending heartbeats
# for JOB_STALLED_SECONDS is taken for dead and its jobs are run again (at least once).
JOB_STALLED_SECONDS = int(os.environ.get("JOB_STALLED_SECONDS") or 60)
# Failed attempts are retried with exponential backoff: JOB_RETRY_WAIT_SECONDS × 2^n, at most
# JOB_MAX_ATTEMPTS runs in all; then the job stays `failed`, visible, never dropped.
JOB_MAX_ATTEMPTS = int(os.environ.get("JOB_MAX_ATTEMPTS") or 8)
JOB_RETRY_WAIT_SECONDS = int(os.environ.get("JOB_RETRY_WAIT_SECONDS") or 10)
PROCRASTINATE_AUTODISCOVER_MODULE_NAME = "tasks"
# The worker polls the queue every JOB_POLL_SECONDS: this bounds how late a due job starts.
JOB_POLL_SECONDS = float(os.environ.get("JOB_POLL_SECONDS") or 1.0)
# LISTEN/NOTIFY wakes the worker at once when a job is deferred; it does not pass PgBouncer in
# transaction mode: set JOB_LISTEN_NOTIFY=0 there (the worker then only polls).
JOB_LISTEN_NOTIFY = env_bool("JOB_LISTEN_NOTIFY", True)
# Jobs one worker runs at once (each in a thread, with its own database connection).
JOB_CONCURRENCY = int(os.environ.get("JOB_CONCURRENCY") or 1)
# After losing the database, a worker waits this long before it starts again.
JOB_RESTART_PAUSE_SECONDS = float(os.environ.get("JOB_RESTART_PAUSE_SECONDS") or 5.0)

# Patient messaging (backend/notifications, backend/integrations). "outbox" stores each message
# and sends nothing: staff read it through GraphQL (the development default). "live" sends
# through the providers below.
MESSAGING_BACKEND = os.environ.get("MESSAGING_BACKEND") or ("outbox" if DEBUG else "live")
if MESSAGING_BACKEND not in {"outbox", "live"}:
    raise ImproperlyConfigured("MESSAGING_BACKEND must be 'outbox' or 'live'.")
# The public URL the providers call back (webhooks) and patients open (confirmation links):
# https://<BASE_DOMAIN> behind TLS. Webhook signatures are checked against it.
PUBLIC_BASE_URL = (os.environ.get("PUBLIC_BASE_URL") or f"http://{BASE_DOMAIN}:8000").rstrip("/")
# WhatsApp Cloud API (Meta): one platform app; each clinic has its own phone number id.
WHATSAPP_API_BASE_URL = (
    os.environ.get("WHATSAPP_API_BASE_URL") or "https://graph.facebook.com/v21.0"
).rstrip("/")
WHATSAPP_ACCESS_TOKEN = os.environ.get("WHATSAPP_ACCESS_TOKEN") or ""
WHATSAPP_APP_SECRET = os.environ.get("WHATSAPP_APP_SECRET") or ""  # X-Hub-Signature-256
WHATSAPP_VERIFY_TOKEN = os.environ.get("WHATSAPP_VERIFY_TOKEN") or ""  # the GET handshake
# SMS through a Twilio-compatible REST API: one account; each clinic has its own number.
SMS_API_BASE_URL = (os.environ.get("SMS_API_BASE_URL") or "https://api.twilio.com").rstrip("/")
SMS_ACCOUNT_SID = os.environ.get("SMS_ACCOUNT_SID") or ""
SMS_AUTH_TOKEN = os.environ.get("SMS_AUTH_TOKEN") or ""  # also signs X-Twilio-Signature
# Email: Django's SMTP backend (EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD,
# EMAIL_USE_TLS), from DEFAULT_FROM_EMAIL.
EMAIL_HOST = os.environ.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = int(os.environ.get("EMAIL_PORT") or 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL") or f"no-reply@{BASE_DOMAIN}"
# A provider call gives up after this long (then the job retries it).
MESSAGING_TIMEOUT_SECONDS = float(os.environ.get("MESSAGING_TIMEOUT_SECONDS") or 10)

# The patient assistant's optional language model (backend/assistant/llm.py): any
# OpenAI-compatible chat-completions endpoint (`{ASSISTANT_LLM_URL}/chat/completions`). Empty:
# off, the deterministic engine answers alone. The model's whole reply, every round of tool
# calls included, gives up after ASSISTANT_LLM_TIMEOUT_SECONDS; the deterministic engine then
# answers. The key is a secret: it is sent only in the Authorization header, never logged.
ASSISTANT_LLM_URL = (os.environ.get("ASSISTANT_LLM_URL") or "").strip().rstrip("/")
ASSISTANT_LLM_MODEL = (os.environ.get("ASSISTANT_LLM_MODEL") or "").strip()
ASSISTANT_LLM_API_KEY = os.environ.get("ASSISTANT_LLM_API_KEY") or ""
ASSISTANT_LLM_TIMEOUT_SECONDS = float(os.environ.get("ASSISTANT_LLM_TIMEOUT_SECONDS") or 8)
if ASSISTANT_LLM_URL and not ASSISTANT_LLM_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured("ASSISTANT_LLM_URL must be an http:// or https:// URL.")
if ASSISTANT_LLM_URL and not ASSISTANT_LLM_MODEL:
    raise ImproperlyConfigured("ASSISTANT_LLM_MODEL is required with ASSISTANT_LLM_URL.")
if not 0 < ASSISTANT_LLM_TIMEOUT_SECONDS <= 60:
    raise ImproperlyConfigured("ASSISTANT_LLM_TIMEOUT_SECONDS must be above 0 and at most 60.")

STATIC_URL = "/console/static/"  # the console's admin files (backend/console/site.py)

# The platform console (backend/console): Django admin at /console/ on BASE_DOMAIN only. Its
# session cookie (and the CSRF cookie, which only the console uses) never leaves /console/ or
# the platform's host; the API keeps its bearer tokens and never reads a session.
SESSION_COOKIE_PATH = "/console/"
CSRF_COOKIE_PATH = "/console/"
SESSION_COOKIE_AGE = int(os.environ.get("CONSOLE_SESSION_SECONDS") or 8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("CONSOLE_SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_SAMESITE = "Strict"
# Django's admin checks want the session, authentication and message middleware in
# MIDDLEWARE. The console applies them to its own URLs only (backend.console.wrapping), so
# that no other path gains a session or a session user beside its bearer token.
SILENCED_SYSTEM_CHECKS = ["admin.E408", "admin.E409", "admin.E410"]

# Files (logos, patient documents): the local filesystem under MEDIA_ROOT by default, or an
# S3-compatible bucket (FILE_STORAGE=s3). Objects are private: clients read them through the
# app (signed, short-lived /files/<token> URLs; the public /logo/<hash> URLs), never directly.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT") or DATA_DIR / "media").resolve()
FILE_URL_SECONDS = int(os.environ.get("FILE_URL_SECONDS") or 300)
# The orphan sweep (backend.files.tasks) never removes an object younger than this: its upload
# may still be inside its transaction.
FILE_ORPHAN_GRACE_SECONDS = int(os.environ.get("FILE_ORPHAN_GRACE_SECONDS") or 3600)


def file_storage(environ: Any, media_root: Path) -> dict[str, Any]:
    """``STORAGES["default"]`` from ``FILE_STORAGE`` and the ``S3_*`` variables of ``environ``
    (a function: the S3 tests build the same from a moto server's variables)."""
    kind = (environ.get("FILE_STORAGE") or "filesystem").strip().lower()
    if kind == "filesystem":
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {
                "location": str(media_root),
                "base_url": None,
                "file_permissions_mode": 0o600,
                "directory_permissions_mode": 0o700,
            },
        }
    if kind == "s3":
        bucket = environ.get("S3_BUCKET") or ""
        if not bucket:
            raise ImproperlyConfigured("FILE_STORAGE=s3 needs S3_BUCKET.")
        return {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": environ.get("S3_ENDPOINT_URL") or None,
                "region_name": environ.get("S3_REGION") or None,
                "access_key": environ.get("S3_ACCESS_KEY_ID") or None,
                "secret_key": environ.get("S3_SECRET_ACCESS_KEY") or None,
                "default_acl": None,  # private: the bucket's own policy, never public-read
                "file_overwrite": False,
                "querystring_auth": True,
            },
        }
    raise ImproperlyConfigured("FILE_STORAGE must be 'filesystem' or 's3'.")


FILE_STORAGE = (os.environ.get("FILE_STORAGE") or "filesystem").strip().lower()
_file_storage = file_storage(os.environ, MEDIA_ROOT)
STORAGES = {
    "default": _file_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"  # GraphiQL is never framed
SECURE_HSTS_SECONDS = 0 if DEBUG else int(os.environ.get("SECURE_HSTS_SECONDS") or 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_REFERRER_POLICY = "same-origin"

# Every line carries the time, level, logger, request id and clinic (backend/core/log_context.py);
# "json" writes one JSON object per line. uvicorn gets the same configuration (server_command).
LOG_FORMAT = os.environ.get("LOG_FORMAT") or "text"
if LOG_FORMAT not in LOG_FORMATS:
    raise ImproperlyConfigured("LOG_FORMAT must be 'text' or 'json'.")
LOGGING = logging_config_from(os.environ)

STRAWBERRY_DJANGO = {
    "FIELD_DESCRIPTION_FROM_HELP_TEXT": True,
    "MUTATIONS_DEFAULT_HANDLE_ERRORS": True,
}
