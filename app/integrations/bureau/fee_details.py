"""Bureau fee details (费用明细, the national platform's 5204 shape) as plain data: one billed item
of a settlement per `FeeDetailRecord`, in integer fen; how reversal (negative) lines are netted
into the lines they reverse; and the check that a settlement's lines add up to its totals. Both
adapters (sandbox and HTTP) hand back only netted lines that add up (`settled_fee_details`), so
a caller never sees a reversal line or a bill that does not match its settlement. No Flask, no
database.

The fields (bureau name -> meaning; amounts `*_fen` integers):

    feedetl_sn           费用明细流水号   the line's serial number, unique within a settlement
    mdtrt_id, setl_id    就诊ID, 结算ID   the visit and the settlement the line belongs to
    med_list_codg        医疗目录编码     the national list code (医保编码) the catalogues key on
    medins_list_codg     医药机构目录编码  the hospital's own code for the item
    med_chrgitm_type     医疗收费项目类别  01 床位费 ... 08 卫生材料费, 09 西药费 (MED_CHRGITM_TYPES)
    chrgitm_lv           收费项目等级     01 甲类, 02 乙类, 03 丙类 (wholly self-paid)
    cnt, pric_fen        数量, 单价       Decimal count; unit price in fen
    det_item_fee_sumamt  明细项目费用总额  = fulamt_ownpay_amt + overlmt_amt + preselfpay_amt
                                           + inscp_scp_amt (the line splits like its settlement)
    fee_ocur_time        费用发生时间     aware datetime, Asia/Shanghai
    init_feedetl_sn      原费用流水号     on a reversal line: the line it reverses

A reversal line (退费, e.g. a returned box of tablets) has a negative `cnt` and non-positive
amounts. `net_reversals` subtracts it from the line it names in `init_feedetl_sn` (or, when that
is empty, from the first earlier line with the same list code, level and unit price that still
has the units); a reversal that matches no line, or takes a line below zero, is malformed.

The lines of a settlement add up (`fee_detail_discrepancies`, over anything shaped like a fee
line and anything carrying the settlement's five totals: the bureau's records here, and the
`FeeLine`s a member or reviewer gives, through app.catalogues.line_totals.check_line_totals,
which adds the Chinese and English texts):

    duplicate_line_sn       two lines with one feedetl_sn
    line_split_mismatch     a line's total is not the sum of its four parts
    class_c_not_self_paid   a 丙类 line with money other than fulamt_ownpay_amt
    lines_total_mismatch    sum(det_item_fee_sumamt) != medfee_sumamt, sum(fulamt_ownpay_amt) !=
                            fulamt_ownpay_amt, sum(overlmt_amt) != overlmt_selfpay,
                            sum(preselfpay_amt) != preselfpay_amt, sum(inscp_scp_amt) !=
                            inscp_scp_amt

and before that (`settled_fee_details`), the lines are this bill's and can be netted:

    foreign_line            a line of another settlement, visit or person (never handed on)
    reversal_unmatched      a reversal that names no earlier line, or takes one below zero

(The arithmetic lives here, not in app.catalogues: app.adjudication.model imports app.products,
and the foundation, app.integrations included, may not import a capability even indirectly; see
"The foundation imports no capability" in pyproject.toml [tool.importlinter].)

`FeeDetailRecord` is shaped like `app.catalogues.matching.FeeLine`: the same attribute names, and
`fee_line_fields()` gives exactly FeeLine's constructor arguments, so the claims side converts
with ``FeeLine(**record.fee_line_fields())`` (or passes the records to check_line_totals /
match_lines as they are).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from app.common.sheet_cells import normalise_code
from app.integrations.bureau.port import BureauUnavailable
from app.integrations.bureau.settlements import SHANGHAI, SettlementRecord

CHARGE_LEVELS = {"01": "甲类", "02": "乙类", "03": "丙类"}  # chrgitm_lv
CLASS_C = "03"  # 丙类: outside basic insurance, wholly self-paid
# 医疗收费项目类别 (med_chrgitm_type), the national dictionary.
MED_CHRGITM_TYPES = {
    "01": "床位费",
    "02": "诊察费",
    "03": "检查费",
    "04": "化验费",
    "05": "治疗费",
    "06": "手术费",
    "07": "护理费",
    "08": "卫生材料费",
    "09": "西药费",
    "10": "中药饮片费",
    "11": "中成药费",
    "12": "一般诊疗费",
    "13": "挂号费",
    "14": "其他费",
}

LINE_AMOUNTS = (
    "det_item_fee_sumamt_fen",
    "fulamt_ownpay_amt_fen",
    "overlmt_amt_fen",
    "preselfpay_amt_fen",
    "inscp_scp_amt_fen",
)
# settlement field -> the line field whose sum must equal it
TOTAL_FIELDS = {
    "medfee_sumamt_fen": "det_item_fee_sumamt_fen",
    "fulamt_ownpay_amt_fen": "fulamt_ownpay_amt_fen",
    "overlmt_selfpay_fen": "overlmt_amt_fen",
    "preselfpay_amt_fen": "preselfpay_amt_fen",
    "inscp_scp_amt_fen": "inscp_scp_amt_fen",
}
DISCREPANCIES = {
    "duplicate_line_sn": "费用明细流水号重复",
    "line_split_mismatch": "明细金额不等于全自费、超限价、先行自付与政策范围内金额之和",
    "class_c_not_self_paid": "丙类项目的金额不全是全自费",
    "lines_total_mismatch": "明细合计与结算金额不一致",
    "foreign_line": "明细属于另一笔结算或另一人",
    "reversal_unmatched": "退费明细找不到可冲减的原明细",
}


class FeeDetailsMalformed(ValueError):
    """The lines cannot be read as a bill: a reversal with nothing to reverse, a line for
    another settlement or person, a line that nets below zero."""


@dataclass(frozen=True)
class FeeDiscrepancy:
    """One way a settlement's lines fail to add up (codes in DISCREPANCIES)."""

    code: str
    field: str
    expected_fen: int  # the settlement's figure (or the line's own total)
    actual_fen: int  # the lines' sum (or the sum of the line's parts)
    feedetl_sn: str | None = None
    detail: str = ""  # for the codes that are not about amounts

    @property
    def difference_fen(self) -> int:
        return self.actual_fen - self.expected_fen

    def __str__(self) -> str:
        where = f" line {self.feedetl_sn}" if self.feedetl_sn else ""
        if self.detail:
            return f"{self.code}{where}: {self.detail}"
        return (
            f"{self.code}{where} {self.field}: expected {self.expected_fen} fen,"
            f" got {self.actual_fen} fen"
        )


