"""Checks on uploaded PDFs: well formed, not encrypted, no active content, no decompression bomb.

A PDF is kept byte for byte once it passes (re-writing it would change what the hospital issued,
and an electronic invoice's layout is evidence), so the checks must be strict:
- the header is at offset 0 and nothing but whitespace follows the last `%%EOF`, which rules out
  the usual polyglots (HTML or a ZIP before or after the PDF);
- pypdf parses it under tight limits (`pypdf.apply_configuration`, a context variable, so other
  threads are unaffected), and every object it can reach, including those inside compressed
  object streams, is inspected for scripts, automatic actions and attachments;
- every compressed stream is decoded once, counting the total, so a 10 MiB file that inflates to
  gigabytes is refused before it reaches a reviewer's viewer;
- a plain byte scan backs the object walk up for objects a lenient viewer could find after a
  broken cross-reference table but pypdf's table does not list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from pypdf import PdfReader, apply_configuration
from pypdf.errors import LimitReachedError
from pypdf.filters import decode_stream_data
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

from app.documents.errors import (
    DocumentCorrupt,
    DocumentPdfActiveContent,
    DocumentPdfEncrypted,
    DocumentPdfTooComplex,
    DocumentRejected,
    DocumentTooManyPages,
)

_HEADER = re.compile(rb"%PDF-(1\.[0-7]|2\.0)[\s%]")
_TRAILING_WHITESPACE = b"\x00\t\n\x0c\r "

# Dictionary keys that run something, act on opening or on events, or carry another file.
_ACTIVE_KEYS = frozenset(
    {
        "/JS",
        "/JavaScript",
        "/AA",
        "/Launch",
        "/EmbeddedFile",
        "/EmbeddedFiles",
        "/EF",
        "/RichMedia",
        "/RichMediaContent",
        "/XFA",
    }
)
# Action types (`/S`) that run code, open other files or send data out. `/URI` links and `/GoTo`
# within the document are ordinary in invoices and are allowed.
_ACTIVE_ACTIONS = frozenset(
    {
        "/JavaScript",
        "/Launch",
        "/SubmitForm",
        "/ImportData",
        "/GoToE",
        "/GoToR",
        "/RichMediaExecute",
        "/Rendition",
        "/Movie",
        "/Sound",
    }
)
# Names looked for in the raw bytes. Short ones (/JS, /AA, /EF) are left to the object walk: in
# 10 MiB of compressed binary they would turn up by chance.
_RAW_ACTIVE_NAMES = frozenset(
    {
        b"JavaScript",
        b"Launch",
        b"EmbeddedFile",
        b"EmbeddedFiles",
        b"RichMedia",
        b"XFA",
    }
)
_RAW_NAME = re.compile(rb"/([^\x00\t\n\x0c\r ()<>\[\]{}/%]{3,64})")
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
# Streams with these filters are not decoded: JBIG2 would run an external program, and a
# /Crypt stream belongs to encryption, which is refused anyway.
_UNDECODED_FILTERS = frozenset({"/JBIG2Decode", "/Crypt"})
# Objects visited in the walk; a real claim document has a few thousand.
_MAX_OBJECTS_VISITED = 1_000_000


@dataclass(frozen=True)
class PdfFacts:
    pages: int


def check_pdf(data: bytes, *, max_pages: int, max_decoded_bytes: int) -> PdfFacts:
    if not _HEADER.match(data):
        raise DocumentCorrupt()
    if not data.rstrip(_TRAILING_WHITESPACE).endswith(b"%%EOF"):
        # Truncated, or something appended after the PDF (a ZIP or HTML polyglot).
        raise DocumentCorrupt()
    _scan_raw_names(data)
    limits: dict[str, Any] = {
        "maximum_declared_stream_length": len(data),
        "zlib_maximum_output_length": max_decoded_bytes,
        "lzw_maximum_output_length": max_decoded_bytes,
        "run_length_maximum_output_length": max_decoded_bytes,
        "brotli_maximum_output_length": max_decoded_bytes,
        "array_based_stream_maximum_output_length": max_decoded_bytes,
        "stream_decoding_work_maximum_length": 2 * max_decoded_bytes + len(data),
        "jbig2dec_binary": None,
    }
    try:
        with apply_configuration(**limits):
            reader = PdfReader(BytesIO(data), strict=False)
            if reader.is_encrypted:
                raise DocumentPdfEncrypted()
            _refuse_active_content(reader)
            _decode_every_stream(reader, max_decoded_bytes)
            pages = len(reader.pages)
    except DocumentRejected:
        raise
    except (LimitReachedError, RecursionError) as exc:  # pypdf's work limits, deep nesting
        raise DocumentPdfTooComplex() from exc
    except Exception as exc:
        # pypdf meeting hostile or broken input can fail with almost any exception type; each
        # of them means "not a PDF we can vouch for".
        raise DocumentCorrupt() from exc
    if pages == 0:
        raise DocumentCorrupt()
    if pages > max_pages:
        raise DocumentTooManyPages()
    return PdfFacts(pages=pages)


def _scan_raw_names(data: bytes) -> None:
    for match in _RAW_NAME.finditer(data):
        name = _NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), match.group(1))
        if name in _RAW_ACTIVE_NAMES:
            raise DocumentPdfActiveContent()


def _every_indirect_reference(reader: PdfReader):
    """Every object the cross-reference data lists, in plain and in compressed object streams."""
    for generation, entries in list(reader.xref.items()):
        for idnum in list(entries):
            yield IndirectObject(idnum, generation, reader)
    for idnum in list(reader.xref_objStm):
        yield IndirectObject(idnum, 0, reader)


def _refuse_active_content(reader: PdfReader) -> None:
    seen: set[tuple[int, int]] = set()
    stack: list = [reader.trailer, *_every_indirect_reference(reader)]
    visited = 0
    while stack:
        node = stack.pop()
        visited += 1
        if visited > _MAX_OBJECTS_VISITED:
            raise DocumentPdfTooComplex()
        if isinstance(node, IndirectObject):
            key = (node.idnum, node.generation)
            if key in seen:
                continue
            seen.add(key)
            node = node.get_object()
        if isinstance(node, DictionaryObject):  # stream objects are dictionaries too
            _refuse_active_dictionary(node)
            stack.extend(node.values())
        elif isinstance(node, ArrayObject):
            stack.extend(node)


def _refuse_active_dictionary(entry: DictionaryObject) -> None:
    if _ACTIVE_KEYS.intersection(entry.keys()):
        raise DocumentPdfActiveContent()
    if entry.get("/Type") == "/EmbeddedFile":
        raise DocumentPdfActiveContent()
    action_type = entry.get("/S")
    if isinstance(action_type, IndirectObject):
        action_type = action_type.get_object()
    if action_type in _ACTIVE_ACTIONS:
        raise DocumentPdfActiveContent()
    if "/OpenAction" in entry:
        # An explicit destination ([page /Fit]) only says where to open and many generators
        # write one; an action dictionary runs something as the file opens.
        opening = entry["/OpenAction"]
        target = opening.get_object() if isinstance(opening, IndirectObject) else opening
        if isinstance(target, DictionaryObject):
            raise DocumentPdfActiveContent()


def _decode_every_stream(reader: PdfReader, max_decoded_bytes: int) -> None:
    total = 0
    for reference in _every_indirect_reference(reader):
        stream = reference.get_object()
        if not isinstance(stream, StreamObject):
            continue
        filters = stream.get("/Filter")
        if isinstance(filters, IndirectObject):
            filters = filters.get_object()
        if filters is None:
            total += len(stream.get_data())
        else:
            names = set(filters) if isinstance(filters, ArrayObject) else {filters}
            if names & _UNDECODED_FILTERS:
                continue
            # Decoded here and dropped, rather than through get_data(), which would cache every
            # decoded stream on the reader for the rest of the check.
            total += len(decode_stream_data(stream))
        if total > max_decoded_bytes:
            raise DocumentPdfTooComplex()
