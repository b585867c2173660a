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

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Generic, Protocol, TypeVar

HEADER_SEARCH_ROWS = 10  # a published list may carry a title row or two above its header
MAX_TEXT = 500  # longest name / note / indication accepted from one cell

# --- cells ----------------------------------------------------------------------------------------


def clean_text(value: object) -> str:
    """A cell as text: NFKC (full-width letters, digits and brackets become ASCII), ideographic
    spaces and surrounding whitespace removed. None -> ""."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


def normalise_code(value: str) -> str:
    """The lookup form of a list code or approval number: NFKC, no whitespace, upper case.
    Lines and catalogue entries are both compared in this form."""
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", value or ""))
    return text.upper()


def _header_key(value: object) -> str:
    """A header cell in comparable form: '限价（元）*' -> '限价', 'Med_List_Codg' -> 'med_list_codg'."""
    text = clean_text(value)
    text = re.sub(r"\(.*?\)", "", text)  # units in brackets: (元), (是/否)
    text = re.sub(r"[\s*:：]", "", text)
    return text.lower()


_YUAN_SIGNS = re.compile(r"^[¥￥]|元$")


def yuan_to_fen(value: object) -> int | None:
    """A yuan cell -> integer fen, Decimal ROUND_HALF_UP to the fen; "" / None -> None.

    Accepts 12, 12.5, "1,234.56", "¥12", "12元", Decimal. Raises ValueError on anything else,
    negative amounts included. Floats from a spreadsheet go through their shortest repr (12.35
    stays 12.35, not 12.3499999...)."""
    if value is None or isinstance(value, bool):
        if value is None:
            return None
        raise ValueError("not an amount")
    if isinstance(value, float):
        value = repr(value)
    text = _YUAN_SIGNS.sub("", clean_text(value)).replace(",", "").strip()
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError("not an amount") from exc
    if not amount.is_finite() or amount < 0:
        raise ValueError("not a non-negative amount")
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def parse_quantity(value: object) -> Decimal | None:
    """A quantity limit cell -> a positive Decimal ("2", 0.5, "10支" -> 10); "" / None -> None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("not a quantity")
    if isinstance(value, float):
        value = repr(value)
    text = clean_text(value)
    if not text:
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*[^\d.]{0,4}", text)  # a count with an optional unit
    if not match:
        raise ValueError("not a quantity")
    quantity = Decimal(match.group(1))
    if quantity <= 0:
        raise ValueError("not positive")
    return quantity


_YES = {"是", "需要", "需", "y", "yes", "true", "1", "√"}
_NO = {"否", "不需要", "无需", "不需", "n", "no", "false", "0", "×"}


def parse_yes_no(value: object) -> bool:
    text = clean_text(value).lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise ValueError("not yes/no")


def split_list(value: object, separators: str) -> tuple[str, ...]:
    """A cell holding several values -> its non-empty parts, stripped, in order, each once."""
    text = clean_text(value)
    parts = re.split(f"[{re.escape(separators)}\\n\\r]", text)
    seen: dict[str, None] = {}
    for part in parts:
        part = part.strip()
        if part:
            seen.setdefault(part, None)
    return tuple(seen)


# --- code shapes ----------------------------------------------------------------------------------

# The national list codes (医保编码) the bureau keys items by. Checked loosely: the prefix letter
# and the length the national dictionaries use, so a name pasted into the code column, a code
# cut short or a service code whose leading zeros a spreadsheet dropped is caught, while local
# codes (hospital preparations, local service items) of a sane shape still pass.
CODE_KINDS = {
    "X": ("西药", (23,)),
    "Z": ("中成药", (20, 23)),
    "C": ("医用耗材", (20, 27)),
    "T": ("中药饮片", None),
}
_CODE_CHARS = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{7,39}$")
_SCIENTIFIC = re.compile(r"^\d+(\.\d+)?E\+?\d+$")


def code_problem(code: str) -> tuple[str, str] | None:
    """Why a normalised national list code is malformed, as (error code, 中文 message), or None."""
    if _SCIENTIFIC.match(code):
        return (
            "code_not_text",
            f"医保编码“{code}”被表格软件记成了科学计数法，请将该列设为文本后重新导出",
        )
    if not _CODE_CHARS.match(code):
        return (
            "code_malformed",
            f"医保编码“{code}”格式不正确：应为 8 至 40 位大写字母、数字（可含 - 或 .）",
        )
    kind = CODE_KINDS.get(code[0])
    if kind is not None and kind[1] is not None and len(code) not in kind[1]:
        lengths = " 或 ".join(str(n) for n in kind[1])
        return (
            "code_malformed",
            f"医保编码“{code}”格式不正确：{kind[0]}编码以 {code[0]} 开头，应为 {lengths} 位，"
            f"实为 {len(code)} 位",
        )
    if code[0].isdigit() and len(code) < 9:
        return (
            "code_malformed",
            f"医保编码“{code}”格式不正确：医疗服务项目编码至少 9 位（前导零可能已丢失）",
        )
    return None


