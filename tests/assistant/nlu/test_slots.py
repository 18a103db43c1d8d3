"""DNI, phone, e-mail, code, choice, names, yes/no, procedure and professional."""

from __future__ import annotations

import datetime as dt

import pytest

from backend.assistant.nlu import DEFAULT_ALIASES, CatalogEntry, Intent, NamedEntry, understand

from .conftest import CATALOG, PROFESSIONALS

TODAY = dt.date(2026, 12, 1)


def read(text: str, expecting: str | None = None):
    return understand(
        text, today=TODAY, catalog=CATALOG, professionals=PROFESSIONALS, expecting=expecting
    )


@pytest.mark.parametrize(
    ("text", "dni"),
    [
        ("45678912", "45678912"),
        ("mi dni es 07654321", "07654321"),
        ("DNI: 4567 8912", "45678912"),
        ("1234567", None),  # seven digits
        ("123456789", None),  # nine
        ("987654321", None),  # a mobile phone
        ("15-12-2026", None),  # a date
    ],
)
def test_dni_is_eight_digits(text: str, dni: str | None) -> None:
    assert read(text, "dni").dni == dni


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("987654321", "+51987654321"),
        ("987 654 321", "+51987654321"),
        ("mi cel es 987-654-321", "+51987654321"),
        ("+51 998 877 665", "+51998877665"),
        ("51987654321", "+51987654321"),
        ("12345", None),
        ("+51 123", None),
    ],
)
def test_phone_is_e164(text: str, phone: str | None) -> None:
    assert read(text, "phone").phone == phone


def test_six_digits_are_a_code_only_when_awaited_or_named():
    assert read("123456", "code").code == "123456"
    assert read("123 456", "code").code == "123456"
    assert read("mi código es 908172").code == "908172"
    assert read("123456").code is None
    assert read("1234567", "code").code is None


def test_email():
    assert read("mi correo es Ana.Perez@Gmail.com").email == "ana.perez@gmail.com"
    assert read("mi correo es ana@", "email").email is None


@pytest.mark.parametrize(
    ("text", "expecting", "choice"),
    [
        ("la 2", "choice", 2),
        ("el segundo", "choice", 2),
        ("la segunda", None, 2),
        ("opción 3", None, 3),
        ("2", "choice", 2),
        ("me quedo con la primera", "choice", 1),
        ("la 2da", "choice", 2),
        ("2", None, None),  # a bare number means nothing unprompted
        ("la 2", None, None),
    ],
)
def test_choice(text: str, expecting: str | None, choice: int | None) -> None:
    assert read(text, expecting).choice == choice


@pytest.mark.parametrize(
    ("text", "expecting", "first", "last"),
    [
        ("me llamo Ana Pérez Rojas", None, "Ana", "Pérez Rojas"),
        ("soy Luis Quispe", None, "Luis", "Quispe"),
        ("Hola, soy Lucía Fernández y quiero una cita", None, "Lucía", "Fernández"),
        ("mi nombre es carlos mendoza", None, "Carlos", "Mendoza"),
        ("Ana Pérez", "names", "Ana", "Pérez"),
        ("María José Salas Vega", "names", "María José", "Salas Vega"),
        ("Ana de la Cruz", "names", "Ana", "de la Cruz"),
        ("me llamo Ana", None, "Ana", None),
        ("Ana Pérez", None, None, None),  # names only when awaited
        ("soy nuevo", None, None, None),
        ("soy paciente de la clínica", None, None, None),
    ],
)
def test_names(text: str, expecting: str | None, first: str | None, last: str | None) -> None:
    got = read(text, expecting)
    assert (got.first_name, got.last_name) == (first, last)


def test_a_patients_surname_is_neither_an_intent_nor_a_professional():
    got = read("Rosa Elena Huamán Torres", "names")
    assert (got.first_name, got.last_name) == ("Rosa Elena", "Huamán Torres")
    assert got.intent is Intent.UNKNOWN  # "Huamán" is not "humano"
    assert got.professional_id is None  # the patient is a Torres, not Dra. Torres


def test_a_patients_name_is_no_symptom():
    got = read("me llamo Dolores Quispe")
    assert (got.first_name, got.clinical.value) == ("Dolores", "NONE")
    assert read("me duelen las muelas").clinical.value == "CLINICAL"


