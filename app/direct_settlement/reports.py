"""对账: a hospital's day (its count and sum of confirmed direct settlements, and optionally each
settlement number with its amount) against ours; every difference is kept for the operator."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import aliased

from app.database import read_scope, transaction
from app.direct_settlement.models import DirectSettlement, Institution, Reconciliation
from app.direct_settlement.statuses import DirectStatus

MISMATCHES = {
    "count_differs": "笔数不一致",
    "sum_differs": "金额合计不一致",
    "missing_here": "医院有、惠民保无（或已撤销）",
    "missing_there": "惠民保有、医院无",
    "amount_differs": "单笔金额不一致",
}
# The kinds that compare numbers of settlements (ours_count / theirs_count); every other kind
# compares amounts in fen (ours_fen / theirs_fen).
COUNT_KINDS = frozenset({"count_differs"})


def _m(code: str, setl_sn: str | None = None, ours: int | None = None, theirs: int | None = None):
    """One mismatch; its two figures in the count fields or the fen fields, by its kind (the
    others null), so that a count is never read as money."""
    counts = code in COUNT_KINDS
    return {
        "setl_sn": setl_sn,
        "code": code,
        "zh": MISMATCHES[code],
        "ours_count": ours if counts else None,
        "theirs_count": theirs if counts else None,
        "ours_fen": None if counts else ours,
        "theirs_fen": None if counts else theirs,
    }


def compare(ours: dict[str, int], count: int, sum_fen: int, items: list[dict] | None) -> list[dict]:
    """The differences between our confirmed settlements of a day (setl_sn -> fen) and the
    hospital's figures, totals first, then per settlement number (when it sent them)."""
    found = []
    if count != len(ours):
        found.append(_m("count_differs", None, len(ours), count))
    if sum_fen != sum(ours.values()):
        found.append(_m("sum_differs", None, sum(ours.values()), sum_fen))
    if items is not None:
        theirs = {i["setl_sn"]: i["amount_fen"] for i in items}
        for sn, amount in theirs.items():
            if sn not in ours:
                found.append(_m("missing_here", sn, None, amount))
            elif ours[sn] != amount:
                found.append(_m("amount_differs", sn, ours[sn], amount))
        found += [
            _m("missing_there", sn, amount, None) for sn, amount in ours.items() if sn not in theirs
        ]
    return found


def _view(row: Reconciliation, code: str) -> dict:
    return {
        "id": row.id,
        "fixmedins_code": code,
        "day": row.day,
        "their_count": row.their_count,
        "their_sum_fen": row.their_sum_fen,
        "our_count": row.our_count,
        "our_sum_fen": row.our_sum_fen,
        "matched": row.matched,
        "mismatches": row.mismatches,
        "created_at": row.created_at,
    }


def reconcile(inst_id: int, day: date, count: int, sum_fen: int, items: list[dict] | None) -> dict:
    """Compare and keep the report (matched or not)."""
    with transaction() as s:
        inst = s.get(Institution, inst_id)
        assert inst is not None
        ours = dict(
            s.execute(
                select(DirectSettlement.setl_sn, DirectSettlement.amount_fen).where(
                    DirectSettlement.institution_id == inst_id,
                    DirectSettlement.settled_on == day,
                    DirectSettlement.status == DirectStatus.CONFIRMED,
                )
            ).all()
        )
        found = compare(ours, count, sum_fen, items)
        row = Reconciliation(
            institution_id=inst_id,
            day=day,
            their_count=count,
            their_sum_fen=sum_fen,
            our_count=len(ours),
            our_sum_fen=sum(ours.values()),
            mismatches=found,
            matched=not found,
        )
        s.add(row)
        s.flush()
        return _view(row, inst.fixmedins_code)


def reconciliations(
    *, day: date | None = None, mismatched_only: bool = False, limit: int = 100
) -> list[dict]:
    """The latest reports, newest first (for the operator: CLI and staff API); `day`: only the
    reports of that day. `mismatched_only`: the hospital days whose latest report is mismatched
    (a day the hospital posted again and that now matches is settled, and its earlier mismatch
    no longer listed)."""
    with read_scope() as s:
        query = select(Reconciliation, Institution.fixmedins_code).join(
            Institution, Institution.id == Reconciliation.institution_id
        )
        if day is not None:
            query = query.where(Reconciliation.day == day)
        if mismatched_only:
            later = aliased(Reconciliation)
            superseded = (
                select(later.id)
                .where(
                    later.institution_id == Reconciliation.institution_id,
                    later.day == Reconciliation.day,
                    later.id > Reconciliation.id,
                )
                .exists()
            )
            query = query.where(Reconciliation.matched.is_(False), ~superseded)
        rows = s.execute(query.order_by(Reconciliation.id.desc()).limit(limit)).all()
        return [_view(row, code) for row, code in rows]
