"""The Spanish (Peru) catalog: `Accept-Language: es` answers in Spanish with the same codes,
and locale/es holds a complete, compiled catalog."""

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from tests.conftest import error_code, operation_codes

CATALOG = Path(settings.BASE_DIR) / "locale" / "es" / "LC_MESSAGES"

FAILED_LOGIN = """
mutation {
  login(email: "x@y.pe", password: "nope") {
    ... on OperationInfo { messages { code message } }
  }
}
"""
ME = "{ me { email } }"

INVALID_CREDENTIALS_EN = "The email or the password is not correct."
INVALID_CREDENTIALS_ES = "El correo electrónico o la contraseña no son correctos."
UNAUTHENTICATED_ES = (
    "Primero inicie sesión: envíe un token válido como “Authorization: Bearer <token>”."
)

# The tenant middleware answers these before LocaleMiddleware has read Accept-Language.
REFUSED_HOSTS = [
    pytest.param(
        "desconocida.localhost",
        404,
        "UNKNOWN_HOST",
        "Ninguna clínica responde en esta dirección.",
        id="unknown-host",
    ),
    pytest.param(
        "cerrada.localhost",
        403,
        "CLINIC_SUSPENDED",
        "Esta clínica está suspendida. Sus datos se conservan; comuníquese con la plataforma.",
        id="suspended-clinic",
    ),
]


