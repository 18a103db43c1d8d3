"""The patient's row and the clinical records' rows under real races.

README and the services' contracts: changes to a patient keep every field given ("fields
left out stay as they are"); an archived patient is archived once (``ALREADY_ARCHIVED``);
the audit trail keeps every version of the front-desk alert; each anamnesis update adds a
version; a signed note never changes (``NOTE_SIGNED``) and an empty note cannot be signed
(``NOTE_EMPTY``); a finding is closed once (``FINDING_RESOLVED``).
"""

from __future__ import annotations

from backend.audit.models import AuditEvent
from backend.clinical import services as clinical
from backend.clinical.models import ClinicalNote, Finding, MedicalHistory, NoteStatus
from backend.patients.models import Patient
from tests.locks.support import api, codes, gid, race

OUTCOME = "__typename ... on OperationInfo { messages { code message } }"
UPDATE_PATIENT = f"""mutation($id: ID!, $input: UpdatePatientInput!) {{
  updatePatient(id: $id, input: $input) {{ {OUTCOME} }} }}"""
ARCHIVE = f"mutation($id: ID!) {{ archivePatient(id: $id) {{ {OUTCOME} }} }}"
ALERT = f"""mutation($id: ID!, $text: String!) {{
  setPatientFrontDeskAlert(patientId: $id, text: $text) {{ {OUTCOME} }} }}"""
HISTORY = f"""mutation($id: ID!, $allergies: String!) {{
  recordMedicalHistory(patientId: $id, input: {{allergies: $allergies}}) {{ {OUTCOME} }} }}"""
UPDATE_NOTE = f"""mutation($id: ID!, $input: UpdateClinicalNoteInput!) {{
  updateClinicalNote(id: $id, input: $input) {{ {OUTCOME} }} }}"""
SIGN = f"mutation($id: ID!) {{ signClinicalNote(id: $id) {{ {OUTCOME} }} }}"
CHANGE_FINDING = f"""mutation($id: ID!) {{ changeFindingState(id: $id, state: EXISTING) {{
  {OUTCOME} }} }}"""
REMOVE_FINDING = f"""mutation($id: ID!) {{ removeFinding(id: $id, reason: "Error de registro") {{
  {OUTCOME} }} }}"""


def send(place, query, **variables):
    return api(place.host, place.token, query, variables)


def note(place, patient) -> ClinicalNote:
    with place.inside():
        return clinical.note_create(
            actor=place.admin, patient=patient,
            data={"subjective": "Dolor al masticar", "assessment": "Caries en 16"},
        )  # fmt: skip


# --- the patient's row ----------------------------------------------------------------------


def test_two_updates_of_one_patient_at_once_keep_both_changes(committed):
    """One receptionist changes a patient's phone while another changes their email: both
    changes are kept.

    Checked: without ``select_for_update()`` in ``patient_update`` the second update reads
    the patient before the first commits and saves every field: the new phone is lost.
    """
    place = committed
    patient = place.patient()

    result = race(
        place.schema,
        "patient.update",
        send(place, UPDATE_PATIENT, id=gid(patient), input={"phone": "987654321"}),
        send(place, UPDATE_PATIENT, id=gid(patient), input={"email": "rosa@correo.pe"}),
    )

    assert codes(result.first, "updatePatient") == []
    assert codes(result.second, "updatePatient") == []
    with place.inside():
        after = Patient.objects.get(pk=patient.pk)
    assert (after.phone, after.email) == ("+51987654321", "rosa@correo.pe")


def test_two_archivings_of_one_patient_at_once_archive_it_once(committed):
    """Two archivings of one patient at once: one archives, the other is told
    ``ALREADY_ARCHIVED``; one audit event.

    Checked: without ``select_for_update()`` in ``patient_archive`` both archive it: two
    successes, two audit events.
    """
    place = committed
    patient = place.patient()
    archive = send(place, ARCHIVE, id=gid(patient))

    result = race(place.schema, "patient.archive", archive, archive)

    assert codes(result.first, "archivePatient") == []
    assert codes(result.second, "archivePatient") == ["ALREADY_ARCHIVED"]
    with place.inside():
        events = AuditEvent.objects.filter(action="patient.archive", entity_id=str(patient.pk))
        assert events.count() == 1


def test_two_front_desk_alerts_at_once_are_audited_in_order(committed):
    """Two clinicians write a patient's front-desk alert at once: the second one stays, and
    its audit event says which text it replaced, the first one's: the trail keeps every
    version.

    Checked: without ``select_for_update()`` in ``patient_front_desk_alert_set`` the second
    write reads the alert before the first commits: its event says it replaced nothing, and
    the first text vanishes from the chain.
    """
    place = committed
    patient = place.patient()

    result = race(
        place.schema,
        "patient.set_front_desk_alert",
        send(place, ALERT, id=gid(patient), text="Alérgica a la penicilina"),
        send(place, ALERT, id=gid(patient), text="Usa marcapasos"),
    )

    assert codes(result.first, "setPatientFrontDeskAlert") == []
    assert codes(result.second, "setPatientFrontDeskAlert") == []
    with place.inside():
        events = AuditEvent.objects.filter(
            action="patient.set_front_desk_alert", entity_id=str(patient.pk)
        ).order_by("id")
        assert [e.changes["front_desk_alert"] for e in events] == [
            {"from": "", "to": "Alérgica a la penicilina"},
            {"from": "Alérgica a la penicilina", "to": "Usa marcapasos"},
        ]
        assert Patient.objects.get(pk=patient.pk).front_desk_alert == "Usa marcapasos"


