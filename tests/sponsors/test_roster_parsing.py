"""Roster reading and row checks (app/sponsors/rosters.py): pure, table-driven.

ID numbers used (GB 11643: check = table[sum(digit_i x weight_i) mod 11], weights 7 9 10 5 8 4
2 1 6 3 7 9 10 5 8 4 2, table "10X98765432"):
- 11010519491231002X, the standard's own example: 1·7+1·9+0·10+1·5+0·8+5·4+1·2+9·1+4·6+9·3+1·7
  +2·9+3·10+1·5+0·8+0·4+2·2 = 167; 167 mod 11 = 2 -> "X".
- 440524188001010014, the standard's second example: sum 195; 195 mod 11 = 8 -> "4".
"""

from __future__ import annotations

import io
import zipfile
from datetime import date

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.sponsors.rosters import RosterError, check_xlsx_size, parse_roster

TODAY = date(2026, 11, 23)
ZHANG = "11010519491231002X"
LIANG = "440524188001010014"


def csv_roster(*lines: str, header: str = "姓名,身份证号,类别", encoding: str = "utf-8") -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode(encoding)


def rows_of(data: bytes, **kwargs):
    return parse_roster(data, today=TODAY, **kwargs).rows


# (case, data line, expected code, expected category) -- one row after the header, line 2.
ROW_CASES = [
    ("valid, category by Chinese label", f"张伟,{ZHANG},低保", "ok", "dibao"),
    ("lower-case x is the same number", f"张伟,{ZHANG.lower()},", "ok", None),
    (
        "full-width digits fold to ASCII (NFKC)",
        "张伟," + "".join(chr(ord(c) + 0xFEE0) for c in LIANG) + ",",
        "ok",
        None,
    ),
    (
        "spaces inside the number are dropped",
        f"张伟,{LIANG[:6]} {LIANG[6:14]} {LIANG[14:]},",
        "ok",
        None,
    ),
    # typed as '110105... to keep Excel from making a number of it; exported with the mark
    ("a leading apostrophe (the text mark) is dropped", f"张伟,'{ZHANG},", "ok", None),
    ("a typographic apostrophe too", f"张伟,\u2018{LIANG},", "ok", None),
    ("category by the bureau's code 2501", f"张伟,{LIANG},2501", "ok", "disabled"),
    ("category by its own name", f"张伟,{LIANG},low_income", "ok", "low_income"),
    ("minority name with the interpunct", f"阿依古丽·买买提,{LIANG},", "ok", None),
    # 167 mod 11 = 2 -> "X", not "1"
    ("wrong check character", f"张伟,{ZHANG[:17]}1,", "id_number_checksum", None),
    ("17 characters", f"张伟,{ZHANG[:17]},", "id_number_length", None),
    ("a letter inside", "张伟,1101051949123100AX,", "id_number_format", None),
    # 1949-02-30 does not exist
    ("impossible birth date", "张伟,110105194902300026,", "id_number_birth_date", None),
    # born 2030-01-01, after 2026-11-23
    ("birth date in the future", "张伟,110105203001010027,", "id_number_birth_future", None),
    ("no ID number", "张伟,,", "id_number_missing", None),
    (
        "a spreadsheet number in scientific notation",
        "张伟,1.10105E+17,",
        "id_number_not_text",
        None,
    ),
    ("no name", f",{ZHANG},", "roster_name_missing", None),
    ("digits in the name", f"张伟2,{ZHANG},", "roster_name_invalid", None),
    ("41 characters of name (at most 40)", f"{'张' * 41},{ZHANG},", "roster_name_too_long", None),
    ("unknown category", f"张伟,{ZHANG},贫困户", "roster_category_unknown", None),
]


@pytest.mark.parametrize("case,line,code,category", ROW_CASES, ids=[c[0] for c in ROW_CASES])
def test_row_checks(case, line, code, category):
    [row] = rows_of(csv_roster(line))
    assert (row.line, row.code, row.category if code == "ok" else category) == (2, code, category)
    assert row.valid == (code == "ok")
    assert row.message and "\n" not in row.message
    if row.valid:
        assert row.id_number in (ZHANG, LIANG) and row.birth_date is not None
    else:
        assert row.id_number is None  # an invalid row keeps no plaintext number


def test_masks_and_birth_data():
    [row] = rows_of(csv_roster(f"欧阳娜娜,{ZHANG},"))
    assert (row.name_masked, row.id_number_masked) == ("**娜娜", "1101**********002X")
    assert (row.birth_date, row.gender) == (date(1949, 12, 31), "2")  # 17th digit 2: even, female
    [bad] = rows_of(csv_roster(f"张伟,{ZHANG[:17]}1,"))
    assert bad.id_number_masked == "1101**********0021" and bad.id_number is None


def test_duplicates_within_the_file_point_at_the_first_line():
    rows = rows_of(csv_roster(f"张伟,{ZHANG},", f"梁一,{LIANG},", f"张伟伟,{ZHANG.lower()},"))
    assert [r.code for r in rows] == ["ok", "ok", "roster_duplicate_in_file"]
    assert rows[2].duplicate_of == 2 and "第2行" in rows[2].message


def test_blank_lines_are_skipped_and_lines_keep_their_numbers():
    rows = rows_of(csv_roster("", f"张伟,{ZHANG},", " , , ", f"梁一,{LIANG},"))
    assert [(r.line, r.code) for r in rows] == [(3, "ok"), (5, "ok")]


