"""Sponsor rosters: reading and checking an uploaded list of people, as pure functions (no Flask,
no database).

A roster is a CSV (UTF-8 with or without BOM, else GB18030, which covers GBK and GB2312) or an
XLSX file with the columns 姓名 / 身份证号 / 类别 (类别 optional; the English headers name /
id_number / category are accepted too). `parse_roster` checks the file as a whole (format,
size, headers, at most `max_rows` data rows) and raises `RosterError` for a file that cannot be
read; otherwise it returns one `RosterRow` per data row with a stable code and a Chinese message:
the name, the ID number (shape, birth date, check character: `app.identity.idnumber.parse`), the
category, and duplicates within the file. Whether a person is already on the programme's roster
or already insured this plan year needs the database: `roster_services` decides that.

The file itself is read by app/common/spreadsheets.py (format by content, encodings, the XLSX
zip-bomb check), shared with the catalogue import; its failures become `roster_*` codes here.

Plaintext ID numbers live only in the returned rows of valid lines (the caller encrypts them into
`Person`); an invalid line keeps only its masked form, for the report.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from app.common import spreadsheets
from app.identity.idnumber import IdNumberError, mask, mask_name, normalise, parse
from app.integrations.bureau.port import CATEGORY_NAMES, IDENTITY_CATEGORIES

MAX_ROWS = 100_000
MAX_XLSX_UNCOMPRESSED = 64 * 1024 * 1024
MAX_NAME_LENGTH = 40
MAX_COLUMNS = 50  # columns read per row; a roster needs three

OK = "ok"

# Header spellings -> column. Compared after NFKC, trimming and lower-casing.
HEADERS = {
    "name": ("姓名", "name"),
    "id_number": (
        "身份证号",
        "身份证号码",
        "公民身份号码",
        "证件号码",
        "id_number",
        "id number",
        "idnumber",
    ),
    "category": ("类别", "人员类别", "category"),
}

# Accepted spellings of each bureau identity category: the category's own code, the bureau's
# psn_idet_type code, its Chinese name (CATEGORY_NAMES, what the report shows) and the Chinese
# labels people write (the first is the short one the "unknown category" message lists).
CATEGORY_SPELLINGS = {
    "dibao": ("低保", "低保对象", "低保户"),
    "tekun": ("特困", "特困人员", "特困供养人员"),
    "low_income": ("低收入", "低收入人口", "低收入人员"),
    "poverty_watch": ("防返贫监测", "防返贫监测对象", "监测对象"),
    "entitled_group": ("优抚", "优抚对象"),
    "disabled": ("残疾", "残疾人"),
}
CATEGORY_ALIASES: dict[str, str] = {}
for _code, _category in IDENTITY_CATEGORIES.items():
    CATEGORY_ALIASES[_category] = _category
    CATEGORY_ALIASES[_code] = _category
    CATEGORY_ALIASES[CATEGORY_NAMES[_category]] = _category
    for _label in CATEGORY_SPELLINGS[_category]:
        CATEGORY_ALIASES[_label] = _category

# Han characters (the BMP blocks and the supplementary ideograph planes), Latin letters for
# transliterated names, spaces, and the interpuncts minority names are written with (·, •, ・).
_NAME = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134fA-Za-z ·•・]+$")

MESSAGES = {
    OK: "校验通过",
    "roster_name_missing": "姓名不能为空",
    "roster_name_too_long": f"姓名过长（最多{MAX_NAME_LENGTH}个字）",
    "roster_name_invalid": "姓名只能包含汉字、字母和间隔号“·”",
    "id_number_missing": "身份证号不能为空",
    "id_number_not_text": "身份证号被保存为数字，末几位可能已丢失，请将该列设为文本格式后重新填写",
    "roster_category_unknown": "人员类别不正确，可填："
    + "、".join(labels[0] for labels in CATEGORY_SPELLINGS.values()),
    "roster_duplicate_in_file": "身份证号与文件中前面的行重复",
    # decided with the database (roster_services): the person behind the ID number has been
    # verified with the bureau under another name
    "roster_name_mismatch": "姓名与该身份证号在医保登记的姓名不一致，请核对姓名和身份证号",
}


def same_name(written: str, registered: str) -> bool:
    """A roster's name and a verified person's, ignoring spaces and the interpunct's variants."""

    def norm(name: str) -> str:
        return re.sub(r"[\s·•・]", "", name)

    return norm(written) == norm(registered)


