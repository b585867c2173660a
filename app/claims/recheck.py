"""复核: a reviewer's rejection taken once, within CLAIM_RECHECK_DAYS, to a second reviewer who
is not the first. The member asks with a reason; the claim waits in the `recheck` status; any
other reviewer takes it (assign) and approves it (the normal approval path, payout included) or
upholds the rejection, which is then final. Automatic rejections have their own route to a
person (PIPL art. 24, review.request_human_review) and are not rechecked here."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.claims.common import (
    notify,
    own_claim,
    refuse_if_settlement_claimed_again,
    transition,
)
from app.claims.models import Claim
from app.claims.rules import rejection_final
from app.claims.statuses import ClaimStatus
from app.database import transaction, utcnow
from app.error_catalogue import E
from app.members.privacy_rules import OpenRecheck


def recheck_deadline(claim: Claim) -> datetime | None:
    """The last moment the member may ask (None: the claim's rejection is not one to recheck)."""
    if claim.status != ClaimStatus.REJECTED or claim.auto_rejected or claim.decided_at is None:
        return None
    return claim.decided_at + timedelta(days=current_app.config["CLAIM_RECHECK_DAYS"])


def final_rejection(claim: Claim, now: datetime) -> bool:
    """The claim's rejection is final at `now` (rules.rejection_final: a recheck upheld it, or
    CLAIM_RECHECK_DAYS passed since the decision with nothing asked)."""
    last = next((t for t in reversed(claim.transitions) if t.to_status == claim.status), None)
    return rejection_final(
        claim.status,
        last.action if last is not None else None,
        claim.decided_at,
        now,
        current_app.config["CLAIM_RECHECK_DAYS"],
    )


def recheck_available(claim: Claim) -> bool:
    """What the member's claim view offers: a reviewer's rejection, never rechecked, in time."""
    deadline = recheck_deadline(claim)
    return (
        deadline is not None
        and claim.recheck_requested_at is None
        and _rejecting_reviewer(claim) is not None
        and utcnow() <= deadline
    )


def open_rechecks(session: Session, member_id: int) -> list[OpenRecheck]:
    """The member's claims they may still take to 复核 now (`recheck_available`), with each
    deadline: the closure preview warns that closing gives them up (hooks.OPEN_RECHECKS)."""
    rejected = session.scalars(
        select(Claim)
        .where(
            Claim.member_id == member_id,
            Claim.status == ClaimStatus.REJECTED,
            Claim.auto_rejected.is_(False),
            Claim.recheck_requested_at.is_(None),
        )
        .options(selectinload(Claim.transitions))
        .order_by(Claim.id)
    )
    found = []
    for claim in rejected:
        deadline = recheck_deadline(claim)
        if deadline is not None and recheck_available(claim):
            found.append(OpenRecheck(claim.id, claim.claim_no, deadline))
    return found


def _rejecting_reviewer(claim: Claim) -> int | None:
    """The reviewer whose decision put the claim in `rejected` (the last transition into it must
    be a reviewer's `reject`; an engine denial or an upheld recheck is not)."""
    last = next((t for t in reversed(claim.transitions) if t.to_status == claim.status), None)
    if last is None or last.action != "reject" or last.actor_type != "staff":
        return None
    return last.actor_id


def request_recheck(member_id: int, claim_id: int, reason: str) -> Claim:
    with transaction() as s:
        claim = own_claim(s, member_id, claim_id)
        if claim.recheck_requested_at is not None:
            raise E.recheck_already_requested()
        deadline = recheck_deadline(claim)
        reviewer = _rejecting_reviewer(claim) if deadline is not None else None
        if deadline is None or reviewer is None:
            raise E.recheck_not_available()
        if utcnow() > deadline:
            days = current_app.config["CLAIM_RECHECK_DAYS"]
            raise E.recheck_period_passed(f"复核须在拒赔决定后 {days} 日内申请")
        refuse_if_settlement_claimed_again(s, claim)
        # Nobody holds the claim until a second reviewer takes it.
        transition(
            s,
            claim,
            "request_recheck",
            actor_type="member",
            actor_id=member_id,
            reason=reason,
            recheck_requested_at=utcnow(),
            rejected_by_staff_id=reviewer,
            assigned_staff_id=None,
        )
        notify(s, claim, "claim_recheck_requested")
    return claim


def check_second_reviewer(claim: Claim, staff_id: int) -> None:
    """A claim in recheck is never taken or decided by the reviewer who rejected it."""
    if claim.status == ClaimStatus.RECHECK and staff_id == claim.rejected_by_staff_id:
        raise E.recheck_same_reviewer()
