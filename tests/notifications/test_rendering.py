"""Templates: every placeholder, unknown ones refused, Spanish dates in the clinic's zone, no
clinical field in what a patient receives, and the defaults valid for their kind."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from backend.notifications import channels, delivery, rendering
from backend.notifications.defaults import TEMPLATES, VERIFICATION_TEMPLATES
from backend.notifications.models import MessageTemplate
from tests.dates import MONDAY, lima
from tests.notifications.delivery_support import desk_fixture, notifications_of  # noqa: F401

THURSDAY_UTC = dt.datetime(2026, 12, 3, 15, 30, tzinfo=dt.UTC)  # a Thursday


@pytest.mark.parametrize(
    ("zone", "date", "time"),
    [
        ("America/Lima", "jueves 3 de diciembre", "10:30"),
        ("America/Santiago", "jueves 3 de diciembre", "12:30"),  # summer time (UTC-3)
        ("Europe/Madrid", "jueves 3 de diciembre", "16:30"),
        ("Asia/Tokyo", "viernes 4 de diciembre", "00:30"),
    ],
)
def test_spanish_date_and_time_in_the_clinic_zone(zone, date, time):
    assert rendering.spanish_date(THURSDAY_UTC, zone) == date
    assert rendering.spanish_time(THURSDAY_UTC, zone) == time


def test_spanish_months_and_weekdays():
    assert rendering.spanish_date(dt.datetime(2027, 1, 4, 15, tzinfo=dt.UTC), "America/Lima") == (
        "lunes 4 de enero"
    )
    assert rendering.spanish_date(dt.datetime(2027, 8, 1, 15, tzinfo=dt.UTC), "America/Lima") == (
        "domingo 1 de agosto"
    )


def test_every_placeholder_renders():
    text = " ".join(f"[{{{name}}}]" for name in rendering.PLACEHOLDERS)
    values = {name: name.upper() for name in rendering.PLACEHOLDERS}
    assert rendering.render(text, values) == " ".join(
        f"[{name.upper()}]" for name in rendering.PLACEHOLDERS
    )


def test_missing_values_leave_no_gap_and_literal_braces_stay():
    assert rendering.render("Hola {patient_first_name}, {address}  fin {{ok}}", {}) == (
        "Hola , fin {ok}"
    )
    assert rendering.render("a\n{address}\n\n\n\nb  ", {"address": ""}) == "a\n\nb"


@pytest.mark.parametrize(
    ("text", "allowed", "unknown"),
    [
        ("Hola {patient_first_name}", rendering.APPOINTMENT_PLACEHOLDERS, []),
        ("Hola {nombre} el {fecha} {date}", rendering.APPOINTMENT_PLACEHOLDERS, ["fecha", "nombre"]),
        ("{date} a las {time}", rendering.RECALL_PLACEHOLDERS, ["date", "time"]),
        ("{procedure} hace {months} meses", rendering.APPOINTMENT_PLACEHOLDERS,
         ["months", "procedure"]),
        ("{{literal}} {link}", rendering.APPOINTMENT_PLACEHOLDERS, []),
    ],
)  # fmt: skip
def test_unknown_placeholders(text, allowed, unknown):
    assert rendering.unknown_placeholders(text, allowed) == unknown


@pytest.mark.parametrize("text", ["Hola {", "Hola }", "{a.b}", "{0}", "{date!r}", "{time:>5}"])
def test_malformed_templates_are_refused(text):
    with pytest.raises(rendering.TemplateSyntaxError):
        rendering.placeholders_in(text)


@pytest.mark.parametrize(
    ("kind", "channel", "subject", "body", "wa_name"), TEMPLATES + VERIFICATION_TEMPLATES
)
def test_the_default_templates_use_only_their_kind_placeholders(
    kind, channel, subject, body, wa_name
):
    allowed = rendering.placeholders_allowed(kind)
    assert rendering.unknown_placeholders(body, allowed) == []
    assert rendering.unknown_placeholders(subject, allowed) == []
    assert (channel == "WHATSAPP") == bool(wa_name)
    if kind == "CONFIRMATION_REQUEST" and channel != "WHATSAPP":
        assert "{link}" in body  # email and SMS carry the confirm/cancel link
    if kind == "VERIFICATION_CODE":
        assert "{code}" in body
        assert "{code}" not in subject  # a subject shows on lock screens and in inbox lists
        if channel == "WHATSAPP":  # Meta's authentication templates take the code alone
            assert rendering.placeholders_in(body) == ["code"]


@pytest.mark.django_db
@pytest.mark.parametrize("channel", ["WHATSAPP", "SMS", "EMAIL"])
def test_no_clinical_field_reaches_the_patient_even_through_a_template(desk, monkeypatch, channel):
    """The reason and notes of the appointment, and the patient's clinical fields, are never
    values a template can name: a clinic that writes {reason} gets nothing."""
    sent: list[channels.OutgoingMessage] = []
    monkeypatch.setattr(channels, "send", lambda message: sent.append(message) or "id")
    desk.patient.allergies, desk.patient.medical_alerts = "Penicilina", "Hipertensión"
    desk.patient.notes = "Ansioso"
    if channel != "WHATSAPP":
        desk.patient.phone = "" if channel == "EMAIL" else desk.patient.phone
        from backend.notifications.models import ContactPreference

        ContactPreference.objects.create(patient=desk.patient, whatsapp=False)
    desk.patient.save()
    MessageTemplate.objects.filter(kind="CONFIRMATION_REQUEST", channel=channel).update(
        body="{reason} {notes} {allergies} {date} {time} {professional} {clinic_name}",
        subject="{reason}",
    )
    appointment = desk.book(lima(MONDAY, 10), reason="Extracción 38", notes="Diabético")
    note = notifications_of(appointment)[0]
    assert note.channel == channel

    delivery.notification_send(notification_id=note.pk, now=note.send_at)

    (message,) = sent
    seen = " ".join([message.body, message.subject, *message.whatsapp_parameters])
    for secret in ("Extracción", "Diabético", "Penicilina", "Hipertensión", "Ansioso"):
        assert secret not in seen
    assert "10:00 Dra. Ana Soto Clínica Dental Norte" in message.body


@pytest.mark.django_db
def test_a_clinic_in_another_zone_shows_its_own_local_time(desk, monkeypatch):
    sent: list[channels.OutgoingMessage] = []
    monkeypatch.setattr(channels, "send", lambda message: sent.append(message) or "id")
    appointment = desk.book(lima(MONDAY, 10))  # 15:00 UTC
    note = notifications_of(appointment)[0]
    desk.clinic.timezone = "Europe/Madrid"  # the clinic of this connection

    delivery.notification_send(notification_id=note.pk, now=note.send_at)

    expected = rendering.spanish_date(lima(MONDAY, 10), "Europe/Madrid")
    offset = lima(MONDAY, 10).astimezone(ZoneInfo("Europe/Madrid"))
    assert f"el {expected} a las {offset:%H:%M} con" in sent[0].body
    assert offset.hour in (16, 17)  # CET/CEST, not Lima's 10:00
