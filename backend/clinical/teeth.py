"""FDI tooth numbers and the surfaces each tooth has."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from backend.clinical.errors import ClinicalError

PERMANENT = frozenset(q * 10 + n for q in (1, 2, 3, 4) for n in range(1, 9))
PRIMARY = frozenset(q * 10 + n for q in (5, 6, 7, 8) for n in range(1, 6))
ALL_TEETH = PERMANENT | PRIMARY
UPPER_QUADRANTS = frozenset({1, 2, 5, 6})

# Mesial, distal, occlusal (posterior) or incisal (anterior), vestibular (buccal), and lingual
# (lower) or palatal (upper). B is accepted as a synonym of V.
SURFACES = ("M", "D", "O", "I", "V", "L", "P")
SURFACE_ALIASES = {"B": "V"}


def is_anterior(tooth: int) -> bool:
    """Incisors and canines: position 1 to 3 in their quadrant."""
    return tooth % 10 <= 3


def validate_tooth(tooth: int | None) -> int:
    if tooth not in ALL_TEETH:
        raise ValidationError(
            _("“%(tooth)s” is not an FDI tooth number (11–48 permanent, 51–85 primary).")
            % {"tooth": tooth},
            code=ClinicalError.INVALID_TOOTH,
        )
    return tooth


def surfaces_of(tooth: int) -> tuple[str, ...]:
    """The surfaces this tooth has."""
    biting = "I" if is_anterior(tooth) else "O"
    inner = "P" if tooth // 10 in UPPER_QUADRANTS else "L"
    return ("M", "D", biting, "V", inner)


def validate_surfaces(tooth: int, surfaces: list[str] | None) -> list[str]:
    """Normalize (uppercase, aliases, no repeats, canonical order) and check each applies."""
    allowed = surfaces_of(tooth)
    normalized = []
    for surface in surfaces or []:
        value = SURFACE_ALIASES.get(str(surface).strip().upper(), str(surface).strip().upper())
        if value not in allowed:
            raise ValidationError(
                _("Surface “%(surface)s” does not apply to tooth %(tooth)d (it has %(allowed)s).")
                % {"surface": surface, "tooth": tooth, "allowed": ", ".join(allowed)},
                code=ClinicalError.INVALID_SURFACE,
            )
        if value not in normalized:
            normalized.append(value)
    return sorted(normalized, key=SURFACES.index)
