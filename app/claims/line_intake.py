"""Itemised lines a person gives a claim: the member's upload of the hospital's list (CSV/XLSX or
JSON) on a photographed claim they may still change, and a reviewer's entry or correction on a
claim assigned to them (audited). All or nothing: a bad row is a 422 with the per-row report
(app/claims/line_sheet.py) and the stored lines are untouched.

The lines are the evidence for the claim's out-of-policy and special-drug amounts, so they must
add up to what the claim says: their 全自费 + 超限价 to the claim's out-of-policy self-pay plus
special drugs, and their 金额 to its total cost. A claim already adjudicated is re-adjudicated
with the new lines at once (the engine re-matches them against the catalogues in force,
app/claims/lines.py); a draft is, as always, when it is submitted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from typing import Any

from sqlalchemy.orm import Session

from app.audit.services import record as audit
from app.auth.principal import Principal
from app.catalogues.matching import FeeLine
from app.claims import accumulators, line_sheet
from app.claims import lines as claim_lines
from app.claims.adjudication_run import record_figure, run_episode
from app.claims.common import own_claim
from app.claims.models import Claim
from app.claims.review import reviewable
from app.claims.statuses import ClaimStatus
from app.claims.workflow import EDITABLE, REVIEWABLE
from app.common import spreadsheets
from app.common.money import yuan_plain
from app.database import read_scope, transaction
from app.error_catalogue import E, error

MAX_COLUMNS = 40
MAX_XLSX_UNCOMPRESSED = 20 * 1024 * 1024
SHEET_ERRORS = {reason: f"claim_lines_{reason}" for reason in spreadsheets.REASONS}


# --- reading --------------------------------------------------------------------------------------


def sheet_lines(data: bytes) -> list[FeeLine]:
    """The lines of an uploaded CSV/XLSX list, or the 422 of what is wrong with it."""
    rows: list[list[object]] = []
    most = line_sheet.MAX_ROWS + line_sheet.HEADER_SEARCH_ROWS + 1
    try:
        file_format, records = spreadsheets.read_records(
            data,
            max_columns=MAX_COLUMNS,
            max_xlsx_uncompressed=MAX_XLSX_UNCOMPRESSED,
            what="费用明细",
        )
        with closing(records):
            for number, cells in records:
                while file_format == "xlsx" and len(rows) < number - 1:
                    rows.append([])  # an XLSX may skip empty rows: keep the sheet's numbers
                rows.append(cells)
                if len(rows) > most:
                    break
    except spreadsheets.SheetError as exc:
        raise error(SHEET_ERRORS[exc.reason], exc.message) from None
    return _checked(line_sheet.from_sheet(rows))


def json_lines(items: Sequence[Mapping[str, Any]]) -> list[FeeLine]:
    return _checked(line_sheet.from_json(items))


def _checked(report: line_sheet.LinesReport) -> list[FeeLine]:
    if not report.ok:
        raise E.claim_lines_rows_invalid(report.summary, errors={"report": report.as_dict()})
    return report.lines


# --- do they add up to the claim? -----------------------------------------------------------------


def mismatch(claim: Claim, lines: Sequence[FeeLine]) -> list[dict[str, Any]]:
    """How these lines fail to add up to the claim's amounts (empty when they do)."""
    checks = (
        (
            "out_of_policy",
            "明细全自费与超限价合计",
            "申请的医保范围外自费与特药费用合计",
            claim_lines.own_pay_total(lines),
            claim.out_of_policy_self_pay_fen + claim.special_drugs_fen,
        ),
        (
            "medfee_sumamt",
            "明细金额合计",
            "医疗费用总额",
            sum(line.det_item_fee_sumamt_fen for line in lines),
            claim.medfee_sumamt_fen,
        ),
    )
    return [
        {
            "field": name,
            "lines_fen": got,
            "claim_fen": want,
            "difference_fen": got - want,
            "zh": f"{what} {yuan_plain(got)} 元，与{against} {yuan_plain(want)} 元"
            f"相差 {yuan_plain(abs(got - want))} 元",
        }
        for name, what, against, got, want in checks
        if got != want
    ]


def check_adds_up(claim: Claim, lines: Sequence[FeeLine]) -> None:
    gaps = mismatch(claim, lines)
    if gaps:
        raise E.claim_lines_do_not_add_up(
            "；".join(g["zh"] for g in gaps) + "。请核对费用明细或理赔金额",
            errors={"totals": gaps},
        )


def check_stored(session: Session, claim: Claim) -> None:
    """At submission and answer: lines stored earlier still add up to the amounts (the member
    may have changed the amounts since)."""
    rows = claim_lines.rows_of(session, claim.id)
    if rows:
        check_adds_up(claim, [claim_lines.fee_line(r) for r in rows])


# --- storing --------------------------------------------------------------------------------------


def _readjudicate(session: Session, claim: Claim) -> None:
    """The engine on the new lines (nothing is settled: approval re-runs it again)."""
    year = accumulators.year_of(session, claim.person_id, claim.product_id, claim.plan_year)
    record_figure(claim, run_episode(session, claim, year), year.version)


def _member_claim(session: Session, member_id: int, claim_id: int) -> Claim:
    claim = own_claim(session, member_id, claim_id)
    if claim.status not in EDITABLE:
        raise E.claim_not_editable()
    if claim.source != "documents":
        raise E.claim_lines_from_bureau()
    return claim


def _staff_claim(session: Session, actor: Principal, claim_id: int) -> Claim:
    claim = reviewable(session, actor, claim_id)
    if claim.status not in REVIEWABLE:
        raise E.claim_state_conflict("只有人工审核中的理赔申请可以更正费用明细")
    return claim


def member_lines(member_id: int, claim_id: int, read: Callable[[], list[FeeLine]]) -> Claim:
    """The member's list (`read` parses it, once the claim is known to be theirs and open to
    change) replaces the claim's lines (a photographed claim they may still change)."""
    with read_scope() as s:
        _member_claim(s, member_id, claim_id)
    lines = read()
    with transaction() as s:
        claim = _member_claim(s, member_id, claim_id)
        check_adds_up(claim, lines)
        claim_lines.store(s, claim, lines, "member")
        if claim.status != ClaimStatus.DRAFT:
            _readjudicate(s, claim)
        audit(
            s,
            actor_type="member",
            actor_id=member_id,
            action="claim.lines.replaced",
            object_type="claim",
            object_id=claim.id,
            detail={"lines": len(lines), "source": "member"},
        )
    return claim


def staff_lines(
    actor: Principal, claim_id: int, read: Callable[[], list[FeeLine]], reason: str
) -> Claim:
    """The assigned reviewer's lines replace the claim's (e.g. a one-tap claim held because the
    bureau's fee detail did not add up); the claim is re-adjudicated; audited with the reason."""
    with read_scope() as s:
        _staff_claim(s, actor, claim_id)
    lines = read()
    with transaction() as s:
        claim = _staff_claim(s, actor, claim_id)
        check_adds_up(claim, lines)
        claim_lines.store(s, claim, lines, "staff")
        _readjudicate(s, claim)
        audit(
            s,
            actor_type="staff",
            actor_id=actor.id,
            action="claim.lines.replaced",
            object_type="claim",
            object_id=claim.id,
            detail={"lines": len(lines), "source": "staff", "reason": reason},
        )
    return claim