class RosterError(ValueError):
    """A file that cannot be read as a roster. `code` is stable, `message` is for the person."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class RosterRow:
    line: int  # row number in the file as a spreadsheet shows it (header = 1)
    name: str  # normalised; "" when missing
    name_masked: str
    id_number: str | None  # the normalised number, only when the row is valid
    id_number_masked: str
    category: str | None  # one of IDENTITY_CATEGORIES' values
    code: str
    message: str
    duplicate_of: int | None = None  # the earlier line with the same ID number
    birth_date: date | None = None  # from the ID number, when the row is valid
    gender: str | None = None  # "1" male, "2" female (the bureau's gend codes)

    @property
    def valid(self) -> bool:
        return self.code == OK

    @property
    def valid_id_number(self) -> str:
        """The normalised ID number of a valid row (asking an invalid row is a bug)."""
        if self.id_number is None:
            raise ValueError(f"line {self.line} is not a valid row")
        return self.id_number


@dataclass(frozen=True)
class ParsedRoster:
    file_format: str  # "csv" | "xlsx"
    rows: tuple[RosterRow, ...]

    @property
    def valid_rows(self) -> list[RosterRow]:
        return [r for r in self.rows if r.valid]


# --- the file (read by app/common/spreadsheets.py; its reasons become roster_* codes) -----------


@contextlib.contextmanager
def _as_roster_error() -> Iterator[None]:
    try:
        yield
    except spreadsheets.SheetError as exc:
        raise RosterError(f"roster_{exc.reason}", exc.message) from None


def sniff_format(data: bytes) -> str:
    """ "xlsx" for a zip, "csv" for text; RosterError for anything else (by content, not name)."""
    with _as_roster_error():
        return spreadsheets.sniff_format(data, what="名单")


def decode_csv(data: bytes) -> str:
    """UTF-8 (a BOM is dropped), else GB18030 (what Excel on a Chinese Windows saves as CSV)."""
    with _as_roster_error():
        return spreadsheets.decode_csv(data)


def check_xlsx_size(data: bytes, max_uncompressed: int) -> None:
    """Refuse a zip whose members would inflate beyond `max_uncompressed` bytes in all."""
    with _as_roster_error():
        spreadsheets.check_xlsx_size(data, max_uncompressed)


def _records(records: spreadsheets.Records) -> spreadsheets.Records:
    with _as_roster_error():
        yield from records


# --- the rows --------------------------------------------------------------------------------


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def normalise_header(value) -> str:
    return " ".join(unicodedata.normalize("NFKC", _cell_text(value)).split()).lower()


def map_headers(cells: list) -> dict[str, int]:
    """Column index of name, id_number and (optional) category; RosterError when a required
    column is missing or a column appears twice."""
    spelled = {
        spelling.lower(): column for column, spellings in HEADERS.items() for spelling in spellings
    }
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        column = spelled.get(normalise_header(cell))
        if column is None:
            continue
        if column in found:
            raise RosterError("roster_headers_duplicate", f"表头中“{_cell_text(cell)}”列重复")
        found[column] = index
    missing = [HEADERS[c][0] for c in ("name", "id_number") if c not in found]
    if missing:
        raise RosterError(
            "roster_headers_missing",
            "第一行应为表头，缺少必需的列：" + "、".join(missing) + "（可选列：类别）",
        )
    return found


def normalise_name(raw) -> str:
    """NFKC folds full-width letters; runs of white space become one space."""
    return " ".join(unicodedata.normalize("NFKC", _cell_text(raw)).split())


def check_name(name: str) -> str:
    if not name:
        return "roster_name_missing"
    if len(name) > MAX_NAME_LENGTH:
        return "roster_name_too_long"
    if not _NAME.match(name):
        return "roster_name_invalid"
    return OK


def parse_category(raw) -> tuple[str | None, str]:
    text = normalise_header(raw)
    if not text:
        return None, OK
    category = CATEGORY_ALIASES.get(text)
    if category is None:
        return None, "roster_category_unknown"
    return category, OK


def _masked_id(raw: str) -> str:
    return mask(raw[:40]) or ""


_SCIENTIFIC = re.compile(r"^\d(\.\d+)?E\+?\d+$", re.IGNORECASE)


def check_row(line: int, raw_name, raw_id, raw_category, *, today: date) -> RosterRow:
    """One row on its own, checks in this order: name, ID number, category (duplicates need the
    whole file: see `parse_rows`)."""
    name = normalise_name(raw_name)
    name_masked = mask_name(name[:MAX_NAME_LENGTH]) or ""
    category, category_code = parse_category(raw_category)
    # A number cell: Excel keeps 15 significant digits, so an 18-digit number has lost its last
    # ones (and a wrong number passes the check character 1 time in 11): refuse it as such.
    numeric = isinstance(raw_id, (int, float)) and not isinstance(raw_id, bool)
    # A leading apostrophe is the spreadsheet's "keep as text" mark (typed to stop Excel turning
    # the number into 3.60702E+17); a CSV or a sheet written by a program keeps it in the value.
    id_text = normalise(_cell_text(raw_id)).lstrip("'\u2018\u2019")
    masked_id = _masked_id(id_text)

    def fail(code: str, message: str | None = None) -> RosterRow:
        return RosterRow(
            line, name, name_masked, None, masked_id, category, code, message or MESSAGES[code]
        )

    name_code = check_name(name)
    if name_code != OK:
        return fail(name_code)
    if not id_text:
        return fail("id_number_missing")
    if numeric or _SCIENTIFIC.match(id_text):
        return fail("id_number_not_text")
    try:
        number = parse(id_text, today=today)
    except IdNumberError as exc:
        return fail(exc.code, exc.message)
    if category_code != OK:
        return fail(category_code)
    return RosterRow(
        line,
        name,
        name_masked,
        number.value,
        mask(number.value) or "",
        category,
        OK,
        MESSAGES[OK],
        birth_date=number.birth_date,
        gender=number.gender,
    )


def parse_rows(records, *, today: date, max_rows: int = MAX_ROWS) -> tuple[RosterRow, ...]:
    """`records`: (line number, cells) in file order, the first non-empty one being the header."""
    columns: dict[str, int] | None = None
    rows: list[RosterRow] = []
    first_line_of: dict[str, int] = {}

    def cell(cells: list[Any], header: dict[str, int], column: str) -> Any:
        index = header.get(column)
        return cells[index] if index is not None and index < len(cells) else None

    for line, cells in records:
        if not any(_cell_text(c).strip() for c in cells):
            continue  # blank lines are skipped, not reported
        if columns is None:
            columns = map_headers(cells)
            continue
        if len(rows) >= max_rows:
            raise RosterError(
                "roster_too_many_rows", f"名单最多{max_rows}行（不含表头），请拆分后分批上传"
            )
        row = check_row(
            line,
            cell(cells, columns, "name"),
            cell(cells, columns, "id_number"),
            cell(cells, columns, "category"),
            today=today,
        )
        if row.valid:
            first = first_line_of.setdefault(row.valid_id_number, line)
            if first != line:
                row = RosterRow(
                    line,
                    row.name,
                    row.name_masked,
                    None,
                    row.id_number_masked,
                    row.category,
                    "roster_duplicate_in_file",
                    f"身份证号与第{first}行重复",
                    duplicate_of=first,
                )
        rows.append(row)
    if columns is None:
        raise RosterError("roster_file_empty", "文件中没有内容")
    if not rows:
        raise RosterError("roster_no_rows", "文件中只有表头，没有人员数据")
    return tuple(rows)


def parse_roster(
    data: bytes,
    *,
    today: date,
    max_rows: int = MAX_ROWS,
    max_xlsx_uncompressed: int = MAX_XLSX_UNCOMPRESSED,
) -> ParsedRoster:
    """Read and check a roster file. Raises RosterError for a file that cannot be a roster."""
    file_format = sniff_format(data)
    if file_format == "xlsx":
        check_xlsx_size(data, max_xlsx_uncompressed)
        records = _records(spreadsheets.xlsx_records(data, max_columns=MAX_COLUMNS))
    else:
        records = _records(spreadsheets.csv_records(data, max_columns=MAX_COLUMNS))
    with contextlib.closing(records):  # the workbook is closed even when parsing stops early
        return ParsedRoster(file_format, parse_rows(records, today=today, max_rows=max_rows))