@pytest.mark.parametrize(
    ("text", "expecting", "yes", "intent"),
    [
        ("sí", "yes_no", True, Intent.CONFIRM),
        ("si", None, True, Intent.CONFIRM),  # a bare yes to a reminder
        ("ok", "yes_no", True, Intent.CONFIRM),
        ("dale", "yes_no", True, Intent.CONFIRM),
        ("de acuerdo", "yes_no", True, Intent.CONFIRM),
        ("👍", "yes_no", True, Intent.CONFIRM),
        ("no", "yes_no", False, Intent.DENY),
        ("mejor no", "yes_no", False, Intent.DENY),
        ("no, mejor el viernes", "yes_no", False, Intent.DENY),
        ("ya no puedo ir", None, None, Intent.CANCEL),  # "ya" is a yes, "ya no" is not
    ],
)
def test_yes_and_no(text: str, expecting: str | None, yes: bool | None, intent: Intent) -> None:
    got = read(text, expecting)
    assert (got.yes, got.intent) == (yes, intent)


@pytest.mark.parametrize(
    ("text", "procedure_id"),
    [
        ("limpieza", 2),
        ("una limpiesa", 2),  # typo
        ("profilaxis", 2),
        ("curacion", 3),
        ("curaciones", 3),
        ("sacar una muela", 4),
        ("extracción", 4),  # the shorter of two names that both say it
        ("la muela del juicio", 11),
        ("brackets", 6),
        ("tratamiento de conducto", 7),
        ("endodoncia", 7),  # not "exodoncia" (extracción) by one letter
        ("evaluación", 1),
        ("quiero una cita", None),
    ],
)
def test_procedure(text: str, procedure_id: int | None) -> None:
    assert read(text).procedure_id == procedure_id


def test_default_aliases_apply_to_any_catalog():
    assert "profilaxis" in DEFAULT_ALIASES["limpieza"]
    assert "resina" in DEFAULT_ALIASES["curacion"]
    catalog = [CatalogEntry(40, "Obturación"), CatalogEntry(41, "Destartraje y pulido")]
    assert understand("curación", today=TODAY, catalog=catalog).procedure_id == 40
    assert understand("limpieza", today=TODAY, catalog=catalog).procedure_id == 41
    own = [CatalogEntry(50, "Paquete sonrisa", aliases=("diseño de sonrisa",))]
    assert understand("diseno de sonrisa", today=TODAY, catalog=own).procedure_id == 50
    assert understand("limpieza", today=TODAY).procedure_id is None


@pytest.mark.parametrize(
    ("text", "professional_id"),
    [
        ("la doctora torres", 1),
        ("con la dra. Torres", 1),
        ("con el doctor quispe", 2),
        ("con la doctora carmen", 3),
        ("con Ana", 1),
        ("Ana", None),  # a given name alone is not a professional
        ("con la doctora", None),
    ],
)
def test_professional(text: str, professional_id: int | None) -> None:
    assert read(text).professional_id == professional_id


def test_two_professionals_equally_named_are_no_answer():
    twins = [NamedEntry(1, "Dra. Ana Torres"), NamedEntry(2, "Dr. Luis Torres")]
    assert understand("con torres", today=TODAY, professionals=twins).professional_id is None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("¿a cuánto está la limpieza?", "PRO"),
        ("destartraje", "DET"),
        ("una curación", "RES1"),
        ("resina compuesta", "RES2"),
        ("brackets", "ORT"),
        ("ortodoncia", "ORT"),
        ("control de ortodoncia", "ORTC"),
        ("consulta", "CON"),
        ("evaluación", "CON"),
        ("sacar una muela", "EXO1"),
        ("la muela del juicio", "TER"),
        ("blanqueamiento", "BLA"),
        ("implantes", "IMP"),
        ("carillas", "CAR"),
        ("radiografía panorámica", "RXPAN"),
        ("flúor", "FLU"),
    ],
)
def test_the_demo_clinics_catalog(text: str, code: str) -> None:
    """The catalog that scripts/dev seeds (backend/demo/clinical.py), ids in its order."""
    from backend.demo.clinical import CATALOG as DEMO

    catalog = [CatalogEntry(i, row[1]) for i, row in enumerate(DEMO, start=1)]
    codes = {i: row[0] for i, row in enumerate(DEMO, start=1)}
    found = understand(text, today=TODAY, catalog=catalog).procedure_id
    assert found is not None
    assert codes[found] == code
