"""The document-safety corpus, table-driven: each row is one file (real bytes, built in
tests/documents/corpus.py), what the client said it was, and what `sanitise` must answer: the
media type it accepts the file as, or the code it refuses it with. Default limits throughout
(10 MiB, 50 MP, 200 pages, 128 MiB of inflated PDF streams)."""

from __future__ import annotations

import hashlib
import re

import pytest

from app.documents import DocumentRejected, sanitise
from tests.documents import corpus as c

JPEG, PNG, PDF = "image/jpeg", "image/png", "application/pdf"
ACCEPTED = {JPEG: "jpg", PNG: "png", PDF: "pdf"}

CORPUS = [
    # id, file, declared media type, expected media type or refusal code
    # --- photos that must pass (and come out re-encoded) ---
    ("jpeg-exif-gps-icc-comment", c.jpeg_with_exif_gps, "image/jpeg", JPEG),
    ("jpeg-undeclared", c.plain_jpeg, None, JPEG),
    ("jpeg-declared-octet-stream", c.plain_jpeg, "application/octet-stream", JPEG),  # wx.uploadFile
    ("jpeg-declared-image-jpg-alias", c.plain_jpeg, "image/jpg", JPEG),
    ("jpeg-declared-with-parameters", c.plain_jpeg, "IMAGE/JPEG; name=fapiao.jpg", JPEG),
    ("jpeg-cmyk", c.cmyk_jpeg, "image/jpeg", JPEG),
    ("jpeg-with-pdf-appended", c.jpeg_with_pdf_appended, "image/jpeg", JPEG),  # tail dropped
    ("png-text-exif-icc-chunks", c.png_with_text_chunks, "image/png", PNG),
    ("png-palette-transparency", c.palette_png_with_transparency, None, PNG),
    ("png-16-bit", c.sixteen_bit_png, "image/png", PNG),
    # --- PDFs that must pass (kept byte for byte) ---
    ("pdf-simple", c.simple_pdf, "application/pdf", PDF),
    ("pdf-three-pages", c.three_page_pdf, None, PDF),
    ("pdf-written-by-pypdf-with-uri-link", c.pypdf_written_pdf, "application/x-pdf", PDF),
    ("pdf-open-action-is-a-destination", c.pdf_opening_at_a_page, PDF, PDF),
    ("pdf-object-streams", c.pdf_in_object_stream, PDF, PDF),
    # --- empty, too large ---
    ("empty", lambda: b"", "image/jpeg", "document_empty"),
    ("one-byte-over-10-mib", c.one_byte_over_the_limit, "image/jpeg", "document_too_large"),
    (
        "exactly-10-mib-passes-size-then-type",
        c.exactly_the_limit_of_something_else,
        None,
        "document_type_not_allowed",
    ),
    # --- not one of our types, whatever the declaration says ---
    ("html", lambda: c.HTML, "text/html", "document_type_not_allowed"),
    ("html-declared-as-jpeg", lambda: c.HTML, "image/jpeg", "document_type_not_allowed"),
    ("svg-with-script", lambda: c.SVG, "image/svg+xml", "document_type_not_allowed"),
    ("zip", c.zip_archive, "application/zip", "document_type_not_allowed"),
    (
        "exe-mz-declared-as-pdf",
        c.windows_executable,
        "application/pdf",
        "document_type_not_allowed",
    ),
    ("gif", c.gif_image, "image/gif", "document_type_not_allowed"),
    ("bmp", c.bmp_image, None, "document_type_not_allowed"),
    ("webp", c.webp_image, "image/webp", "document_type_not_allowed"),
    ("heic", lambda: c.HEIC, "image/heic", "document_type_not_allowed"),
    ("html-then-pdf", c.html_with_pdf_inside, "application/pdf", "document_type_not_allowed"),
    # --- declared type disagrees with the bytes (polyglots, probing) ---
    ("pdf-declared-as-jpeg", c.simple_pdf, "image/jpeg", "document_type_mismatch"),
    ("jpeg-declared-as-pdf", c.plain_jpeg, "application/pdf", "document_type_mismatch"),
    ("jpeg-declared-as-png", c.plain_jpeg, "image/png", "document_type_mismatch"),
    ("png-declared-as-html", c.png_with_text_chunks, "text/html", "document_type_mismatch"),
    # --- broken files ---
    ("jpeg-truncated", c.truncated_jpeg, "image/jpeg", "document_corrupt"),
    ("jpeg-magic-then-garbage", c.jpeg_magic_then_garbage, None, "document_corrupt"),
    ("png-signature-then-garbage", c.png_signature_then_garbage, None, "document_corrupt"),
    ("pdf-truncated", c.truncated_pdf, PDF, "document_corrupt"),
    ("pdf-with-zip-appended", c.pdf_with_zip_appended, PDF, "document_corrupt"),
    ("pdf-header-and-eof-only", c.pdf_header_and_trailer_only, PDF, "document_corrupt"),
    ("pdf-without-pages", c.pdf_without_pages, PDF, "document_corrupt"),
    # --- decompression bombs ---
    ("png-bomb-30000x30000", c.png_bomb, "image/png", "document_too_many_pixels"),
    (
        "png-7072x7072-just-over-50-mp",
        c.png_just_over_pixel_limit,
        None,
        "document_too_many_pixels",
    ),
    ("pdf-flate-bomb-129-mib", c.pdf_flate_bomb, PDF, "document_pdf_too_complex"),
    ("pdf-50000-nested-arrays", c.pdf_with_deeply_nested_arrays, PDF, "document_pdf_too_complex"),
    # --- active PDFs ---
    (
        "pdf-javascript-name-tree",
        c.pdf_with_javascript_name_tree,
        PDF,
        "document_pdf_active_content",
    ),
    (
        "pdf-open-action-javascript",
        c.pdf_with_open_action_javascript,
        PDF,
        "document_pdf_active_content",
    ),
    ("pdf-launch-action", c.pdf_with_launch_action, PDF, "document_pdf_active_content"),
    (
        "pdf-page-additional-action",
        c.pdf_with_page_additional_action,
        PDF,
        "document_pdf_active_content",
    ),
    (
        "pdf-escaped-javascript-name",
        c.pdf_with_escaped_javascript_name,
        PDF,
        "document_pdf_active_content",
    ),
    (
        "pdf-javascript-in-object-stream",
        c.pdf_with_javascript_in_object_stream,
        PDF,
        "document_pdf_active_content",
    ),
    (
        "pdf-javascript-in-unlisted-object",
        c.pdf_with_javascript_in_unlisted_object,
        PDF,
        "document_pdf_active_content",
    ),
    ("pdf-embedded-file", c.pdf_with_embedded_file, PDF, "document_pdf_active_content"),
    ("pdf-xfa-form", c.pdf_with_xfa_form, PDF, "document_pdf_active_content"),
    # --- encrypted PDFs ---
    ("pdf-encrypted", c.encrypted_pdf, PDF, "document_pdf_encrypted"),
    (
        "pdf-encrypted-empty-user-password",
        c.encrypted_pdf_empty_password,
        PDF,
        "document_pdf_encrypted",
    ),
]

_CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize(
    ("build", "declared", "expected"), [row[1:] for row in CORPUS], ids=[row[0] for row in CORPUS]
)
def test_corpus(build, declared, expected):
    data = build()
    if expected in ACCEPTED:
        document = sanitise(data, declared_media_type=declared)
        assert document.media_type == expected
        assert document.extension == ACCEPTED[expected]
        assert document.sha256 == hashlib.sha256(document.content).hexdigest()
        if expected == PDF:
            assert document.content == data and document.pages >= 1
            assert document.width is None and document.height is None
        else:
            # A re-encoded image is a new file that is again accepted as the same type.
            assert document.content != data and document.pages is None
            again = sanitise(document.content)
            assert (again.media_type, again.width, again.height) == (
                expected,
                document.width,
                document.height,
            )
    else:
        with pytest.raises(DocumentRejected) as raised:
            sanitise(data, declared_media_type=declared)
        error = raised.value
        assert error.code == expected
        assert error.status == 422
        assert _CHINESE.search(error.detail)


def test_every_refusal_code_has_a_row():
    """The corpus covers every reason the check can give (apart from the page count, which
    needs a lower limit than the default and is tested with explicit limits)."""
    from app.documents import errors

    codes = {
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type)
        and issubclass(cls, DocumentRejected)
        and cls is not DocumentRejected
    }
    covered = {row[3] for row in CORPUS if row[3] not in ACCEPTED}
    assert codes - covered == {"document_too_many_pages"}
