"""The proxy's on-demand TLS question (``tenants_core/tls_ask.py``): 200 only for a name the
platform serves (its own domain, an active clinic's subdomain or custom domain), whatever the
Host it is asked at, in one query; 404 for any other name; 400 for no host name; never
through a proxy. Through Django's whole middleware stack (the HTTPS test asks it through
Caddy: tests/deploy/test_caddy_https.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from backend.observability.access import networks_parse
from tenants_core.models import Clinic
from tenants_core.services import clinic_domain_add, clinic_suspend
from tenants_core.tls_ask import TLS_ASK_PATH
from tenants_core.validators import hostname_normalise
from tests.conftest import error_code

CUSTOM_DOMAIN = "sonrisa-norte.pe"  # outside BASE_DOMAIN, as a clinic's own domain is
CADDY_HOST = "app:8000"  # where Caddy asks: the app's address, no clinic's name


def _ask(
    *domains: str, host: str = CADDY_HOST, method: str = "get", **headers: str
) -> tuple[int, dict[str, Any], Any]:
    query = "&".join(f"domain={domain}" for domain in domains)
    response = getattr(Client(), method)(f"{TLS_ASK_PATH}?{query}", HTTP_HOST=host, **headers)
    return response.status_code, response.json(), response


def _statements(captured: CaptureQueriesContext) -> list[str]:
    """The statements the answer ran, without the transaction's schema selection: the test's
    transaction opens with one (``backend.core.db_backend``), a server's autocommit never."""
    return [
        query["sql"]
        for query in captured.captured_queries
        if not query["sql"].startswith("SELECT set_config(")
    ]


@pytest.fixture
def custom_domain(clinic1: Clinic, settings: Any) -> str:
    """A custom domain of clinica1, added as ``addClinicDomain`` adds one."""
    clinic_domain_add(actor=None, clinic=clinic1, domain=CUSTOM_DOMAIN)
    return CUSTOM_DOMAIN


def test_the_platforms_domain_is_served_without_a_query(db, settings):
    with CaptureQueriesContext(connection) as captured:
        status, body, response = _ask(settings.BASE_DOMAIN)
    assert (status, body) == (200, {"domain": settings.BASE_DOMAIN})
    assert response["Cache-Control"] == "no-store"
    assert _statements(captured) == []


def test_a_clinic_subdomain_is_served_in_one_query(clinic1):
    with CaptureQueriesContext(connection) as captured:
        status, body, _ = _ask("clinica1.localhost")
    assert (status, body) == (200, {"domain": "clinica1.localhost"})
    statements = _statements(captured)
    assert len(statements) == 1, statements
    assert '"tenants_core_domain"' in statements[0]


def test_a_clinics_custom_domain_is_served(custom_domain):
    with CaptureQueriesContext(connection) as captured:
        status, body, _ = _ask(custom_domain)
    assert (status, body) == (200, {"domain": custom_domain})
    assert len(_statements(captured)) == 1


def test_the_name_is_compared_lowercase_without_the_root_dot(clinic1):
    status, body, _ = _ask("CLINICA1.LocalHost.")
    assert (status, body) == (200, {"domain": "clinica1.localhost"})


@pytest.mark.parametrize(
    "name",
    [
        "desconocido.pe",  # registered nowhere
        "nueva.localhost",  # under the platform's domain, but no clinic's
        "www.clinica1.localhost",  # a name under a clinic's
        "clinica1",  # the subdomain alone
        "clinica1.localhost.evil.pe",  # a clinic's name inside another
        "clinica1-localhost",
        "127.0.0.1",
    ],
)
def test_a_name_no_clinic_has_gets_no_certificate(clinic1, name):
    with CaptureQueriesContext(connection) as captured:
        status, body, _ = _ask(name)
    assert (status, error_code(body)) == (404, "NOT_FOUND")
    assert len(_statements(captured)) == 1
    assert set(body) == {"errors"}  # nothing about any clinic


def test_a_suspended_clinic_gets_no_certificate(db):
    status, body, _ = _ask("cerrada.localhost")  # a seeded clinic, suspended
    assert (status, error_code(body)) == (404, "NOT_FOUND")


def test_suspending_a_clinic_stops_certificates_for_all_its_names(clinic1, custom_domain):
    assert _ask(custom_domain)[0] == 200
    clinic_suspend(actor=None, clinic=clinic1, reason="Pago pendiente")
    assert _ask(custom_domain)[0] == 404
    assert _ask("clinica1.localhost")[0] == 404


@pytest.mark.parametrize(
    "host", ["127.0.0.1:8000", "app:8000", "desconocido.pe", "cerrada.localhost", "localhost"]
)
def test_the_answer_is_the_same_at_any_host(clinic1, host):
    """Caddy asks at the app's address; no host is routed, even an unknown or suspended
    clinic's."""
    assert _ask("clinica1.localhost", host=host)[:2] == (200, {"domain": "clinica1.localhost"})
    assert error_code(_ask("desconocido.pe", host=host)[1]) == "NOT_FOUND"


