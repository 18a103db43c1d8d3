"""DICOM reading on its own: whose file it is (names and ID as other systems write them),
the preview, and damaged files, which are refused with a code and never raise anything else."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError

from backend.documents.dicom import dicom_read
from tests.documents import samples

PATIENT = SimpleNamespace(
    first_name="José Luis",
    last_name="Pérez García",
    document_number="12345678",
    full_name="José Luis Pérez García",
)


@pytest.mark.parametrize(
    "name",
    ["PEREZ GARCIA^JOSE LUIS", "Pérez García^José Luis", "PEREZ^JOSE", "perez^jose^luis",
     "PÉREZ-GARCÍA^JOSÉ"],
)  # fmt: skip
def test_the_same_person_written_another_way_matches(name):
    assert dicom_read(samples.dicom(name=name, patient_id="12.345.678"), PATIENT).warnings == []


@pytest.mark.parametrize(
    ("name", "patient_id", "warned"),
    [
        ("GOMEZ^ANA", "12345678", ["“GOMEZ ANA”"]),
        ("PEREZ^MARIA", "12345678", ["“PEREZ MARIA”"]),
        ("PEREZ", "12345678", ["“PEREZ”"]),  # no given name: not enough to tell
        ("PEREZ^JOSE", "87654321", ["“87654321”"]),
        (None, None, ["names no patient", "no patient ID"]),
    ],
)
def test_a_header_of_someone_else_or_of_no_one_is_a_warning_each(name, patient_id, warned):
    warnings = dicom_read(samples.dicom(name=name, patient_id=patient_id), PATIENT).warnings
    assert len(warnings) == len(warned)
    for warning, fragment in zip(warnings, warned, strict=True):
        assert fragment in warning


def test_the_preview_is_the_pixels_scaled_to_eight_bits():
    result = dicom_read(samples.dicom(rows=30, columns=40), PATIENT)
    assert (result.width, result.height) == (40, 30)
    assert result.preview_png is not None
    assert result.preview_png.startswith(b"\x89PNG")


def test_damaged_dicom_files_are_file_corrupt_and_nothing_else():
    """Random bytes changed and files cut short: each reads, or is refused as FILE_CORRUPT;
    no other exception (a 500) whatever pydicom meets."""
    base = samples.dicom()
    rng = random.Random(17)
    outcomes = set()
    for _ in range(300):
        damaged = bytearray(base)
        for _change in range(rng.randint(1, 8)):
            damaged[rng.randrange(128, len(damaged))] = rng.randrange(256)
        if rng.random() < 0.3:
            damaged = damaged[: rng.randrange(132, len(damaged))]
        try:
            dicom_read(bytes(damaged), PATIENT)
            outcomes.add("read")
        except ValidationError as error:
            outcomes.add(str(error.code))
    assert outcomes == {"read", "FILE_CORRUPT"}


def _rewritten(content: bytes, change) -> bytes:
    import io

    import pydicom

    dataset = pydicom.dcmread(io.BytesIO(content))
    change(dataset)
    out = io.BytesIO()
    dataset.save_as(out, enforce_file_format=True)
    return out.getvalue()


def test_a_deflated_dicom_is_refused_before_it_is_inflated():
    """Deflate compresses the whole dataset and pydicom inflates it in one call, unbounded: a
    1 MB upload of a gigabyte of zeros. Refused from its file meta, nothing inflated."""
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    def deflate(dataset):
        dataset.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian

    deflated = _rewritten(samples.dicom(), deflate)
    with pytest.raises(ValidationError) as refused:
        dicom_read(deflated, PATIENT)
    assert refused.value.code == "FILE_TYPE_NOT_ALLOWED"


def test_compressed_pixels_that_would_grow_beyond_reason_get_no_preview():
    """A few KB of RLE may claim a frame of gigabytes: the file is kept, with no preview (a
    warning says so), and no frame is decoded."""
    import numpy as np
    from pydicom.uid import RLELossless

    def huge_rle(dataset):
        dataset.Rows, dataset.Columns = 6000, 6000
        dataset.PixelData = np.zeros((6000, 6000), dtype="<u2").tobytes()
        dataset.compress(RLELossless)

    bomb = _rewritten(samples.dicom(rows=8, columns=8), huge_rle)
    assert len(bomb) < 2_000_000  # 72 MB of pixels, compressed
    result = dicom_read(bomb, PATIENT)
    assert result.preview_png is None
    assert any("could not be decoded" in warning for warning in result.warnings)