# 国药准字 + 1-2 class letters (H 化学药, Z 中药, S 生物制品, J 进口分包装 ...) + 8 digits.
_APPROVAL = re.compile(r"^(国药准字)?([HZSJBTF]{1,2})(\d{8})$")


def normalise_approval(value: str) -> str:
    """国药准字 numbers compared with and without the prefix: 'h20183113' -> '国药准字H20183113'.
    Anything else is returned in normalise_code form."""
    code = normalise_code(value)
    match = _APPROVAL.match(code)
    if match:
        return f"国药准字{match.group(2)}{match.group(3)}"
    return code


# --- reports --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    code: str  # stable machine code
    message: str  # 中文, for the person who uploaded the file
    column: str | None = None  # the canonical field name, when one column is at fault


@dataclass(frozen=True)
class RowReport:
    """One data row. row_number is the spreadsheet's own (1-based, header row counted)."""

    row_number: int
    errors: tuple[RowError, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def code(self) -> str:
        """'ok', or the first error's code."""
        return self.errors[0].code if self.errors else "ok"

    @property
    def message(self) -> str:
        return "；".join(e.message for e in self.errors) if self.errors else "通过"


@dataclass(frozen=True)
class HeaderError:
    code: str  # header_not_found | header_duplicate_column | no_data_rows
    message: str


E = TypeVar("E")


@dataclass(frozen=True)
class ParseReport(Generic[E]):
    """The verdict on one file. `entries` holds the parsed items only when `ok` (every row good);
    otherwise it is empty, so nothing of a bad file can be loaded by mistake."""

    kind: str  # commercial | special_drug
    header_row: int | None
    columns: Mapping[str, int]  # canonical field -> 0-based column index
    header_errors: tuple[HeaderError, ...]
    rows: tuple[RowReport, ...]
    entries: tuple[E, ...]

    @property
    def ok(self) -> bool:
        return not self.header_errors and all(r.ok for r in self.rows)

    @property
    def error_count(self) -> int:
        return len(self.header_errors) + sum(1 for r in self.rows if not r.ok)

    @property
    def summary(self) -> str:
        if self.ok:
            return f"共 {len(self.rows)} 行，全部通过，可以导入"
        if self.header_errors:
            return "；".join(e.message for e in self.header_errors)
        bad = sum(1 for r in self.rows if not r.ok)
        return f"共 {len(self.rows)} 行，其中 {bad} 行有错误，整个文件未导入"


# --- entries --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommercialItem:
    """One row of the 商保目录: an item outside basic insurance that the product pays for.

    price_limit_fen     the most per unit (pric) the product counts; the part of a price above it
                        does not count (None: no limit)
    quantity_limit      the most units (cnt) counted per settlement (None: no limit)
    """

    med_list_codg: str  # normalised (normalise_code)
    name: str
    category: str = ""
    price_limit_fen: int | None = None
    quantity_limit: Decimal | None = None
    note: str = ""


@dataclass(frozen=True)
class SpecialDrug:
    """One row of the 特药目录.

    drug_code           国药准字 number (normalise_approval form) or a national list code
    indications         the indications the product pays the drug for
    annual_cap_fen      per-drug annual sub-cap (None: only the bucket's cap applies)
    pharmacies          designated pharmacies / institutions (names or codes); empty: any
    preauth_required    the member needs the insurer's approval (事前审核) before dispensing
    """

    drug_name: str
    drug_code: str
    indications: tuple[str, ...]
    annual_cap_fen: int | None
    pharmacies: tuple[str, ...]
    preauth_required: bool


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
    lookup = {_header_key(a): c.field for c in columns for a in c.aliases}
    found: dict[str, int] = {}
    duplicates: list[str] = []
    for index, cell in enumerate(row):
        name = lookup.get(_header_key(cell))
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
        _APPROVAL.match(drug_code)
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


# --- catalogues and versions ----------------------------------------------------------------------


def _check_day(name: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime.date (Asia/Shanghai), got {value!r}")


@dataclass(frozen=True)
class VersionWindow:
    """When a catalogue version is in force: effective_from .. effective_to, both inclusive
    Asia/Shanghai dates; effective_to None = until replaced (open-ended)."""

    version: str
    effective_from: date
    effective_to: date | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.version, str) or not self.version.strip():
            raise ValueError("version must be a non-empty string")
        _check_day("effective_from", self.effective_from)
        _check_day("effective_to", self.effective_to, optional=True)

    def in_force_on(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )


@dataclass(frozen=True)
class CommercialCatalogue(VersionWindow):
    """One version of a product's 商保目录, looked up by national list code."""

    items: tuple[CommercialItem, ...] = ()
    _index: Mapping[str, CommercialItem] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "items", tuple(self.items))
        index: dict[str, CommercialItem] = {}
        for item in self.items:
            if item.med_list_codg in index:
                raise ValueError(f"duplicate code {item.med_list_codg!r} in one catalogue version")
            index[item.med_list_codg] = item
        object.__setattr__(self, "_index", index)

    def item(self, code: str) -> CommercialItem | None:
        return self._index.get(normalise_code(code))


