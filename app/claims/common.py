"""What every claim use case shares: the claim or policy a member may act on, the member's
verified identity, moving the state machine (with its transition record), notifying the
member, and the public-disclosure hooks (app/disclosure)."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Executable, select, update
from sqlalchemy.orm import Session

from app.claims.models import Claim, ClaimTransition
from app.claims.statuses import ClaimStatus
from app.claims.workflow import next_status, status_label
from app.common.clock import SHANGHAI, today_shanghai
from app.database import Base, utcnow
from app.error_catalogue import E
from app.members.models import Member
from app.outbox.services import enqueue
from app.policies.models import Policy
from app.policies.services import visible_to as policy_visible_to

RowT = TypeVar("RowT", bound=Base)

# --- public disclosure (maintained aggregates, app/disclosure) -----------------------------------


def disclose_received(session: Session, claim: Claim) -> None:
    from app.disclosure.aggregates import record_claim_received

    record_claim_received(session, claim.product_id, claim.plan_year, today_shanghai())


def disclose_settled(session: Session, claim: Claim, payable_fen: int) -> None:
    """Counted once, at the claim's first final decision (paid, closed or rejected). A denial
    later overturned on human review stays counted as first decided; its payment is counted
    when made."""
    from app.disclosure.aggregates import record_claim_settled

    if not claim.settlement_disclosed:
        record_claim_settled(
            session, claim.product_id, claim.plan_year, today_shanghai(), payable_fen
        )
        claim.settlement_disclosed = True


# --- access ---------------------------------------------------------------------------------------


def new_claim_no() -> str:
    return "CL" + datetime.now(SHANGHAI).strftime("%Y%m%d") + secrets.token_hex(6).upper()


def existing(session: Session, model: type[RowT], key: int) -> RowT:
    """A row whose id came from the database itself (a loaded row's non-null foreign key: a
    claim's person, policy and product, a payout's claim; a payout id the claims code wrote): it
    exists, so a miss is a broken database, never a caller's mistake."""
    row = session.get(model, key)
    assert row is not None, f"{model.__name__} {key} missing behind a foreign key"
    return row


def claim_by_id(session: Session, claim_id: int) -> Claim:
    """A claim the system itself names by id (the pipeline, payouts): drafts may be deleted, so a
    stale id is the ordinary not-found error."""
    claim = session.get(Claim, claim_id)
    if claim is None:
        raise E.claim_not_found()
    return claim


def rows_changed(session: Session, statement: Executable, params: dict | None = None) -> int:
    """How many rows a conditional UPDATE moved (its result is a CursorResult)."""
    return cast(CursorResult, session.execute(statement, params)).rowcount


def actable_policy(session: Session, member_id: int, policy_id: int) -> Policy:
    """A policy the member may claim on: their own, or a relative's that they paid for."""
    policy = session.scalar(
        select(Policy).where(Policy.id == policy_id, policy_visible_to(member_id))
    )
    if policy is None:
        raise E.policy_not_found()
    return policy


def own_claim(session: Session, member_id: int, claim_id: int, *, lock: bool = False) -> Claim:
    """The member's claim (404 for anyone else's); `lock` takes its row FOR UPDATE (PostgreSQL)
    for a check-then-write that must see every other writer's result."""
    stmt = select(Claim).where(Claim.id == claim_id, Claim.member_id == member_id)
    claim = session.scalar(stmt.with_for_update() if lock else stmt)
    if claim is None:
        raise E.claim_not_found()
    return claim


def transition(
    session: Session,
    claim: Claim,
    action: str,
    *,
    actor_type: str,
    actor_id: int | None,
    outcome: str | None = None,
    reason: str | None = None,
    **changes: Any,
) -> None:
    """Move the claim with a conditional UPDATE on its current status (a concurrent change makes
    this one a 409), record the transition, apply `changes` to the row."""
    old = claim.status
    new = next_status(old, action, outcome)
    moved = rows_changed(
        session,
        update(Claim)
        .where(Claim.id == claim.id, Claim.status == old)
        .values(status=new, updated_at=utcnow(), **changes),
    )
    if moved != 1:
        # a race, not a state the member can see: the detail says to refresh
        raise E.claim_state_conflict("理赔申请刚刚被其他操作更新，请刷新后重试")
    session.add(
        ClaimTransition(
            claim_id=claim.id,
            action=action,
            from_status=old,
            to_status=new,
            actor_type=actor_type,
            actor_id=actor_id,
            reason=reason,
        )
    )
    session.flush()
    session.refresh(claim)


def notify(session: Session, claim: Claim, kind: str, **extra: Any) -> None:
    enqueue(session, **notification(claim, kind, **extra))


def notification(claim: Claim, kind: str, **extra: Any) -> dict[str, Any]:
    """The member's message about the claim: member_id, kind and payload (outbox.enqueue's)."""
    return {
        "member_id": claim.member_id,
        "kind": kind,
        "payload": {
            "claim_no": claim.claim_no,
            "status": status_label(claim.status, claim.reversed_at),
            "page": f"pages/claims/detail?id={claim.id}",
            **extra,
        },
    }


def verified_member(session: Session, member_id: int) -> Member:
    member = session.get(Member, member_id)
    if member is None or member.person is None:
        raise E.identity_not_verified(status=403)
    return member


def document_labels() -> dict[str, str]:
    from app.documents.types import DOCUMENT_TYPE_LABELS

    return DOCUMENT_TYPE_LABELS


def refuse_if_settlement_claimed_again(session: Session, claim: Claim) -> None:
    """Before a rejected claim comes back to life (human review, 复核): if its bureau settlement
    was claimed again since, that claim carries it now (one live claim per settlement)."""
    if claim.setl_digest is not None and session.scalar(
        select(Claim.id).where(
            Claim.setl_digest == claim.setl_digest,
            Claim.id != claim.id,
            Claim.status != ClaimStatus.REJECTED,
        )
    ):
        raise E.settlement_already_claimed("该医保结算记录已有新的理赔申请，本申请不能再送审")
