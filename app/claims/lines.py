"""A claim's itemised lines: stored (claim_lines), matched against the product's catalogues in
force on the date of care, handed to the engine, and named in the explanation.

Where the lines come from: the bureau's 5204 fee detail of the settlement (one-tap claims, the
estimate from a settlement record), the hospital's itemised list the member uploads, or a
reviewer's entry (app/claims/line_intake.py). Whatever the source, `rematch` runs on every
adjudication: the lines are matched (app.catalogues.matching.match_lines) against the 商保目录 and
特药目录 versions in force on the date of care for the policy's product, with the insured's
special-drug approvals (事前审核) and within each drug's annual cap (app/special_drugs, through
the hooks `claims.special_drug_terms` and `claims.special_drug_hold`), the claim's
out-of-policy and special-drug amounts become what the lines say (their sum is unchanged: the
lines add up to it), and the engine gets the ClaimLines instead of un-itemised amounts. A claim
whose money is settled holds what its lines count of each drug's cap (`hold_caps`, in the
transaction that settles it) until the settlement is undone (`release_caps`), as a purchase
reserves it.

`explained` adds one explanation line per fee line with own-pay (what counted, in which bucket,
why a part did not), and holds the claim for a person when a catalogue the product needs is not
in force on the date of care (decision `review`, reason `catalogue_not_in_force`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.adjudication.model import Adjudication, ClaimLine, Explanation
from app.adjudication.money import yuan
from app.catalogues.in_force import catalogues_in_force
from app.catalogues.matching import (
    FeeLine,
    LineExplanation,
    LineMatch,
    SpecialDrugTerms,
    match_lines,
    within_caps,
)
from app.claims.line_models import ClaimFeeLine
from app.claims.models import Claim
from app.common import hooks
from app.error_catalogue import E
from app.products.definition import ProductDefinition

OUT_OF_POLICY = "out_of_policy_self_pay"
SPECIAL_DRUGS = "special_drugs"
REVIEW_CODE = "catalogue_not_in_force"

FEE_LINE_FIELDS = (
    "feedetl_sn",
    "med_list_codg",
    "medins_list_codg",
    "name",
    "med_chrgitm_type",
    "chrgitm_lv",
    "cnt",
    "pric_fen",
    "det_item_fee_sumamt_fen",
    "fulamt_ownpay_amt_fen",
    "overlmt_amt_fen",
    "preselfpay_amt_fen",
    "inscp_scp_amt_fen",
    "fee_ocur_date",
    "approval_no",
)


# --- storing --------------------------------------------------------------------------------------


def store(session: Session, claim: Claim, lines: Sequence[FeeLine], source: str) -> None:
    """Replace the claim's lines with these (in bill order); the next adjudication matches them."""
    session.execute(delete(ClaimFeeLine).where(ClaimFeeLine.claim_id == claim.id))
    for seq, line in enumerate(lines, start=1):
        session.add(
            ClaimFeeLine(
                claim_id=claim.id,
                seq=seq,
                source=source,
                reason_codes=[],
                **{name: getattr(line, name) for name in FEE_LINE_FIELDS},
            )
        )
    session.flush()


def rows_of(session: Session, claim_id: int) -> list[ClaimFeeLine]:
    return list(
        session.scalars(
            select(ClaimFeeLine)
            .where(ClaimFeeLine.claim_id == claim_id)
            .order_by(ClaimFeeLine.seq, ClaimFeeLine.id)
        )
    )


def fee_line(row: ClaimFeeLine) -> FeeLine:
    return FeeLine(
        **{name: getattr(row, name) for name in FEE_LINE_FIELDS}
        | {"cnt": Decimal(row.cnt), "name": row.name or ""}
    )


def own_pay_total(lines: Iterable[FeeLine]) -> int:
    """What the lines say the member paid outside basic insurance (fulamt + overlmt)."""
    return sum(line.own_pay_fen for line in lines)


# --- matching -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CapHolder:
    """Whose special-drug approvals and annual caps the lines are matched with: the insured
    person, in the product's plan year, and the claim itself (None for an estimate): what it
    holds of a cap already is room for it."""

    person_id: int
    plan_year: int
    claim_id: int | None = None


