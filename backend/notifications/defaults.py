"""What a new clinic starts with: two rules and a Spanish template per kind and channel.

Placeholders (``{name}``): see ``rendering.PLACEHOLDERS``. The content carries only what the
patient needs: the clinic, the date and time, the professional, the address. Never a
diagnosis or a procedure's clinical detail (a recall names the catalog procedure, no more)."""

from __future__ import annotations

# (kind, minutes before the appointment)
RULES = [
    ("CONFIRMATION_REQUEST", 48 * 60),
    ("REMINDER", 3 * 60),
]

_CONFIRM_CHAT = (
    "Hola {patient_first_name}, le escribimos de {clinic_name}. Tiene una cita el {date} a las "
    "{time} con {professional}. Responda 1 para confirmar o 2 para cancelar. {link}"
)
_REMIND_CHAT = (
    "Hola {patient_first_name}, le recordamos su cita en {clinic_name} hoy, {date}, a las {time} "
    "con {professional}. {address}"
)
_RECALL_CHAT = (
    "Hola {patient_first_name}, en {clinic_name} notamos que han pasado {months} meses desde su "
    "última {procedure}. Responda a este mensaje o llámenos para reservar una cita."
)

# (kind, channel, subject, body, WhatsApp template name)
TEMPLATES = [
    ("CONFIRMATION_REQUEST", "WHATSAPP", "", _CONFIRM_CHAT, "appointment_confirmation"),
    ("CONFIRMATION_REQUEST", "SMS", "", _CONFIRM_CHAT, ""),
    (
        "CONFIRMATION_REQUEST",
        "EMAIL",
        "Confirme su cita en {clinic_name}",
        "Hola {patient_first_name}:\n\nTiene una cita en {clinic_name} el {date} a las {time} "
        "con {professional}.\n{address}\n\nConfirme o cancele aquí: {link}\n\n"
        "Adjuntamos la cita para su calendario.",
        "",
    ),
    ("REMINDER", "WHATSAPP", "", _REMIND_CHAT, "appointment_reminder"),
    ("REMINDER", "SMS", "", _REMIND_CHAT, ""),
    (
        "REMINDER",
        "EMAIL",
        "Recordatorio de su cita en {clinic_name}",
        "Hola {patient_first_name}:\n\nLe recordamos su cita en {clinic_name} el {date} a las "
        "{time} con {professional}.\n{address}",
        "",
    ),
    ("RECALL", "WHATSAPP", "", _RECALL_CHAT, "recall_invitation"),
    ("RECALL", "SMS", "", _RECALL_CHAT, ""),
    (
        "RECALL",
        "EMAIL",
        "Es momento de su control en {clinic_name}",
        _RECALL_CHAT,
        "",
    ),
]

# A one-time code the patient asked for (the assistant's identity check). On WhatsApp, a
# business-initiated code must be an approved AUTHENTICATION template, whose body Meta fixes
# ("{{1}} es tu código de verificación…", with a copy-code button): its one parameter is the
# code, so the WhatsApp body names no other placeholder.
VERIFICATION_TEMPLATE_NAME = "verification_code"
_CODE_CHAT = (
    "{clinic_name}: su código de verificación es {code}. No lo comparta con nadie: la "
    "clínica nunca se lo pedirá."
)
VERIFICATION_TEMPLATES = [
    (
        "VERIFICATION_CODE",
        "WHATSAPP",
        "",
        "{code} es su código de verificación. Por su seguridad, no lo comparta.",
        VERIFICATION_TEMPLATE_NAME,
    ),
    ("VERIFICATION_CODE", "SMS", "", _CODE_CHAT, ""),
    (
        "VERIFICATION_CODE",
        "EMAIL",
        "Su código de verificación de {clinic_name}",
        "Hola {patient_first_name}:\n\nSu código de verificación es {code}.\n\nSi usted no lo "
        "pidió, ignore este mensaje. No lo comparta con nadie: {clinic_name} nunca se lo "
        "pedirá.",
        "",
    ),
]
