"""The state machines of clinical records, each pinned by a literal table written from the
README, never read from the code: every (state, operation) pair goes through the API, an
allowed one changes the database as it says, a refused one answers its code and changes
nothing.

- **Notes:** ``DRAFT → SIGNED`` by the author; a draft is edited, a signed note never is
  (``NOTE_SIGNED``) and is corrected by addenda, which only signed notes take
  (``NOTE_NOT_SIGNED``).
- **Findings:** never edited. A finding is ``EXISTING`` or ``PLANNED``; changing its state
  closes the entry and opens a new one in the other state; the same state is
  ``INVALID_STATE``; removing closes it; a closed entry takes no change
  (``FINDING_RESOLVED``).
"""

import pytest
from django_tenants.utils import tenant_context

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from backend.clinical.models import ClinicalNote, Finding, NoteAddendum
from tests.conftest import graphql
from tests.ids import global_id

pytestmark = pytest.mark.django_db

HOST = "clinica1.localhost"

# --- notes -----------------------------------------------------------------------------------

# (state, operation) → the state after it, or the refusal's code.
NOTE_TABLE = {
    ("DRAFT", "sign"): "SIGNED",
    ("DRAFT", "edit"): "DRAFT",
    ("DRAFT", "addendum"): "NOTE_NOT_SIGNED",
    ("SIGNED", "sign"): "NOTE_SIGNED",
    ("SIGNED", "edit"): "NOTE_SIGNED",
    ("SIGNED", "addendum"): "SIGNED",
}
NOTE_OPERATIONS = {
    "sign": "mutation($id: ID!) { signClinicalNote(id: $id) {",
    "edit": 'mutation($id: ID!) { updateClinicalNote(id: $id, input: {plan: "Corregido"}) {',
    "addendum": 'mutation($id: ID!) { addNoteAddendum(noteId: $id, text: "Se usó resina A2") {',
}
OUTCOME = " __typename ... on OperationInfo { messages { code } } } }"
NOTE_TYPENAME = {"sign": "ClinicalNote", "edit": "ClinicalNote", "addendum": "NoteAddendum"}


@pytest.fixture
def author(clinic1, make_staff, token_for):
    dentist = make_staff(clinic1, Role.DENTIST)
    return dentist, token_for(clinic1, dentist)


def _note_state(clinic, note_id):
    with tenant_context(clinic):
        note = ClinicalNote.objects.get(pk=note_id)
        return (
            note.status,
            note.plan,
            note.signed_at,
            NoteAddendum.objects.filter(note=note).count(),
            AuditEvent.objects.filter(action__startswith="clinical_note.").count(),
        )


@pytest.mark.parametrize(("state", "operation"), list(NOTE_TABLE), ids=map("-".join, NOTE_TABLE))
def test_every_note_operation_in_every_state_does_what_the_spec_table_says(
    client, clinic1, patient, author, state, operation
):
    dentist, token = author
    with tenant_context(clinic1):
        note = ClinicalNote.objects.create(
            patient=patient, author=dentist, subjective="Dolor en 16", plan="Resina 16 O"
        )
        if state == "SIGNED":
            ClinicalNote.objects.filter(pk=note.pk).update(
                status="SIGNED", signed_by=dentist, signed_at=note.created_at
            )
    before = _note_state(clinic1, note.pk)
    query = NOTE_OPERATIONS[operation] + OUTCOME
    _, body = graphql(
        client, query, host=HOST, token=token, variables={"id": global_id("ClinicalNote", note.pk)}
    )
    payload = next(iter(body["data"].values()))
    status, plan, signed_at, addenda, trail = after = _note_state(clinic1, note.pk)
    expected = NOTE_TABLE[(state, operation)]
    if expected in ("DRAFT", "SIGNED"):
        assert payload == {"__typename": NOTE_TYPENAME[operation]}
        assert status == expected
        assert plan == ("Corregido" if operation == "edit" else "Resina 16 O")
        assert (signed_at is not None) == (expected == "SIGNED")
        assert addenda == (1 if operation == "addendum" else 0)
        assert trail == before[-1] + 1
    else:
        assert payload == {"__typename": "OperationInfo", "messages": [{"code": expected}]}
        assert after == before


