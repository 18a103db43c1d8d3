"""GraphiQL over real HTTP: the page and its self-hosted files on a clinic's domain and on the
platform's, its Content-Security-Policy, Subresource Integrity that matches what is served, no
way to any other file, and no page at all when ``GRAPHIQL`` is off (its default outside
``DEBUG``)."""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import os
import subprocess
import sys
import tomllib

import pytest
from django.conf import settings as django_settings

from devtools.graphiql_vendor import PINS, TARGET, sri_sha384
from devtools.processes import production_secrets
from graphql_api.graphiql import ASSETS_DIR, assets
from tests.conftest import ROOT, production_like_env, running_uvicorn
from tests.graphiql.page import CLINIC_HOST, EXPECTED_CSP, csp_directives, page_parts

HTML = {"Accept": "text/html"}
HOSTS = [CLINIC_HOST, django_settings.BASE_DOMAIN]


@pytest.mark.parametrize("host", HOSTS)
def test_the_page_has_a_strict_csp_and_nothing_inline(uvicorn_server, host):
    response = uvicorn_server.request("GET", "/graphql", host, headers=HTML)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert csp_directives(response.headers["content-security-policy"]) == EXPECTED_CSP
    assert response.headers["cache-control"] == "no-store"
    parts = page_parts(response.text)
    assert (parts.inline_scripts, parts.inline_styles, parts.event_handlers) == (0, 0, [])
    assert [(p.tag, p.url.rsplit("/", 1)[-1]) for p in parts.loaded] == [
        ("link", "graphiql.min.css"),
        ("link", "graphiql-page.css"),
        ("script", "react.production.min.js"),
        ("script", "react-dom.production.min.js"),
        ("script", "graphiql.min.js"),
        ("script", "graphiql-boot.js"),
    ]
    assert "unpkg" not in response.text
    assert "//" not in "".join(p.url for p in parts.loaded)  # this origin's paths only


def test_the_csp_is_sent_only_on_the_graphiql_page(uvicorn_server):
    answer = uvicorn_server.post(CLINIC_HOST, {"query": "{ __typename }"})
    health = uvicorn_server.request("GET", "/healthz", CLINIC_HOST)

    assert answer.status_code == 200
    assert "content-security-policy" not in answer.headers
    assert "content-security-policy" not in health.headers


@pytest.mark.parametrize("host", HOSTS)
def test_every_file_the_page_loads_is_served_here_with_its_integrity(uvicorn_server, host):
    page = uvicorn_server.request("GET", "/graphql", host, headers=HTML)

    for loaded in page_parts(page.text).loaded:
        response = uvicorn_server.request("GET", loaded.url, host)
        assert response.status_code == 200, loaded
        suffix = loaded.url.rsplit(".", 1)[-1]
        expected_type = {"js": "text/javascript", "css": "text/css"}[suffix]
        assert response.headers["content-type"] == f"{expected_type}; charset=utf-8"
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-encoding"] == "gzip"  # httpx asks for it
        assert loaded.integrity == sri_sha384(response.content), loaded.url


def test_a_file_is_served_as_is_to_a_client_without_gzip(uvicorn_server):
    asset = assets()["graphiql.min.js"]

    plain = uvicorn_server.request(
        "GET", asset.url, CLINIC_HOST, headers={"Accept-Encoding": "identity"}
    )
    gzipped = uvicorn_server.request("GET", asset.url, CLINIC_HOST)

    assert "content-encoding" not in plain.headers
    assert int(plain.headers["content-length"]) == (ASSETS_DIR / asset.name).stat().st_size
    assert sri_sha384(plain.content) == asset.sha384
    assert int(gzipped.headers["content-length"]) < len(plain.content) / 4
    assert "Accept-Encoding" in gzipped.headers["vary"].split(", ")


def test_the_page_tells_platform_operators_how_to_sign_in(uvicorn_server):
    clinic = uvicorn_server.request("GET", "/graphql", CLINIC_HOST, headers=HTML).text
    public = uvicorn_server.request(
        "GET", "/graphql", django_settings.BASE_DOMAIN, headers=HTML
    ).text

    assert "platform operators sign in here" in public
    assert "platform operators sign in here" not in clinic
    assert "your account at this clinic" in clinic
    assert "{ currentClinic { name } }" in clinic


def test_the_page_speaks_the_browsers_language(uvicorn_server):
    response = uvicorn_server.request(
        "GET", "/graphql", CLINIC_HOST, headers={**HTML, "Accept-Language": "es"}
    )

    assert '<html lang="es">' in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/graphiql/{digest}/nothing.js",  # not one of the page's files
        "/graphiql/{digest}/manifest.json",  # beside them, but not served
        "/graphiql/{digest}/LICENSE.react.txt",
        "/graphiql/AAAAAAAAAAAA/graphiql-boot.js",  # an old or made-up digest
        "/graphiql/{digest}/..%2Fgraphiql.py",
        "/graphiql/{digest}/%2e%2e%2f%2e%2e%2fsettings.py",
        "/graphiql/../backend/settings.py",
        "/graphiql/{digest}/",
        "/graphiql/{digest}",
        "/graphiql/",
    ],
)
def test_nothing_else_is_served_from_the_graphiql_folder(uvicorn_server, path):
    digest = assets()["graphiql-boot.js"].digest

    response = uvicorn_server.request("GET", path.format(digest=digest), CLINIC_HOST)

    assert response.status_code == 404, path
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_a_file_is_not_served_to_a_post(uvicorn_server):
    asset = assets()["graphiql-boot.js"]

    response = uvicorn_server.request("POST", asset.url, CLINIC_HOST)

    assert response.status_code == 403  # Django's CSRF check refuses it before the view
    assert "GraphiQL" not in response.text


