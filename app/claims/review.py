"""The human side of the workflow: the member's answer to a request for information, the
member's request for human review of an automatic rejection (PIPL art. 24), and the reviewer's
transitions (assign, request information, reject, redetermine, approve). A claim in 复核
(recheck.py) is decided with the same approve and reject, by a reviewer other than the first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.audit.services import record as audit
from app.auth.principal import Principal
from app.claims import accumulators
from app.claims.adjudication_run import (
    SETTLE_ATTEMPTS,
    after_approval,
    record_figure,
    run_episode,
    settle,
)
from app.claims.common import (
    disclose_settled,
    document_labels,
    notify,
    own_claim,
    refuse_if_settlement_claimed_again,
    transition,
)
from app.claims.figure import approval_figure, check_expected
from app.claims.intake import check_complete
from app.claims.models import Claim
from app.claims.payouts import pay, payee_failed_before
from app.claims.recheck import check_second_reviewer
from app.claims.statuses import ClaimStatus
from app.claims.workflow import REJECT_REASON_LABELS, next_status
from app.common.clock import SHANGHAI
from app.database import transaction, utcnow
from app.error_catalogue import E
from app.ops.metrics import claim_outcome

# --- member answers ---------------------------------------------------------------------------------


def answer(member_id: int, claim_id: int, message: str) -> Claim:
    with transaction() as s:
        claim = own_claim(s, member_id, claim_id)
        if claim.status != ClaimStatus.MORE_INFO_REQUESTED:
            raise E.claim_state_conflict("当前没有需要补充的材料")
        wanted = (claim.info_request or {}).get("documents", [])
        have_since = {
            d.doc_type
            for d in claim.documents
            if d.uploaded_at >= _as_aware((claim.info_request or {}).get("at"))
        }
        missing = [d for d in wanted if d not in have_since]
        if missing:
            labels = document_labels()
            raise E.claim_documents_missing(
                "请先上传：" + "、".join(labels.get(m, m) for m in missing),
                errors={"json": {"documents": missing}},
            )
        check_complete(claim)
        info = dict(claim.info_request or {}) | {
            "answer": message,
            "answered_at": utcnow().isoformat(),
        }
        transition(
            s,
            claim,
            "answer",
            actor_type="member",
            actor_id=member_id,
            reason=message,
            info_request=info,
        )
    return claim


def _as_aware(value: str | None) -> datetime:
    if not value:
        return datetime.min.replace(tzinfo=SHANGHAI)
    return datetime.fromisoformat(value)


def request_human_review(member_id: int, claim_id: int, reason: str) -> Claim:
    """PIPL art. 24: a person may refuse a decision made only by automated means."""
    with transaction() as s:
        claim = own_claim(s, member_id, claim_id)
        if claim.status != ClaimStatus.REJECTED or not claim.auto_rejected:
            raise E.human_review_not_available()
        refuse_if_settlement_claimed_again(s, claim)
        transition(
            s,
            claim,
            "request_human_review",
            actor_type="member",
            actor_id=member_id,
            reason=reason,
            human_review_requested_at=utcnow(),
            auto_rejected=False,
        )
    return claim


# --- reviewers ------------------------------------------------------------------------------------


def reviewable(session: Session, actor: Principal, claim_id: int) -> Claim:
    claim = session.get(Claim, claim_id)
    if claim is None or claim.status == ClaimStatus.DRAFT:
        raise E.claim_not_found()
    check_second_reviewer(claim, actor.id)
    if claim.assigned_staff_id != actor.id:
        raise E.claim_not_assigned()
    return claim


def assign(actor: Principal, claim_id: int, staff_id: int | None) -> Claim:
    from app.auth.models import StaffAccount

    with transaction() as s:
        claim = s.get(Claim, claim_id)
        if claim is None or claim.status == ClaimStatus.DRAFT:
            raise E.claim_not_found()
        target = staff_id if staff_id is not None else actor.id
        if actor.role == "reviewer" and target != actor.id:
            raise E.claim_assign_self_only()
        account = s.get(StaffAccount, target)
        if account is None or account.role != "reviewer" or getattr(account, "disabled", False):
            raise E.reviewer_not_found()
        check_second_reviewer(claim, target)
        claim.assigned_staff_id = target
        audit(
            s,
            actor_type="staff",
            actor_id=actor.id,
            action="claim.assigned",
            object_type="claim",
            object_id=claim.id,
            detail={"to": target},
        )
    return claim


def request_info(actor: Principal, claim_id: int, message: str, documents: list[str]) -> Claim:
    with transaction() as s:
        claim = reviewable(s, actor, claim_id)
        transition(
            s,
            claim,
            "request_info",
            actor_type="staff",
            actor_id=actor.id,
            reason=message,
            info_request={"message": message, "documents": documents, "at": utcnow().isoformat()},
        )
        notify(s, claim, "claim_more_info_requested", message=_info_request_notice(documents))
    return claim


def _info_request_notice(documents: list[str]) -> str:
    """The subscription message's text (at most 20 characters): what to send, by its label. Never
    the reviewer's words: they may name the insured or carry an ID number, and cut at 20
    characters they read as nothing; the claim's page shows them in full to the member."""
    labels = document_labels()
    asked = "、".join(labels.get(d, d) for d in documents)
    text = f"请补充{asked}" if asked else "请查看审核人员的补充要求"
    return text if len(text) <= 20 else text[:19] + "…"


