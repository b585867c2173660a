"""A small PDF writer for the document-safety corpus: real PDF syntax, byte offsets computed, either
a classic cross-reference table or (PDF 1.5) a cross-reference stream with some objects packed in
a Flate-compressed object stream, where a byte scan cannot see them.

pypdf's writer makes the ordinary cases (JavaScript name tree, attachment, encryption); this one
makes what a writer would not: hostile structures placed exactly where the check has to look.
"""

from __future__ import annotations

import struct
import zlib


def stream(dictionary: bytes, data: bytes, *, flate: bool = False) -> bytes:
    """An object body holding a stream; `dictionary` is the inside of << >> without /Length."""
    if flate:
        data = zlib.compress(data)
        dictionary += b" /Filter /FlateDecode"
    return b"<< " + dictionary + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def zlib_of_repeats(block: bytes, times: int) -> bytes:
    """zlib data for `block * times`, built in milliseconds whatever its inflated size: the block
    is deflated once, ending on a full flush so its output refers to nothing before it, and that
    output is repeated; then an empty final block and the Adler-32 of the whole inflated data.
    (Used for decompression bombs, which are exactly this: a little data that repeats a lot.)"""
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = raw.compress(block) + raw.flush(zlib.Z_FULL_FLUSH)
    checksum = 1
    for _ in range(times):
        checksum = zlib.adler32(block, checksum)
    final_empty_block = b"\x03\x00"  # BFINAL=1, fixed Huffman, end-of-block
    return b"\x78\xda" + deflated * times + final_empty_block + struct.pack(">I", checksum)


def flate_stream_of_zeros(size_mib: int) -> bytes:
    """A Flate stream object that inflates to `size_mib` MiB of zero bytes."""
    data = zlib_of_repeats(bytes(1024 * 1024), size_mib)
    return b"<< /Filter /FlateDecode /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def build(
    objects: dict[int, bytes],
    *,
    root: int = 1,
    compressed: frozenset[int] = frozenset(),
    unlisted: frozenset[int] = frozenset(),
    trailer_extra: bytes = b"",
    version: bytes = b"1.7",
) -> bytes:
    """Objects numbered 1..n (generation 0). Those in `compressed` go into one object stream,
    which forces a cross-reference stream. Those in `unlisted` are written but marked free in
    the table: a viewer rebuilding a broken table would find them, a table reader does not."""
    out = bytearray(b"%PDF-" + version + b"\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for number in sorted(set(objects) - compressed):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    if not compressed:
        size = max(objects) + 1
        xref_at = len(out)
        out += b"xref\n0 %d\n" % size + b"0000000000 65535 f \n"
        for number in range(1, size):
            if number in offsets and number not in unlisted:
                out += b"%010d 00000 n \n" % offsets[number]
            else:
                out += b"0000000000 00000 f \n"
        out += b"trailer\n<< /Size %d /Root %d 0 R %s>>\n" % (size, root, trailer_extra)
        out += b"startxref\n%d\n%%%%EOF\n" % xref_at
        return bytes(out)

    packed = sorted(compressed)
    object_stream_number = max(objects) + 1
    xref_number = object_stream_number + 1
    header, bodies = [], bytearray()
    for number in packed:
        header.append(b"%d %d" % (number, len(bodies)))
        bodies += objects[number] + b"\n"
    first = b" ".join(header) + b"\n"
    offsets[object_stream_number] = len(out)
    out += (
        b"%d 0 obj\n" % object_stream_number
        + stream(
            b"/Type /ObjStm /N %d /First %d" % (len(packed), len(first)),
            first + bytes(bodies),
            flate=True,
        )
        + b"\nendobj\n"
    )
    offsets[xref_number] = len(out)
    size = xref_number + 1
    rows = bytearray(struct.pack(">BIH", 0, 0, 0xFFFF))
    for number in range(1, size):
        if number in offsets:
            rows += struct.pack(">BIH", 1, offsets[number], 0)
        elif number in compressed:
            rows += struct.pack(">BIH", 2, object_stream_number, packed.index(number))
        else:
            rows += struct.pack(">BIH", 0, 0, 0)
    out += (
        b"%d 0 obj\n" % xref_number
        + stream(
            b"/Type /XRef /Size %d /W [1 4 2] /Root %d 0 R %s" % (size, root, trailer_extra),
            bytes(rows),
        )
        + b"\nendobj\n"
    )
    out += b"startxref\n%d\n%%%%EOF\n" % offsets[xref_number]
    return bytes(out)


def one_page(
    *,
    catalog_extra: bytes = b"",
    page_extra: bytes = b"",
    more: dict[int, bytes] | None = None,
    compressed: frozenset[int] = frozenset(),
    unlisted: frozenset[int] = frozenset(),
    pages: int = 1,
) -> bytes:
    """An invoice-like document: catalog 1, page tree 2, font 3, content 4, pages from 10 on;
    `more` adds objects (numbered from 20) that the extras may refer to."""
    kids = b" ".join(b"%d 0 R" % (10 + i) for i in range(pages))
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b">>",
        2: b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        4: stream(
            b"",
            b"BT /F1 12 Tf 72 720 Td (Invoice No. 2026-000123  Total 12345.60) Tj ET",
            flate=True,
        ),
    }
    for i in range(pages):
        objects[10 + i] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
            b" /Resources << /Font << /F1 3 0 R >> >> " + page_extra + b">>"
        )
    objects.update(more or {})
    return build(objects, compressed=compressed, unlisted=unlisted)
