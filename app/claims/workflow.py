"""The claim state machine as data: which action moves a claim from which status to which.

    draft --submit--> submitted --adjudicate--> approved | pending_review | rejected
    pending_review --request_info--> more_info_requested --answer--> pending_review
    pending_review --approve--> approved;  pending_review --reject--> rejected
    rejected (automatic) --request_human_review--> pending_review   (PIPL art. 24)
    rejected (by a reviewer) --request_recheck--> recheck   (复核, once, within CLAIM_RECHECK_DAYS)
    recheck --approve--> approved;  recheck --uphold--> rejected (final)   (a different reviewer)
    approved --pay--> paid | closed (nothing to pay: the deductible absorbed it)
    approved --payout_failed--> pending_review (a transfer the bank refused goes back to a person)
    paid | closed --reverse--> rejected (the bureau reversed a settlement paid at the hospital
                                counter, 撤销: app/direct_settlement restores the accumulators)

A reversed claim stays `rejected` in the state machine (no longer live: the stay may be settled
or claimed again, and the unique index and the episode rules read `rejected` so), but it was
never rejected by anyone: it carries `reversed_at` and reads 医院已撤销结算 (`status_label`).

"adjudicated" is not a resting status: the adjudicate action records its own transition and
lands in one of its three outcomes in the same transaction.
"""

from __future__ import annotations

from datetime import datetime

from app.claims.statuses import ClaimStatus
from app.error_catalogue import E

# The CHECK constraint on claims.status is built from these strings (same values and order as
# the migrations wrote them).
STATUSES = tuple(s.value for s in ClaimStatus)

STATUS_LABELS: dict[str, str] = {
    ClaimStatus.DRAFT: "草稿",
    ClaimStatus.SUBMITTED: "已提交",
    ClaimStatus.PENDING_REVIEW: "人工审核中",
    ClaimStatus.MORE_INFO_REQUESTED: "待补充材料",
    ClaimStatus.APPROVED: "已核准，待支付",
    ClaimStatus.REJECTED: "未予赔付",
    ClaimStatus.PAID: "已赔付",
    ClaimStatus.CLOSED: "已结案（本次无赔付金额）",
    ClaimStatus.RECHECK: "复核中",
}

# A settlement the hospital cancelled at the counter (撤销): `rejected`, with `reversed_at`.
REVERSED_LABEL = "医院已撤销结算"


def status_label(status: str, reversed_at: datetime | None = None) -> str:
    """What the member and staff read for a claim's status: STATUS_LABELS, except that a
    counter settlement the hospital cancelled is not presented as a denial."""
    if status == ClaimStatus.REJECTED and reversed_at is not None:
        return REVERSED_LABEL
    return STATUS_LABELS[status]


# A reviewer's reasons for a rejection (the reject route's reason_code): the member reads the
# label, in the rejection's transition (`label：the reviewer's words`).
REJECT_REASON_LABELS: dict[str, str] = {
    "not_covered": "不属于保险责任",
    "outside_coverage": "超出保障期间或范围",
    "basic_insurance_suspended": "基本医保中断",
    "documents_invalid": "材料无效或不实",
    "fraud_confirmed": "经核实存在欺诈",
    "duplicate": "重复申请",
    "other": "其他原因",
}
REJECT_REASONS = tuple(REJECT_REASON_LABELS)

# (status, action) -> the statuses the action may lead to
TRANSITIONS: dict[tuple[str, str], tuple[ClaimStatus, ...]] = {
    (ClaimStatus.DRAFT, "submit"): (ClaimStatus.SUBMITTED,),
    (ClaimStatus.SUBMITTED, "adjudicate"): (
        ClaimStatus.APPROVED,
        ClaimStatus.PENDING_REVIEW,
        ClaimStatus.REJECTED,
    ),
    (ClaimStatus.PENDING_REVIEW, "request_info"): (ClaimStatus.MORE_INFO_REQUESTED,),
    (ClaimStatus.MORE_INFO_REQUESTED, "answer"): (ClaimStatus.PENDING_REVIEW,),
    (ClaimStatus.PENDING_REVIEW, "approve"): (ClaimStatus.APPROVED,),
    (ClaimStatus.PENDING_REVIEW, "reject"): (ClaimStatus.REJECTED,),
    (ClaimStatus.PENDING_REVIEW, "redetermine"): (ClaimStatus.PENDING_REVIEW,),
    (ClaimStatus.REJECTED, "request_human_review"): (ClaimStatus.PENDING_REVIEW,),
    (ClaimStatus.REJECTED, "request_recheck"): (ClaimStatus.RECHECK,),
    (ClaimStatus.RECHECK, "approve"): (ClaimStatus.APPROVED,),
    (ClaimStatus.RECHECK, "uphold"): (ClaimStatus.REJECTED,),
    (ClaimStatus.RECHECK, "redetermine"): (ClaimStatus.RECHECK,),
    (ClaimStatus.APPROVED, "pay"): (ClaimStatus.PAID, ClaimStatus.CLOSED),
    (ClaimStatus.APPROVED, "payout_failed"): (ClaimStatus.PENDING_REVIEW,),
    (ClaimStatus.PAID, "reverse"): (ClaimStatus.REJECTED,),
    (ClaimStatus.CLOSED, "reverse"): (ClaimStatus.REJECTED,),
}

# Where the member may still change the claim's contents (amounts, documents).
EDITABLE = (ClaimStatus.DRAFT, ClaimStatus.MORE_INFO_REQUESTED)
# Claims that count as "filed" for the refund rule (a draft has not been filed).
FILED = tuple(s for s in ClaimStatus if s != ClaimStatus.DRAFT)
# Claims a reviewer works on.
REVIEWABLE = (ClaimStatus.PENDING_REVIEW, ClaimStatus.RECHECK)


def next_status(status: str, action: str, outcome: str | None = None) -> ClaimStatus:
    """The status after `action`; `outcome` picks among several possible ones. Raises a 409
    Conflict with a stable code when the action is not allowed from `status`."""
    allowed = TRANSITIONS.get((status, action))
    if allowed is None:
        label = STATUS_LABELS.get(status, status)
        raise E.claim_state_conflict(f"理赔当前状态为“{label}”，不能执行此操作")
    if outcome is None:
        if len(allowed) != 1:
            raise ValueError(f"{action} from {status} needs an outcome among {allowed}")
        return allowed[0]
    if outcome not in allowed:
        raise ValueError(f"{action} from {status} cannot lead to {outcome}")
    return ClaimStatus(outcome)
