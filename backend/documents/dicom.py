"""DICOM files (``.dcm``), as dental sensors and CBCT units export them: read with pydicom,
kept as they came, previewed as a PNG when the pixel data decodes, and checked against the
patient they are filed under.

A header that names someone else (or no one) is not a refusal: the file may be an export
that anonymised the header, or a sensor that stores its own ID. It is kept, and what did not
match is stored on the document as a warning that every reader of it sees.
"""

from __future__ import annotations

import io
import unicodedata
import warnings as python_warnings
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from backend.files.errors import FileError
from backend.patients.models import Patient

# The DICOM "preamble" is 128 bytes, then the magic word.
MAGIC_OFFSET = 128
MAGIC = b"DICM"
PREVIEW_MAX_SIDE = 1024
# Pixels decoded at most for a preview: a header may claim any size (a bomb, like an image's).
MAX_PREVIEW_PIXELS = 40_000_000
# Bytes one decoded frame may take, and how much larger than its compressed data: a few KB of
# RLE or JPEG can claim a frame of gigabytes. Beyond either, the file is kept without preview.
MAX_FRAME_BYTES = 64 * 1024 * 1024
MAX_COMPRESSION_RATIO = 40
# Deflated Explicit VR Little Endian: the whole dataset zlib-compressed, which pydicom inflates
# in one call with no bound (a 1 MB upload can inflate to gigabytes). Refused.
DEFLATED = "1.2.840.10008.1.2.1.99"


def is_dicom(content: bytes) -> bool:
    return content[MAGIC_OFFSET : MAGIC_OFFSET + len(MAGIC)] == MAGIC


@dataclass
class DicomFile:
    """What the upload keeps of a DICOM: the preview (PNG) when it decodes, and warnings."""

    preview_png: bytes | None = None
    width: int | None = None
    height: int | None = None
    warnings: list[str] = field(default_factory=list)


def _fold(text: str) -> list[str]:
    """Words, upper case without accents, for comparing names written by different systems."""
    decomposed = unicodedata.normalize("NFKD", text.upper())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return "".join(char if char.isalnum() else " " for char in plain).split()


def _alnum(text: str) -> str:
    return "".join(char for char in text.upper() if char.isalnum())


def _header_text(dataset: Any, keyword: str) -> str:
    value = dataset.get(keyword)
    return str(value).strip() if value is not None else ""


def patient_warnings(dataset: Any, patient: Patient) -> list[str]:
    """Where the header's PatientName and PatientID do not match ``patient`` (names and the
    document number): one warning each, saying what the header says."""
    warnings = []
    name = dataset.get("PatientName")
    if name is None or not str(name).strip(" ^="):
        warnings.append(_("The DICOM header names no patient."))
    else:
        # PN: "Family^Given^Middle^Prefix^Suffix". Every word of the header's family and given
        # names must be one of the patient's (a header may leave a second surname out), and
        # at least one of each must be there.
        family = _fold(str(name.family_name or ""))
        given = _fold(" ".join(str(part) for part in (name.given_name, name.middle_name) if part))
        last_words, first_words = set(_fold(patient.last_name)), set(_fold(patient.first_name))
        matches = (
            bool(family) and bool(given) and set(family) <= last_words and set(given) <= first_words
        )
        if not matches:
            shown = " ".join(str(name).replace("^", " ").split())
            warnings.append(
                _("The DICOM header names “%(name)s”, not %(patient)s.")
                % {"name": shown, "patient": patient.full_name}
            )
    header_id = _header_text(dataset, "PatientID")
    if not header_id:
        warnings.append(_("The DICOM header has no patient ID."))
    elif _alnum(header_id) != _alnum(patient.document_number):
        warnings.append(
            _("The DICOM header's patient ID is “%(id)s”, not the patient's %(document)s.")
            % {"id": header_id, "document": patient.document_number}
        )
    return warnings


def _complete(dataset: Any) -> bool:
    """A DICOM object, whole: its transfer syntax and its class are stated, and pixel data
    stored uncompressed is as long as its dimensions say (pydicom reads a file cut short
    without complaint, the missing bytes simply absent)."""
    from pydicom.pixels.utils import get_expected_length

    meta = getattr(dataset, "file_meta", None)
    if meta is None or "TransferSyntaxUID" not in meta or "SOPClassUID" not in dataset:
        return False
    if "PixelData" in dataset and not meta.TransferSyntaxUID.is_compressed:
        return len(dataset.PixelData) >= get_expected_length(dataset, "bytes")
    return True


