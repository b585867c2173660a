"""Writing the claim the counter settled: the same rows a member's one-tap claim leaves behind
when it is submitted, approved automatically and paid (the claim, its itemised lines with what
the match made of them, the audit record, its three transitions, the claim ledger, the public
counters, the member's message), written at once in the confirmation's transaction instead of
one transition at a time, since nothing happens to the claim between them. Like an approved
claim, it holds what its lines count of special drugs' annual caps until it is cancelled.

They are written with Core statements, one per table (the lines, the transitions and the ledger
entries each one multi-row statement), not through the ORM's unit of work: the patient waits at
the counter, and flushing a dozen objects cost more CPU than the whole trial."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session

from app.adjudication.model import Adjudication
from app.audit.models import AuditEvent
from app.audit.services import values as audit_values
from app.catalogues.matching import FeeLine, LineMatch
from app.claims import lines as claim_lines
from app.claims.accumulators import StaleAccumulators
from app.claims.adjudication_run import adjudication_json
from app.claims.common import notification, transition
from app.claims.line_models import ClaimFeeLine
from app.claims.lines import FEE_LINE_FIELDS
from app.claims.models import Claim, ClaimLedgerEntry, ClaimTransition
from app.claims.statuses import ClaimStatus
from app.claims.workflow import next_status
from app.common.clock import SHANGHAI
from app.direct_settlement.rules import cancelled_explanation
from app.disclosure.aggregates import record_claim_settled_at_counter
from app.error_catalogue import E
from app.outbox.models import OutboxEvent

# The pipeline's path of an automatically approved settlement claim: (action, outcome).
PATH = (("submit", None), ("adjudicate", ClaimStatus.APPROVED), ("pay", None))

_INSERT = {
    "claim": insert(Claim.__table__).returning(Claim.__table__.c.id),
    "lines": insert(ClaimFeeLine.__table__),
    "transitions": insert(ClaimTransition.__table__),
    "ledger": insert(ClaimLedgerEntry.__table__),
    "audit": insert(AuditEvent.__table__),
    "outbox": insert(OutboxEvent.__table__),
}  # built once


def settled_claim(
    claim: Claim,
    result: Adjudication,
    matched: LineMatch | None,
    deltas: dict,
    now: datetime,
) -> Claim:
    """The draft `claim` (not in any session) as the pipeline leaves it after submit, automatic
    approval and payment of `result` (its status paid, or closed when nothing is payable)."""
    amount = result.payable_fen
    if matched is not None:  # the lines' amounts, as a claim's re-match writes them
        claim.out_of_policy_self_pay_fen = matched.out_of_policy_self_pay_fen
        claim.special_drugs_fen = matched.special_drugs_fen
    claim.decision, claim.payable_fen = result.decision, amount
    claim.adjudication = adjudication_json(result)
    claim.approved_fen, claim.applied_deltas = amount, deltas
    claim.status = _statuses(amount)[-1]
    claim.submitted_at = claim.decided_at = claim.paid_at = claim.updated_at = now
    claim.created_at = now
    claim.paid_fen = amount
    claim.settlement_disclosed = True  # counted below, at its first (and final) decision
    return claim


def _statuses(amount: int) -> list[ClaimStatus]:
    """draft -> submitted -> approved -> paid | closed, checked against the state machine."""
    status, out = ClaimStatus.DRAFT, [ClaimStatus.DRAFT]
    for action, outcome in PATH:
        if action == "pay":
            outcome = ClaimStatus.PAID if amount else ClaimStatus.CLOSED
        status = next_status(status, action, outcome)
        out.append(status)
    return out


def insert_claim(session: Session, claim: Claim) -> int:
    """Insert the settled claim (its attributes as set; the columns' defaults for the rest) and
    give it its id."""
    columns = Claim.__table__.columns
    row = {c.key: claim.__dict__[c.key] for c in columns if c.key in claim.__dict__}
    claim.id = session.execute(_INSERT["claim"], row).scalar_one()
    return claim.id


def record_history(
    session: Session,
    claim: Claim,
    matched: LineMatch | None,
    lines: list[FeeLine],
    reason: str,
    fixmedins_code: str,
    message: tuple[str, dict],
) -> None:
    """Everything else the inserted claim leaves behind but the public counters
    (count_publicly); `message` is the member's notification (kind, extra payload)."""
    by_sn = {e.feedetl_sn: e for e in (matched.explanations if matched else ())}
    now = claim.submitted_at
    rows = []
    for seq, line in enumerate(lines, start=1):
        e = by_sn.get(line.feedetl_sn)
        rows.append(
            {
                "claim_id": claim.id,
                "seq": seq,
                "source": "bureau",
                "reason_codes": list(e.reason_codes) if e is not None else [],
                "amount_kind": e.amount_kind if e is not None else None,
                "on_list_fen": e.on_list_fen if e is not None else 0,
                "off_list_fen": e.off_list_fen if e is not None else 0,
                "created_at": now,
                **{name: getattr(line, name) for name in FEE_LINE_FIELDS},
            }
        )
    if rows:
        session.execute(_INSERT["lines"], rows)
    amount = claim.paid_fen or 0
    statuses = _statuses(amount)
    session.execute(
        _INSERT["transitions"],
        [
            {
                "claim_id": claim.id,
                "action": action,
                "from_status": old,
                "to_status": new,
                "actor_type": "system",
                "actor_id": None,
                "reason": None if action == "submit" else reason,
                "created_at": now,
            }
            for (action, _), old, new in zip(PATH, statuses[:-1], statuses[1:], strict=True)
        ],
    )
    if amount:
        session.execute(
            _INSERT["ledger"],
            [
                {"claim_id": claim.id, "kind": "claim_approved", "amount_fen": amount},
                {"claim_id": claim.id, "kind": "claim_payout", "amount_fen": -amount},
            ],
        )
    session.execute(
        _INSERT["audit"],
        audit_values(
            actor_type="system",
            actor_id=None,
            action="claim.created",
            object_type="claim",
            object_id=claim.id,
            detail={"source": "direct_settlement", "institution": fixmedins_code},
        ),
    )
    kind, extra = message
    session.execute(_INSERT["outbox"], notification(claim, kind, **extra))


def count_publicly(session: Session, claim: Claim, settled_on: date) -> None:
    """The public figures' counters for the claim settled on `settled_on` (the settlement's own
    day, which a cancellation takes them back from). The confirmation calls this last, just
    before it commits: the counter rows are shared by every payment of the month (spread over
    slots), and a row stays locked from its upsert to the commit."""
    record_claim_settled_at_counter(
        session, claim.product_id, claim.plan_year, settled_on, claim.paid_fen or 0
    )


def hold_caps(session: Session, claim: Claim, matched: LineMatch | None) -> None:
    """The settled claim holds what its lines count of special drugs' annual caps (as an
    approved claim does, app/claims/lines.py); a purchase or claim that used a cap since the
    quote makes the trial stale."""
    try:
        claim_lines.hold_caps(session, claim, matched)
    except StaleAccumulators:
        raise E.direct_trial_stale() from None


def release_caps(session: Session, claim: Claim) -> None:
    """The settlement cancelled: what the claim held of special drugs' annual caps goes back."""
    claim_lines.release_caps(session, claim)


def reverse_claim(session: Session, claim: Claim, setl_sn: str, now: datetime) -> None:
    """The hospital cancelled the settlement at `now`: paid -> rejected (`reverse`), nothing
    approved or paid on it any more (its claim ledger nets to 0 already), `reversed_at` set (it
    reads 医院已撤销结算, not a denial), and its explanation keeps the engine's figures as what
    had been settled, closed by the day of the cancellation and 0 paid."""
    transition(
        session,
        claim,
        "reverse",
        actor_type="system",
        actor_id=None,
        reason=f"定点医院撤销一站式结算（结算流水号 {setl_sn}）",
    )
    claim.approved_fen = claim.paid_fen = 0
    claim.reversed_at = claim.updated_at = now
    if claim.adjudication is not None:
        claim.adjudication = cancelled_explanation(
            claim.adjudication, now.astimezone(SHANGHAI).date()
        )
