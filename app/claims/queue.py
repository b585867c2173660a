"""What reviewers read: the review queue and a claim with its health data (audited)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.audit.services import record as audit
from app.auth.principal import Principal
from app.claims.models import Claim
from app.claims.statuses import ClaimStatus
from app.claims.workflow import FILED
from app.database import get_session, transaction, utcnow
from app.error_catalogue import E
from app.identity.idnumber import mask_name
from app.identity.models import Person

# Filters that read more than columns (flags, the masked name) look at this many newest claims.
QUEUE_SCAN = 1000


def queue(
    actor: Principal,
    *,
    status: str | None = None,
    assigned: str | None = None,
    flag: str | None = None,
    care_kind: str | None = None,
    claim_no: str | None = None,
    insured: str | None = None,
    min_age_days: int | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[Claim]:
    """The review queue, newest first. `claim_no` matches a claim number (or its start);
    `insured` the insured person's masked name as reviewers see it (`*伟`; a full name is
    masked first, so it finds no more than its mask would); `min_age_days` keeps claims
    submitted at least that many days ago."""
    q = select(Claim).where(Claim.status.in_(FILED))
    q = q.where(Claim.status == (status or ClaimStatus.PENDING_REVIEW))
    if assigned == "me":
        q = q.where(Claim.assigned_staff_id == actor.id)
    elif assigned == "unassigned":
        q = q.where(Claim.assigned_staff_id.is_(None))
    if care_kind:
        q = q.where(Claim.care_kind == care_kind)
    if claim_no:
        q = q.where(Claim.claim_no.startswith(claim_no.strip().upper(), autoescape=True))
    if min_age_days:
        q = q.where(Claim.submitted_at <= utcnow() - timedelta(days=min_age_days))
    if before_id:
        q = q.where(Claim.id < before_id)
    filtered_later = bool(flag or insured)
    named = q.join(Person, Person.id == Claim.person_id).add_columns(Person.name)
    rows = get_session().execute(
        named.order_by(Claim.id.desc()).limit(QUEUE_SCAN if filtered_later else limit)
    )
    wanted = _masked(insured)
    found = []
    for claim, name in rows:
        if flag and not any(f.get("code") == flag for f in claim.flags or []):
            continue
        if wanted is not None and mask_name(name) != wanted:
            continue
        found.append(claim)
    return found[:limit]


def _masked(insured: str | None) -> str | None:
    if not insured or not insured.strip():
        return None
    text = insured.strip()
    return text if "*" in text else mask_name(text)


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


def insured_names(claims: list[Claim]) -> dict[int, str]:
    """Claim id -> the insured person's masked name (as `GET /staff/claims/{id}` shows it)."""
    person_ids = {c.person_id for c in claims}
    if not person_ids:
        return {}
    names = dict(
        get_session().execute(select(Person.id, Person.name).where(Person.id.in_(person_ids))).all()
    )
    return {c.id: mask_name(names[c.person_id]) for c in claims}
