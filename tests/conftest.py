"""Session-wide fixtures: the test database with its clinic schemas, built once.

pytest-django creates ``test_<name>`` and runs the shared migrations; then the clinics below
are provisioned once, committed, and shared by every test. Each test runs in a transaction
that is rolled back, so tests stay isolated without re-migrating any schema.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.test import override_settings
from django.utils import translation
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from backend.accounts.auth import _token_issue
from backend.accounts.models import Role, User
from backend.core.server_command import ServerLimits, UvicornLaunch, trusted_proxies_parse
from backend.db import database_url_for
from devtools.processes import free_port, production_secrets, serving
from tenants_core import routing
from tenants_core.models import Clinic, ClinicStatus
from tenants_core.services import clinic_provision
from tests.factories import TEST_PASSWORD, PatientFactory, StaffFactory
from tests.s3_support import S3Server, running_moto_s3

ROOT = Path(__file__).resolve().parent.parent
PLATFORM_ADMIN_EMAIL = "root@platform.pe"


@dataclass(frozen=True)
class SeedClinic:
    subdomain: str
    name: str
    legal_id: str
    plan: str
    status: str = ClinicStatus.ACTIVE


SEED_CLINICS = (
    SeedClinic("clinica1", "Clínica Dental Norte", "20601234565", "professional"),
    SeedClinic("clinica2", "Dental Smile", "20504321097", "basic"),
    SeedClinic("cerrada", "Clínica Cerrada", "20100070970", "basic", ClinicStatus.SUSPENDED),
)


FAST_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
]


def pytest_configure(config: pytest.Config) -> None:
    # Argon2 is deliberately slow; tests that are about hashing opt back in.
    settings.PASSWORD_HASHERS = FAST_HASHERS
    # Backups written by tests never land in the development data folder.
    settings.BACKUP_DIR = Path(tempfile.mkdtemp(prefix="dental-test-backups-"))


@pytest.fixture(scope="session")
def django_db_setup(
    request: pytest.FixtureRequest,
    django_test_environment: None,
    django_db_blocker: Any,
    django_db_keepdb: bool,
    django_db_modify_db_settings: None,
) -> Iterator[None]:
    """Always build the test database, even for a session of HTTP-only tests: pytest-django
    would otherwise skip it when no collected test asks for ``db``, and the uvicorn tests
    would run against the development database."""
    from django.test.utils import setup_databases, teardown_databases

    verbosity = request.config.option.verbose
    if not django_db_keepdb:
        # One test database per run, so two runs on one machine never drop each other's.
        name = f"test_{connection.settings_dict['NAME']}_{os.getpid()}"
        connection.settings_dict.setdefault("TEST", {})["NAME"] = name
        settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = name
    with django_db_blocker.unblock():
        db_cfg = setup_databases(
            verbosity=verbosity, interactive=False, keepdb=django_db_keepdb, aliases={"default"}
        )
        assert connection.settings_dict["NAME"].startswith("test_"), "not a test database"
        # A kept database (--reuse-db: the mutation runs) was seeded by the run that made it.
        if not (django_db_keepdb and Clinic.objects.filter(subdomain="clinica1").exists()):
            _seed()
    yield
    # DROP DATABASE waits for a checkpoint, which on a busy server can outlast the
    # statement timeout that every application connection carries.
    connection.settings_dict["OPTIONS"]["options"] = "-c statement_timeout=0"
    with django_db_blocker.unblock():
        teardown_databases(db_cfg, verbosity=verbosity, keepdb=django_db_keepdb)


def _seed() -> None:
    for seed in SEED_CLINICS:
        clinic = clinic_provision(
            subdomain=seed.subdomain,
            name=seed.name,
            legal_id=seed.legal_id,
            email=f"contacto@{seed.subdomain}.pe",
            plan=seed.plan,
            admin_email=f"admin@{seed.subdomain}.pe",
            admin_password=TEST_PASSWORD,
        )
        if seed.status != ClinicStatus.ACTIVE:
            Clinic.objects.filter(pk=clinic.pk).update(status=seed.status)
    with schema_context("public"):
        get_user_model().objects.create_superuser(
            email=PLATFORM_ADMIN_EMAIL, password=TEST_PASSWORD, full_name="Root"
        )


@pytest.fixture(scope="session", autouse=True)
def _session_media(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Files stored by the tests, in process and by the servers they start (``child_env``
    passes MEDIA_ROOT on), go to a directory of this session's own: never the development
    clinics' DATA_DIR/media, where the objects of rolled-back test transactions would stay
    under the demo clinics' prefixes."""
    root = tmp_path_factory.mktemp("media")
    default = settings.STORAGES["default"]
    storages = settings.STORAGES
    if default["BACKEND"].endswith("FileSystemStorage"):
        options = {**default["OPTIONS"], "location": str(root)}
        storages = {**storages, "default": {**default, "OPTIONS": options}}
    with override_settings(MEDIA_ROOT=root, STORAGES=storages):
        yield root


