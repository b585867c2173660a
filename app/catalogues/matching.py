"""Itemised fee lines (the bureau's 5204 fee detail) -> the engine's ClaimLines, line by line.

Pure functions over frozen dataclasses: no Flask, no database. The caller fetches a settlement's
fee lines, picks the catalogue versions in force on the date of care (app.catalogues.rules
.select_version) and the member's special-drug approvals, and calls

    result = match_lines(lines, care_date=..., commercial=..., special_drugs=..., approvals=...)
    result.claim_lines          # ClaimLine tuple for Claim(lines=...)
    result.out_of_policy_self_pay_fen, result.special_drugs_fen   # the Claim's two amounts
    result.explanations         # one LineExplanation per fee line (reason codes, 中文, English)
    result.needs_review         # a catalogue was missing: hold the claim for a person

    # do the lines add up to the settlement? app.catalogues.line_totals.check_line_totals

What a line's money is (all integer fen; a line splits like its settlement, identity I1):

    det_item_fee_sumamt = fulamt_ownpay_amt + overlmt_amt + preselfpay_amt + inscp_scp_amt
    own-pay (out of policy) = fulamt_ownpay_amt + overlmt_amt
        (wholly self-paid 丙类 money plus the part of a price above the basic-insurance limit;
        the settlement's out_of_policy_self_pay is the sum of these over its lines)

In-policy money (preselfpay, inscp) is not itemised here: the engine counts it from the
settlement's totals. Each line's own-pay goes to exactly one place:

 1. A drug on the 特药目录 in force (matched by list code or approval number) whose conditions
    hold -> one ClaimLine amount_kind "special_drugs" (on_commercial_list True: it is on the
    product's special-drug list). Conditions: when the drug needs pre-authorisation, an approval
    for this drug, for an indication the catalogue lists, valid on the line's date; when the
    catalogue names pharmacies, the line was dispensed at one of them. The explanation names
    the approval the line counted under (approval_id). When a condition fails
    the money falls through to step 2, so a bucket that counts all out-of-policy money still
    counts it, and a bucket limited to the commercial list counts it only if it is listed there.
 2. Otherwise amount_kind "out_of_policy_self_pay": the part on the 商保目录 within its limits
    -> a ClaimLine with on_commercial_list True; the rest (not listed, or above the list's price
    or quantity limit) -> a ClaimLine with on_commercial_list False. Limits of a listed item:
      quantity: at most quantity_limit units per settlement, consumed in the order the lines are
                given (the bureau's feedetl_sn order); a line with cnt units of which only
                `allowed` are within the limit keeps own-pay x allowed / cnt;
      price:    of the allowed units, the part of each unit's price above price_limit does not
                count: (pric - price_limit) x allowed comes off the kept own-pay (never below 0).
    The on-list part is computed exactly (fractions) and rounded ONCE, half up to the fen
    (round_half_up_fen); the off-list part is the line's own-pay minus it, so the two add up.

`within_caps(result, catalogue, uses)` then holds each special drug's money within the drug's
annual cap (the catalogue's annual_cap_fen, less what the person's purchases and other claims
took: CapUse): the part of a line above it is off any list, reason special_drug_annual_cap.

Reason codes (LINE_REASONS) are stable: never rename one; add new ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

from app.adjudication.model import ClaimLine
from app.adjudication.money import round_half_up_fen, yuan
from app.catalogues.rules import (
    CommercialCatalogue,
    SpecialDrug,
    SpecialDrugCatalogue,
    normalise_approval,
    normalise_code,
)

SPECIAL_DRUGS = "special_drugs"
OUT_OF_POLICY = "out_of_policy_self_pay"
CHARGE_LEVELS = {"01": "甲类", "02": "乙类", "03": "丙类"}  # chrgitm_lv; 丙类 = wholly self-paid

# code: (effect, 中文, English). effect "review": the claim should be held for a person.
LINE_REASONS: dict[str, tuple[str, str, str]] = {
    "no_own_pay": ("info", "该明细无医保范围外自费金额", "no out-of-policy own-pay on this line"),
    "special_drug_listed": ("info", "特药目录内药品，计入特药费用", "listed special drug"),
    "special_drug_not_approved": (
        "info",
        "特药需事前审核，未找到有效的审核（药品、适应症、日期），按医保范围外自费处理",
        "special drug needs an approval: none valid, treated as out-of-policy self-pay",
    ),
    "special_drug_pharmacy_not_designated": (
        "info",
        "特药未在指定药店购药，按医保范围外自费处理",
        "special drug not dispensed at a designated pharmacy, treated as out-of-policy self-pay",
    ),
    "special_drug_pharmacy_unknown": (
        "info",
        "无法确认购药机构是否为指定药店，按医保范围外自费处理",
        "dispensing place unknown, cannot check designated pharmacies: treated as "
        "out-of-policy self-pay",
    ),
    "special_drug_annual_cap": (
        "info",
        "超过该特药年度限额的部分不计入特药费用",
        "the part above the drug's annual cap",
    ),
    "commercial_listed": ("info", "商保目录内项目，全额计入", "on the commercial list, counted"),
    "commercial_price_limit": (
        "info",
        "超过商保目录限价的部分不计入目录内金额",
        "the part above the commercial list's price limit is off the list",
    ),
    "commercial_quantity_limit": (
        "info",
        "超过商保目录限量的部分不计入目录内金额",
        "the part above the commercial list's quantity limit is off the list",
    ),
    "commercial_not_listed": ("info", "不在商保目录内", "not on the commercial list"),
    "commercial_list_not_in_force": (
        "review",
        "就医日期无生效的商保目录版本，目录外处理并转人工审核",
        "no commercial list version in force on the date of care: off the list, held for review",
    ),
    "special_drug_list_not_in_force": (
        "review",
        "就医日期无生效的特药目录版本，转人工审核",
        "no special-drug list version in force on the date of care: held for review",
    ),
}


# --- inputs ---------------------------------------------------------------------------------------


def _fen(name: str, value: object) -> None:
    if type(value) is not int or value < 0:
        raise ValueError(f"{name} must be a non-negative integer number of fen, got {value!r}")


def _as_count(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str, float)):
        raise ValueError(f"cnt must be a number, got {value!r}")
    count = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not count.is_finite() or count <= 0:
        raise ValueError(f"cnt must be positive, got {value!r}")
    return count


@dataclass(frozen=True, kw_only=True)
class FeeLine:
    """One billed item of a settlement, shaped like the bureau's 5204 row (amounts in fen).

    cnt is a Decimal (the bureau sends e.g. 2.0000; a float or str is converted). Reversed
    (negative) lines must be netted out by the adapter first: amounts here are never negative.
    approval_no (批准文号) is not in 5204; a pharmacy's dispensing record or an itemised bill may
    carry it, and special drugs listed by approval number are matched with it.
    fee_ocur_date: the Asia/Shanghai date the fee arose (fee_ocur_time); None -> the care date.
    """

    feedetl_sn: str
    med_list_codg: str
    chrgitm_lv: str  # 01 甲 / 02 乙 / 03 丙
    med_chrgitm_type: str = ""
    cnt: Decimal = Decimal(1)
    pric_fen: int = 0
    det_item_fee_sumamt_fen: int
    fulamt_ownpay_amt_fen: int = 0
    overlmt_amt_fen: int = 0
    preselfpay_amt_fen: int = 0
    inscp_scp_amt_fen: int = 0
    name: str = ""
    medins_list_codg: str = ""
    fee_ocur_date: date | None = None
    approval_no: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.feedetl_sn, str) or not self.feedetl_sn.strip():
            raise ValueError("feedetl_sn must be a non-empty string")
        if not isinstance(self.med_list_codg, str) or not normalise_code(self.med_list_codg):
            raise ValueError("med_list_codg must be a non-empty string")
        level = str(self.chrgitm_lv).strip().zfill(2)
        if level not in CHARGE_LEVELS:
            raise ValueError(f"chrgitm_lv must be 01, 02 or 03, got {self.chrgitm_lv!r}")
        object.__setattr__(self, "chrgitm_lv", level)
        object.__setattr__(self, "cnt", _as_count(self.cnt))
        for name in (
            "pric_fen",
            "det_item_fee_sumamt_fen",
            "fulamt_ownpay_amt_fen",
            "overlmt_amt_fen",
            "preselfpay_amt_fen",
            "inscp_scp_amt_fen",
        ):
            _fen(name, getattr(self, name))
        if self.fee_ocur_date is not None and (
            not isinstance(self.fee_ocur_date, date) or isinstance(self.fee_ocur_date, datetime)
        ):
            raise ValueError("fee_ocur_date must be a datetime.date (Asia/Shanghai)")

    @property
    def code(self) -> str:
        return normalise_code(self.med_list_codg)

    @property
    def own_pay_fen(self) -> int:
        """医保范围外自费 of this line: fulamt_ownpay_amt + overlmt_amt."""
        return self.fulamt_ownpay_amt_fen + self.overlmt_amt_fen


@dataclass(frozen=True)
class SpecialDrugApproval:
    """The insurer's pre-authorisation (事前审核) of a special drug for one member: drug (list code
    or approval number), the approved indication and the dates it is valid (inclusive)."""

    drug_code: str
    indication: str
    valid_from: date
    valid_to: date
    approval_id: str = ""


# --- outputs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineReason:
    code: str  # a key of LINE_REASONS
    zh: str
    en: str


@dataclass(frozen=True)
class LineExplanation:
    """What became of one fee line.

    own_pay_fen   the line's out-of-policy own-pay (fulamt_ownpay_amt + overlmt_amt)
    amount_kind   "special_drugs", "out_of_policy_self_pay", or None (no own-pay)
    on_list_fen   part on the product's list (commercial list within its limits, or the
                  special-drug list); off_list_fen = own_pay_fen - on_list_fen (on a special
                  drug: the part above its annual cap, `within_caps`)
    drug_code     the special-drug list's code the line counted under (None: not counted as one)
    approval_id   the approval (事前审核) that let it count, when the drug needs one
    """

    feedetl_sn: str
    med_list_codg: str
    name: str
    own_pay_fen: int
    amount_kind: str | None
    on_list_fen: int
    off_list_fen: int
    reasons: tuple[LineReason, ...]
    drug_code: str | None = None
    approval_id: str | None = None

    @property
    def reason_codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)

    @property
    def claim_lines(self) -> tuple[ClaimLine, ...]:
        """The engine's lines for this fee line: its on-list part (special-drug money, or the
        commercial list's part of out-of-policy money), then its off-list part, which is
        out-of-policy self-pay off any list either way."""
        if self.amount_kind is None:
            return ()
        on = self.on_list_fen
        off = self.off_list_fen
        code, name = self.med_list_codg, self.name
        return (
            *((ClaimLine(code, on, True, self.amount_kind, name),) if on else ()),
            *((ClaimLine(code, off, False, OUT_OF_POLICY, name),) if off else ()),
        )


@dataclass(frozen=True)
class CapUse:
    """A person's use of one special drug's annual cap in a plan year, as read (fen): the cap
    (None: no per-drug cap) and what purchases and other claims have taken of it."""

    cap_fen: int | None
    used_fen: int = 0

    @property
    def room_fen(self) -> int | None:
        return None if self.cap_fen is None else max(self.cap_fen - self.used_fen, 0)


@dataclass(frozen=True)
class SpecialDrugTerms:
    """What a person's special-drug lines are matched with: their approvals (事前审核), and
    their use of each drug's annual cap by drug code (a drug not named: none used yet)."""

    approvals: tuple[SpecialDrugApproval, ...] = ()
    uses: Mapping[str, CapUse] = field(default_factory=dict)


