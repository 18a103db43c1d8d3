"""The demo clinics' profile, opening hours and a holiday: a Lima address and phone, split
shifts ("L-V 9:00–13:00 y 15:00–20:00, S 9:00–13:00") and the next public holiday after the
demo week, so that the week's bookings all fall inside the hours."""

from __future__ import annotations

import datetime as dt

from backend.accounts.models import User
from backend.clinic_admin import services
from tenants_core.models import Clinic

# Per subdomain; any other clinic gets the first.
PROFILES = {
    "clinica1": {
        "legal_name": "Clínica Dental Norte S.A.C.",
        "address_line": "Av. Túpac Amaru 1250, 2.º piso",
        "reference": "Frente al parque Cahuide, a una cuadra de la estación Naranjal",
        "department": "Lima", "province": "Lima", "district": "Independencia",
        "ubigeo": "150112", "phone": "01 521 4433", "whatsapp": "987 654 321",
        "email": "contacto@clinica1.pe", "website": "https://clinica1.pe",
        "description": "Odontología general, ortodoncia y endodoncia para toda la familia.",
    },
    "clinica2": {
        "legal_name": "Dental Smile E.I.R.L.",
        "address_line": "Av. José Larco 345, Of. 201",
        "reference": "A media cuadra del parque Kennedy",
        "department": "Lima", "province": "Lima", "district": "Miraflores",
        "ubigeo": "150122", "phone": "01 445 2200", "whatsapp": "912 345 678",
        "email": "hola@clinica2.pe", "website": "https://clinica2.pe",
        "description": "Estética dental y blanqueamiento.",
    },
}  # fmt: skip
WEEK = [
    *(
        services.Shift(day, dt.time(opens), dt.time(closes))
        for day in range(1, 6)
        for opens, closes in ((9, 13), (15, 20))
    ),
    services.Shift(6, dt.time(9), dt.time(13)),
]
# Peru's fixed-date public holidays (month, day, name).
HOLIDAYS = (
    (1, 1, "Año Nuevo"), (5, 1, "Día del Trabajo"), (6, 29, "San Pedro y San Pablo"),
    (7, 28, "Fiestas Patrias"), (7, 29, "Fiestas Patrias"), (8, 30, "Santa Rosa de Lima"),
    (10, 8, "Combate de Angamos"), (11, 1, "Todos los Santos"),
    (12, 8, "Inmaculada Concepción"), (12, 25, "Navidad"),
)  # fmt: skip


def next_holiday(after: dt.date) -> tuple[dt.date, str]:
    """The first fixed public holiday after ``after``."""
    return min(
        (dt.date(year, month, day), name)
        for year in (after.year, after.year + 1)
        for month, day, name in HOLIDAYS
        if dt.date(year, month, day) > after
    )


def clinic_profile_seed(clinic: Clinic, *, actor: User | None, week_ends: dt.date) -> None:
    """Fill the profile, set the hours and close the clinic on the first holiday after
    ``week_ends`` (the demo week's Sunday). Runs in the clinic's schema."""
    data = PROFILES.get(clinic.subdomain, PROFILES["clinica1"])
    services.clinic_profile_update(actor=actor, clinic=clinic, data=data)  # type: ignore[arg-type]
    services.opening_hours_set(actor=actor, shifts=WEEK)  # type: ignore[arg-type]
    day, name = next_holiday(week_ends)
    services.clinic_closure_add(actor=actor, starts_on=day, ends_on=day, reason=name)  # type: ignore[arg-type]
