"""Permissions of patient documents, by the class of the document's kind.

Clinical kinds (radiographs, intraoral photos, lab results, other clinical files) are health
data: read by the clinical staff only. Administrative kinds (ID documents, signed consents)
are what the front desk collects. "Upload" covers the writes that follow: changing the
document's data and archiving it.

The assistant holds all four: they take the radiographs and photos at the chair, they already
read the clinical record (``clinical.view``), and the signed consent is collected at the chair
before the procedure; the ID document is no more sensitive than what they already read.
"""

from __future__ import annotations

from enum import StrEnum

from backend.accounts.models import Role
from backend.accounts.permissions import Grant

CLINICAL_STAFF = frozenset({Role.ADMIN, Role.DENTIST, Role.ASSISTANT})


class DocumentPermission(StrEnum):
    VIEW_CLINICAL = "documents.view_clinical"
    UPLOAD_CLINICAL = "documents.upload_clinical"
    VIEW_ADMINISTRATIVE = "documents.view_administrative"
    UPLOAD_ADMINISTRATIVE = "documents.upload_administrative"


GRANTS = (
    Grant(
        DocumentPermission.VIEW_CLINICAL,
        CLINICAL_STAFF,
        "List and download a patient's radiographs, photos, lab results and other clinical "
        "documents (each download audited)",
    ),
    Grant(
        DocumentPermission.UPLOAD_CLINICAL,
        CLINICAL_STAFF,
        "Upload radiographs (DICOM too), photos, lab results and other clinical documents; "
        "change and archive them",
    ),
    Grant(
        DocumentPermission.VIEW_ADMINISTRATIVE,
        frozenset(Role),
        "List and download a patient's ID documents and signed consents (each download audited)",
    ),
    Grant(
        DocumentPermission.UPLOAD_ADMINISTRATIVE,
        frozenset(Role),
        "Upload ID documents and signed consents; change and archive them",
    ),
)
