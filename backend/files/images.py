"""Uploaded images, checked by their content and re-encoded with Pillow.

The type comes from the bytes, never from the name or the declared content type. An image is
decoded in full before it is accepted (a truncated one is refused), but only after its header
says it has at most ``MAX_PIXELS`` pixels: a small file that claims enormous dimensions (a
decompression bomb) is refused before Pillow allocates anything. Re-encoding keeps the pixels
and nothing else: EXIF (with its GPS position), XMP, text chunks and colour profiles are gone.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from backend.files.errors import FileError

# 40 megapixels: more than any dental camera or scanner gives (an 8K frame is 33 MP).
MAX_PIXELS = 40_000_000

_MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
_EXTENSION = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}


@dataclass(frozen=True)
class ImageInfo:
    format: str  # Pillow's name: PNG, JPEG, WEBP
    mime: str
    extension: str
    width: int
    height: int


@dataclass(frozen=True)
class Encoded:
    content: bytes
    mime: str
    extension: str
    width: int
    height: int


def _refuse(message: str, code: FileError) -> ValidationError:
    return ValidationError(message, code=code)


def _open(content: bytes, formats: Iterable[str]) -> Image.Image:
    """The decoded image, or a coded refusal."""
    formats = tuple(formats)
    if not content:
        raise _refuse(_("The file is empty."), FileError.FILE_MISSING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(content), formats=formats)
            if image.width * image.height > MAX_PIXELS:
                raise _refuse(
                    _("The image is %(width)d × %(height)d pixels; at most %(max)d million.")
                    % {"width": image.width, "height": image.height, "max": MAX_PIXELS // 10**6},
                    FileError.IMAGE_TOO_LARGE,
                )
            image.load()
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refuse(_("The image has too many pixels."), FileError.IMAGE_TOO_LARGE) from None
    except UnidentifiedImageError:
        raise _refuse(
            _("The file is not an image of an accepted type (%(types)s).")
            % {"types": ", ".join(formats)},
            FileError.FILE_TYPE_NOT_ALLOWED,
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError):
        # Pillow's words for a truncated or damaged file of a known type.
        raise _refuse(_("The image is truncated or damaged."), FileError.FILE_CORRUPT) from None
    # A JPEG with several pictures (MPF: phones' HDR gain maps, stereo cameras) is an "MPO"
    # to Pillow: a JPEG all the same, whose first picture is the photo.
    if image.format not in formats and not (image.format == "MPO" and "JPEG" in formats):
        raise _refuse(_("The image type is not accepted."), FileError.FILE_TYPE_NOT_ALLOWED)
    return image


def image_inspect(content: bytes, *, formats: Iterable[str] = ("PNG", "JPEG", "WEBP")) -> ImageInfo:
    """What the bytes are, once decoded in full; a coded ``ValidationError`` otherwise."""
    image = _open(content, formats)
    name = "JPEG" if image.format == "MPO" else str(image.format)
    return ImageInfo(
        format=name,
        mime=_MIME.get(name, Image.MIME.get(name, "application/octet-stream")),
        extension=_EXTENSION.get(name, "." + name.lower()),
        width=image.width,
        height=image.height,
    )


def _pixels(content: bytes, formats: Iterable[str]) -> Image.Image:
    image = _open(content, formats)
    image = ImageOps.exif_transpose(image) or image  # upright, as the camera meant it
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        image = _eight_bits(image)  # 16-bit greys (radiographs) would clip to white
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert(
            "RGBA" if "transparency" in image.info or "A" in image.mode else "RGB"
        )
    return image


def _eight_bits(image: Image.Image) -> Image.Image:
    """A high-depth grey image stretched from its darkest to its lightest value onto 0–255."""
    import numpy as np

    values = np.asarray(image, dtype=np.float32)
    low, high = float(values.min()), float(values.max())
    scaled = (values - low) * (255.0 / (high - low)) if high > low else values * 0
    return Image.fromarray(np.rint(scaled).astype(np.uint8), mode="L")


def _encode(image: Image.Image, format: str) -> Encoded:
    image.info = {}  # some encoders copy the source's EXIF, ICC profile or text otherwise
    out = io.BytesIO()
    if format == "JPEG":
        if image.mode != "RGB":
            background = Image.new("RGB", image.size, "white")
            background.paste(image, mask=image.getchannel("A") if "A" in image.mode else None)
            image = background
        image.save(out, "JPEG", quality=85, optimize=True)
    elif format == "WEBP":
        image.save(out, "WEBP", quality=85, method=4)
    else:
        image.save(out, "PNG", optimize=True)
    return Encoded(
        content=out.getvalue(),
        mime=_MIME[format],
        extension=_EXTENSION[format],
        width=image.width,
        height=image.height,
    )


def image_reencode(
    content: bytes,
    *,
    max_side: int,
    format: str = "PNG",
    formats: Iterable[str] = ("PNG", "JPEG", "WEBP"),
) -> Encoded:
    """The image at most ``max_side`` pixels on its longer side (never enlarged), upright, with
    no metadata, in ``format``."""
    image = _pixels(content, formats)
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return _encode(image, format)


def image_thumbnail(
    content: bytes, *, max_side: int = 256, formats: Iterable[str] = ("PNG", "JPEG", "WEBP")
) -> Encoded:
    """A JPEG thumbnail (transparency on white) for lists and previews."""
    return image_reencode(content, max_side=max_side, format="JPEG", formats=formats)
