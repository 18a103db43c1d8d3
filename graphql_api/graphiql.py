"""GraphiQL, self-hosted: the page (``GET /graphql`` from a browser, when ``settings.GRAPHIQL``)
and its files (``/graphiql/<digest>/<name>``), on every domain, with no CDN.

The files are GraphiQL, React and ReactDOM as vendored from pinned npm versions by
``scripts/vendor_graphiql`` (``static/graphiql/manifest.json`` holds their sha384), beside two
files of ours: the page's boot script and stylesheet. The page loads each with Subresource
Integrity and runs no inline script, so its Content-Security-Policy allows only this origin's
files. Its sign-in panel keeps the token in memory only (``static/graphiql/graphiql-boot.js``).
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import patch_vary_headers

from backend.core.views import not_found

ASSETS_DIR = Path(__file__).resolve().parent / "static" / "graphiql"
OWN_FILES = ("graphiql-boot.js", "graphiql-page.css")
CONTENT_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
# The one inline style GraphiQL needs: opening any of its dialogs (settings, shortcuts, docs,
# history) adds react-remove-scroll-bar's scroll lock as a <style> element. Its text depends
# only on that library and on the body's margins and scrollbar, which the page's stylesheet
# fixes at zero, so one hash allows it and nothing else (the Chromium test opens a dialog;
# re-vendoring a GraphiQL whose lock differs fails there).
GRAPHIQL_SCROLL_LOCK_STYLE = "'sha256-Y/huXlwoYkVyQlxwSVcCi1RCDGDCSVBzDt0hYP9qlTc='"
# GraphiQL's stylesheet embeds its fonts as data: URLs; nothing else comes from anywhere but
# this origin. No inline script, no eval: the page's code is graphiql-boot.js.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        f"style-src 'self' {GRAPHIQL_SCROLL_LOCK_STYLE}",
        "connect-src 'self'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    name: str
    sha384: str  # Subresource Integrity: "sha384-<base64>"

    @property
    def digest(self) -> str:
        """A short, URL-safe form of the hash: the URL changes whenever the file does, so
        the file can be cached for a year."""
        raw = base64.b64decode(self.sha384.removeprefix("sha384-"))
        return base64.urlsafe_b64encode(raw[:9]).decode()

    @property
    def url(self) -> str:
        return reverse("graphiql-asset", kwargs={"digest": self.digest, "name": self.name})


def sri_sha384(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


@functools.cache
def assets() -> dict[str, Asset]:
    """Every file the page may load, by name: the vendored ones with the hash their manifest
    recorded when they were vendored, ours with the hash of what is on disk."""
    manifest = json.loads((ASSETS_DIR / "manifest.json").read_text())
    found = {name: Asset(name, entry["sha384"]) for name, entry in manifest["files"].items()}
    for name in OWN_FILES:
        found[name] = Asset(name, sri_sha384((ASSETS_DIR / name).read_bytes()))
    return found


@functools.cache
def _content(name: str, encoding: str) -> bytes:
    """A file's bytes, gzipped for browsers that accept it (GraphiQL's 3.5 MB bundle is 0.7 MB
    gzipped), each made once per process. Only names from ``assets()`` get here."""
    data = (ASSETS_DIR / name).read_bytes()
    return gzip.compress(data, mtime=0) if encoding == "gzip" else data


def graphiql_asset(request: HttpRequest, digest: str, name: str) -> HttpResponseBase:
    """One of the page's files, by name from the list above (never a path on disk, so no
    directory listing and no way out of the folder), only at its current digest."""
    asset = assets().get(name) if settings.GRAPHIQL else None
    if asset is None or digest != asset.digest or request.method not in ("GET", "HEAD"):
        return not_found(request)
    accepted = request.headers.get("Accept-Encoding", "")
    encoding = "gzip" if "gzip" in accepted.lower() else "identity"
    response = HttpResponse(_content(name, encoding), content_type=CONTENT_TYPES[Path(name).suffix])
    if encoding == "gzip":
        response["Content-Encoding"] = "gzip"
    patch_vary_headers(response, ("Accept-Encoding",))
    response["Cache-Control"] = IMMUTABLE
    return response


def on_public_domain(request: HttpRequest) -> bool:
    tenant = getattr(request, "tenant", None)
    return tenant is None or tenant.schema_name == settings.PUBLIC_SCHEMA_NAME


def graphiql_page(request: HttpRequest) -> HttpResponse:
    """The GraphiQL page, rendered by Django (its texts translated), with its CSP."""
    found = assets()
    response = TemplateResponse(
        request,
        "graphql_api/graphiql.html",
        {
            "assets": {name.replace(".", "_").replace("-", "_"): a for name, a in found.items()},
            "endpoint": request.path,
            "public_domain": on_public_domain(request),
        },
    )
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response["Cache-Control"] = "no-store"
    return response.render()
