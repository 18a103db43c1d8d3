"""The NLU is pure Python: its tests need no database, so they do not build one."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from backend.assistant.nlu import CatalogEntry, NamedEntry

TODAY = dt.date(2026, 12, 1)  # a Tuesday: the evaluation set's dates are written from it
UTTERANCES = Path(__file__).with_name("utterances.jsonl")

CATALOG = (
    CatalogEntry(1, "Consulta y evaluación"),
    CatalogEntry(2, "Profilaxis (limpieza dental)"),
    CatalogEntry(3, "Curación con resina"),
    CatalogEntry(4, "Extracción simple"),
    CatalogEntry(5, "Blanqueamiento dental"),
    CatalogEntry(6, "Ortodoncia (brackets metálicos)"),
    CatalogEntry(7, "Endodoncia (tratamiento de conducto)"),
    CatalogEntry(8, "Corona de porcelana"),
    CatalogEntry(9, "Implante dental"),
    CatalogEntry(10, "Radiografía panorámica"),
    CatalogEntry(11, "Extracción de tercera molar"),
)
PROFESSIONALS = (
    NamedEntry(1, "Dra. Ana Torres"),
    NamedEntry(2, "Dr. Luis Quispe Mamani"),
    NamedEntry(3, "Dra. Carmen Rojas Villanueva"),
)


def load_utterances() -> list[dict[str, Any]]:
    with UTTERANCES.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="session", autouse=True)
def _always_the_test_database() -> None:
    """Overrides the suite's own (tests/conftest.py): no test here touches PostgreSQL."""
