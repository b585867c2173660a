"""What a sanitised document looks like inside: no metadata segment or chunk left, pixels turned
upright, transparency kept; limits at their boundaries; limits read from the app's config; and
each of the PDF check's two layers (object walk, byte scan) catching what the other cannot."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image
from pypdf import PdfReader

from app import config as app_config
from app.documents import (
    DOCUMENT_TYPE_LABELS,
    DOCUMENT_TYPES,
    DocumentLimits,
    DocumentPdfActiveContent,
    DocumentPdfTooComplex,
    DocumentTooLarge,
    DocumentTooManyPages,
    DocumentTooManyPixels,
    sanitise,
)
from app.documents import pdf as pdf_check
from tests.documents import corpus, pdfs


def jpeg_segments(data: bytes) -> list[int]:
    """Marker bytes of every segment before the image data (SOS), in order."""
    assert data[:2] == b"\xff\xd8"
    markers, position = [], 2
    while True:
        assert data[position] == 0xFF
        marker = data[position + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            return markers
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        position += 2 + length


def png_chunks(data: bytes) -> list[bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    kinds, position = [], 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kinds.append(data[position + 4 : position + 8])
        position += 12 + length
    return kinds


# --- photos ----------------------------------------------------------------------------------


def test_the_source_photo_really_carries_gps_icc_and_a_comment():
    """The fixture is what the next test claims to clean."""
    source = Image.open(io.BytesIO(corpus.jpeg_with_exif_gps()))
    assert source.getexif().get_ifd(0x8825)[2] == corpus.GPS_LATITUDE
    assert source.info["icc_profile"] and source.info["comment"] == corpus.PRIVATE_COMMENT
    assert 0xE1 in jpeg_segments(corpus.jpeg_with_exif_gps())  # APP1 = EXIF


def test_jpeg_comes_out_upright_with_no_metadata_segment():
    document = sanitise(corpus.jpeg_with_exif_gps())

    # Only JFIF (APP0), quantisation and Huffman tables, frame header, scan: no APP1 (EXIF, GPS,
    # XMP), no APP2 (ICC), no COM.
    assert set(jpeg_segments(document.content)) <= {0xE0, 0xDB, 0xC4, 0xC0, 0xC2, 0xDD, 0xDA}
    assert corpus.PRIVATE_COMMENT not in document.content
    image = Image.open(io.BytesIO(document.content))
    assert dict(image.getexif()) == {} and "icc_profile" not in image.info
    # Orientation 6 applied: the 64 x 48 stored picture (red left, blue right) is 48 x 64 with
    # red on top and blue below.
    assert (document.width, document.height) == image.size == (48, 64)
    red, _, blue = image.getpixel((24, 8))
    assert red > 200 and blue < 60
    red, _, blue = image.getpixel((24, 56))
    assert red < 60 and blue > 200


def test_png_keeps_only_pixel_chunks():
    source = Image.open(io.BytesIO(corpus.png_with_text_chunks()))
    assert source.text and "icc_profile" in source.info  # the fixture has what must go

    document = sanitise(corpus.png_with_text_chunks())

    assert set(png_chunks(document.content)) <= {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}
    assert b"Zhang" not in document.content
    assert Image.open(io.BytesIO(document.content)).text == {}


def test_palette_transparency_survives_as_alpha():
    document = sanitise(corpus.palette_png_with_transparency())
    image = Image.open(io.BytesIO(document.content))
    assert image.mode == "RGBA"
    assert image.getpixel((2, 2))[3] == 0  # palette index 0 was transparent
    assert image.getpixel((15, 2)) == (0, 0, 0, 255)


def test_sixteen_bit_grey_keeps_its_depth():
    image = Image.open(io.BytesIO(sanitise(corpus.sixteen_bit_png()).content))
    assert image.mode.startswith("I") and image.getpixel((3, 3)) == 40000


def test_cmyk_jpeg_becomes_rgb():
    image = Image.open(io.BytesIO(sanitise(corpus.cmyk_jpeg()).content))
    assert image.mode == "RGB"


def test_payload_appended_to_a_jpeg_is_dropped():
    document = sanitise(corpus.jpeg_with_pdf_appended())
    assert b"%PDF" not in document.content and b"endobj" not in document.content


@pytest.mark.parametrize(
    ("side", "max_pixels", "accepted"),
    [
        (100, 10_000, True),  # 100 x 100 = 10,000 = the limit
        (100, 9_999, False),  # one pixel over
    ],
)
def test_pixel_limit_boundary(side, max_pixels, accepted):
    data = _grey_png(side, side)
    limits = DocumentLimits(max_pixels=max_pixels)
    if accepted:
        assert sanitise(data, limits=limits).width == side
    else:
        with pytest.raises(DocumentTooManyPixels):
            sanitise(data, limits=limits)


def _grey_png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (width, height), 128).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(("size", "accepted"), [(1000, True), (1001, False)])
def test_size_limit_boundary(size, accepted):
    data = corpus.simple_pdf()
    padded = data + b" " * (size - len(data))  # trailing whitespace after %%EOF is allowed
    limits = DocumentLimits(max_bytes=1000)
    if accepted:
        assert sanitise(padded, limits=limits).pages == 1
    else:
        with pytest.raises(DocumentTooLarge):
            sanitise(padded, limits=limits)


def test_limits_come_from_the_app_config():
    from app import create_app

    cfg = app_config.testing_config()
    cfg.DOCUMENT_MAX_BYTES = 500
    application = create_app(cfg)
    data = corpus.plain_jpeg()
    assert len(data) > 500
    assert sanitise(data).media_type == "image/jpeg"  # no app context: the default 10 MiB
    with application.app_context():
        with pytest.raises(DocumentTooLarge):
            sanitise(data)


# --- PDFs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("max_pages", "accepted"), [(3, True), (2, False)])
def test_page_limit_boundary(max_pages, accepted):
    limits = DocumentLimits(max_pdf_pages=max_pages)
    if accepted:
        assert sanitise(corpus.three_page_pdf(), limits=limits).pages == 3
    else:
        with pytest.raises(DocumentTooManyPages) as raised:
            sanitise(corpus.three_page_pdf(), limits=limits)
        assert raised.value.code == "document_too_many_pages"


@pytest.mark.parametrize(
    ("limit_mib", "accepted"),
    [
        (4, True),  # 3 streams x 1 MiB = 3 MiB inflated, plus the small content stream: under 4
        (2.5, False),  # each stream alone is under 2.5 MiB; their sum is not
    ],
)
def test_inflated_total_is_counted_across_streams(limit_mib, accepted):
    data = pdfs.one_page(
        page_extra=b"/PieceInfo << /A 20 0 R /B 21 0 R /C 22 0 R >> ",
        more={
            20: pdfs.flate_stream_of_zeros(1),
            21: pdfs.flate_stream_of_zeros(1),
            22: pdfs.flate_stream_of_zeros(1),
        },
    )
    limits = DocumentLimits(max_pdf_decoded_bytes=int(limit_mib * 1024 * 1024))
    if accepted:
        assert sanitise(data, limits=limits).pages == 1
    else:
        with pytest.raises(DocumentPdfTooComplex):
            sanitise(data, limits=limits)


def test_object_walk_sees_into_compressed_object_streams():
    data = corpus.pdf_with_javascript_in_object_stream()
    pdf_check._scan_raw_names(data)  # nothing for a byte scan to find: it is deflated
    with pytest.raises(DocumentPdfActiveContent):
        pdf_check._refuse_active_content(PdfReader(io.BytesIO(data)))


def test_byte_scan_sees_objects_the_table_does_not_list():
    data = corpus.pdf_with_javascript_in_unlisted_object()
    pdf_check._refuse_active_content(PdfReader(io.BytesIO(data)))  # pypdf never reaches it
    with pytest.raises(DocumentPdfActiveContent):
        pdf_check._scan_raw_names(data)


def test_byte_scan_ignores_names_that_only_start_like_active_ones():
    # /JavaScriptish and /Launcher are not /JavaScript and /Launch.
    data = pdfs.one_page(page_extra=b"/PieceInfo << /JavaScriptish 1 /Launcher 2 >> ")
    assert sanitise(data).pages == 1


def test_a_pdf_stream_inflating_within_the_limit_is_fine():
    data = pdfs.one_page(page_extra=b"/Thumb 20 0 R ", more={20: pdfs.flate_stream_of_zeros(2)})
    stream_start = data.index(b"stream\n", data.index(b"20 0 obj")) + 7
    assert (
        len(zlib.decompress(data[stream_start : data.index(b"\nendstream", stream_start)]))
        == 2 * 1024 * 1024
    )
    assert sanitise(data).pages == 1


# --- document types --------------------------------------------------------------------------


def test_document_types_and_labels():
    assert DOCUMENT_TYPES == (
        "invoice",
        "settlement_sheet",
        "discharge_summary",
        "itemised_bill",
        "prescription",
        "pathology",
    )
    assert DOCUMENT_TYPE_LABELS["invoice"] == "医疗费用发票"
    assert DOCUMENT_TYPE_LABELS["discharge_summary"] == "出院小结"
    assert set(DOCUMENT_TYPE_LABELS) == set(DOCUMENT_TYPES)
