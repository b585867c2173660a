"""A hospital's itemised list (费用明细清单) as FeeLines, with a per-row report: pure functions.

The rows come from an uploaded CSV/XLSX (app.common.spreadsheets reads the cells) or from a JSON
list (the member's or a reviewer's entry). A sheet's header is found in its first rows (a
printed list has a title above it); its columns are named as hospitals print them, with
aliases (HEADER_ALIASES). Amounts in a sheet are yuan ("1,234.50", a number cell); in JSON, fen.

Defaults a printed list needs: 数量 blank -> 1; 单价 blank -> 金额 / 数量 (half up); when none of
全自费, 超限价, 先行自付, 政策范围内 is given, a 丙类 line is wholly self-paid (全自费 = 金额)
and a 甲/乙类 line is wholly in policy (政策范围内 = 金额). Rows that only total the list
(合计, 小计) and blank rows are skipped.

Row error codes are stable (never rename one): code_missing, level_invalid, count_invalid,
amount_invalid, date_invalid, text_too_long, line_invalid, line_split_mismatch,
class_c_not_self_paid, duplicate_line_sn. Header codes: header_missing, header_duplicate,
no_rows, too_many_rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from app.catalogues.line_totals import SettlementTotals, check_line_totals
from app.catalogues.matching import FeeLine
from app.common.money import round_half_up_div, yuan_to_fen

MAX_ROWS = 2_000
HEADER_SEARCH_ROWS = 5
MAX_TEXT = {"feedetl_sn": 64, "med_list_codg": 64, "medins_list_codg": 64, "name": 200}
MAX_TEXT |= {"med_chrgitm_type": 4, "approval_no": 64}

# field -> the column names it is printed under (compared without blanks, brackets and "(元)")
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "feedetl_sn": ("序号", "行号", "流水号", "明细流水号", "费用明细流水号"),
    "med_list_codg": (
        "项目编码",
        "医保编码",
        "医保项目编码",
        "医保目录编码",
        "医疗目录编码",
        "国家编码",
    ),
    "medins_list_codg": ("医院项目编码", "院内编码", "医药机构目录编码", "医院编码"),
    "name": ("项目名称", "名称", "药品名称", "收费项目名称", "医保项目名称", "项目/药品名称"),
    "med_chrgitm_type": ("收费类别", "费用类别", "收费项目类别"),
    "chrgitm_lv": ("等级", "医保等级", "项目等级", "收费项目等级", "甲乙类", "类别等级"),
    "cnt": ("数量",),
    "pric": ("单价",),
    "det_item_fee_sumamt": ("金额", "总金额", "费用金额", "明细金额", "明细项目费用总额"),
    "fulamt_ownpay_amt": ("全自费", "全自费金额", "自费金额"),
    "overlmt_amt": ("超限价", "超限价金额", "超限价自费", "超限价自费金额"),
    "preselfpay_amt": ("先行自付", "先行自付金额", "乙类先行自付"),
    "inscp_scp_amt": ("政策范围内", "政策范围内金额", "符合政策范围金额", "符合范围金额"),
    "fee_ocur_date": ("费用发生日期", "发生日期", "日期"),
    "approval_no": ("批准文号",),
}
REQUIRED = ("med_list_codg", "chrgitm_lv", "det_item_fee_sumamt")
COLUMN_LABELS = {"med_list_codg": "项目编码", "chrgitm_lv": "等级", "det_item_fee_sumamt": "金额"}
PARTS = ("fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt", "inscp_scp_amt")
LEVELS = {"甲": "01", "乙": "02", "丙": "03", "1": "01", "2": "02", "3": "03"}
LEVELS |= {"01": "01", "02": "02", "03": "03"}
TOTAL_ROW = re.compile(r"^\s*(合\s*计|小\s*计|总\s*计)")


@dataclass(frozen=True)
class RowError:
    code: str
    message: str
    column: str | None = None


@dataclass
class RowReport:
    row_number: int
    errors: list[RowError] = field(default_factory=list)


@dataclass
class LinesReport:
    """The lines of a list (when every row is good) or what is wrong with it."""

    lines: list[FeeLine] = field(default_factory=list)
    header_row: int | None = None
    header_errors: list[RowError] = field(default_factory=list)
    rows: list[RowReport] = field(default_factory=list)  # rows with errors only

    @property
    def ok(self) -> bool:
        return not self.header_errors and not self.rows

    @property
    def error_count(self) -> int:
        return len(self.header_errors) + sum(len(r.errors) for r in self.rows)

    @property
    def summary(self) -> str:
        if self.ok:
            return f"共 {len(self.lines)} 条明细"
        if self.header_errors:
            return "；".join(e.message for e in self.header_errors)
        return f"{len(self.rows)} 行有错误（共 {self.error_count} 处），整个清单未导入"

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "summary": self.summary,
            "header_row": self.header_row,
            "error_count": self.error_count,
            "header_errors": [{"code": e.code, "message": e.message} for e in self.header_errors],
            "rows": [
                {
                    "row_number": r.row_number,
                    "errors": [
                        {"code": e.code, "message": e.message, "column": e.column} for e in r.errors
                    ],
                }
                for r in self.rows
            ],
        }


class RowProblem(ValueError):
    def __init__(self, code: str, message: str, column: str | None = None) -> None:
        super().__init__(message)
        self.error = RowError(code, message, column)


# --- header ---------------------------------------------------------------------------------------


def _norm_header(cell: object) -> str:
    text = "" if cell is None else str(cell)
    text = re.sub(r"[\s　]", "", text).replace("（", "(").replace("）", ")")
    return re.sub(r"\((元|¥|￥)\)$", "", text)


ALIAS_TO_FIELD = {alias: name for name, aliases in HEADER_ALIASES.items() for alias in aliases}


def _header_map(cells: Sequence[object]) -> tuple[dict[str, int], list[RowError]]:
    columns: dict[str, int] = {}
    errors: list[RowError] = []
    for index, cell in enumerate(cells):
        name = ALIAS_TO_FIELD.get(_norm_header(cell))
        if name is None:
            continue
        if name in columns:
            errors.append(RowError("header_duplicate", f"表头中有重复的列：{_norm_header(cell)}"))
        columns[name] = index
    return columns, errors


# --- cells ----------------------------------------------------------------------------------------


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a code typed into a number cell
    return "" if value is None else str(value).strip()


def _yuan(value: object, column: str) -> int:
    try:
        if isinstance(value, float):
            value = Decimal(repr(value))
        if isinstance(value, str):
            value = value.replace(",", "").replace("，", "").strip().strip("¥￥元").strip()
        fen = yuan_to_fen(value)  # type: ignore[arg-type]  # anything else is a ValueError
    except (ValueError, TypeError):
        raise RowProblem(
            "amount_invalid", f"{column}应为金额（元，最多两位小数）", column
        ) from None
    if fen < 0:
        raise RowProblem("amount_invalid", f"{column}不能为负数", column)
    return fen


def _count(value: object) -> Decimal:
    try:
        count = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        count = Decimal(0)
    if not count.is_finite() or count <= 0 or count != count.quantize(Decimal("0.0001")):
        raise RowProblem("count_invalid", "数量应为大于 0 的数（最多四位小数）", "数量")
    return count


def _level(value: object) -> str:
    text = _text(value).removesuffix("类")
    if text not in LEVELS:
        raise RowProblem("level_invalid", "等级应为 甲、乙 或 丙（或 01、02、03）", "等级")
    return LEVELS[text]


def _date(value: object) -> date | None:
    if _blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)[:10].replace("/", "-").replace(".", "-")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise RowProblem("date_invalid", "费用发生日期应为 YYYY-MM-DD", "费用发生日期") from None


def _checked_text(fields: dict[str, Any]) -> None:
    for name, limit in MAX_TEXT.items():
        value = fields.get(name)
        if isinstance(value, str) and len(value) > limit:
            raise RowProblem("text_too_long", f"{name} 最多 {limit} 个字符", name)


def fee_line(fields: Mapping[str, Any]) -> FeeLine:
    """A FeeLine from checked fields (amounts in fen), the defaults of a printed list applied."""
    values = dict(fields)
    if not values.get("med_list_codg"):
        raise RowProblem("code_missing", "缺少项目编码（医保编码）", "项目编码")
    cnt = values.get("cnt") or Decimal(1)
    total = values["det_item_fee_sumamt_fen"]
    if all(values.get(f"{p}_fen") is None for p in PARTS):
        part = "fulamt_ownpay_amt_fen" if values["chrgitm_lv"] == "03" else "inscp_scp_amt_fen"
        values[part] = total
    if values.get("pric_fen") is None:
        values["pric_fen"] = round_half_up_div(int(total * 10_000), int(cnt * 10_000))
    values = {k: (0 if v is None and k.endswith("_fen") else v) for k, v in values.items()}
    values["cnt"] = cnt
    _checked_text(values)
    try:
        return FeeLine(**{k: v for k, v in values.items() if v is not None})
    except (ValueError, TypeError) as exc:
        raise RowProblem("line_invalid", f"明细不完整或格式不正确：{exc}") from None


def _sheet_fields(cells: Sequence[object], columns: Mapping[str, int]) -> dict[str, Any]:
    def cell(name: str) -> object:
        index = columns.get(name)
        return cells[index] if index is not None and index < len(cells) else None

    values: dict[str, Any] = {
        name: _text(cell(name)) or None
        for name in ("feedetl_sn", "med_list_codg", "medins_list_codg", "name")
        if name in columns
    }
    values["med_chrgitm_type"] = _text(cell("med_chrgitm_type"))
    values["chrgitm_lv"] = _level(cell("chrgitm_lv"))
    values["cnt"] = None if _blank(cell("cnt")) else _count(cell("cnt"))
    labels = {"pric": "单价", "det_item_fee_sumamt": "金额", "fulamt_ownpay_amt": "全自费"}
    labels |= {"overlmt_amt": "超限价", "preselfpay_amt": "先行自付", "inscp_scp_amt": "政策范围内"}
    for name, label in labels.items():
        raw = cell(name)
        values[f"{name}_fen"] = None if _blank(raw) else _yuan(raw, label)
    if values["det_item_fee_sumamt_fen"] is None:
        raise RowProblem("amount_invalid", "缺少金额", "金额")
    values["fee_ocur_date"] = _date(cell("fee_ocur_date"))
    values["approval_no"] = _text(cell("approval_no")) or None
    values["name"] = values.get("name") or ""
    values["medins_list_codg"] = values.get("medins_list_codg") or ""
    return values


# --- whole lists ----------------------------------------------------------------------------------


def _finish(report: LinesReport, numbered: list[tuple[int, FeeLine]]) -> LinesReport:
    """The line-level checks of the settlement rules (parts add up, 丙类 self-paid, serials
    unique); every row good -> the lines."""
    lines = [line for _, line in numbered]
    row_of: dict[str, int] = {}
    for number, line in numbered:
        row_of.setdefault(line.feedetl_sn, number)
    sums = SettlementTotals(
        medfee_sumamt_fen=sum(l.det_item_fee_sumamt_fen for l in lines),
        fulamt_ownpay_amt_fen=sum(l.fulamt_ownpay_amt_fen for l in lines),
        overlmt_selfpay_fen=sum(l.overlmt_amt_fen for l in lines),
        preselfpay_amt_fen=sum(l.preselfpay_amt_fen for l in lines),
        inscp_scp_amt_fen=sum(l.inscp_scp_amt_fen for l in lines),
    )
    by_row = {r.row_number: r for r in report.rows}
    seen: set[str] = set()
    for d in check_line_totals(lines, sums):
        if d.feedetl_sn is None:
            continue
        number = row_of[d.feedetl_sn]
        if d.code == "duplicate_line_sn":
            # the second row with the serial is the one to report
            number = next(n for n, l in numbered if l.feedetl_sn == d.feedetl_sn and n != number)
            if d.feedetl_sn in seen:
                continue
            seen.add(d.feedetl_sn)
        by_row.setdefault(number, RowReport(number)).errors.append(RowError(d.code, d.zh))
    report.rows = sorted(by_row.values(), key=lambda r: r.row_number)
    if len(numbered) > MAX_ROWS:
        report.header_errors.append(RowError("too_many_rows", f"明细最多 {MAX_ROWS} 行"))
    elif not numbered and not report.rows:
        report.header_errors.append(RowError("no_rows", "清单中没有费用明细"))
    if report.ok:
        report.lines = lines
    return report


def from_sheet(rows: Iterable[Sequence[object]]) -> LinesReport:
    """The lines of a sheet's rows (row numbers as the sheet shows them, from 1)."""
    report = LinesReport()
    columns: dict[str, int] = {}
    numbered: list[tuple[int, FeeLine]] = []
    for number, cells in enumerate(rows, start=1):
        if report.header_row is None:
            found, errors = _header_map(cells)
            if all(name in found for name in REQUIRED):
                report.header_row, columns = number, found
                report.header_errors.extend(errors)
            elif number >= HEADER_SEARCH_ROWS:
                break
            continue
        if all(_blank(c) for c in cells) or any(
            isinstance(c, str) and TOTAL_ROW.match(c) for c in cells
        ):
            continue
        try:
            values = _sheet_fields(cells, columns)
            values["feedetl_sn"] = values.get("feedetl_sn") or str(len(numbered) + 1)
            numbered.append((number, fee_line(values)))
        except RowProblem as problem:
            report.rows.append(RowReport(number, [problem.error]))
        if len(numbered) + len(report.rows) > MAX_ROWS:
            break
    if report.header_row is None:
        missing = "、".join(COLUMN_LABELS[n] for n in REQUIRED)
        report.header_errors.append(
            RowError("header_missing", f"前 {HEADER_SEARCH_ROWS} 行中未找到表头（需有：{missing}）")
        )
        return report
    return _finish(report, numbered)


def from_json(items: Sequence[Mapping[str, Any]]) -> LinesReport:
    """The lines of a JSON list (amounts in fen, already typed by the schema); row_number is the
    item's position from 1."""
    report = LinesReport(header_row=None)
    numbered: list[tuple[int, FeeLine]] = []
    for number, item in enumerate(items, start=1):
        try:
            values = dict(item)
            values["chrgitm_lv"] = _level(values.get("chrgitm_lv"))
            values["feedetl_sn"] = values.get("feedetl_sn") or str(number)
            numbered.append((number, fee_line(values)))
        except RowProblem as problem:
            report.rows.append(RowReport(number, [problem.error]))
    return _finish(report, numbered)