@dataclass(frozen=True)
class LineMatch:
    claim_lines: tuple[ClaimLine, ...]
    explanations: tuple[LineExplanation, ...]
    notes: tuple[LineReason, ...]  # about the whole settlement (a catalogue not in force)
    # The cap uses `within_caps` limited the special-drug lines by (drug code -> as read).
    cap_uses: Mapping[str, CapUse] = field(default_factory=dict)

    @property
    def out_of_policy_self_pay_fen(self) -> int:
        return sum(l.amount_fen for l in self.claim_lines if l.amount_kind != "special_drugs")

    @property
    def special_drugs_fen(self) -> int:
        return sum(l.amount_fen for l in self.claim_lines if l.amount_kind == "special_drugs")

    @property
    def special_drugs_by_drug(self) -> dict[str, int]:
        """Special-drug money by the list's drug code (what a claim paying it takes of caps)."""
        out: dict[str, int] = {}
        for e in self.explanations:
            if e.amount_kind == SPECIAL_DRUGS and e.drug_code and e.on_list_fen:
                out[e.drug_code] = out.get(e.drug_code, 0) + e.on_list_fen
        return out

    @property
    def reason_codes(self) -> tuple[str, ...]:
        """Every reason code of the notes and lines, each once, in order of first appearance."""
        seen: dict[str, None] = {}
        for reason in self.notes:
            seen.setdefault(reason.code, None)
        for explanation in self.explanations:
            for reason in explanation.reasons:
                seen.setdefault(reason.code, None)
        return tuple(seen)

    @property
    def needs_review(self) -> bool:
        return any(LINE_REASONS[c][0] == "review" for c in self.reason_codes)


def _reason(code: str, zh_detail: str = "", en_detail: str = "") -> LineReason:
    _, zh, en = LINE_REASONS[code]
    return LineReason(
        code,
        f"{zh}：{zh_detail}" if zh_detail else zh,
        f"{en}: {en_detail}" if en_detail else en,
    )


# --- matching -------------------------------------------------------------------------------------


def _norm_place(value: str) -> str:
    return normalise_code(value)  # NFKC, no spaces, upper case: fine for names and codes alike


def valid_approval(
    drug: SpecialDrug, day: date, approvals: Sequence[SpecialDrugApproval]
) -> SpecialDrugApproval | None:
    """The first of the approvals that lets this drug count on this day: for this drug, valid
    on the day, for an indication the catalogue lists."""
    return next(
        (
            a
            for a in approvals
            if normalise_approval(a.drug_code) == drug.drug_code
            and a.valid_from <= day <= a.valid_to
            and (not drug.indications or a.indication.strip() in drug.indications)
        ),
        None,
    )


def _special_drug_refusal(
    drug: SpecialDrug,
    day: date,
    approval: SpecialDrugApproval | None,
    dispensed_at: Sequence[str],
) -> LineReason | None:
    """Why a listed special drug does not count as one on this line, or None when it does;
    `approval`: the valid one for the line's day (valid_approval), if any."""
    if drug.preauth_required and approval is None:
        return _reason(
            "special_drug_not_approved",
            f"{drug.drug_name}，{day.isoformat()}",
            f"{drug.drug_code} on {day.isoformat()}",
        )
    if drug.pharmacies:
        places = {_norm_place(p) for p in dispensed_at if p}
        if not places:
            return _reason("special_drug_pharmacy_unknown")
        if not places & {_norm_place(p) for p in drug.pharmacies}:
            return _reason(
                "special_drug_pharmacy_not_designated",
                f"指定药店为 {'、'.join(drug.pharmacies)}",
                f"designated: {', '.join(drug.pharmacies)}",
            )
    return None