# --- clinical records -----------------------------------------------------------------------


def test_two_anamnesis_updates_at_once_add_two_versions(committed):
    """Two clinicians update a patient's anamnesis at once: both are recorded, as versions
    1 and 2, and the patient's allergies follow the last.

    Checked: without ``select_for_update()`` on the patient in ``medical_history_record``
    both read version 0 and write version 1: the second breaks the one-version-number
    constraint and fails (``INTERNAL_ERROR``).
    """
    place = committed
    patient = place.patient()

    result = race(
        place.schema,
        "medical_history.record",
        send(place, HISTORY, id=gid(patient), allergies="Penicilina"),
        send(place, HISTORY, id=gid(patient), allergies="Látex"),
    )

    assert codes(result.first, "recordMedicalHistory") == []
    assert codes(result.second, "recordMedicalHistory") == []
    with place.inside():
        versions = MedicalHistory.objects.filter(patient=patient).order_by("version")
        assert [(v.version, v.allergies) for v in versions] == [(1, "Penicilina"), (2, "Látex")]
        assert Patient.objects.get(pk=patient.pk).allergies == "Látex"


def test_an_edit_racing_the_signature_of_a_note_answers_note_signed(committed):
    """A draft is signed while its author edits it: the signature goes first, so the edit
    is refused with ``NOTE_SIGNED`` and the signed text is the text that was signed.

    Checked: without ``select_for_update()`` in ``note_update`` the edit reads the note as a
    draft and its update then meets the signed row: the database's trigger refuses it, and
    the client gets ``INTERNAL_ERROR`` instead of ``NOTE_SIGNED``.
    """
    place = committed
    draft = note(place, place.patient())

    result = race(
        place.schema,
        "clinical_note.sign",
        send(place, SIGN, id=gid(draft)),
        send(place, UPDATE_NOTE, id=gid(draft), input={"subjective": "Sin dolor"}),
    )

    assert codes(result.first, "signClinicalNote") == []
    assert codes(result.second, "updateClinicalNote") == ["NOTE_SIGNED"]
    with place.inside():
        signed = ClinicalNote.objects.get(pk=draft.pk)
    assert (signed.status, signed.subjective) == (NoteStatus.SIGNED, "Dolor al masticar")


def test_a_signature_racing_an_edit_that_empties_the_note_answers_note_empty(committed):
    """A draft is emptied while it is being signed: the edit goes first, so the signature is
    refused with ``NOTE_EMPTY`` (an empty note cannot be signed) and the note stays a draft.

    Checked: without ``select_for_update()`` in ``note_sign`` the signature checks the text
    before the edit commits, then signs: an empty signed note.
    """
    place = committed
    draft = note(place, place.patient())
    empty = {"subjective": "", "objective": "", "assessment": "", "plan": ""}

    result = race(
        place.schema,
        "clinical_note.update",
        send(place, UPDATE_NOTE, id=gid(draft), input=empty),
        send(place, SIGN, id=gid(draft)),
    )

    assert codes(result.first, "updateClinicalNote") == []
    assert codes(result.second, "signClinicalNote") == ["NOTE_EMPTY"]
    with place.inside():
        assert ClinicalNote.objects.get(pk=draft.pk).status == NoteStatus.DRAFT


def test_a_finding_changed_and_removed_at_once_is_closed_once(committed):
    """A planned finding is made existing while someone removes it: the change goes first
    (the old entry is closed, a new one opens), so the removal is refused with
    ``FINDING_RESOLVED``; the history has exactly the old entry, closed once, and the new.

    Checked: without ``select_for_update()`` in ``_resolve`` the removal reads the entry as
    open and closes it a second time; only the database's resolve-only trigger stops it, and
    the client gets ``INTERNAL_ERROR`` instead of ``FINDING_RESOLVED``.
    """
    place = committed
    patient = place.patient()
    with place.inside():
        planned = clinical.finding_record(
            actor=place.admin, patient=patient, tooth=16, surfaces=["O"],
            condition="CARIES", state="PLANNED",
        )  # fmt: skip

    result = race(
        place.schema,
        "odontogram.change_state",
        send(place, CHANGE_FINDING, id=gid(planned)),
        send(place, REMOVE_FINDING, id=gid(planned)),
    )

    assert codes(result.first, "changeFindingState") == []
    assert codes(result.second, "removeFinding") == ["FINDING_RESOLVED"]
    with place.inside():
        old = Finding.objects.get(pk=planned.pk)
        assert old.resolution == "state → EXISTING"
        current = Finding.objects.get(patient=patient, resolved_at__isnull=True)
        assert (current.replaces_id, current.state) == (planned.pk, "EXISTING")