def reject(actor: Principal, claim_id: int, reason_code: str, reason: str) -> Claim:
    """Reject a claim in review; on a claim in 复核 this upholds the first rejection (final: a
    claim is rechecked once)."""
    with transaction() as s:
        claim = reviewable(s, actor, claim_id)
        rechecked = claim.status == ClaimStatus.RECHECK
        transition(
            s,
            claim,
            "uphold" if rechecked else "reject",
            actor_type="staff",
            actor_id=actor.id,
            reason=f"{REJECT_REASON_LABELS[reason_code]}：{reason}",  # what the member reads
            decided_at=utcnow(),
            auto_rejected=False,
        )
        audit(  # the reason code, for whoever counts rejections by reason
            s,
            actor_type="staff",
            actor_id=actor.id,
            action="claim.upheld" if rechecked else "claim.rejected",
            object_type="claim",
            object_id=claim.id,
            detail={"reason_code": reason_code},
        )
        disclose_settled(s, claim, 0)
        notify(s, claim, "claim_recheck_upheld" if rechecked else "claim_rejected")
    claim_outcome(ClaimStatus.REJECTED)  # a reviewer's decision counts as the engine's does
    return claim


def redetermine(actor: Principal, claim_id: int, health: str, reason: str) -> Claim:
    """Override the pre-existing determination; the engine re-runs (nothing is settled yet)."""
    with transaction() as s:
        claim = reviewable(s, actor, claim_id)
        claim.health, claim.health_set_by = health, "reviewer"
        year = accumulators.year_of(s, claim.person_id, claim.product_id, claim.plan_year)
        record_figure(claim, run_episode(s, claim, year), year.version)
        transition(
            s,
            claim,
            "redetermine",
            actor_type="staff",
            actor_id=actor.id,
            reason=f"既往症认定改为 {'既往症' if health == 'pre_existing' else '健康体'}：{reason}",
        )
    return claim


def approve(
    actor: Principal, claim_id: int, reason: str, expected_payable_fen: int | None = None
) -> Claim:
    """Settle at the engine's figure against the accumulators as they are now (other claims of
    the year may have settled since the claim was first adjudicated). `expected_payable_fen`,
    the figure the reviewer saw: when approval would pay another amount, 409
    claim_payable_changed and nothing changes (the reviewer looks at the new figure first)."""
    for _ in range(SETTLE_ATTEMPTS):
        try:
            with transaction() as s:
                claim = reviewable(s, actor, claim_id)
                next_status(claim.status, "approve")
                if payee_failed_before(s, claim):
                    raise E.payee_account_failed("该理赔的收款账户此前转账失败，请先更正收款账户")
                figure = approval_figure(s, claim)
                check_expected(expected_payable_fen, figure)
                run = figure.run
                record_figure(claim, run, figure.version, figure.adjudication)
                if run.result.decision == "not_payable":
                    raise E.claim_not_payable()
                settle(s, claim, figure.year, figure.version, run)
                transition(
                    s,
                    claim,
                    "approve",
                    actor_type="staff",
                    actor_id=actor.id,
                    reason=reason,
                    decided_at=utcnow(),
                )
                after_approval(s, claim, actor_type="staff", actor_id=actor.id)
            break
        except accumulators.StaleAccumulators:
            continue
    else:
        raise E.claim_busy()
    claim_outcome(ClaimStatus.APPROVED)
    return pay(claim_id)
