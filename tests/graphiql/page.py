"""Reading the GraphiQL page as a browser would: the files it loads and anything inline."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

from graphql_api.graphiql import CONTENT_SECURITY_POLICY

CLINIC_HOST = "clinica1.localhost"
CLINIC_NAME = "Clínica Dental Norte"
EXPECTED_CSP = {
    "default-src": ["'none'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'sha256-Y/huXlwoYkVyQlxwSVcCi1RCDGDCSVBzDt0hYP9qlTc='"],
    "connect-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "base-uri": ["'none'"],
    "form-action": ["'none'"],
    "frame-ancestors": ["'none'"],
}


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@dataclass
class Loaded:
    tag: str
    url: str
    integrity: str | None


@dataclass
class PageParts(HTMLParser):
    loaded: list[Loaded] = field(default_factory=list)
    inline_scripts: int = 0
    inline_styles: int = 0  # <style> elements and style="" attributes
    event_handlers: list[str] = field(default_factory=list)  # onclick="" and the like

    def __post_init__(self) -> None:
        super().__init__()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.event_handlers += [name for name in values if name.startswith("on")]
        if "style" in values or tag == "style":
            self.inline_styles += 1
        if tag == "script":
            if values.get("src"):
                self.loaded.append(Loaded(tag, values["src"] or "", values.get("integrity")))
            else:
                self.inline_scripts += 1
        if tag == "link" and values.get("rel") == "stylesheet":
            self.loaded.append(Loaded(tag, values.get("href") or "", values.get("integrity")))


def page_parts(html: str) -> PageParts:
    parts = PageParts()
    parts.feed(html)
    return parts


assert csp_directives(CONTENT_SECURITY_POLICY) == EXPECTED_CSP  # the tests' copy is the rule