@pytest.mark.parametrize(
    "header", ["name,id_number,category", "Name , ID Number", "姓名,身份证号码"]
)
def test_english_and_alternative_headers(header):
    [row] = rows_of(csv_roster(f"张伟,{ZHANG},", header=header))
    assert row.code == "ok"


@pytest.mark.parametrize(
    "encoding,prefix", [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("gb18030", b""), ("gbk", b"")]
)
def test_encodings(encoding, prefix):
    [row] = rows_of(prefix + csv_roster(f"张伟,{ZHANG},低保", encoding=encoding))
    assert (row.name, row.code, row.category) == ("张伟", "ok", "dibao")


FILE_CASES = [
    ("empty file", b"", "roster_file_empty"),
    ("only blank lines", b"\n\n \n", "roster_file_empty"),
    ("header only", "姓名,身份证号\n".encode(), "roster_no_rows"),
    ("no ID number column", "姓名,类别\n张伟,低保\n".encode(), "roster_headers_missing"),
    ("a column twice", "姓名,身份证号,name\n张伟,1,2\n".encode(), "roster_headers_duplicate"),
    ("legacy .xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "roster_format_xls"),
    ("UTF-16", "姓名,身份证号\n".encode("utf-16"), "roster_encoding"),
    ("neither UTF-8 nor GB18030", b"\x80\x80,\x80\n", "roster_encoding"),
    ("binary", b"\x01\x02\x00\x00\x03" * 10, "roster_format_unsupported"),
    ("a zip that is no workbook", None, "roster_xlsx_invalid"),
    ("a broken zip", b"PK\x03\x04" + b"\x00" * 64, "roster_xlsx_invalid"),
]


def _plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    return buffer.getvalue()


@pytest.mark.parametrize("case,data,code", FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_unreadable_files(case, data, code):
    with pytest.raises(RosterError) as caught:
        parse_roster(_plain_zip() if data is None else data, today=TODAY)
    assert caught.value.code == code and caught.value.message


def test_at_most_max_rows():
    lines = [f"张伟,{ZHANG},", f"梁一,{LIANG},", "王五,110105194912310010,"]
    assert len(rows_of(csv_roster(*lines), max_rows=3)) == 3
    with pytest.raises(RosterError) as caught:
        rows_of(csv_roster(*lines, "赵六,110105194912310037,"), max_rows=3)
    assert caught.value.code == "roster_too_many_rows" and "3行" in caught.value.message


def workbook(*rows) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xlsx_rows_and_a_number_cell():
    data = workbook(
        ["姓名", "身份证号", "类别"],
        ["张伟", ZHANG, "特困"],
        [None, None, None],
        ["梁一", 440524188001010014, None],
    )
    parsed = parse_roster(data, today=TODAY)
    assert parsed.file_format == "xlsx"
    assert [(r.line, r.code, r.category) for r in parsed.rows] == [
        (2, "ok", "tekun"),
        (4, "id_number_not_text", None),
    ]


def test_xlsx_id_number_with_the_text_mark_in_the_value():
    data = workbook(["姓名", "身份证号"], ["张伟", "'" + ZHANG])
    [row] = parse_roster(data, today=TODAY).rows
    assert (row.code, row.id_number, row.id_number_masked) == ("ok", ZHANG, "1101**********002X")


def test_xlsx_stops_reading_beyond_max_rows():
    data = workbook(["name", "id_number"], *[["张伟", ZHANG]] * 5)
    with pytest.raises(RosterError) as caught:
        parse_roster(data, today=TODAY, max_rows=4)
    assert caught.value.code == "roster_too_many_rows"


def test_zip_bomb_is_refused_before_openpyxl_opens_it():
    """A 'workbook' whose members would inflate to 3 MiB, against a 2 MiB bound: refused from
    the zip's directory alone. (Compressed, the 3 MiB of zeros is a few KiB.)"""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * (3 * 1024 * 1024))
    data = buffer.getvalue()
    assert len(data) < 64 * 1024
    with pytest.raises(RosterError) as caught:
        parse_roster(data, today=TODAY, max_xlsx_uncompressed=2 * 1024 * 1024)
    assert caught.value.code == "roster_xlsx_too_large"
    check_xlsx_size(data, 4 * 1024 * 1024)  # within a larger bound the size check passes


# --- any bytes at all ----------------------------------------------------------------------------

_CELL = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=24)


@given(st.binary(max_size=4096))
def test_any_bytes_are_rows_or_a_roster_error(data):
    """Whatever is uploaded, the reader answers with rows or a RosterError (a 422), never
    anything else (a 500)."""
    try:
        rows = rows_of(data)
    except RosterError as exc:
        assert exc.code and exc.message
    else:
        assert all(r.code and r.message for r in rows)


@given(
    st.lists(st.lists(_CELL, max_size=5), max_size=20),
    st.sampled_from(["utf-8", "gb18030"]),
    st.booleans(),
)
def test_any_table_of_text_is_rows_or_a_roster_error(table, encoding, with_header):
    lines = (["姓名,身份证号,类别"] if with_header else []) + [
        ",".join('"' + cell.replace('"', '""') + '"' for cell in row) for row in table
    ]
    data = "\n".join(lines).encode(encoding, errors="replace")
    try:
        rows = rows_of(data)
    except RosterError as exc:
        assert exc.code.startswith("roster_")
    else:
        assert all((r.id_number is not None) == r.valid for r in rows)


@given(st.binary(max_size=2048))
def test_any_zip_like_bytes_are_refused_cleanly(tail):
    with pytest.raises(RosterError):
        parse_roster(b"PK\x03\x04" + tail, today=TODAY)
