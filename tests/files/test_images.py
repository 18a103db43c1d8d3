"""The image checks every upload goes through: the type comes from the bytes, a truncated image
or a decompression bomb is refused with its code, and re-encoding strips metadata."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from PIL import Image

from backend.files.errors import FileError
from backend.files.images import image_inspect, image_reencode, image_thumbnail
from tests.files import images


def code_of(content: bytes, **kwargs: object) -> str:
    with pytest.raises(ValidationError) as refused:
        image_inspect(content, **kwargs)  # type: ignore[arg-type]
    return str(refused.value.code)


def test_accepted_types_are_read_from_the_bytes() -> None:
    assert image_inspect(images.png(640, 480)).mime == "image/png"
    info = image_inspect(images.jpeg_with_gps())
    assert (info.format, info.mime, info.extension, info.width) == (
        "JPEG",
        "image/jpeg",
        ".jpg",
        800,
    )
    assert image_inspect(images.webp()).mime == "image/webp"


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (images.SVG_WITH_SCRIPT, FileError.FILE_TYPE_NOT_ALLOWED),
        (images.zip_renamed(), FileError.FILE_TYPE_NOT_ALLOWED),
        (images.gif(), FileError.FILE_TYPE_NOT_ALLOWED),
        (b"%PDF-1.7\n", FileError.FILE_TYPE_NOT_ALLOWED),
        (images.truncated_png(), FileError.FILE_CORRUPT),
        (images.bomb_png(), FileError.IMAGE_TOO_LARGE),
        (b"", FileError.FILE_MISSING),
    ],
    ids=["svg", "zip", "gif", "pdf", "truncated", "bomb", "empty"],
)
def test_refusals_are_coded(content: bytes, code: str) -> None:
    assert code_of(content) == code


def test_a_bomb_is_refused_before_its_pixels_are_decoded() -> None:
    bomb = images.bomb_png()
    assert len(bomb) < 20_000  # tiny on the wire, 3.6 billion pixels once decoded
    assert code_of(bomb) == FileError.IMAGE_TOO_LARGE


def test_reencoding_strips_exif_and_gps_and_never_enlarges() -> None:
    source = images.jpeg_with_gps(800, 600)
    assert Image.open(io.BytesIO(source)).getexif().get(0x0110) == "SecretCam 3000"
    for format in ("PNG", "JPEG", "WEBP"):
        encoded = image_reencode(source, max_side=512, format=format)
        again = Image.open(io.BytesIO(encoded.content))
        assert (again.width, again.height) == (encoded.width, encoded.height) == (512, 384)
        assert not again.getexif()  # no EXIF at all: no GPS, no camera
        assert b"SecretCam" not in encoded.content
        assert "exif" not in again.info
        assert "icc_profile" not in again.info
    small = image_reencode(images.png(100, 50), max_side=512)
    assert (small.width, small.height) == (100, 50)


def test_thumbnail_is_a_jpeg_with_transparency_flattened() -> None:
    thumb = image_thumbnail(images.webp(300, 300), max_side=128)
    assert thumb.mime == "image/jpeg"
    assert (thumb.width, thumb.height) == (128, 128)
    assert Image.open(io.BytesIO(thumb.content)).mode == "RGB"


def test_a_multi_picture_jpeg_is_a_jpeg():
    """Phones write JPEGs with several pictures (MPF: an HDR gain map); Pillow calls them MPO."""
    first, second = Image.new("RGB", (64, 48), "red"), Image.new("RGB", (64, 48), "blue")
    out = io.BytesIO()
    first.save(out, "MPO", save_all=True, append_images=[second])
    info = image_inspect(out.getvalue())
    assert (info.format, info.mime, info.extension) == ("JPEG", "image/jpeg", ".jpg")
    assert image_thumbnail(out.getvalue(), max_side=32).width == 32


def test_a_16_bit_grey_image_keeps_its_range_in_the_thumbnail():
    """A radiograph exported as a 16-bit PNG: stretched onto 0–255, not clipped to white."""
    import numpy as np

    ramp = np.tile(np.linspace(0, 40950, 256, dtype=np.uint16), (64, 1))
    out = io.BytesIO()
    Image.fromarray(ramp).save(out, "PNG")
    assert Image.open(io.BytesIO(out.getvalue())).mode.startswith("I")
    thumb = Image.open(io.BytesIO(image_thumbnail(out.getvalue(), max_side=256).content))
    values = np.asarray(thumb.convert("L"))
    assert values.min() <= 5
    assert values.max() >= 250
    assert 100 < values.mean() < 155