def test_with_graphiql_off_there_is_no_page_and_no_file(client, clinic1, settings):
    settings.GRAPHIQL = False
    asset = assets()["graphiql.min.js"]

    page = client.get("/graphql", HTTP_HOST=CLINIC_HOST, HTTP_ACCEPT="text/html")
    served = client.get(asset.url, HTTP_HOST=CLINIC_HOST)
    api = client.post(
        "/graphql", {"query": "{ __typename }"}, content_type="application/json",
        HTTP_HOST=CLINIC_HOST,
    )  # fmt: skip

    assert page.status_code == 404
    assert page.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert "content-security-policy" not in page.headers
    assert served.status_code == 404
    assert api.json() == {"data": {"__typename": "Query"}}


def _graphiql_setting(**env: str) -> str:
    """``settings.GRAPHIQL`` as a fresh interpreter loads it from this environment."""
    environment = {
        k: v for k, v in os.environ.items() if k not in {"DEBUG", "GRAPHIQL", "SECRET_KEY"}
    }
    environment.update(
        PYTHONPATH=str(ROOT),
        DJANGO_SETTINGS_MODULE="backend.settings",
        DATABASE_URL="postgres://nobody@127.0.0.1:1/nothing",  # parsed only
        **production_secrets(),
        **env,
    )
    code = "from django.conf import settings; print(settings.GRAPHIQL)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True,
        text=True, timeout=120, check=True,
    )  # fmt: skip
    return result.stdout.strip()


def test_graphiql_is_off_by_default_outside_debug():
    assert _graphiql_setting(DEBUG="0") == "False"
    assert _graphiql_setting(DEBUG="1") == "True"
    assert _graphiql_setting(DEBUG="0", GRAPHIQL="1") == "True"
    assert _graphiql_setting(DEBUG="1", GRAPHIQL="0") == "False"


@pytest.mark.slow
def test_with_debug_off_and_graphiql_on_the_page_and_its_files_are_served(django_db_blocker):
    env = {**production_like_env(), "GRAPHIQL": "1"}
    with running_uvicorn(django_db_blocker, env=env) as server:
        page = server.request("GET", "/graphql", CLINIC_HOST, headers=HTML)
        loaded = page_parts(page.text).loaded
        served = [server.request("GET", file.url, CLINIC_HOST) for file in loaded]

    assert page.status_code == 200
    assert csp_directives(page.headers["content-security-policy"]) == EXPECTED_CSP
    assert len(loaded) == 6
    for file, response in zip(loaded, served, strict=True):
        assert response.status_code == 200, file.url
        assert file.integrity == sri_sha384(response.content)


def test_the_vendored_files_are_the_pinned_packages_files():
    """What ``scripts/vendor_graphiql`` wrote: each file's hash as its manifest recorded it when
    the pinned, integrity-checked tarball was unpacked (a hand-edited file fails here), and
    each package's licence beside them."""
    manifest = json.loads((ASSETS_DIR / "manifest.json").read_text())

    assert ASSETS_DIR == TARGET
    assert [(p["name"], p["version"], p["integrity"]) for p in manifest["packages"]] == [
        (pin.name, pin.version, pin.integrity) for pin in PINS
    ]
    assert sorted(manifest["files"]) == sorted(n for pin in PINS for n in pin.files.values())
    for name, entry in manifest["files"].items():
        data = (ASSETS_DIR / name).read_bytes()
        assert entry["sha384"] == sri_sha384(data), name
        assert entry["bytes"] == len(data), name
    for package in manifest["packages"]:
        licence = (ASSETS_DIR / package["license_file"]).read_text()
        assert "MIT License" in licence
        assert "Permission is hereby granted" in licence
    served = {name for name in assets()}
    on_disk = {p.name for p in ASSETS_DIR.iterdir()}
    assert on_disk - served == {"manifest.json"} | {p["license_file"] for p in manifest["packages"]}


def test_sri_hashes_are_sha384_in_base64():
    data = b"graphiql"

    assert sri_sha384(data) == "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def test_an_installed_product_ships_the_page_and_its_files():
    """``pyproject.toml``'s package data (for ``graphql_api`` or for every package) covers the
    template and every file the page serves (without them an installed product would answer
    the page with 500). devtools/wheel_check.py checks the built wheel itself in CI."""
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]
    patterns = [*package_data.get("graphql_api", []), *package_data.get("*", [])]
    package = ROOT / "graphql_api"
    needed = [ASSETS_DIR / "manifest.json", package / "templates/graphql_api/graphiql.html"]
    needed += [ASSETS_DIR / name for name in assets()]

    for path in needed:
        relative = str(path.relative_to(package))
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative
