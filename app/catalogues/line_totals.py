"""Do a settlement's itemised fee lines add up to it? `check_line_totals(lines, totals)` lists
every way they do not (a line whose parts do not make its total, a 丙类 line with money other
than 全自费, a repeated serial number, a settlement total the lines' field does not sum to).

Pure functions over app.catalogues.matching.FeeLine: the adjudication side runs it on lines a
member or reviewer gives (app/claims/line_sheet.py). The arithmetic is the bureau adapter's own
(app/integrations/bureau/fee_details.py, which checks the bureau's 5204 records with it); this
module gives each finding its Chinese and English sentence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from app.adjudication.money import yuan
from app.catalogues.matching import FeeLine
from app.integrations.bureau.fee_details import TOTAL_FIELDS as BUREAU_TOTAL_FIELDS
from app.integrations.bureau.fee_details import FeeDiscrepancy, fee_detail_discrepancies

_ZH_TOTALS = {
    "medfee_sumamt_fen": "医疗费总额",
    "fulamt_ownpay_amt_fen": "全自费金额",
    "overlmt_selfpay_fen": "超限价自费金额",
    "preselfpay_amt_fen": "先行自付金额",
    "inscp_scp_amt_fen": "符合政策范围金额",
}


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


# settlement field -> the line field that adds up to it, and the field's Chinese name
TOTAL_FIELDS: Mapping[str, tuple[str, str]] = {
    total: (line_field, _ZH_TOTALS[total]) for total, line_field in BUREAU_TOTAL_FIELDS.items()
}


def _texts(found: FeeDiscrepancy) -> tuple[str, str]:
    """The Chinese and English sentences for one discrepancy the arithmetic found."""
    sn = found.feedetl_sn
    expected, actual = yuan(found.expected_fen), yuan(found.actual_fen)
    if found.code == "duplicate_line_sn":
        return f"费用明细流水号 {sn} 重复", f"fee line serial {sn} appears more than once"
    if found.code == "line_split_mismatch":
        return (
            f"明细 {sn} 金额 {expected} 元不等于全自费、超限价、先行自付与政策范围内金额之和 "
            f"{actual} 元",
            f"line {sn} total {expected} yuan is not the sum of its parts {actual} yuan",
        )
    if found.code == "class_c_not_self_paid":
        return (
            f"明细 {sn} 为丙类项目，全自费金额 {actual} 元应等于明细金额 {expected} 元",
            f"line {sn} is class C (wholly self-paid) but its own-pay {actual} yuan is not its "
            f"total {expected} yuan",
        )
    zh_name = _ZH_TOTALS[found.field]
    return (
        f"明细合计 {actual} 元与结算{zh_name} {expected} 元不一致",
        f"lines add up to {actual} yuan, the settlement's "
        f"{found.field.removesuffix('_fen')} is {expected} yuan",
    )


def check_line_totals(
    lines: Iterable[FeeLine], totals: SettlementTotals
) -> tuple[Discrepancy, ...]:
    """Every way these lines fail to add up to the settlement (empty when they do), lines first
    in their order, then the totals in TOTAL_FIELDS order: the bureau adapter's arithmetic
    (app.integrations.bureau.fee_details.fee_detail_discrepancies), with texts."""
    found = []
    for d in fee_detail_discrepancies(lines, totals):
        zh, en = _texts(d)
        found.append(
            Discrepancy(d.code, d.field, d.expected_fen, d.actual_fen, d.feedetl_sn, zh, en)
        )
    return tuple(found)
