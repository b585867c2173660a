"""Catalogue rules as pure functions: reading a product's 商保目录 (commercial list) and 特药目录
(special-drug list) from spreadsheet rows, and picking the catalogue version in force on a date.

No Flask, no database, no file reading: the caller reads a CSV/XLSX into rows (lists of cell
values: str, int, float, Decimal, None) and hands them over. What comes back is frozen data:

    report = parse_commercial_rows(rows)      # or parse_special_drug_rows(rows)
    report.ok           # True only when the header was found and EVERY data row is good
    report.rows         # one RowReport per data row: row number, ok, errors (code + 中文 message)
    report.entries      # the parsed items, only when ok (all-or-nothing: a bad row loads nothing)

    CommercialCatalogue(version=..., effective_from=..., effective_to=..., items=report.entries)
    version_problems(versions)      # overlapping / reversed / duplicate versions, refused
    select_version(versions, day)   # the version in force on a date of care, or None

Money is integer fen: a yuan cell ("12.5", "1,234.56元", Decimal("12.345")) becomes fen with
Decimal ROUND_HALF_UP (12.345 yuan -> 1235 fen). Dates are Asia/Shanghai calendar dates
(`datetime.date`); effective_to is inclusive and None means open-ended.

Error codes (RowError.code, HeaderError.code) are stable: an import screen and its tests key on
them; add new ones, never rename one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from app.catalogues.entries import (
    CommercialCatalogue,
    CommercialItem,
    SpecialDrug,
    SpecialDrugCatalogue,
    Versioned,
    VersionProblem,
    VersionWindow,
    select_version,
    version_problems,
)
from app.catalogues.row_reports import (
    HeaderError,
    ParseReport,
    RowError,
    RowReport,
)
from app.common.sheet_cells import (
    APPROVAL_PATTERN,
    CODE_KINDS,
    MAX_TEXT,
    clean_text,
    code_problem,
    header_key,
    normalise_approval,
    normalise_code,
    parse_quantity,
    parse_yes_no,
    split_list,
    yuan_to_fen,
)

# Re-exported: callers import these from app.catalogues.rules.
__all__ = [
    "CommercialItem",
    "SpecialDrug",
    "VersionWindow",
    "CommercialCatalogue",
    "SpecialDrugCatalogue",
    "Versioned",
    "VersionProblem",
    "version_problems",
    "select_version",
    "clean_text",
    "normalise_code",
    "header_key",
    "yuan_to_fen",
    "parse_quantity",
    "parse_yes_no",
    "split_list",
    "CODE_KINDS",
    "code_problem",
    "normalise_approval",
    "MAX_TEXT",
    "RowError",
    "RowReport",
    "HeaderError",
    "ParseReport",
]

E = TypeVar("E")  # the entry type a sheet parses into

HEADER_SEARCH_ROWS = 10  # a published list may carry a title row or two above its header


# --- headers --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    field: str
    label: str  # the header as published (used in messages)
    aliases: tuple[str, ...]
    required: bool


COMMERCIAL_COLUMNS = (
    Column(
        "med_list_codg",
        "医保编码",
        ("医保编码", "医保目录编码", "国家医保编码", "医保代码", "国家编码", "med_list_codg"),
        True,
    ),
    Column(
        "name",
        "名称",
        ("名称", "项目名称", "药品名称", "通用名", "通用名称", "项目/药品名称", "name"),
        True,
    ),
    Column("category", "类别", ("类别", "分类", "项目类别", "目录类别", "category"), False),
    Column(
        "price_limit",
        "限价（元）",
        ("限价", "最高限价", "支付限价", "限价标准", "price_limit"),
        False,
    ),
    Column(
        "quantity_limit",
        "限量",
        ("限量", "数量限制", "限定数量", "限用数量", "quantity_limit"),
        False,
    ),
    Column("note", "备注", ("备注", "说明", "限定支付范围", "note"), False),
)

SPECIAL_DRUG_COLUMNS = (
    Column(
        "drug_name",
        "药品名称",
        ("药品名称", "通用名", "通用名称", "药品通用名", "drug_name"),
        True,
    ),
    Column(
        "drug_code",
        "批准文号",
        ("批准文号", "国药准字", "药品编码", "医保编码", "注册证号", "drug_code"),
        True,
    ),
    Column(
        "indications",
        "适应症",
        ("适应症", "适应证", "限定适应症", "保障适应症", "indications"),
        True,
    ),
    Column(
        "annual_cap",
        "年度限额（元）",
        ("年度限额", "单药年度限额", "年度赔付限额", "年度保额", "annual_cap"),
        False,
    ),
    Column(
        "pharmacies",
        "指定药店",
        ("指定药店", "定点药店", "特药药店", "指定药房", "供药机构", "pharmacies"),
        False,
    ),
    Column(
        "preauth",
        "是否需要事前审核",
        ("是否需要事前审核", "事前审核", "需要事前审核", "是否需要预授权", "预授权", "preauth"),
        True,
    ),
)


def _match_header(
    row: Sequence[object], columns: tuple[Column, ...]
) -> tuple[dict[str, int], list[str]]:
    """Canonical field -> column index for one candidate header row, and duplicate fields."""
    lookup = {header_key(a): c.field for c in columns for a in c.aliases}
    found: dict[str, int] = {}
    duplicates: list[str] = []
    for index, cell in enumerate(row):
        name = lookup.get(header_key(cell))
        if name is None:
            continue  # 序号 and other unknown columns are ignored
        if name in found:
            duplicates.append(name)
        else:
            found[name] = index
    return found, duplicates


def _blank(row: Sequence[object]) -> bool:
    return all(clean_text(cell) == "" for cell in row)


# --- parsing --------------------------------------------------------------------------------------


Cells = dict[str, object]  # canonical field -> the cell under its column (None past the row's end)
Labels = dict[str, str]  # canonical field -> its published header, for messages
RowParser = Callable[[Cells, Labels], tuple[list[RowError], E | None]]


def _parse(
    rows: Iterable[Sequence[object]],
    columns: tuple[Column, ...],
    kind: str,
    parse_row: RowParser[E],
    key_field: str,
) -> ParseReport[E]:
    rows = [list(r) for r in rows]
    labels = {c.field: c.label for c in columns}
    required = [c.field for c in columns if c.required]
    header_index = None
    found: dict[str, int] = {}
    duplicates: list[str] = []
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        candidate, dups = _match_header(row, columns)
        if all(name in candidate for name in required):
            header_index, found, duplicates = index, candidate, dups
            break
    if header_index is None:
        need = "、".join(labels[n] for n in required)
        return ParseReport(
            kind,
            None,
            {},
            (
                HeaderError(
                    "header_not_found",
                    f"未找到表头：前 {HEADER_SEARCH_ROWS} 行中没有同时包含“{need}”的一行",
                ),
            ),
            (),
            (),
        )
    header_errors = [
        HeaderError("header_duplicate_column", f"表头中“{labels[name]}”列出现了不止一次")
        for name in dict.fromkeys(duplicates)
    ]
    reports: list[RowReport] = []
    entries: list[E] = []
    first_seen: dict[str, int] = {}
    for index in range(header_index + 1, len(rows)):
        row = rows[index]
        if _blank(row):
            continue  # trailing or spacer rows are not data
        number = index + 1
        cells = {name: (row[col] if col < len(row) else None) for name, col in found.items()}
        errors, entry = parse_row(cells, labels)
        if entry is not None:
            key = getattr(entry, key_field)
            if key in first_seen:
                errors.append(
                    RowError(
                        "duplicate_code",
                        f"{labels[key_field]}“{key}”与第 {first_seen[key]} 行重复",
                        key_field,
                    )
                )
            else:
                first_seen[key] = number
        reports.append(RowReport(number, tuple(errors)))
        if not errors and entry is not None:  # a row parser returns None only with errors
            entries.append(entry)
    if not reports:
        header_errors.append(HeaderError("no_data_rows", "表头下没有数据行"))
    report: ParseReport[E] = ParseReport(
        kind, header_index + 1, found, tuple(header_errors), tuple(reports), ()
    )
    if report.ok:
        report = ParseReport(
            kind, header_index + 1, found, report.header_errors, report.rows, tuple(entries)
        )
    return report


def _text_field(
    cells: Cells,
    name: str,
    labels: Labels,
    errors: list[RowError],
    *,
    required: bool,
    code: str,
) -> str:
    text = clean_text(cells.get(name))
    if required and not text:
        errors.append(RowError(code, f"“{labels[name]}”不能为空", name))
    elif len(text) > MAX_TEXT:
        errors.append(RowError("value_too_long", f"“{labels[name]}”超过 {MAX_TEXT} 个字符", name))
    return text


def _commercial_row(cells: Cells, labels: Labels) -> tuple[list[RowError], CommercialItem | None]:
    errors: list[RowError] = []
    raw_code = cells.get("med_list_codg")
    code = ""
    if isinstance(raw_code, (int, float, Decimal)) and not isinstance(raw_code, bool):
        # A spreadsheet turned the code into a number: leading zeros are gone for good.
        errors.append(
            RowError(
                "code_not_text",
                f"医保编码“{clean_text(raw_code)}”被表格软件识别为数字，前导零可能已丢失，"
                f"请将该列设为文本后重新导出",
                "med_list_codg",
            )
        )
    else:
        code = normalise_code(clean_text(raw_code))
        if not code:
            errors.append(RowError("code_missing", "“医保编码”不能为空", "med_list_codg"))
        else:
            problem = code_problem(code)
            if problem:
                errors.append(RowError(problem[0], problem[1], "med_list_codg"))
    name = _text_field(cells, "name", labels, errors, required=True, code="name_missing")
    category = _text_field(cells, "category", labels, errors, required=False, code="")
    note = _text_field(cells, "note", labels, errors, required=False, code="")
    price = None
    try:
        price = yuan_to_fen(cells.get("price_limit"))
        if price == 0:
            errors.append(
                RowError(
                    "price_limit_not_positive", "“限价”应大于 0（不限价请留空）", "price_limit"
                )
            )
    except ValueError:
        errors.append(
            RowError(
                "price_limit_invalid",
                f"“限价”应为以元为单位的非负金额，实为“{clean_text(cells.get('price_limit'))}”",
                "price_limit",
            )
        )
    quantity = None
    try:
        quantity = parse_quantity(cells.get("quantity_limit"))
    except ValueError:
        errors.append(
            RowError(
                "quantity_limit_invalid",
                f"“限量”应为大于 0 的数量，实为“{clean_text(cells.get('quantity_limit'))}”",
                "quantity_limit",
            )
        )
    if errors:
        # Still report a duplicate code on a row with other errors.
        if code and not any(e.column == "med_list_codg" for e in errors):
            return errors, CommercialItem(code, name or "?")
        return errors, None
    return errors, CommercialItem(code, name, category, price, quantity, note)


def _special_drug_row(cells: Cells, labels: Labels) -> tuple[list[RowError], SpecialDrug | None]:
    errors: list[RowError] = []
    name = _text_field(cells, "drug_name", labels, errors, required=True, code="drug_name_missing")
    raw = clean_text(cells.get("drug_code"))
    drug_code = normalise_approval(raw)
    if not drug_code:
        errors.append(RowError("drug_code_missing", "“批准文号”不能为空", "drug_code"))
    elif not (
        APPROVAL_PATTERN.match(drug_code)
        if drug_code.startswith("国药准字")
        else code_problem(drug_code) is None
    ):
        errors.append(
            RowError(
                "drug_code_malformed",
                f"“批准文号”“{raw}”格式不正确：应为国药准字号（如 国药准字H20183113）或医保编码",
                "drug_code",
            )
        )
    indications = split_list(cells.get("indications"), "；;")
    if not indications:
        errors.append(RowError("indications_missing", "“适应症”不能为空", "indications"))
    elif any(len(i) > MAX_TEXT for i in indications):
        errors.append(
            RowError("value_too_long", f"“适应症”单项超过 {MAX_TEXT} 个字符", "indications")
        )
    cap = None
    cap_text = clean_text(cells.get("annual_cap"))
    if cap_text not in ("不限", "无"):
        try:
            cap = yuan_to_fen(cells.get("annual_cap"))
            if cap == 0:
                raise ValueError("zero")
        except ValueError:
            errors.append(
                RowError(
                    "annual_cap_invalid",
                    f"“年度限额”应为大于 0 的金额（元），不限请留空或填“不限”，实为“{cap_text}”",
                    "annual_cap",
                )
            )
    pharmacies = split_list(cells.get("pharmacies"), "；;、,，")
    preauth = False
    try:
        preauth = parse_yes_no(cells.get("preauth"))
    except ValueError:
        errors.append(
            RowError(
                "preauth_invalid",
                f"“是否需要事前审核”应填“是”或“否”，实为“{clean_text(cells.get('preauth'))}”",
                "preauth",
            )
        )
    if errors:
        if drug_code and not any(e.column == "drug_code" for e in errors):
            return errors, SpecialDrug(name, drug_code, (), None, (), False)
        return errors, None
    return errors, SpecialDrug(name, drug_code, indications, cap, pharmacies, preauth)


def parse_commercial_rows(rows: Iterable[Sequence[object]]) -> ParseReport[CommercialItem]:
    """Validate a 商保目录 sheet (header row + data rows) into CommercialItems, all or nothing.

    Columns (aliases accepted, order free, unknown columns such as 序号 ignored): 医保编码*,
    名称*, 类别, 限价（元）, 限量, 备注. A code appearing twice is an error on its second row."""
    return _parse(rows, COMMERCIAL_COLUMNS, "commercial", _commercial_row, "med_list_codg")


def parse_special_drug_rows(rows: Iterable[Sequence[object]]) -> ParseReport[SpecialDrug]:
    """Validate a 特药目录 sheet into SpecialDrugs, all or nothing.

    Columns: 药品名称*, 批准文号*（国药准字 or 医保编码）, 适应症*（separated by ；or ;）,
    年度限额（元）(empty / 不限: none), 指定药店（separated by ；;、,，）, 是否需要事前审核*（是/否）.
    The same drug code twice is an error on its second row."""
    return _parse(rows, SPECIAL_DRUG_COLUMNS, "special_drug", _special_drug_row, "drug_code")
