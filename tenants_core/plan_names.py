"""The names an operator may type for a plan: its code, or the original system's Spanish name.

The original system's documentation creates clinics with ``crear_clinica.py ... basico``; those
names are accepted on the command line and mapped to the plan's code, which is what is stored.
"""

from __future__ import annotations

import unicodedata

from tenants_core.models import PlanCode

# The original system's name of each plan. Typed with or without accents, in any case.
SPANISH_PLAN_NAMES: dict[PlanCode, str] = {
    PlanCode.BASIC: "básico",
    PlanCode.PROFESSIONAL: "profesional",
    PlanCode.ENTERPRISE: "empresarial",
}


def _folded(name: str) -> str:
    """``name`` without accents, case or surrounding spaces: "Básico" -> "basico"."""
    decomposed = unicodedata.normalize("NFKD", name.strip())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


_CODES_BY_NAME: dict[str, PlanCode] = {
    **{_folded(spanish): code for code, spanish in SPANISH_PLAN_NAMES.items()},
    **{code.value: code for code in PlanCode},
}


def plan_code_from_name(name: str) -> PlanCode | None:
    """The plan a typed name means (``basic``, ``BASICO``, ``básico``...), or None."""
    return _CODES_BY_NAME.get(_folded(name))


def plan_names_help() -> str:
    """Each plan code with its Spanish name: "basic (básico), professional (profesional), ..."."""
    return ", ".join(f"{code.value} ({SPANISH_PLAN_NAMES[code]})" for code in PlanCode)