class FeeDetailsInconsistent(BureauUnavailable):
    """The bureau answered, but the lines do not add up to the settlement (or cannot be read as
    its bill). A refusal, not a blip: asking again gives the same lines, so the caller should
    hold the claim for a person rather than retry. `discrepancies` says how they differ."""

    def __init__(self, setl_id: str, discrepancies: Sequence[FeeDiscrepancy], source: str) -> None:
        self.setl_id = setl_id
        self.discrepancies = tuple(discrepancies)
        shown = "; ".join(str(d) for d in self.discrepancies[:5])
        more = len(self.discrepancies) - 5
        super().__init__(
            f"{source} fee details of settlement {setl_id} do not add up to it: {shown}"
            + (f" (and {more} more)" if more > 0 else "")
        )


@dataclass(frozen=True, kw_only=True)
class FeeDetailRecord:
    """One fee line as the bureau holds it (module docstring). Reversal lines (negative cnt,
    amounts <= 0) exist only before `net_reversals`; what a port returns is never negative."""

    feedetl_sn: str
    mdtrt_id: str
    setl_id: str
    psn_no: str
    med_list_codg: str
    medins_list_codg: str = ""
    name: str = ""  # med_list_name (or the hospital's medins_list_name)
    med_chrgitm_type: str = ""
    chrgitm_lv: str
    cnt: Decimal
    pric_fen: int
    det_item_fee_sumamt_fen: int
    fulamt_ownpay_amt_fen: int = 0
    overlmt_amt_fen: int = 0
    preselfpay_amt_fen: int = 0
    inscp_scp_amt_fen: int = 0
    fee_ocur_time: datetime
    init_feedetl_sn: str = ""

    def __post_init__(self) -> None:
        for name in ("feedetl_sn", "mdtrt_id", "setl_id", "psn_no", "med_list_codg"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{name} must be a non-empty string")
        for name in ("medins_list_codg", "name", "med_chrgitm_type", "init_feedetl_sn"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a string")
        if self.chrgitm_lv not in CHARGE_LEVELS:
            raise ValueError(f"chrgitm_lv must be 01, 02 or 03, got {self.chrgitm_lv!r}")
        if not isinstance(self.cnt, Decimal) or not self.cnt.is_finite():
            raise ValueError("cnt must be a finite Decimal")
        if type(self.pric_fen) is not int or self.pric_fen < 0:
            raise ValueError("pric_fen must be a non-negative integer number of fen")
        for name in LINE_AMOUNTS:
            value = getattr(self, name)
            if type(value) is not int:
                raise ValueError(f"{name} must be an integer number of fen")
            # A line is a charge (cnt > 0, amounts >= 0) or a reversal (cnt < 0, amounts <= 0).
            if (self.cnt > 0 and value < 0) or (self.cnt < 0 and value > 0):
                raise ValueError(f"{name} has the wrong sign for cnt {self.cnt}")
        if not isinstance(self.fee_ocur_time, datetime) or self.fee_ocur_time.tzinfo is None:
            raise ValueError("fee_ocur_time must be a timezone-aware datetime")

    # -- what the claims side reads (the FeeLine shape) -----------------------------------------

    @property
    def reversal(self) -> bool:
        return self.cnt < 0

    @property
    def code(self) -> str:
        """The list code in the catalogues' lookup form (NFKC, no spaces, upper case)."""
        return normalise_code(self.med_list_codg)

    @property
    def own_pay_fen(self) -> int:
        """医保范围外自费 of this line: fulamt_ownpay_amt + overlmt_amt."""
        return self.fulamt_ownpay_amt_fen + self.overlmt_amt_fen

    @property
    def fee_ocur_date(self) -> date:
        return self.fee_ocur_time.astimezone(SHANGHAI).date()

    @property
    def approval_no(self) -> None:
        """批准文号 is not in 5204 (FeeLine reads it when another source has it)."""
        return None

    def fee_line_fields(self) -> dict:
        """Exactly the keyword arguments of app.catalogues.matching.FeeLine."""
        return {
            "feedetl_sn": self.feedetl_sn,
            "med_list_codg": self.med_list_codg,
            "chrgitm_lv": self.chrgitm_lv,
            "med_chrgitm_type": self.med_chrgitm_type,
            "cnt": self.cnt,
            "pric_fen": self.pric_fen,
            "det_item_fee_sumamt_fen": self.det_item_fee_sumamt_fen,
            "fulamt_ownpay_amt_fen": self.fulamt_ownpay_amt_fen,
            "overlmt_amt_fen": self.overlmt_amt_fen,
            "preselfpay_amt_fen": self.preselfpay_amt_fen,
            "inscp_scp_amt_fen": self.inscp_scp_amt_fen,
            "name": self.name,
            "medins_list_codg": self.medins_list_codg,
            "fee_ocur_date": self.fee_ocur_date,
            "approval_no": None,
        }


RECORD_FIELDS = tuple(f.name for f in fields(FeeDetailRecord))


# --- netting ----------------------------------------------------------------------------------


def net_reversals(lines: Iterable[FeeDetailRecord]) -> list[FeeDetailRecord]:
    """The lines with every reversal subtracted from the line it reverses (module docstring), in
    their given order; lines reversed completely are dropped. Raises FeeDetailsMalformed."""
    netted: list[FeeDetailRecord] = []
    for line in lines:
        if not line.reversal:
            netted.append(line)
            continue
        index = _reversed_index(line, netted)
        target = netted[index]
        if not _fits(target, line):
            raise FeeDetailsMalformed(
                f"reversal {line.feedetl_sn} takes line {target.feedetl_sn} below zero"
            )
        netted[index] = replace(
            target,
            cnt=target.cnt + line.cnt,
            **{name: getattr(target, name) + getattr(line, name) for name in LINE_AMOUNTS},
        )
    result = []
    for line in netted:
        if line.cnt == 0:
            if any(getattr(line, name) for name in LINE_AMOUNTS):
                raise FeeDetailsMalformed(f"line {line.feedetl_sn} nets to no units but money")
            continue  # reversed completely
        result.append(line)
    return result


def _fits(target: FeeDetailRecord, reversal: FeeDetailRecord) -> bool:
    """The reversal takes no more units and no more of any amount than the line has left."""
    if target.cnt + reversal.cnt < 0:
        return False
    return all(getattr(target, n) + getattr(reversal, n) >= 0 for n in LINE_AMOUNTS)


def _reversed_index(reversal: FeeDetailRecord, earlier: Sequence[FeeDetailRecord]) -> int:
    if reversal.init_feedetl_sn:
        for index, candidate in enumerate(earlier):
            if candidate.feedetl_sn == reversal.init_feedetl_sn:
                if candidate.code != reversal.code:
                    raise FeeDetailsMalformed(
                        f"reversal {reversal.feedetl_sn} is for another item than line "
                        f"{reversal.init_feedetl_sn}"
                    )
                return index
        raise FeeDetailsMalformed(
            f"reversal {reversal.feedetl_sn} names line {reversal.init_feedetl_sn}, "
            "which is not an earlier line of this settlement"
        )
    for index, candidate in enumerate(earlier):
        if (
            candidate.code == reversal.code
            and candidate.chrgitm_lv == reversal.chrgitm_lv
            and candidate.pric_fen == reversal.pric_fen
            and _fits(candidate, reversal)
        ):
            return index
    raise FeeDetailsMalformed(f"reversal {reversal.feedetl_sn} matches no earlier line")


# --- adding up --------------------------------------------------------------------------------


class LineAmounts(Protocol):
    """What the check reads of a line: a FeeDetailRecord or an app.catalogues FeeLine."""

    @property
    def feedetl_sn(self) -> str: ...
    @property
    def chrgitm_lv(self) -> str: ...
    @property
    def det_item_fee_sumamt_fen(self) -> int: ...
    @property
    def fulamt_ownpay_amt_fen(self) -> int: ...
    @property
    def overlmt_amt_fen(self) -> int: ...
    @property
    def preselfpay_amt_fen(self) -> int: ...
    @property
    def inscp_scp_amt_fen(self) -> int: ...


def fee_detail_discrepancies(
    lines: Iterable[LineAmounts], settlement: object
) -> tuple[FeeDiscrepancy, ...]:
    """Every way these (netted) lines fail to add up to the settlement (anything with the
    TOTAL_FIELDS attributes: a SettlementRecord, app.catalogues' SettlementTotals), lines first
    in their order, then the totals in TOTAL_FIELDS order; empty when they add up."""
    lines = list(lines)
    found: list[FeeDiscrepancy] = []
    seen: set[str] = set()
    for line in lines:
        sn = line.feedetl_sn
        if sn in seen:
            found.append(FeeDiscrepancy("duplicate_line_sn", "feedetl_sn", 0, 0, sn))
        seen.add(sn)
        parts = (
            line.fulamt_ownpay_amt_fen
            + line.overlmt_amt_fen
            + line.preselfpay_amt_fen
            + line.inscp_scp_amt_fen
        )
        if parts != line.det_item_fee_sumamt_fen:
            found.append(
                FeeDiscrepancy(
                    "line_split_mismatch",
                    "det_item_fee_sumamt_fen",
                    line.det_item_fee_sumamt_fen,
                    parts,
                    sn,
                )
            )
        if (
            line.chrgitm_lv == CLASS_C
            and line.fulamt_ownpay_amt_fen != line.det_item_fee_sumamt_fen
        ):
            found.append(
                FeeDiscrepancy(
                    "class_c_not_self_paid",
                    "fulamt_ownpay_amt_fen",
                    line.det_item_fee_sumamt_fen,
                    line.fulamt_ownpay_amt_fen,
                    sn,
                )
            )
    for total_field, line_field in TOTAL_FIELDS.items():
        expected = getattr(settlement, total_field)
        actual = sum(getattr(line, line_field) for line in lines)
        if expected != actual:
            found.append(FeeDiscrepancy("lines_total_mismatch", total_field, expected, actual))
    return tuple(found)


def settled_fee_details(
    lines: Iterable[FeeDetailRecord], settlement: SettlementRecord, *, source: str
) -> list[FeeDetailRecord]:
    """What a port returns: the lines of `settlement`, reversals netted out, checked to add up.

    Raises FeeDetailsInconsistent (a BureauUnavailable) when a line belongs to another
    settlement or person, a reversal cannot be netted, or the lines do not add up. `source`
    names the answer in the message ("bureau 5204", "sandbox bureau")."""
    lines = list(lines)
    for line in lines:
        if (line.psn_no, line.setl_id, line.mdtrt_id) != (
            settlement.psn_no,
            settlement.setl_id,
            settlement.mdtrt_id,
        ):
            # Never hand on a line of another person's (or another settlement's) bill.
            raise FeeDetailsInconsistent(
                settlement.setl_id,
                (
                    FeeDiscrepancy(
                        "foreign_line",
                        "setl_id",
                        0,
                        0,
                        line.feedetl_sn,
                        "the line belongs to another settlement, visit or person",
                    ),
                ),
                source,
            )
    try:
        netted = net_reversals(lines)
    except FeeDetailsMalformed as exc:
        raise FeeDetailsInconsistent(
            settlement.setl_id,
            (FeeDiscrepancy("reversal_unmatched", "cnt", 0, 0, None, str(exc)),),
            source,
        ) from None
    problems = fee_detail_discrepancies(netted, settlement)
    if problems:
        raise FeeDetailsInconsistent(settlement.setl_id, problems, source)
    return netted