def match(
    session: Session,
    product_id: int,
    definition: ProductDefinition,
    care_date: date,
    lines: Sequence[FeeLine],
    dispensed_at: Sequence[str] = (),
    holder: CapHolder | None = None,
) -> LineMatch:
    """The lines against the catalogue versions in force on the date of care for the product,
    with the holder's special-drug approvals (事前审核) and within each drug's annual cap as the
    holder's purchases and other claims left it (asked of app/special_drugs through the hook
    `claims.special_drug_terms`, only when a line is a listed special drug). A product without
    a bucket limited to the commercial list (or without a special-drug bucket) is not held for
    a catalogue it never had."""
    expect_commercial = any(
        b.commercial_list_required and OUT_OF_POLICY in b.counts for b in definition.buckets
    )
    expect_special = any(SPECIAL_DRUGS in b.counts for b in definition.buckets)
    commercial, special = catalogues_in_force(product_id, care_date, session=session)
    terms = SpecialDrugTerms()
    if (
        holder is not None
        and special is not None
        and any(special.drug(l.code, l.approval_no) for l in lines)
    ):
        terms = hooks.call(
            hooks.SPECIAL_DRUG_TERMS,
            session,
            holder.person_id,
            product_id,
            holder.plan_year,
            holder.claim_id,
        )
    matched = match_lines(
        lines,
        care_date=care_date,
        commercial=commercial,
        special_drugs=special,
        approvals=terms.approvals,
        dispensed_at=tuple(dispensed_at),
        expect_commercial=expect_commercial,
        expect_special_drugs=expect_special,
    )
    return within_caps(matched, special, terms.uses)


def hold_caps(session: Session, claim: Claim, matched: LineMatch | None) -> None:
    """The settled claim holds what its lines count of each special drug's annual cap (hook
    `claims.special_drug_hold`); StaleAccumulators when a cap moved since the match read it."""
    if matched is not None and matched.cap_uses:
        hooks.call(hooks.SPECIAL_DRUG_HOLD, session, claim, matched)


def release_caps(session: Session, claim: Claim) -> None:
    """The claim's settlement undone: what it held of special drugs' caps is given back."""
    if claim.special_drugs_fen:
        hooks.call(hooks.SPECIAL_DRUG_HOLD, session, claim, None)


def retake_caps(session: Session, claim: Claim) -> tuple[dict, ...]:
    """Before the claim is approved: a filing that gave its cap reservation back when the
    claim's rejection became final takes it again, within what is left (hook
    `claims.special_drug_retake`); the explanation lines of what no longer counts."""
    if claim.care_kind != "special_drug":
        return ()
    return tuple(hooks.call(hooks.SPECIAL_DRUG_RETAKE, session, claim))


def noted(adjudication: dict, notes: Sequence[dict]) -> dict:
    """The adjudication's explanation with `notes` before its closing total."""
    if not notes:
        return adjudication
    lines = list(adjudication.get("lines", []))
    at = next((i for i, l in enumerate(lines) if l["code"] == "payable_total"), len(lines))
    return adjudication | {"lines": [*lines[:at], *notes, *lines[at:]]}


def rematch(session: Session, claim: Claim, definition: ProductDefinition) -> LineMatch | None:
    """Match the claim's stored lines (None when it has none) and write the result back: each
    line's amount kind, on/off-list parts and reasons, and the claim's out-of-policy and
    special-drug amounts (their sum is what the lines add up to)."""
    rows = rows_of(session, claim.id)
    if not rows or claim.admitted_on is None:
        return None
    result = match(
        session,
        claim.product_id,
        definition,
        claim.admitted_on,
        [fee_line(r) for r in rows],
        [p for p in (claim.hospital_code, claim.hospital_name) if p],
        CapHolder(claim.person_id, claim.plan_year, claim.id),
    )
    by_sn = {e.feedetl_sn: e for e in result.explanations}
    for row in rows:
        e = by_sn.get(row.feedetl_sn)
        if e is not None:
            row.amount_kind, row.on_list_fen, row.off_list_fen = (
                e.amount_kind,
                e.on_list_fen,
                e.off_list_fen,
            )
            row.reason_codes = list(e.reason_codes)
    claim.out_of_policy_self_pay_fen = result.out_of_policy_self_pay_fen
    claim.special_drugs_fen = result.special_drugs_fen
    return result


def engine_lines(result: LineMatch | None) -> tuple[ClaimLine, ...]:
    return () if result is None else result.claim_lines


# --- explaining -----------------------------------------------------------------------------------


def _bucket_for(definition: ProductDefinition, kind: str):
    return next((b for b in definition.buckets if kind in b.counts), None)