@pytest.fixture(scope="session", autouse=True)
def _always_the_test_database(django_db_setup: None) -> None:
    """Every test, even one that only unblocks the database (``django_db_blocker``) or only
    talks to uvicorn, runs against the test database, never the development one."""


@pytest.fixture(autouse=True)
def _public_schema_after_test() -> Iterator[None]:
    """A test that switched schema or language must not leak it into the next one."""
    yield
    connection.set_schema_to_public()
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _routing_cache_per_test(settings: Any) -> Iterator[None]:
    """Routing cached inside a rolled-back test must not serve the next one; within a test,
    only this process changes routing, so the cross-process version check (tested on its own
    in tests/tenants_core/test_routing_cache.py) is off and statement counts are exact."""
    settings.TENANT_CACHE_CHECK_SECONDS = 3600
    routing.invalidate()
    yield
    routing.invalidate()


def _clinic(subdomain: str) -> Clinic:
    connection.set_schema_to_public()
    return Clinic.objects.select_related("plan").get(subdomain=subdomain)


@pytest.fixture
def clinic1(db: None) -> Clinic:
    return _clinic("clinica1")


@pytest.fixture
def clinic2(db: None) -> Clinic:
    return _clinic("clinica2")


@pytest.fixture
def patient(clinic1: Clinic) -> Any:
    """A patient of clinica1."""
    with tenant_context(clinic1):
        return PatientFactory(document_number="12345678")


@pytest.fixture
def public_tenant(db: None) -> Clinic:
    connection.set_schema_to_public()
    return Clinic.objects.get(schema_name=get_public_schema_name())


@pytest.fixture
def make_staff(db: None) -> Any:
    """``make_staff(clinic, role)``: a user in the clinic's schema."""
    counter = iter(range(1, 10_000))

    def make(
        clinic: Clinic,
        role: Role | str = Role.DENTIST,
        *,
        email: str | None = None,
        active: bool = True,
        **fields: Any,
    ) -> User:
        email = email or f"{str(role).lower()}{next(counter)}@{clinic.subdomain}.pe"
        with tenant_context(clinic):
            return StaffFactory(email=email, role=role, is_active=active, **fields)

    return make


@pytest.fixture
def token_for(db: None) -> Any:
    """``token_for(clinic, user)``: a fresh bearer token issued by that clinic's schema."""

    def issue(clinic: Clinic, user: User) -> str:
        with tenant_context(clinic):
            return _token_issue(user).raw

    return issue


@pytest.fixture
def platform_admin(public_tenant: Clinic) -> User:
    return User.objects.get(email=PLATFORM_ADMIN_EMAIL)


@pytest.fixture
def platform_token(public_tenant: Clinic, platform_admin: User, token_for: Any) -> str:
    return token_for(public_tenant, platform_admin)


@pytest.fixture
def clinic1_admin(clinic1: Clinic) -> User:
    with tenant_context(clinic1):
        return User.objects.get(email="admin@clinica1.pe")


@pytest.fixture
def admin_token(clinic1: Clinic, clinic1_admin: User, token_for: Any) -> str:
    return token_for(clinic1, clinic1_admin)


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    """The default (filesystem) storage on a directory of this test's own, for in-process
    tests that count what storage holds. A uvicorn child keeps the session's MEDIA_ROOT."""
    root = tmp_path / "media"
    default = settings.STORAGES["default"]
    assert default["BACKEND"].endswith("FileSystemStorage"), "FILE_STORAGE=filesystem expected"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**default, "OPTIONS": {**default["OPTIONS"], "location": str(root)}},
    }
    settings.MEDIA_ROOT = root
    return root


def stored_objects(root: Path) -> list[str]:
    """Every object key under a filesystem storage root."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def error_code(body: dict[str, Any]) -> str | None:
    """The code of the first top-level GraphQL error, if any."""
    errors = body.get("errors") or []
    return errors[0].get("extensions", {}).get("code") if errors else None


def operation_codes(payload: dict[str, Any]) -> list[str]:
    """The codes of an OperationInfo payload."""
    return [message["code"] for message in payload.get("messages", [])]


def refusal_codes(body: dict[str, Any], field: str) -> list[str]:
    """The codes that refused ``field``: its OperationInfo messages' codes, or else the first
    top-level error's."""
    data = (body.get("data") or {}).get(field)
    if isinstance(data, dict) and "messages" in data:
        return operation_codes(data)
    return [code] if (code := error_code(body)) else []


def host_for(subdomain: str | None) -> str:
    return f"{subdomain}.{settings.BASE_DOMAIN}" if subdomain else settings.BASE_DOMAIN


