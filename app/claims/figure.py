"""What approving a claim would pay: the figure a reviewer sees and approves.

A claim waiting for a reviewer keeps the figure of its last adjudication (`payable_fen`, with the
explanation), computed against the person-year's accumulators at `adjudicated_version`. When
another claim of the same person-year settles, the accumulators move on and that figure goes
stale (a deductible met since: the claim now pays more). Approval always re-runs the engine, so:

- `approval_figure` is the one computation approval settles at (special-drug caps retaken,
  the episode, the accumulators as they are now);
- `current_figure` runs it read-only (a scope that rolls back) for the claim page, so the page
  shows what approval would pay, with the explanation as of now;
- `stale_claims` tells the queue, in one statement, which listed figures were computed before
  the accumulators last moved (the queue marks them; their page shows the new figure);
- `check_expected`: an approval that carries the figure the reviewer saw is refused (409
  claim_payable_changed, nothing changes) when approval would pay another amount.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.claims import accumulators
from app.claims import lines as claim_lines
from app.claims.adjudication_run import SETTLE_ATTEMPTS, adjudication_json, run_episode
from app.claims.models import AccumulatorYear, Claim
from app.claims.statuses import ClaimStatus
from app.claims.supplements import EpisodeRun
from app.common.money import yuan
from app.database import get_session, read_scope
from app.error_catalogue import E

# Claims whose figure is still to be decided on: shown as of now, marked stale in the queue.
UNDECIDED = (
    ClaimStatus.PENDING_REVIEW,
    ClaimStatus.RECHECK,
    ClaimStatus.MORE_INFO_REQUESTED,
)


@dataclass(frozen=True)
class ApprovalFigure:
    """The engine's run as approval would settle it, read at accumulator `version`."""

    year: accumulators.AccumulatorYear
    version: int
    run: EpisodeRun
    adjudication: dict  # the explanation approval records

    @property
    def payable_fen(self) -> int:
        return self.run.payable_fen


def approval_figure(session: Session, claim: Claim) -> ApprovalFigure:
    """The run approval settles at. A special-drug purchase whose reservation was given back
    takes it again first (within the cap; StaleAccumulators when the cap moved meanwhile)."""
    notes = claim_lines.retake_caps(session, claim)
    year = accumulators.year_of(session, claim.person_id, claim.product_id, claim.plan_year)
    version = year.version
    run = run_episode(session, claim, year)
    adjudication = claim_lines.noted(run.adjudication(adjudication_json(run.result)), notes)
    return ApprovalFigure(year, version, run, adjudication)


@dataclass(frozen=True)
class CurrentFigure:
    """What approving the claim would pay now, beside the figure stored at its last
    adjudication."""

    payable_fen: int
    decision: str
    adjudication: dict
    stored_fen: int | None

    @property
    def changed(self) -> bool:
        return self.stored_fen is not None and self.stored_fen != self.payable_fen


def current_figure(claim_id: int) -> CurrentFigure | None:
    """The engine re-run read-only for a claim awaiting a decision (None for any other: its
    figure is settled, or it has none yet; None too if special-drug caps keep moving under it).
    Nothing it computes is kept: the scope rolls back (the person-year row it may create, the
    lines' matching it writes back, a retaken cap)."""
    for _ in range(SETTLE_ATTEMPTS):
        try:
            with read_scope() as s:
                claim = s.get(Claim, claim_id)
                if claim is None or claim.status not in UNDECIDED or claim.adjudication is None:
                    return None
                stored = claim.payable_fen
                figure = approval_figure(s, claim)
                return CurrentFigure(
                    payable_fen=figure.payable_fen,
                    decision=figure.run.result.decision,
                    adjudication=figure.adjudication,
                    stored_fen=stored,
                )
        except accumulators.StaleAccumulators:  # a cap moved while read: read it again
            continue
    # Still moving: the page shows the stored figure, and approval's own check stands guard.
    return None


def stale_claims(claims: Iterable[Claim]) -> set[int]:
    """The ids of `claims` awaiting a decision whose stored figure was computed against older
    accumulators than the person-year's now (one statement). A figure from before the version
    was recorded (a NULL version) counts as stale once the year has moved at all."""
    waiting = [c for c in claims if c.status in UNDECIDED and c.payable_fen is not None]
    if not waiting:
        return set()
    rows = get_session().execute(
        select(
            AccumulatorYear.person_id,
            AccumulatorYear.product_id,
            AccumulatorYear.plan_year,
            AccumulatorYear.version,
        ).where(AccumulatorYear.person_id.in_({c.person_id for c in waiting}))
    )
    versions = {(p, product, year): v for p, product, year, v in rows}
    stale = set()
    for c in waiting:
        now = versions.get((c.person_id, c.product_id, c.plan_year), 0)
        if now != (c.adjudicated_version or 0):
            stale.add(c.id)
    return stale


def check_expected(expected_fen: int | None, figure: ApprovalFigure) -> None:
    """409 claim_payable_changed when the reviewer approved `expected_fen` and approval would
    pay another amount (the caller's transaction then rolls back: nothing changes)."""
    if expected_fen is None or expected_fen == figure.payable_fen:
        return
    raise E.claim_payable_changed(
        f"理算结果已变化（如同一年度的其他理赔已结算）：您核准的应赔金额为 "
        f"{yuan(expected_fen)} 元，按当前累计额应赔 {yuan(figure.payable_fen)} 元。"
        "请核对新的理算说明后重新核准",
        errors={"payable": {"expected_fen": expected_fen, "current_fen": figure.payable_fen}},
    )
