"""Image files for upload tests, made with Pillow: valid ones, and each kind of bad one."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from PIL import Image


def png(width: int = 640, height: int = 480, color: str = "teal", mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), color).save(out, "PNG")
    return out.getvalue()


def jpeg_with_gps(width: int = 800, height: int = 600) -> bytes:
    """A JPEG whose EXIF carries a GPS position and a camera model (to prove they are stripped)."""
    image = Image.new("RGB", (width, height), "orange")
    exif = Image.Exif()
    exif[0x0110] = "SecretCam 3000"  # Model
    exif[0x8825] = {1: "S", 2: (12.0, 2.0, 46.0), 3: "W", 4: (77.0, 1.0, 42.0)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def webp(width: int = 300, height: int = 300) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (10, 20, 30, 128)).save(out, "WEBP")
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (10, 10)).save(out, "GIF")
    return out.getvalue()


SVG_WITH_SCRIPT = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>"
)


def zip_renamed() -> bytes:
    """A zip archive (to be sent as ``logo.png``)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "not an image")
    return out.getvalue()


def truncated_png() -> bytes:
    whole = png(400, 400, "purple")
    return whole[: len(whole) // 2]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(side: int = 60_000) -> bytes:
    """A PNG of a few hundred bytes whose header claims ``side`` × ``side`` pixels (3.6 billion):
    a decompression bomb. Only the header matters: it must be refused before decoding."""
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale
    row = b"\x00" + b"\x00" * (side // 8)
    data = zlib.compress(row * 16)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )
