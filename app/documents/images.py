"""Re-encoding of uploaded photos (JPEG, PNG): decode fully with Pillow, apply the EXIF
orientation, then write fresh pixels with no metadata at all.

Why re-encode instead of stripping tags: a new file from decoded pixels cannot carry anything the
decoder did not understand (GPS in EXIF, XMP, ICC, comments, text chunks, appended polyglot
payloads), and a file that does not decode fully is refused here rather than in a reviewer's
browser. Colour profiles are dropped rather than converted: parsing an untrusted ICC profile is
attack surface, and a slight colour shift does not matter for reading an invoice.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from PIL import Image, ImageOps

from app.documents.errors import DocumentCorrupt, DocumentTooManyPixels

# Quality 85 keeps invoice print legible at about a third of the size of a phone's original.
JPEG_QUALITY = 85
# Pillow raises these for files that are truncated, malformed or lie about themselves.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError)
# PNG modes written as they are (16-bit grey included: converting it to 8-bit RGB would clip
# bright scans to white); anything else becomes RGB(A).
_PNG_MODES = {"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"}


@dataclass(frozen=True)
class CleanImage:
    content: bytes
    width: int
    height: int


def clean_image(
    data: bytes, pillow_format: str, *, max_pixels: int, max_decoded_pixels: int | None = None
) -> CleanImage:
    """Decode `data` as `pillow_format` ("JPEG" or "PNG") and re-encode it without metadata.

    The pixel count is checked from the header before any pixel is decoded, so a small file that
    declares huge dimensions (a decompression bomb) costs nothing but the header read.

    `max_decoded_pixels` bounds what the decode holds in memory (3 bytes a pixel for RGB, and a
    transposed copy for a rotated photo): a larger JPEG is decoded at 1/2, 1/4 or 1/8 scale by
    libjpeg's DCT scaling, so the full-size pixels never exist (the stored photo is that size);
    a larger PNG, which has no reduced decode, is refused."""
    if max_decoded_pixels is None:
        max_decoded_pixels = max_pixels
    try:
        # `formats` pins the decoder to the one the magic bytes chose: Pillow will not fall back
        # to another plugin that happens to accept these bytes.
        image = Image.open(io.BytesIO(data), formats=[pillow_format])
    except Image.DecompressionBombError as exc:
        # Pillow's own guard (over twice MAX_IMAGE_PIXELS) fires inside open().
        raise DocumentTooManyPixels() from exc
    except _DECODE_ERRORS as exc:
        raise DocumentCorrupt() from exc
    with image:
        width, height = image.size
        if width <= 0 or height <= 0:
            raise DocumentCorrupt()
        if width * height > max_pixels:
            raise DocumentTooManyPixels()
        if width * height > max_decoded_pixels:
            _decode_reduced(image, pillow_format, max_decoded_pixels)
        try:
            image.load()
            _apply_orientation(image)
            clean = _without_metadata(image, pillow_format)
            out = io.BytesIO()
            if pillow_format == "JPEG":
                clean.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
            else:
                clean.save(out, format="PNG", optimize=True)
        except Image.DecompressionBombError as exc:
            raise DocumentTooManyPixels() from exc
        except _DECODE_ERRORS as exc:
            raise DocumentCorrupt() from exc
    return CleanImage(content=out.getvalue(), width=clean.width, height=clean.height)


def _decode_reduced(image: Image.Image, pillow_format: str, max_decoded_pixels: int) -> None:
    """Ask the JPEG decoder for the largest 1/2, 1/4 or 1/8 scale within `max_decoded_pixels`.
    The decoder's result is ceil(side / divisor); `draft` picks the divisor from
    side // requested side, so the sides asked for are the floors. A PNG cannot be decoded
    smaller: refused."""
    width, height = image.size
    if pillow_format != "JPEG":
        raise DocumentTooManyPixels()
    for divisor in (2, 4, 8):
        if -(-width // divisor) * -(-height // divisor) <= max_decoded_pixels:
            # The scale only; the mode is converted later.
            image.draft(None, (max(1, width // divisor), max(1, height // divisor)))
            return
    raise DocumentTooManyPixels()


def _apply_orientation(image: Image.Image) -> None:
    """Turn the pixels the way the camera's EXIF orientation says, since the tag itself goes.
    In place: a 50-megapixel photo is 150 MB decoded, and a copy per step would multiply that.
    Unreadable EXIF is ignored: a photo is not refused for its metadata, which is dropped anyway."""
    try:
        ImageOps.exif_transpose(image, in_place=True)
    except _DECODE_ERRORS + (KeyError, TypeError):
        pass


def _without_metadata(image: Image.Image, pillow_format: str) -> Image.Image:
    """The image in a mode the format can write, with an empty `info`: Pillow's encoders fall
    back to `info` for the ICC profile, JPEG comments and PNG transparency, so nothing of the
    original's metadata may stay there. Converts only when the mode must change."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if pillow_format == "JPEG":
        target = image.mode if image.mode in ("L", "RGB") else "RGB"
    elif has_alpha and image.mode not in ("RGBA", "LA"):
        # Palette or colour-key transparency lives in `info`, which is about to be emptied.
        target = "RGBA"
    else:
        target = image.mode if image.mode in _PNG_MODES else ("RGBA" if has_alpha else "RGB")
    clean = image.convert(target) if target != image.mode else image
    clean.info = {}
    return clean
