"""Payout recovery: after the bank refused a transfer, the member (or the reviewer the claim is
assigned to, audited) corrects the payee under the same rules as intake. A refused account is
remembered per claim by a keyed hash (app/claims/payouts.py) and is never accepted or paid again.
An approved claim (a transient failure) is paid at once under a new transfer id; a claim the
refusal sent back to review is paid when the reviewer approves it again."""

from __future__ import annotations

from sqlalchemy import select

from app.audit.services import record as audit
from app.auth.principal import Principal
from app.claims.common import existing, own_claim
from app.claims.intake import set_payee
from app.claims.models import Claim, Payout
from app.claims.payouts import failed_before, pay
from app.claims.review import reviewable
from app.claims.statuses import ClaimStatus, PayoutStatus
from app.database import transaction
from app.error_catalogue import E
from app.members.models import Member, Person

# Where a claim with a failed transfer can be (not yet paid, not refused).
CORRECTABLE = (ClaimStatus.PENDING_REVIEW, ClaimStatus.MORE_INFO_REQUESTED, ClaimStatus.APPROVED)


def _correct(session, claim: Claim, payee: dict, *, actor_type: str, actor_id: int) -> bool:
    """Set the new payee; True when the claim is approved and should be paid now."""
    statuses = set(session.scalars(select(Payout.status).where(Payout.claim_id == claim.id)))
    if PayoutStatus.PENDING in statuses:
        raise E.payout_in_progress()
    if PayoutStatus.FAILED not in statuses or claim.status not in CORRECTABLE:
        raise E.payee_change_not_allowed()
    account = payee["bank_account"].replace(" ", "")
    if failed_before(session, claim.id, account):
        message = "该账户此前转账失败，请更换收款账户"
        raise E.payee_account_failed(message, errors={"json": {"payee": [message]}})
    member = existing(session, Member, claim.member_id)
    set_payee(claim, member, existing(session, Person, claim.person_id), payee)
    audit(
        session,
        actor_type=actor_type,
        actor_id=actor_id,
        action="claim.payee_corrected",
        object_type="claim",
        object_id=claim.id,
        detail={"account_last4": claim.payee_account_last4},
    )
    return claim.status == ClaimStatus.APPROVED


def member_correct_payee(member_id: int, claim_id: int, payee: dict) -> Claim:
    with transaction() as s:
        claim = own_claim(s, member_id, claim_id)
        retry = _correct(s, claim, payee, actor_type="member", actor_id=member_id)
    return pay(claim_id) if retry else claim


def staff_correct_payee(actor: Principal, claim_id: int, payee: dict) -> Claim:
    with transaction() as s:
        claim = reviewable(s, actor, claim_id)
        retry = _correct(s, claim, payee, actor_type="staff", actor_id=actor.id)
    return pay(claim_id) if retry else claim