def graphql(
    client: Any,
    query: str,
    *,
    host: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """POST a query through Django's full stack (middleware included) with a Host header."""
    headers = {"HTTP_HOST": host}
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    response = client.post(
        "/graphql",
        data={"query": query, "variables": variables or {}},
        content_type="application/json",
        **headers,
    )
    return response.status_code, response.json()


# --- a real uvicorn server, for behaviour that is HTTP ------------------------------------


def tests_database_url() -> str:
    """The test database, as a URL that child processes (uvicorn, scripts) can use."""
    return database_url_for(connection.settings_dict)


def production_like_env() -> dict[str, str]:
    """What a child started as in production needs on top of ``child_env``: ``DEBUG`` off
    (no query log kept per request) and real secrets, without which the settings refuse to
    start."""
    return {"DEBUG": "0", **production_secrets()}


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=tests_database_url(),
        DEBUG="1",
        DATA_DIR=str(settings.DATA_DIR),
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
        PYTHONPATH=str(ROOT),
        DJANGO_SETTINGS_MODULE="backend.settings",
        PASSWORD_HASHERS=",".join(FAST_HASHERS),
        # Whatever the shell says: no X-Forwarded-For is believed unless a test says so.
        TRUSTED_PROXIES="",
    )
    env.update(extra)
    return env


@dataclass(frozen=True)
class LiveServer:
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def post(self, host: str, json: Any, **kwargs: Any) -> httpx.Response:
        headers = {"Host": f"{host}:{self.port}", **kwargs.pop("headers", {})}
        kwargs.setdefault("timeout", 10)
        return httpx.post(f"{self.url}/graphql", json=json, headers=headers, **kwargs)

    def request(self, method: str, path: str, host: str, **kwargs: Any) -> httpx.Response:
        headers = {"Host": f"{host}:{self.port}", **kwargs.pop("headers", {})}
        kwargs.setdefault("timeout", 10)
        return httpx.request(method, f"{self.url}{path}", headers=headers, **kwargs)


def _healthy(server: LiveServer) -> bool:
    return server.request("GET", "/healthz", settings.BASE_DOMAIN).status_code == 200


@contextlib.contextmanager
def running_uvicorn(
    django_db_blocker: Any,
    *,
    workers: int = 1,
    env: dict[str, str] | None = None,
    ready: Callable[[LiveServer], bool] = _healthy,
    output: IO[Any] | None = None,
    log_level: str = "warning",
) -> Iterator[LiveServer]:
    """uvicorn serving the test database (or ``env``'s ``DATABASE_URL``) on a free loopback
    port, trusting the proxies in ``env``'s ``TRUSTED_PROXIES`` (default: none), with the
    limits of ``env``'s ``WEB_*`` variables (default: production's). Its stdout and
    stderr go to ``output`` when given (its log, for the tests that read it), uvicorn's own
    lines from ``log_level`` up."""
    extra = env or {}
    with django_db_blocker.unblock():
        env = child_env(**extra)
    port = free_port()
    launch = UvicornLaunch(
        trusted_proxies=trusted_proxies_parse(env.get("TRUSTED_PROXIES", "")),
        port=port,
        workers=workers,
        log_level=log_level,
        limits=ServerLimits.from_environment(env),  # the child's WEB_* variables
    )
    process = subprocess.Popen(launch.command(), cwd=ROOT, env=env, stdout=output, stderr=output)
    server = LiveServer(port)
    with serving(
        process,
        lambda: ready(server),
        timeout=30,
        what="uvicorn",
        not_yet=(httpx.TransportError,),
    ):
        yield server


@pytest.fixture(scope="session")
def uvicorn_server(django_db_setup: None, django_db_blocker: Any) -> Iterator[LiveServer]:
    with running_uvicorn(django_db_blocker) as server:
        yield server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 API on loopback for the whole session (``tests/s3_support.py``)."""
    with running_moto_s3() as server:
        yield server


@pytest.fixture
def committed_clinic(django_db_blocker: Any) -> Iterator[Any]:
    """``committed_clinic(subdomain, plan)``: a clinic committed to the database (visible to
    uvicorn), dropped with its schema after the test."""
    created: list[Clinic] = []

    def make(subdomain: str, plan: str = "basic") -> Clinic:
        with django_db_blocker.unblock():
            clinic = clinic_provision(
                subdomain=subdomain, name=subdomain.title(), legal_id="20600000005",
                email=f"hola@{subdomain}.pe", plan=plan, admin_email=f"admin@{subdomain}.pe",
                admin_password=TEST_PASSWORD,
            )  # fmt: skip
        created.append(clinic)
        return clinic

    yield make
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        for clinic in created:
            clinic.delete(force_drop=True)


def http_login(server: LiveServer, host: str, email: str, password: str = TEST_PASSWORD) -> Any:
    query = (
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) {"
        " __typename ... on AuthToken { token } ... on OperationInfo { messages { code } } } }"
    )
    response = server.post(host, {"query": query, "variables": {"e": email, "p": password}})
    assert response.status_code == 200, response.text
    return response.json()["data"]["login"]


def database_error(sqlstate: str) -> DatabaseError:
    """A real error from PostgreSQL with that SQLSTATE, as Django raises it."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '{sqlstate}'; END $$")
    except DatabaseError as error:
        return error
    raise AssertionError("no error raised")