# --- findings --------------------------------------------------------------------------------

# (state of the entry, operation) → the state of the entry that replaces it, "closed" (taken
# off the chart, nothing replaces it), or the refusal's code.
FINDING_TABLE = {
    ("EXISTING", "EXISTING"): "INVALID_STATE",
    ("EXISTING", "PLANNED"): "PLANNED",
    ("EXISTING", "remove"): "closed",
    ("PLANNED", "EXISTING"): "EXISTING",
    ("PLANNED", "PLANNED"): "INVALID_STATE",
    ("PLANNED", "remove"): "closed",
    ("closed", "EXISTING"): "FINDING_RESOLVED",
    ("closed", "PLANNED"): "FINDING_RESOLVED",
    ("closed", "remove"): "FINDING_RESOLVED",
}
CHANGE_STATE = (
    "mutation($id: ID!, $state: FindingState!) { changeFindingState(id: $id, state: $state) {"
    " __typename ... on Finding { state } ... on OperationInfo { messages { code } } } }"
)
REMOVE = (
    'mutation($id: ID!) { removeFinding(id: $id, reason: "Error de registro") {'
    " __typename ... on OperationInfo { messages { code } } } }"
)


def _chart(clinic, patient):
    """Every entry of the patient's chart: (id, state, closed, replaces)."""
    with tenant_context(clinic):
        return [
            (row.pk, row.state, row.resolved_at is not None, row.replaces_id)
            for row in Finding.objects.filter(patient=patient).order_by("pk")
        ]


@pytest.mark.parametrize(
    ("state", "operation"), list(FINDING_TABLE), ids=map("-".join, FINDING_TABLE)
)
def test_every_finding_change_in_every_state_does_what_the_spec_table_says(
    client, clinic1, patient, author, state, operation
):
    dentist, token = author
    with tenant_context(clinic1):
        finding = Finding.objects.create(
            patient=patient, tooth=16, surfaces=["O"], condition="CARIES",
            state="PLANNED" if state == "PLANNED" else "EXISTING", recorded_by=dentist,
        )  # fmt: skip
        if state == "closed":
            Finding.objects.filter(pk=finding.pk).update(
                resolved_at=finding.recorded_at, resolved_by=dentist, resolution="Removed"
            )
        trail_before = AuditEvent.objects.filter(action__startswith="odontogram.").count()
    before = _chart(clinic1, patient)
    finding_id = global_id("Finding", finding.pk)
    if operation == "remove":
        _, body = graphql(client, REMOVE, host=HOST, token=token, variables={"id": finding_id})
    else:
        _, body = graphql(
            client, CHANGE_STATE, host=HOST, token=token,
            variables={"id": finding_id, "state": operation},
        )  # fmt: skip
    payload = next(iter(body["data"].values()))
    after = _chart(clinic1, patient)
    with tenant_context(clinic1):
        trail = AuditEvent.objects.filter(action__startswith="odontogram.").count()
    expected = FINDING_TABLE[(state, operation)]
    if expected == "closed":
        assert payload == {"__typename": "Finding"}
        assert after == [(finding.pk, before[0][1], True, None)]
        assert trail == trail_before + 1
    elif expected in ("EXISTING", "PLANNED"):
        assert payload == {"__typename": "Finding", "state": expected}
        [(old_id, old_state, old_closed, _), (_, new_state, new_closed, replaces)] = after
        assert (old_id, old_state, old_closed) == (finding.pk, state, True)
        assert (new_state, new_closed, replaces) == (expected, False, finding.pk)
        assert trail == trail_before + 1
    else:
        assert payload == {"__typename": "OperationInfo", "messages": [{"code": expected}]}
        assert (after, trail) == (before, trail_before)