@pytest.fixture(autouse=True)
def _default_language_around_each_test():
    """LocaleMiddleware leaves the last request's language active in the thread: start each
    test from the default and do not leak Spanish into the tests that run after these."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


def post(client, query, *, host, language=None, token=None):
    headers = {"HTTP_HOST": host}
    if language:
        headers["HTTP_ACCEPT_LANGUAGE"] = language
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    response = client.post(
        "/graphql", data={"query": query}, content_type="application/json", **headers
    )
    return response.status_code, response.json()


def login_messages(client, language=None):
    status, body = post(client, FAILED_LOGIN, host="clinica1.localhost", language=language)
    assert status == 200
    return body["data"]["login"]


# --- over HTTP -------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["es", "es-PE", "es-PE,es;q=0.9,en;q=0.8"])
def test_a_failed_login_answers_in_spanish_when_asked(client, clinic1, language):
    payload = login_messages(client, language)
    assert operation_codes(payload) == ["INVALID_CREDENTIALS"]
    assert payload["messages"][0]["message"] == INVALID_CREDENTIALS_ES


@pytest.mark.parametrize("language", [None, "en", "en-US", "fr"])
def test_a_failed_login_answers_in_english_otherwise(client, clinic1, language):
    payload = login_messages(client, language)
    assert operation_codes(payload) == ["INVALID_CREDENTIALS"]
    assert payload["messages"][0]["message"] == INVALID_CREDENTIALS_EN


def test_spanish_and_english_requests_alternate_without_mixing(client, clinic1):
    languages = ["es", "en", "es", None]
    messages = [
        login_messages(client, language)["messages"][0]["message"] for language in languages
    ]
    expected = [INVALID_CREDENTIALS_ES, INVALID_CREDENTIALS_EN, INVALID_CREDENTIALS_ES]
    assert messages == [*expected, INVALID_CREDENTIALS_EN]


def test_a_permission_refusal_answers_in_spanish_with_the_same_code(client, clinic1):
    status, body = post(client, ME, host="clinica1.localhost", language="es")
    assert status == 200
    assert error_code(body) == "UNAUTHENTICATED"
    assert body["errors"][0]["message"] == UNAUTHENTICATED_ES


def test_an_unknown_path_answers_in_spanish(client, clinic1):
    response = client.get("/nada", HTTP_HOST="clinica1.localhost", HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 404
    assert response.json() == {
        "errors": [
            {
                "message": "Aquí no hay nada. La API está en /graphql.",
                "extensions": {"code": "NOT_FOUND"},
            }
        ]
    }


@pytest.mark.parametrize(("host", "status", "code", "spanish"), REFUSED_HOSTS)
def test_a_refused_host_keeps_its_status_and_code_in_spanish(
    client, db, host, status, code, spanish
):
    got_status, body = post(client, ME, host=host, language="es")
    assert got_status == status
    assert error_code(body) == code


@pytest.mark.parametrize(("host", "status", "code", "spanish"), REFUSED_HOSTS)
def test_a_refused_host_answers_in_spanish(client, db, host, status, code, spanish):
    _, body = post(client, ME, host=host, language="es")
    assert body["errors"][0]["message"] == spanish


# --- the catalog -----------------------------------------------------------------------


def po_entries(path):
    """(flags, msgctxt or None, msgid, msgstr) for each entry of a .po file; plural forms are
    not used here."""
    entries = []
    flags, fields, key = [], {}, None

    def flush():
        if "msgid" in fields:
            context = "".join(fields["msgctxt"]) if "msgctxt" in fields else None
            msgid, msgstr = "".join(fields["msgid"]), "".join(fields.get("msgstr", []))
            entries.append((flags, context, msgid, msgstr))

    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = line.strip()
        if not line:
            flush()
            flags, fields, key = [], {}, None
        elif line.startswith("#,"):
            flags = [flag.strip() for flag in line[2:].split(",")]
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            fields[key].append(ast.literal_eval(line))
        else:
            keyword, _, rest = line.partition(" ")
            if keyword in ("msgctxt", "msgid") and "msgid" in fields:  # no blank line before
                flush()
                flags, fields = [], {}
            key = keyword
            fields[key] = [ast.literal_eval(rest)]
    return entries


def messages():
    """(msgctxt or None, msgid, msgstr) for each message of the catalog, the header left out."""
    entries = po_entries(CATALOG / "django.po")
    return [(context, msgid, msgstr) for _, context, msgid, msgstr in entries if msgid]


def test_the_spanish_catalog_has_no_untranslated_or_fuzzy_entries():
    entries = po_entries(CATALOG / "django.po")
    assert entries, "locale/es/LC_MESSAGES/django.po is empty"
    header = [msgstr for _, _, msgid, msgstr in entries if msgid == ""]
    assert len(header) == 1
    assert "Language: es\n" in header[0]
    assert "charset=UTF-8" in header[0]
    assert [msgid for flags, _, msgid, _ in entries if "fuzzy" in flags] == []
    assert [msgid for _, msgid, msgstr in messages() if not msgstr] == []
    assert "#, fuzzy" not in (CATALOG / "django.po").read_text(encoding="utf-8")


def test_translations_keep_placeholders_and_quotes():
    placeholder = re.compile(r"%\(\w+\)[sd]")
    for _, msgid, msgstr in messages():
        assert sorted(placeholder.findall(msgstr)) == sorted(placeholder.findall(msgid)), msgid
        for quote in "“”":
            assert msgstr.count(quote) == msgid.count(quote), msgid


def test_the_compiled_catalog_matches_the_po_file():
    with (CATALOG / "django.mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    stale = [
        (context, msgid)
        for context, msgid, msgstr in messages()
        if (compiled.pgettext(context, msgid) if context else compiled.gettext(msgid)) != msgstr
    ]
    assert stale == [], "run `manage.py compilemessages` and commit locale/es/LC_MESSAGES/django.mo"


def test_django_uses_the_catalog_for_spanish():
    with translation.override("es"):
        assert translation.gettext(INVALID_CREDENTIALS_EN) == INVALID_CREDENTIALS_ES
        assert translation.gettext("No clinic has this subdomain.") == (
            "Ninguna clínica tiene este subdominio."
        )


@pytest.mark.parametrize(
    ("english", "spanish"),
    [
        (
            "The professional or the chair is already booked at %(when)s.",
            "El profesional o el sillón ya está ocupado en el horario %(when)s.",
        ),
        ("A DNI has exactly 8 digits.", "El DNI debe tener exactamente 8 dígitos."),
        (
            "This note is signed and cannot change; add an addendum.",
            "Esta nota está firmada y no se puede modificar; agregue una adenda.",
        ),
        ("The discount is greater than the price.", "El descuento es mayor que el precio."),
        (
            "Say why the receipt is voided (at most 300 characters).",
            "Indique el motivo de la anulación del comprobante (máximo 300 caracteres).",
        ),
    ],
)
def test_django_translates_scheduling_and_patient_messages(english, spanish):
    """A booking refused in Spanish is heavy to set up over HTTP; gettext is the same path."""
    with translation.override("es"):
        assert translation.gettext(english) == spanish


@pytest.mark.parametrize(
    ("context", "english", "spanish", "appointment"),
    [
        ("treatment plan", "In progress", "En curso", "En atención"),
        ("treatment plan", "Completed", "Completado", "Atendida"),
        ("plan item", "Cancelled", "Cancelado", "Cancelada"),
    ],
)
def test_plan_statuses_are_translated_apart_from_appointment_statuses(
    context, english, spanish, appointment
):
    with translation.override("es"):
        assert translation.pgettext(context, english) == spanish
        assert translation.gettext(english) == appointment