def _line_explanation(e: LineExplanation, definition: ProductDefinition) -> Explanation:
    assert e.amount_kind is not None
    bucket = _bucket_for(definition, e.amount_kind)
    label = f"明细 {e.feedetl_sn} {e.name or e.med_list_codg}".strip()
    label_en = f"line {e.feedetl_sn} {e.med_list_codg}"
    why_zh = "；".join(r.zh for r in e.reasons)
    why_en = "; ".join(r.en for r in e.reasons)
    if bucket is None:
        return Explanation(
            "fee_line_not_covered",
            f"{label}：自费 {yuan(e.own_pay_fen)} 元，本产品无对应责任，不予计入（{why_zh}）",
            f"{label_en}: own-pay {yuan(e.own_pay_fen)} yuan, no bucket of the product "
            f"counts it ({why_en})",
        )
    # a special drug's on-list part is what counts (its own-pay, within the drug's annual cap)
    limited = bucket.commercial_list_required or e.amount_kind == SPECIAL_DRUGS
    counted = e.on_list_fen if limited else e.own_pay_fen
    left = e.own_pay_fen - counted
    if left == 0:
        code = "fee_line_counted"
        zh = f"{label}：{yuan(counted)} 元计入“{bucket.name}”（{why_zh}）"
        en = f"{label_en}: {yuan(counted)} yuan counted in {bucket.code} ({why_en})"
    elif counted == 0:
        code = "fee_line_not_counted"
        zh = f"{label}：{yuan(left)} 元不计入“{bucket.name}”（{why_zh}）"
        en = f"{label_en}: {yuan(left)} yuan not counted in {bucket.code} ({why_en})"
    else:
        code = "fee_line_partly_counted"
        zh = f"{label}：{yuan(counted)} 元计入“{bucket.name}”，{yuan(left)} 元不计入（{why_zh}）"
        en = (
            f"{label_en}: {yuan(counted)} yuan counted in {bucket.code}, {yuan(left)} yuan "
            f"not counted ({why_en})"
        )
    return Explanation(code, zh, en, bucket.code)


def line_explanations(result: LineMatch, definition: ProductDefinition) -> list[Explanation]:
    """One line per fee line with own-pay; the lines without (in-policy money, counted from the
    settlement's totals) as one summary line; the catalogue notes first."""
    out = [Explanation(REVIEW_CODE, n.zh, n.en) for n in result.notes]
    in_policy = 0
    for e in result.explanations:
        if e.amount_kind is None:
            in_policy += 1
            continue
        out.append(_line_explanation(e, definition))
    if in_policy:
        out.append(
            Explanation(
                "fee_lines_in_policy",
                f"其余 {in_policy} 条明细无医保范围外自费，政策范围内费用按结算合计计算",
                f"{in_policy} other lines have no out-of-policy own-pay; in-policy money is "
                f"taken from the settlement's totals",
            )
        )
    return out


def explained(
    result: Adjudication, matched: LineMatch | None, definition: ProductDefinition
) -> Adjudication:
    """The engine's result with the fee lines named; a missing catalogue holds it for review."""
    if matched is None:
        return result
    decision, reasons = result.decision, result.reason_codes
    if matched.needs_review:
        reasons = (*reasons, REVIEW_CODE)
        if decision == "payable":
            decision = "review"
    # the fee lines go before the closing total, which stays the last line
    engine = list(result.lines)
    at = next((i for i, l in enumerate(engine) if l.code == "payable_total"), len(engine))
    named = (*engine[:at], *line_explanations(matched, definition), *engine[at:])
    return replace(result, decision=decision, reason_codes=reasons, lines=named)


# --- the API view ---------------------------------------------------------------------------------


def view(session: Session, claim_id: int) -> list[dict]:
    return [
        {
            "seq": r.seq,
            "source": r.source,
            **{name: getattr(r, name) for name in FEE_LINE_FIELDS},
            "cnt": format(Decimal(r.cnt).normalize(), "f"),
            "fee_ocur_date": r.fee_ocur_date.isoformat() if r.fee_ocur_date else None,
            "own_pay_fen": r.fulamt_ownpay_amt_fen + r.overlmt_amt_fen,
            "amount_kind": r.amount_kind,
            "on_list_fen": r.on_list_fen,
            "off_list_fen": r.off_list_fen,
            "reason_codes": list(r.reason_codes or []),
        }
        for r in rows_of(session, claim_id)
    ]


# --- the bureau's fee detail ----------------------------------------------------------------------

INCONSISTENT_FLAG = "fee_details_inconsistent"


def bureau_fee_lines(port, psn_no: str, record) -> list[FeeLine] | None:
    """The settlement's 5204 fee lines as FeeLines; None when the bureau's lines do not add up to
    the settlement (asking again gives the same lines: the claim is held for a person, who can
    enter the lines). A timeout is `bureau_unavailable` (503): nothing is filed, the member
    taps again, so a claim is never paid on guesswork."""
    from app.integrations.bureau.fee_details import FeeDetailsInconsistent
    from app.integrations.bureau.port import BureauUnavailable

    try:
        records = port.fee_details(psn_no, record.setl_id, settlement=record)
    except FeeDetailsInconsistent:
        return None
    except BureauUnavailable:
        raise E.bureau_unavailable() from None
    if records is None:
        return None
    return [FeeLine(**r.fee_line_fields()) for r in records]


def inconsistent_flag() -> dict:
    return {
        "code": INCONSISTENT_FLAG,
        "zh": "医保费用明细与结算金额不一致，无法核对商保目录和特药目录，请审核员录入明细",
    }
