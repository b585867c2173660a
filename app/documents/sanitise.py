"""The one door for uploaded claim documents: bytes in, a clean document (or a 422) out.

`sanitise(data, declared_media_type=...)` accepts JPEG, PNG and PDF only. The type comes from the
magic bytes, never from the file name (which this function does not even take) nor from the
client's declared type; a declared type that names another format is refused, because a client
that says "photo" while sending a PDF is either broken or probing. Images are re-encoded without
metadata (app/documents/images.py); PDFs are checked and kept as they are (app/documents/pdf.py).

Limits come from the app's config when called inside an app context (DOCUMENT_MAX_BYTES,
DOCUMENT_MAX_PIXELS, DOCUMENT_DECODE_MAX_PIXELS, DOCUMENT_PDF_MAX_PAGES,
DOCUMENT_PDF_MAX_DECODED_BYTES), else the defaults
below; pass `limits=` to choose them explicitly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app, has_app_context

from app.documents.errors import (
    DocumentEmpty,
    DocumentTooLarge,
    DocumentTypeMismatch,
    DocumentTypeNotAllowed,
)
from app.documents.images import clean_image
from app.documents.pdf import check_pdf

JPEG, PNG, PDF = "image/jpeg", "image/png", "application/pdf"

# (magic prefix, media type, extension). JPEG: SOI then the first marker's 0xFF. PNG: the full
# 8-byte signature. PDF: the header must start the file (some readers look further in; that
# leeway is how PDF polyglots are made).
_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"\xff\xd8\xff", JPEG, "jpg"),
    (b"\x89PNG\r\n\x1a\n", PNG, "png"),
    (b"%PDF-", PDF, "pdf"),
)
# Spellings clients use for the same three types.
_MEDIA_TYPE_ALIASES = {
    "image/jpg": JPEG,
    "image/pjpeg": JPEG,
    "image/x-png": PNG,
    "application/x-pdf": PDF,
    "application/acrobat": PDF,
}
# Declarations that assert nothing about the format: a generic multipart part, or the
# mini-program's wx.uploadFile, label files this way.
_UNDECLARED = {"", "application/octet-stream", "binary/octet-stream"}


@dataclass(frozen=True)
class DocumentLimits:
    max_bytes: int = 10 * 1024 * 1024
    # 50 megapixels admits a 48 MP phone photo (8064 x 6048) and nothing much larger.
    max_pixels: int = 50_000_000
    # What one decode may hold: larger JPEGs are decoded at a reduced scale, larger PNGs refused.
    max_decoded_pixels: int = 16_000_000
    max_pdf_pages: int = 200
    max_pdf_decoded_bytes: int = 128 * 1024 * 1024

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DocumentLimits:
        """The limits app/config.py declares (DOCUMENT_MAX_BYTES ...); the defaults above are
        for callers without an app (the corpus tests)."""
        return cls(
            max_bytes=int(config["DOCUMENT_MAX_BYTES"]),
            max_pixels=int(config["DOCUMENT_MAX_PIXELS"]),
            max_decoded_pixels=int(config["DOCUMENT_DECODE_MAX_PIXELS"]),
            max_pdf_pages=int(config["DOCUMENT_PDF_MAX_PAGES"]),
            max_pdf_decoded_bytes=int(config["DOCUMENT_PDF_MAX_DECODED_BYTES"]),
        )


@dataclass(frozen=True)
class CleanDocument:
    """What may be stored: `content` is the re-encoded image or the checked PDF."""

    content: bytes
    media_type: str  # image/jpeg, image/png or application/pdf
    extension: str  # jpg, png or pdf (for a download's file name; never from the client)
    sha256: str  # hex digest of `content`
    width: int | None  # images only, after EXIF orientation
    height: int | None
    pages: int | None  # PDFs only


def sniff_media_type(data: bytes) -> tuple[str, str] | None:
    """(media type, extension) from the magic bytes, or None when it is none of ours."""
    for magic, media_type, extension in _SIGNATURES:
        if data.startswith(magic):
            return media_type, extension
    return None


def normalise_media_type(declared: str | None) -> str | None:
    """`Image/JPEG; name=x` -> `image/jpeg`; None for a declaration that says nothing."""
    if declared is None:
        return None
    essence = declared.split(";", 1)[0].strip().lower()
    if essence in _UNDECLARED:
        return None
    return _MEDIA_TYPE_ALIASES.get(essence, essence)


def sanitise(
    data: bytes,
    *,
    declared_media_type: str | None = None,
    limits: DocumentLimits | None = None,
) -> CleanDocument:
    """Accept `data` as a claim document or raise a DocumentRejected subclass (422).

    Order matters for the answer a user sees: emptiness and size first (cheap, and the most
    likely mistakes), then the type, then the format's own checks."""
    if limits is None:
        limits = (
            DocumentLimits.from_config(current_app.config)
            if has_app_context()
            else DocumentLimits()
        )
    if not data:
        raise DocumentEmpty()
    if len(data) > limits.max_bytes:
        raise DocumentTooLarge()
    sniffed = sniff_media_type(data)
    if sniffed is None:
        raise DocumentTypeNotAllowed()
    media_type, extension = sniffed
    declared = normalise_media_type(declared_media_type)
    if declared is not None and declared != media_type:
        raise DocumentTypeMismatch()

    if media_type == PDF:
        facts = check_pdf(
            data, max_pages=limits.max_pdf_pages, max_decoded_bytes=limits.max_pdf_decoded_bytes
        )
        content, width, height, pages = data, None, None, facts.pages
    else:
        image = clean_image(
            data,
            "JPEG" if media_type == JPEG else "PNG",
            max_pixels=limits.max_pixels,
            max_decoded_pixels=limits.max_decoded_pixels,
        )
        content, width, height, pages = image.content, image.width, image.height, None
    return CleanDocument(
        content=content,
        media_type=media_type,
        extension=extension,
        sha256=hashlib.sha256(content).hexdigest(),
        width=width,
        height=height,
        pages=pages,
    )
