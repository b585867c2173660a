"""Do a settlement's itemised fee lines add up to it? `check_line_totals(lines, totals)` lists
every way they do not (a line whose parts do not make its total, a 丙类 line with money other
than 全自费, a repeated serial number, a settlement total the lines' field does not sum to).

Pure functions over app.catalogues.matching.FeeLine: the adjudication side runs it on lines a
member or reviewer gives (app/claims/line_sheet.py); the bureau adapter runs the same arithmetic
on the bureau's 5204 records (app/integrations/bureau/fee_details.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from app.adjudication.money import yuan
from app.catalogues.matching import FeeLine


@dataclass(frozen=True)
class SettlementTotals:
    """The settlement's totals the lines must add up to (fen; 2207/5203 setlinfo fields)."""

    medfee_sumamt_fen: int
    fulamt_ownpay_amt_fen: int
    overlmt_selfpay_fen: int
    preselfpay_amt_fen: int
    inscp_scp_amt_fen: int

    @classmethod
    def of(cls, record: object) -> SettlementTotals:
        """From anything with those attributes (e.g. a bureau SettlementRecord)."""
        return cls(**{name: getattr(record, name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Discrepancy:
    """One way the lines do not add up.

    code: lines_total_mismatch (a settlement total differs from the sum of the lines' field),
          line_split_mismatch (a line's total differs from the sum of its four parts),
          class_c_not_self_paid (a 丙类 line with money other than fulamt_ownpay_amt),
          duplicate_line_sn (two lines with one feedetl_sn)."""

    code: str
    field: str
    expected_fen: int  # the settlement's (or the line's) figure
    actual_fen: int  # the lines' sum (or the line's parts)
    feedetl_sn: str | None
    zh: str
    en: str

    @property
    def difference_fen(self) -> int:
        return self.actual_fen - self.expected_fen


# settlement field -> the line field that adds up to it
TOTAL_FIELDS: Mapping[str, tuple[str, str]] = {
    "medfee_sumamt_fen": ("det_item_fee_sumamt_fen", "医疗费总额"),
    "fulamt_ownpay_amt_fen": ("fulamt_ownpay_amt_fen", "全自费金额"),
    "overlmt_selfpay_fen": ("overlmt_amt_fen", "超限价自费金额"),
    "preselfpay_amt_fen": ("preselfpay_amt_fen", "先行自付金额"),
    "inscp_scp_amt_fen": ("inscp_scp_amt_fen", "符合政策范围金额"),
}


def check_line_totals(
    lines: Iterable[FeeLine], totals: SettlementTotals
) -> tuple[Discrepancy, ...]:
    """Every way these lines fail to add up to the settlement (empty when they do), lines first
    in their order, then the totals in TOTAL_FIELDS order."""
    lines = list(lines)
    found: list[Discrepancy] = []
    seen: set[str] = set()
    for line in lines:
        sn = line.feedetl_sn
        if sn in seen:
            found.append(
                Discrepancy(
                    "duplicate_line_sn",
                    "feedetl_sn",
                    0,
                    0,
                    sn,
                    f"费用明细流水号 {sn} 重复",
                    f"fee line serial {sn} appears more than once",
                )
            )
        seen.add(sn)
        parts = (
            line.fulamt_ownpay_amt_fen
            + line.overlmt_amt_fen
            + line.preselfpay_amt_fen
            + line.inscp_scp_amt_fen
        )
        if parts != line.det_item_fee_sumamt_fen:
            found.append(
                Discrepancy(
                    "line_split_mismatch",
                    "det_item_fee_sumamt_fen",
                    line.det_item_fee_sumamt_fen,
                    parts,
                    sn,
                    f"明细 {sn} 金额 {yuan(line.det_item_fee_sumamt_fen)} 元不等于全自费、超限价、"
                    f"先行自付与政策范围内金额之和 {yuan(parts)} 元",
                    f"line {sn} total {yuan(line.det_item_fee_sumamt_fen)} yuan is not the sum of "
                    f"its parts {yuan(parts)} yuan",
                )
            )
        if line.chrgitm_lv == "03" and line.fulamt_ownpay_amt_fen != line.det_item_fee_sumamt_fen:
            found.append(
                Discrepancy(
                    "class_c_not_self_paid",
                    "fulamt_ownpay_amt_fen",
                    line.det_item_fee_sumamt_fen,
                    line.fulamt_ownpay_amt_fen,
                    sn,
                    f"明细 {sn} 为丙类项目，全自费金额 {yuan(line.fulamt_ownpay_amt_fen)} 元应等于"
                    f"明细金额 {yuan(line.det_item_fee_sumamt_fen)} 元",
                    f"line {sn} is class C (wholly self-paid) but its own-pay "
                    f"{yuan(line.fulamt_ownpay_amt_fen)} yuan is not its total "
                    f"{yuan(line.det_item_fee_sumamt_fen)} yuan",
                )
            )
    for total_field, (line_field, zh_name) in TOTAL_FIELDS.items():
        expected = getattr(totals, total_field)
        actual = sum(getattr(line, line_field) for line in lines)
        if expected != actual:
            found.append(
                Discrepancy(
                    "lines_total_mismatch",
                    total_field,
                    expected,
                    actual,
                    None,
                    f"明细合计 {yuan(actual)} 元与结算{zh_name} {yuan(expected)} 元不一致",
                    f"lines add up to {yuan(actual)} yuan, the settlement's "
                    f"{total_field.removesuffix('_fen')} is {yuan(expected)} yuan",
                )
            )
    return tuple(found)