def _listed(drug: SpecialDrug, approval: SpecialDrugApproval | None) -> LineReason:
    """The reason a special drug counts, naming the approval it counts under (if it needs one)."""
    if drug.preauth_required and approval is not None and approval.approval_id:
        return _reason(
            "special_drug_listed",
            f"{drug.drug_name}，事前审核 {approval.approval_id}",
            f"{drug.drug_code}, approval {approval.approval_id}",
        )
    return _reason("special_drug_listed", drug.drug_name, drug.drug_code)


def match_lines(
    lines: Iterable[FeeLine],
    *,
    care_date: date,
    commercial: CommercialCatalogue | None,
    special_drugs: SpecialDrugCatalogue | None,
    approvals: Sequence[SpecialDrugApproval] = (),
    dispensed_at: Sequence[str] = (),
    expect_commercial: bool = True,
    expect_special_drugs: bool = True,
) -> LineMatch:
    """Match one settlement's fee lines against the catalogue versions in force on care_date.

    commercial / special_drugs: the versions in force, or None when no version is: every line
    is then off that list, and when the product has such a list (expect_commercial /
    expect_special_drugs, the default) the result needs_review. Pass expect_...=False for a
    product that has no such list (no bucket limited to the commercial list, no special-drug
    bucket), so its claims are not held for a catalogue that never existed. approvals: the member's special-drug
    approvals. dispensed_at: the codes and names of the institution that dispensed the lines
    (fixmedins_code, fixmedins_name), compared with a special drug's designated pharmacies.
    Lines are taken in the given order (the quantity limit is consumed in it)."""
    notes: list[LineReason] = []
    if commercial is None and expect_commercial:
        notes.append(_reason("commercial_list_not_in_force", care_date.isoformat()))
    if special_drugs is None and expect_special_drugs:
        notes.append(_reason("special_drug_list_not_in_force", care_date.isoformat()))
    explanations: list[LineExplanation] = []
    used_quantity: dict[str, Decimal] = {}
    for line in lines:
        code = line.code
        own = line.own_pay_fen
        reasons: list[LineReason] = []
        item = commercial.item(code) if commercial is not None else None
        name = line.name or (item.name if item else "")
        if own == 0:
            explanations.append(
                LineExplanation(
                    line.feedetl_sn, code, name, 0, None, 0, 0, (_reason("no_own_pay"),)
                )
            )
            continue
        drug = special_drugs.drug(code, line.approval_no) if special_drugs is not None else None
        if drug is not None:
            day = line.fee_ocur_date or care_date
            approval = valid_approval(drug, day, approvals) if drug.preauth_required else None
            refusal = _special_drug_refusal(drug, day, approval, dispensed_at)
            if refusal is None:
                explanations.append(
                    LineExplanation(
                        line.feedetl_sn,
                        code,
                        name or drug.drug_name,
                        own,
                        SPECIAL_DRUGS,
                        own,
                        0,
                        (_listed(drug, approval),),
                        drug.drug_code,
                        approval.approval_id if approval is not None else None,
                    )
                )
                continue
            reasons.append(refusal)
        on_list = 0
        if item is None:
            if commercial is not None:
                reasons.append(_reason("commercial_not_listed"))
        else:
            allowed = line.cnt
            if item.quantity_limit is not None:
                used = used_quantity.get(code, Decimal(0))
                allowed = min(line.cnt, max(item.quantity_limit - used, Decimal(0)))
                used_quantity[code] = used + line.cnt
            kept = Fraction(own) * Fraction(allowed) / Fraction(line.cnt)
            over_price = Fraction(0)
            if item.price_limit_fen is not None and line.pric_fen > item.price_limit_fen:
                over_price = (line.pric_fen - item.price_limit_fen) * Fraction(allowed)
            exact = max(kept - over_price, Fraction(0))
            on_list = min(round_half_up_fen(exact.numerator, exact.denominator), own)
            over_quantity = own - min(round_half_up_fen(kept.numerator, kept.denominator), own)
            over_price_fen = own - on_list - over_quantity
            if over_quantity:
                reasons.append(
                    _reason(
                        "commercial_quantity_limit",
                        f"限量 {item.quantity_limit}，本行 {line.cnt} 中 {allowed} 计入，"
                        f"{yuan(over_quantity)} 元目录外",
                        f"limit {item.quantity_limit}, {allowed} of {line.cnt} counted, "
                        f"{yuan(over_quantity)} yuan off the list",
                    )
                )
            if over_price_fen:
                reasons.append(
                    _reason(
                        "commercial_price_limit",
                        f"单价 {yuan(line.pric_fen)} 元，限价 {yuan(item.price_limit_fen or 0)} 元，"
                        f"{yuan(over_price_fen)} 元目录外",
                        f"price {yuan(line.pric_fen)} yuan, limit "
                        f"{yuan(item.price_limit_fen or 0)} yuan, {yuan(over_price_fen)} yuan "
                        f"off the list",
                    )
                )
            if on_list:
                reasons.append(
                    _reason(
                        "commercial_listed",
                        f"{item.name} {yuan(on_list)} 元",
                        f"{item.med_list_codg} {yuan(on_list)} yuan",
                    )
                )
        explanations.append(
            LineExplanation(
                line.feedetl_sn,
                code,
                name,
                own,
                OUT_OF_POLICY,
                on_list,
                own - on_list,
                tuple(reasons),
            )
        )
    return _line_match(explanations, tuple(notes))


