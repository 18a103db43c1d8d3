"""Files for the document tests, made here: images with Pillow, PDFs by hand, DICOM files
with pydicom (as a dental sensor writes them: an intraoral radiograph, 16-bit grey)."""

from __future__ import annotations

import io
import zipfile

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    UID,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    generate_uid,
)

INTRAORAL_XRAY_STORAGE = UID("1.2.840.10008.5.1.4.1.1.1.3")  # Digital Intra-Oral X-Ray


def png(width: int = 64, height: int = 48, colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


def jpeg(width: int = 800, height: int = 600) -> bytes:
    out = io.BytesIO()
    gradient = np.tile(np.linspace(0, 255, width, dtype="uint8"), (height, 1))
    Image.fromarray(np.stack([gradient] * 3, axis=-1), mode="RGB").save(out, format="JPEG")
    return out.getvalue()


def webp(width: int = 40, height: int = 40) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(out, format="WEBP")
    return out.getvalue()


def pdf() -> bytes:
    """A minimal, valid one-page PDF."""
    return (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
        b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj\n"
        b"trailer << /Root 1 0 R >>\n%%EOF\n"
    )


def zip_file() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("radiografia.png", png())
    return out.getvalue()


def dicom(
    *,
    name: str | None = "PEREZ^JOSE",
    patient_id: str | None = "12345678",
    rows: int = 60,
    columns: int = 80,
    compressed_garbage: bool = False,
    pixels: bool = True,
) -> bytes:
    """An intraoral radiograph: 16-bit MONOCHROME2, a gradient. ``compressed_garbage``: the
    pixel data claims JPEG 2000 and is not (no decoder can read it)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = INTRAORAL_XRAY_STORAGE
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = JPEG2000Lossless if compressed_garbage else ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = INTRAORAL_XRAY_STORAGE
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "IO"
    ds.SpecificCharacterSet = "ISO_IR 192"
    if name is not None:
        ds.PatientName = name
    if patient_id is not None:
        ds.PatientID = patient_id
    ds.StudyDate = "20261130"
    if pixels:
        ds.Rows, ds.Columns = rows, columns
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
        ds.PixelRepresentation = 0
        if compressed_garbage:
            ds.PixelData = encapsulate([b"\xff\x4f\xff\x51" + b"\x00" * 64])
            ds["PixelData"].VR = "OB"
        else:
            grid = np.add.outer(np.arange(rows), np.arange(columns)) * 4095 // (rows + columns)
            ds.PixelData = grid.astype("<u2").tobytes()
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()
