"""The document-safety corpus: real bytes for every kind of upload the check must accept or refuse.

Each builder returns the bytes of one file, made the way the real thing is made (Pillow for
photos, pypdf or tests/documents/pdfs.py for PDFs, zipfile for ZIP, a real PE/MZ header for an
executable). They are cached because several tests look at the same file.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from functools import cache

from PIL import Image, ImageCms
from PIL.ExifTags import GPS, IFD
from PIL.PngImagePlugin import PngInfo
from pypdf import PdfWriter
from pypdf.actions import JavaScript
from pypdf.annotations import Link

from tests.documents import pdfs

MiB = 1024 * 1024
GPS_LATITUDE = (25.0, 49.0, 52.0)  # Ganzhou, where a member photographed the invoice
PRIVATE_COMMENT = b"patient Zhang Wei 360702198503120119"


def _srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _two_colour_photo(size=(64, 48)) -> Image.Image:
    """Left half red, right half blue: after a 90-degree turn, top red and bottom blue."""
    image = Image.new("RGB", size, (220, 20, 20))
    image.paste((20, 20, 220), (size[0] // 2, 0, size[0], size[1]))
    return image


# --- photos ----------------------------------------------------------------------------------


@cache
def jpeg_with_exif_gps() -> bytes:
    """A phone photo: EXIF orientation 6 (turn 90 degrees clockwise to view), maker, GPS
    position, an ICC profile and a comment with personal data."""
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(IFD.GPSInfo)
    gps[GPS.GPSLatitudeRef] = "N"
    gps[GPS.GPSLatitude] = GPS_LATITUDE
    gps[GPS.GPSLongitudeRef] = "E"
    gps[GPS.GPSLongitude] = (114.0, 56.0, 0.0)
    out = io.BytesIO()
    _two_colour_photo().save(
        out, "JPEG", quality=95, exif=exif, icc_profile=_srgb_icc(), comment=PRIVATE_COMMENT
    )
    return out.getvalue()


@cache
def plain_jpeg() -> bytes:
    out = io.BytesIO()
    _two_colour_photo().save(out, "JPEG")
    return out.getvalue()


@cache
def noisy_jpeg() -> bytes:
    """Random pixels: a large entropy-coded scan, so a cut lands in the middle of image data."""
    image = Image.frombytes(
        "RGB", (256, 256), bytes((i * 7919) % 251 for i in range(256 * 256 * 3))
    )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


@cache
def truncated_jpeg() -> bytes:
    data = noisy_jpeg()
    return data[: len(data) // 2]


@cache
def cmyk_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("CMYK", (40, 30), (0, 255, 255, 0)).save(out, "JPEG")
    return out.getvalue()


@cache
def png_with_text_chunks() -> bytes:
    """A screenshot of a bill with tEXt, zTXt and iTXt chunks, an eXIf chunk and an ICC profile."""
    info = PngInfo()
    info.add_text("Comment", PRIVATE_COMMENT.decode())
    info.add_text("Author", "Zhang Wei", zip=True)
    info.add_itxt("Description", "住院费用清单 张伟", lang="zh", tkey="说明")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    out = io.BytesIO()
    _two_colour_photo().save(out, "PNG", pnginfo=info, exif=exif, icc_profile=_srgb_icc())
    return out.getvalue()


@cache
def palette_png_with_transparency() -> bytes:
    image = Image.new("P", (20, 10), 0)
    image.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)
    image.paste(1, (10, 0, 20, 10))
    out = io.BytesIO()
    image.save(out, "PNG", transparency=0)
    return out.getvalue()


@cache
def sixteen_bit_png() -> bytes:
    out = io.BytesIO()
    Image.new("I;16", (16, 16), 40000).save(out, "PNG")
    return out.getvalue()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def bilevel_png(width: int, height: int) -> bytes:
    """A real 1-bit greyscale PNG of all-black pixels, every row filtered and deflated: the cheap
    way to make a small file that declares a huge image. `height` must be a multiple of 16."""
    row = bytes(1 + (width + 7) // 8)  # filter byte 0 + packed bits
    pixels = pdfs.zlib_of_repeats(row * 16, height // 16)
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", pixels)
        + _png_chunk(b"IEND", b"")
    )


@cache
def png_bomb() -> bytes:
    """30000 x 30000 = 900 megapixels declared in a file of a few hundred KiB."""
    return bilevel_png(30000, 30000)


@cache
def png_just_over_pixel_limit() -> bytes:
    """7072 x 7072 = 50,013,184 pixels: just over 50 MP, below Pillow's own bomb threshold
    (89 MP), so only our check stands in the way."""
    return bilevel_png(7072, 7072)


@cache
def jpeg_with_pdf_appended() -> bytes:
    """A JPEG/PDF polyglot: valid photo first, a PDF after the JPEG's end marker."""
    return plain_jpeg() + simple_pdf()


# --- PDFs ------------------------------------------------------------------------------------


@cache
def simple_pdf() -> bytes:
    return pdfs.one_page()


@cache
def three_page_pdf() -> bytes:
    return pdfs.one_page(pages=3)