@dataclass(frozen=True)
class SpecialDrugCatalogue(VersionWindow):
    """One version of a product's 特药目录, looked up by approval number or list code."""

    drugs: tuple[SpecialDrug, ...] = ()
    _index: Mapping[str, SpecialDrug] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "drugs", tuple(self.drugs))
        index: dict[str, SpecialDrug] = {}
        for drug in self.drugs:
            if drug.drug_code in index:
                raise ValueError(f"duplicate drug code {drug.drug_code!r} in one catalogue version")
            index[drug.drug_code] = drug
        object.__setattr__(self, "_index", index)

    def drug(self, *codes: str | None) -> SpecialDrug | None:
        """The drug any of these identifiers (list code, approval number) names, or None."""
        for code in codes:
            if code:
                found = self._index.get(normalise_approval(code))
                if found is not None:
                    return found
        return None


class Versioned(Protocol):
    # Read-only members, so frozen dataclasses (VersionWindow) satisfy the protocol too.
    @property
    def version(self) -> str: ...
    @property
    def effective_from(self) -> date: ...
    @property
    def effective_to(self) -> date | None: ...


V = TypeVar("V", bound=Versioned)


@dataclass(frozen=True)
class VersionProblem:
    code: str  # version_dates_reversed | version_duplicate | version_overlap
    message: str  # 中文
    versions: tuple[str, ...]


def _end(v: Versioned) -> date:
    return v.effective_to or date.max


def version_problems(versions: Iterable[Versioned]) -> tuple[VersionProblem, ...]:
    """Why this set of versions (one product, one kind of catalogue) cannot stand together:
    an effective_to before its effective_from, a version label used twice, or two versions in
    force on the same day. Empty when they are fine. A loader adds a version only when the
    existing ones plus the new one give no problem."""
    items = list(versions)
    problems: list[VersionProblem] = []
    seen: set[str] = set()
    for v in items:
        if v.effective_to is not None and v.effective_to < v.effective_from:
            problems.append(
                VersionProblem(
                    "version_dates_reversed",
                    f"版本 {v.version} 的失效日期 {v.effective_to} 早于生效日期 {v.effective_from}",
                    (v.version,),
                )
            )
        if v.version in seen:
            problems.append(
                VersionProblem("version_duplicate", f"版本号 {v.version} 重复", (v.version,))
            )
        seen.add(v.version)
    ordered = sorted(
        (v for v in items if v.effective_to is None or v.effective_to >= v.effective_from),
        key=lambda v: (v.effective_from, _end(v)),
    )
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            if b.effective_from > _end(a):
                break
            to = "长期" if a.effective_to is None else a.effective_to.isoformat()
            problems.append(
                VersionProblem(
                    "version_overlap",
                    f"版本 {a.version}（{a.effective_from} 至 {to}）与版本 {b.version}"
                    f"（自 {b.effective_from} 起）生效期重叠",
                    (a.version, b.version),
                )
            )
    return tuple(problems)


def select_version(versions: Iterable[V], day: date) -> V | None:
    """The version in force on `day` (an Asia/Shanghai date of care), or None when none is.

    Raises ValueError when more than one is in force: overlapping versions must have been
    refused by version_problems before they were stored."""
    _check_day("day", day)
    found = [
        v
        for v in versions
        if v.effective_from <= day and (v.effective_to is None or day <= v.effective_to)
    ]
    if len(found) > 1:
        raise ValueError(
            f"versions {', '.join(v.version for v in found)} are all in force on {day}"
        )
    return found[0] if found else None