def _preview(dataset: Any) -> tuple[bytes, int, int]:
    """The first frame as an 8-bit PNG (grey, or colour as stored), at most
    ``PREVIEW_MAX_SIDE`` on a side. Raises when the pixel data cannot be decoded."""
    import numpy as np
    from PIL import Image
    from pydicom.pixels import apply_modality_lut, apply_voi_lut, pixel_array

    rows, columns = int(dataset.Rows), int(dataset.Columns)
    if rows <= 0 or columns <= 0 or rows * columns > MAX_PREVIEW_PIXELS:
        raise ValueError("pixel dimensions out of bounds")
    frames = int(dataset.get("NumberOfFrames") or 1)
    samples = int(dataset.get("SamplesPerPixel") or 1)
    frame_bytes = rows * columns * samples * max(int(dataset.get("BitsAllocated") or 8), 8) // 8
    if frame_bytes > MAX_FRAME_BYTES:
        raise ValueError("a frame too large to decode for a preview")
    compressed = dataset.file_meta.TransferSyntaxUID.is_compressed
    if compressed and frame_bytes > MAX_COMPRESSION_RATIO * max(len(dataset.PixelData), 1):
        raise ValueError("compressed pixel data that would grow beyond reason")
    # Only the first frame of a multi-frame file is decoded: it is the preview.
    pixels = pixel_array(dataset, index=0) if frames > 1 else dataset.pixel_array
    if samples == 1:
        # At most twice the preview's size before the LUTs and the float copies.
        step = max(1, max(rows, columns) // (2 * PREVIEW_MAX_SIDE))
        pixels = pixels[::step, ::step]
        values = apply_modality_lut(pixels, dataset)
        if "WindowCenter" in dataset or "VOILUTSequence" in dataset:
            values = apply_voi_lut(values, dataset)
        values = values.astype("float32")
        low, high = float(np.min(values)), float(np.max(values))
        scaled = (values - low) * (255.0 / (high - low)) if high > low else values * 0
        grey = np.rint(scaled).astype("uint8")
        if str(dataset.get("PhotometricInterpretation", "")) == "MONOCHROME1":
            grey = 255 - grey  # MONOCHROME1: the lowest value is white
        image = Image.fromarray(grey, mode="L")
    else:
        if str(dataset.get("PhotometricInterpretation", "")) != "RGB":
            from pydicom.pixels import convert_color_space

            pixels = convert_color_space(pixels, dataset.PhotometricInterpretation, "RGB")
        image = Image.fromarray(pixels.astype("uint8"), mode="RGB")
    image.thumbnail((PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue(), image.width, image.height


def dicom_read(content: bytes, patient: Patient) -> DicomFile:
    """Read a DICOM file: ``FILE_CORRUPT`` when it does not parse; otherwise its preview
    (when the pixels decode) and the header's mismatches with ``patient`` as warnings."""
    import pydicom

    # The file meta group only (a few hundred bytes, never compressed): pydicom's public
    # read_file_meta_info takes a path, not bytes.
    from pydicom.filereader import _read_file_meta_info, read_preamble

    try:
        with python_warnings.catch_warnings():
            python_warnings.simplefilter("ignore")
            stream = io.BytesIO(content)
            read_preamble(stream, False)
            meta = _read_file_meta_info(stream)
    except Exception:
        raise ValidationError(
            _("This DICOM file is damaged or truncated."), code=FileError.FILE_CORRUPT
        ) from None
    if str(meta.get("TransferSyntaxUID", "")) == DEFLATED:
        raise ValidationError(
            _("Deflate-compressed DICOM files are not accepted: export it uncompressed."),
            code=FileError.FILE_TYPE_NOT_ALLOWED,
        )
    try:
        # pydicom warns about each value that breaks the standard (common in sensors' files):
        # what matters here is whether the file reads, and whose it is.
        with python_warnings.catch_warnings():
            python_warnings.simplefilter("ignore")
            dataset = pydicom.dcmread(io.BytesIO(content))
            # Touch every element now: a damaged one fails here, not later on a reader.
            dataset.walk(lambda *_args: None)
            complete = _complete(dataset)
            warnings = patient_warnings(dataset, patient)
    except Exception:  # the file is untrusted: whatever pydicom chokes on, it is damaged
        raise ValidationError(
            _("This DICOM file is damaged or truncated."), code=FileError.FILE_CORRUPT
        ) from None
    if not complete:
        raise ValidationError(
            _("This DICOM file is damaged or truncated."), code=FileError.FILE_CORRUPT
        )
    result = DicomFile(warnings=warnings)
    if "PixelData" not in dataset:
        result.warnings.append(_("The DICOM file holds no image; there is no preview."))
        return result
    try:
        with python_warnings.catch_warnings():
            python_warnings.simplefilter("ignore")
            result.preview_png, result.width, result.height = _preview(dataset)
    except Exception:  # any decoder failure (a missing plugin, bad data): no preview
        result.warnings.append(
            _(
                "The DICOM image could not be decoded (its compression is not supported); "
                "the original is kept, without a preview."
            )
        )
    return result