@pytest.mark.parametrize(
    "query",
    [
        (),  # no domain
        ("",),
        ("a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 59 + ".pe",),  # 254 characters
        ("clinica1.localhost:443",),
        ("clinica1.localhost/graphql",),
        ("https://clinica1.localhost",),
        ("clinica1%20.localhost",),
        ("%20clinica1.localhost",),
        ("-clinica1.localhost",),
        ("clinica1..localhost",),
        ("clinica_1.localhost",),
        ("cl%C3%ADnica.pe",),  # clínica.pe: an IDN travels as xn--
        ("%E2%84%AA.pe",),  # the Kelvin sign, which lower() turns into an ASCII "k"
        ("*.localhost",),
        ("clinica1.localhost", "clinica1.localhost"),  # one name per question
    ],
)
def test_no_host_name_is_a_bad_request(clinic1, query):
    with CaptureQueriesContext(connection) as captured:
        status, body, _ = _ask(*query)
    assert (status, error_code(body)) == (400, "BAD_REQUEST"), query
    assert _statements(captured) == []


def test_the_longest_host_name_is_asked_about(clinic1):
    longest = "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 58 + ".pe"  # 253 characters
    assert len(longest) == 253
    status, body, _ = _ask(longest + ".")
    assert (status, error_code(body)) == (404, "NOT_FOUND")


def test_only_get_asks(clinic1):
    status, body, _ = _ask("clinica1.localhost", method="post")
    assert (status, error_code(body)) == (405, "BAD_REQUEST")


@pytest.mark.parametrize(
    "header",
    [
        {"HTTP_X_FORWARDED_FOR": "203.0.113.9"},
        {"HTTP_FORWARDED": "for=203.0.113.9;proto=https"},
    ],
)
def test_a_request_through_a_proxy_is_never_the_proxys_question(clinic1, header):
    """Caddy keeps /internal/ from the outside; should a path trick get past it, the request
    still carries the X-Forwarded-For that Caddy adds, and gets an unknown path's 404."""
    status, body, _ = _ask("clinica1.localhost", **header)
    assert (status, error_code(body)) == (404, "NOT_FOUND")
    assert "domain" not in body


def test_allowed_networks_refuse_other_addresses(clinic1, settings):
    settings.TLS_ASK_ALLOWED_IPS = networks_parse("10.0.0.0/8, 192.168.1.7")
    status, body, _ = _ask("clinica1.localhost")  # the test client is 127.0.0.1
    assert (status, error_code(body)) == (403, "FORBIDDEN")

    settings.TLS_ASK_ALLOWED_IPS = networks_parse("10.0.0.0/8,127.0.0.0/8")
    assert _ask("clinica1.localhost")[:2] == (200, {"domain": "clinica1.localhost"})


def test_a_bad_allowed_networks_setting_names_itself():
    with pytest.raises(ImproperlyConfigured, match=r"^TLS_ASK_ALLOWED_IPS: 'caddy' is not an IP"):
        networks_parse("10.0.0.0/8,caddy", setting="TLS_ASK_ALLOWED_IPS")


def test_other_paths_go_on_to_the_clinic_routing(db):
    """Only the exact path is the question: a neighbour is routed like any request."""
    response = Client().get(f"{TLS_ASK_PATH}/?domain=clinica1.localhost", HTTP_HOST=CADDY_HOST)
    assert (response.status_code, error_code(response.json())) == (404, "UNKNOWN_HOST")


def _domain_lookup_fails_with(sqlstate: str) -> Callable[..., Any]:
    """A statement wrapper that makes PostgreSQL raise ``sqlstate`` instead of the lookup."""

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any):
        if '"tenants_core_domain"' in sql:
            sql, params = (
                f"DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '{sqlstate}'; END $$",
                None,
            )
        return execute(sql, params, many, context)

    return wrapper


@pytest.mark.parametrize(
    ("sqlstate", "status", "code"),
    [
        ("57P01", 503, "DATABASE_UNAVAILABLE"),  # admin_shutdown: the server goes away
        ("08006", 503, "DATABASE_UNAVAILABLE"),  # connection_failure
        ("22012", 500, "INTERNAL_ERROR"),  # division_by_zero: a bug, not an outage
    ],
)
def test_a_database_error_is_answered_by_what_it_is(django_db_blocker, sqlstate, status, code):
    """Caddy takes any answer but 200 for a no, and asks again at the next handshake; the
    connection stays usable for the next question. In autocommit, as in production."""
    url = f"{TLS_ASK_PATH}?domain=clinica1.localhost"
    with django_db_blocker.unblock():
        with connection.execute_wrapper(_domain_lookup_fails_with(sqlstate)):
            failed = Client(raise_request_exception=False).get(url, HTTP_HOST=CADDY_HOST)
        served = Client().get(url, HTTP_HOST=CADDY_HOST)
    assert (failed.status_code, error_code(failed.json())) == (status, code)
    assert served.status_code == 200


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("clinica1.localhost", "clinica1.localhost"),
        ("Clinica1.LOCALHOST.", "clinica1.localhost"),
        ("localhost", "localhost"),
        ("xn--clnica-2va.pe", "xn--clnica-2va.pe"),
        ("a" * 63 + ".pe", "a" * 63 + ".pe"),
        ("a" * 64 + ".pe", None),
        ("clinica1.localhost..", None),
        (".", None),
        ("", None),
        (" clinica1.localhost", None),
        ("clínica.pe", None),
        ("\u212a.pe", None),
    ],
)
def test_hostname_normalise(value, expected):
    assert hostname_normalise(value) == expected
