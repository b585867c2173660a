"""Reading an uploaded spreadsheet (CSV or XLSX) into rows of cells, safely, as pure functions.

Shared by the sponsor rosters (app/sponsors/rosters.py) and the product catalogues
(app/catalogues/services.py); each turns a `SheetError` into its own stable error code
(`roster_<reason>`, `catalogue_<reason>`).

A CSV is UTF-8 with or without BOM, else GB18030 (which covers GBK and GB2312: what Excel on a
Chinese Windows saves). The file type is decided by its bytes (an XLSX is a zip), never by its
name. An XLSX is a zip of XML parts: before openpyxl opens it, the declared uncompressed sizes of
its members are added up and refused above `max_uncompressed` (a zip bomb). CPython's zipfile
never inflates a member beyond its declared size (it stops there and fails the CRC), so the
declared sizes bound the work.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Generator

MAX_XLSX_MEMBERS = 2_000

# reason -> the message for the person who uploaded the file ("{what}" names the kind of list)
REASONS = {
    "file_empty": "文件为空",
    "format_xls": "不支持旧版 Excel（.xls）文件，请另存为 .xlsx 或 CSV 后上传",
    "encoding": "无法识别文件编码，请使用 UTF-8 或 GB18030（GBK）编码的 CSV",
    "format_unsupported": "仅支持 CSV 或 XLSX 格式的{what}文件",
    "csv_invalid": "CSV 文件格式不正确（引号不匹配或字段过长）",
    "xlsx_invalid": "XLSX 文件已损坏或不是有效的 Excel 文件",
    "xlsx_too_large": "XLSX 文件解压后超过{limit}MB，请拆分后上传或改用 CSV",
}

Record = tuple[int, list[object]]  # (row number as a spreadsheet shows it, cells)
Records = Generator[Record, None, None]  # closable: contextlib.closing stops the reading


class SheetError(ValueError):
    """A file that cannot be read as a spreadsheet. `reason` is a key of REASONS (the caller
    prefixes it into its own stable code); `message` is for the person."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def sniff_format(data: bytes, *, what: str = "") -> str:
    """ "xlsx" for a zip, "csv" for text; SheetError for anything else (by content, not name)."""
    if not data:
        raise SheetError("file_empty", REASONS["file_empty"])
    if data.startswith(b"PK\x03\x04"):
        return "xlsx"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise SheetError("format_xls", REASONS["format_xls"])
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SheetError("encoding", "不支持 UTF-16 编码，请另存为 UTF-8 或 GB18030 编码的 CSV")
    if b"\x00" in data[:4096]:
        raise SheetError("format_unsupported", REASONS["format_unsupported"].format(what=what))
    return "csv"


def decode_csv(data: bytes) -> str:
    """UTF-8 (a BOM is dropped), else GB18030 (what Excel on a Chinese Windows saves as CSV)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise SheetError("encoding", REASONS["encoding"])


def csv_records(data: bytes, *, max_columns: int) -> Records:
    """(line number, cells), streamed: a file of blank lines costs no memory."""
    reader = csv.reader(io.StringIO(decode_csv(data), newline=""))
    try:
        for cells in reader:
            yield reader.line_num, list(cells[:max_columns])
    except csv.Error:
        raise SheetError("csv_invalid", REASONS["csv_invalid"]) from None


def check_xlsx_size(data: bytes, max_uncompressed: int) -> None:
    """Refuse a zip whose members would inflate beyond `max_uncompressed` bytes in all."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise SheetError("xlsx_invalid", REASONS["xlsx_invalid"]) from None
    if len(members) > MAX_XLSX_MEMBERS:
        raise SheetError("xlsx_invalid", REASONS["xlsx_invalid"])
    if sum(m.file_size for m in members) > max_uncompressed:
        raise SheetError(
            "xlsx_too_large",
            REASONS["xlsx_too_large"].format(limit=max_uncompressed // (1024 * 1024)),
        )


def xlsx_records(data: bytes, *, max_columns: int) -> Records:
    """(row number, cells) of the first worksheet, read as a stream (openpyxl read-only).
    Call `check_xlsx_size` first. Close the generator (contextlib.closing) when stopping early:
    the workbook is closed with it."""
    import openpyxl  # imported here: CSV files and the rest of the app do not need it

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        raise SheetError("xlsx_invalid", REASONS["xlsx_invalid"]) from None
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise SheetError("file_empty", "文件中没有工作表")
        try:
            for number, cells in enumerate(
                sheet.iter_rows(max_col=max_columns, values_only=True), start=1
            ):
                yield number, list(cells)
        except Exception:
            raise SheetError("xlsx_invalid", REASONS["xlsx_invalid"]) from None
    finally:
        workbook.close()


def read_records(
    data: bytes, *, max_columns: int, max_xlsx_uncompressed: int, what: str = ""
) -> tuple[str, Records]:
    """The file's format ("csv" | "xlsx") and its records, read lazily. SheetError for a file
    that cannot be read (raised here for the format and size, while iterating for the rest)."""
    file_format = sniff_format(data, what=what)
    if file_format == "xlsx":
        check_xlsx_size(data, max_xlsx_uncompressed)
        return file_format, xlsx_records(data, max_columns=max_columns)
    return file_format, csv_records(data, max_columns=max_columns)


# --- writing ---------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def xlsx_bytes(
    title: str, header: list[str], rows: list[list[object]], *, widths: list[int] | None = None
) -> bytes:
    """One worksheet named `title`: a bold header row, then `rows`, as XLSX bytes.

    Every text cell is stored as text, never as a formula: openpyxl would otherwise take a
    string starting with "=" for one (a name or a message a person typed cannot run in the
    reader's Excel). Numbers, dates and None are written as they are."""
    import openpyxl  # imported here: most of the app does not need it
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    for column, width in enumerate(widths or [], start=1):
        sheet.column_dimensions[openpyxl.utils.get_column_letter(column)].width = width
    bold = Font(bold=True)
    heading = []
    for text in header:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        heading.append(cell)
    sheet.append(heading)
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str) and value.startswith(_FORMULA_START):
                cell.data_type = "s"
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
