"""What reviewers read: the review queue and a claim with its health data (audited)."""

from __future__ import annotations

from sqlalchemy import select

from app.audit.services import record as audit
from app.auth.principal import Principal
from app.claims.models import Claim
from app.claims.statuses import ClaimStatus
from app.claims.workflow import FILED
from app.database import get_session, transaction
from app.error_catalogue import E


def queue(
    actor: Principal,
    *,
    status: str | None = None,
    assigned: str | None = None,
    flag: str | None = None,
    care_kind: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[Claim]:
    q = select(Claim).where(Claim.status.in_(FILED))
    q = q.where(Claim.status == (status or ClaimStatus.PENDING_REVIEW))
    if assigned == "me":
        q = q.where(Claim.assigned_staff_id == actor.id)
    elif assigned == "unassigned":
        q = q.where(Claim.assigned_staff_id.is_(None))
    if care_kind:
        q = q.where(Claim.care_kind == care_kind)
    if before_id:
        q = q.where(Claim.id < before_id)
    rows = list(
        get_session().scalars(q.order_by(Claim.id.desc()).limit(limit if not flag else 1000))
    )
    if flag:
        rows = [c for c in rows if any(f.get("code") == flag for f in c.flags or [])][:limit]
    return rows


def staff_get(actor: Principal, claim_id: int) -> Claim:
    """A claim with its health data: every staff read is audited in the same transaction."""
    with transaction() as s:
        claim = s.get(Claim, claim_id)
        if claim is None or claim.status == ClaimStatus.DRAFT:
            raise E.claim_not_found()
        audit(
            s,
            actor_type="staff",
            actor_id=actor.id,
            action="claim.read",
            object_type="claim",
            object_id=claim.id,
        )
    return claim