@cache
def pypdf_written_pdf() -> bytes:
    """What a generator writes: a page, document info, a link to the tax bureau's checker."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_annotation(
        page_number=0,
        annotation=Link(rect=(72, 72, 200, 90), url="https://inv-veri.chinatax.gov.cn/"),
    )
    writer.add_metadata({"/Producer": "Hospital billing system"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@cache
def pdf_opening_at_a_page() -> bytes:
    """/OpenAction as an explicit destination: where to open, nothing runs."""
    return pdfs.one_page(catalog_extra=b"/OpenAction [10 0 R /Fit] ")


@cache
def pdf_with_javascript_name_tree() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_open_action(JavaScript("app.alert('claim approved');"))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@cache
def pdf_with_open_action_javascript() -> bytes:
    return pdfs.one_page(
        catalog_extra=b"/OpenAction 20 0 R ",
        more={20: b"<< /Type /Action /S /JavaScript /JS (app.launchURL\\(1\\)) >>"},
    )


@cache
def pdf_with_launch_action() -> bytes:
    """A link annotation that launches a program."""
    return pdfs.one_page(
        page_extra=b"/Annots [20 0 R] ",
        more={
            20: b"<< /Type /Annot /Subtype /Link /Rect [0 0 100 100] /A 21 0 R >>",
            21: b"<< /S /Launch /F (cmd.exe) >>",
        },
    )


@cache
def pdf_with_page_additional_action() -> bytes:
    return pdfs.one_page(page_extra=b"/AA << /O << /S /URI /URI (https://evil.invalid/) >> >> ")


@cache
def pdf_with_escaped_javascript_name() -> bytes:
    """`/J#61vaScript` is `/JavaScript` once the name escape is decoded."""
    return pdfs.one_page(
        catalog_extra=b"/OpenAction 20 0 R ",
        more={20: b"<< /S /J#61vaScript /J#53 (app.alert\\(1\\)) >>"},
    )


@cache
def pdf_with_javascript_in_object_stream() -> bytes:
    """The action sits in a Flate-compressed object stream: invisible to a byte scan."""
    data = pdfs.one_page(
        catalog_extra=b"/OpenAction 20 0 R ",
        more={20: b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>"},
        compressed=frozenset({1, 20}),
    )
    assert b"JavaScript" not in data
    return data


@cache
def pdf_with_javascript_in_unlisted_object() -> bytes:
    """An action object the cross-reference table marks free: only the byte scan sees it."""
    return pdfs.one_page(
        more={20: b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>"}, unlisted=frozenset({20})
    )


@cache
def pdf_in_object_stream() -> bytes:
    """The same structure without the action: object streams themselves are fine."""
    return pdfs.one_page(compressed=frozenset({1, 3}))


@cache
def pdf_with_embedded_file() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_attachment("invoice.exe", b"MZ\x90\x00 not really a program")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@cache
def pdf_with_xfa_form() -> bytes:
    return pdfs.one_page(
        catalog_extra=b"/AcroForm << /Fields [] /XFA 20 0 R >> ",
        more={20: pdfs.stream(b"", b"<xdp:xdp/>")},
    )


def _encrypted(user_password: str) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@cache
def encrypted_pdf() -> bytes:
    return _encrypted("member-password")


@cache
def encrypted_pdf_empty_password() -> bytes:
    """Opens without a password in any viewer, but its objects cannot be checked unopened."""
    return _encrypted("")


@cache
def pdf_flate_bomb() -> bytes:
    """129 MiB of zeros in one Flate stream (about 130 KiB on disk): over the 128 MiB limit."""
    return pdfs.one_page(page_extra=b"/Thumb 20 0 R ", more={20: pdfs.flate_stream_of_zeros(129)})


@cache
def pdf_with_deeply_nested_arrays() -> bytes:
    """50,000 arrays inside each other: a parser that recurses runs out of stack."""
    return pdfs.one_page(page_extra=b"/PieceInfo 20 0 R ", more={20: b"[" * 50_000 + b"]" * 50_000})


@cache
def truncated_pdf() -> bytes:
    data = three_page_pdf()
    return data[: len(data) // 2]


@cache
def pdf_with_zip_appended() -> bytes:
    return simple_pdf() + zip_archive()


@cache
def pdf_without_pages() -> bytes:
    return pdfs.build(
        {1: b"<< /Type /Catalog /Pages 2 0 R >>", 2: b"<< /Type /Pages /Kids [] /Count 0 >>"}
    )


@cache
def pdf_header_and_trailer_only() -> bytes:
    return b"%PDF-1.4\n% nothing here\n%%EOF\n"


@cache
def html_with_pdf_inside() -> bytes:
    return b"<html><body><script>alert(1)</script></body></html>\n" + simple_pdf()


# --- other formats -----------------------------------------------------------------------------


@cache
def zip_archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("invoice.jpg", plain_jpeg())
    return out.getvalue()


@cache
def windows_executable() -> bytes:
    """A DOS/PE header: 'MZ', e_lfanew at 0x3C pointing at 'PE\\0\\0'."""
    header = bytearray(128)
    header[0:2] = b"MZ"
    header[0x3C:0x40] = struct.pack("<I", 64)
    header[64:68] = b"PE\x00\x00"
    return bytes(header) + b"\x90" * 256


def _other_image(fmt: str) -> bytes:
    out = io.BytesIO()
    _two_colour_photo().save(out, fmt)
    return out.getvalue()


HTML = b"<!DOCTYPE html><html><head><title>invoice</title></head><body>x</body></html>"
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script></svg>"
)
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64)


@cache
def gif_image() -> bytes:
    return _other_image("GIF")


@cache
def bmp_image() -> bytes:
    return _other_image("BMP")


@cache
def webp_image() -> bytes:
    return _other_image("WEBP")


@cache
def jpeg_magic_then_garbage() -> bytes:
    return b"\xff\xd8\xff\xe0" + b"this is not a JPEG at all" * 20


@cache
def png_signature_then_garbage() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@cache
def one_byte_over_the_limit() -> bytes:
    """10 MiB + 1: starts like a JPEG so only the size can refuse it."""
    return b"\xff\xd8\xff\xe0" + bytes(10 * MiB + 1 - 4)


@cache
def exactly_the_limit_of_something_else() -> bytes:
    """10 MiB exactly passes the size check and is then refused for what it is."""
    return b"MZ" + bytes(10 * MiB - 2)