def _line_match(
    explanations: Sequence[LineExplanation],
    notes: tuple[LineReason, ...],
    cap_uses: Mapping[str, CapUse] | None = None,
) -> LineMatch:
    return LineMatch(
        tuple(l for e in explanations for l in e.claim_lines),
        tuple(explanations),
        notes,
        dict(cap_uses or {}),
    )


def cap_reason(room_fen: int, over_fen: int) -> LineReason:
    """special_drug_annual_cap: what was left of the cap, and what of the money is over it."""
    return _reason(
        "special_drug_annual_cap",
        f"年度剩余额度 {yuan(room_fen)} 元，{yuan(over_fen)} 元不计入",
        f"{yuan(room_fen)} yuan left this year, {yuan(over_fen)} yuan not counted",
    )


def within_caps(
    match: LineMatch, catalogue: SpecialDrugCatalogue | None, uses: Mapping[str, CapUse]
) -> LineMatch:
    """The match with each special drug's money held within the drug's annual cap.

    A drug's room is its cap (the person's use row's, `uses`, or else the catalogue's
    annual_cap_fen, nothing used yet) less what purchases and other claims used, less what the
    match's earlier lines of the drug took (lines in bill order). Of a special-drug line, the
    part within the room stays special-drug money (on_list_fen); the part above it is off any
    list (off_list_fen, out-of-policy self-pay) with reason special_drug_annual_cap, as a
    purchase above the cap is. The result's `cap_uses` are the uses it was limited by (what a
    claim paying it must find unchanged when it takes the cap)."""
    seen: dict[str, CapUse] = {}
    taken: dict[str, int] = {}
    explanations: list[LineExplanation] = []
    for e in match.explanations:
        code = e.drug_code
        if e.amount_kind != SPECIAL_DRUGS or not code:
            explanations.append(e)
            continue
        if code not in seen:
            drug = catalogue.drug(code) if catalogue is not None else None
            seen[code] = uses.get(code) or CapUse(drug.annual_cap_fen if drug else None)
        room = seen[code].room_fen
        left = None if room is None else max(room - taken.get(code, 0), 0)
        counted = e.on_list_fen if left is None else min(e.on_list_fen, left)
        taken[code] = taken.get(code, 0) + counted
        over = e.on_list_fen - counted
        if over:
            assert left is not None
            e = replace(
                e,
                on_list_fen=counted,
                off_list_fen=e.off_list_fen + over,
                reasons=(*e.reasons, cap_reason(left, over)),
            )
        explanations.append(e)
    return _line_match(explanations, match.notes, seen)
