"""The claim state machine as data: which action moves a claim from which status to which.

    draft --submit--> submitted --adjudicate--> approved | pending_review | rejected
    pending_review --request_info--> more_info_requested --answer--> pending_review
    pending_review --approve--> approved;  pending_review --reject--> rejected
    rejected (automatic) --request_human_review--> pending_review   (PIPL art. 24)
    approved --pay--> paid | closed (nothing to pay: the deductible absorbed it)
    approved --payout_failed--> pending_review (a transfer the bank refused goes back to a person)

"adjudicated" is not a resting status: the adjudicate action records its own transition and
lands in one of its three outcomes in the same transaction.
"""

from __future__ import annotations

from app.errors import Conflict

STATUSES = (
    "draft",
    "submitted",
    "pending_review",
    "more_info_requested",
    "approved",
    "rejected",
    "paid",
    "closed",
)

STATUS_LABELS = {
    "draft": "草稿",
    "submitted": "已提交",
    "pending_review": "人工审核中",
    "more_info_requested": "待补充材料",
    "approved": "已核准，待支付",
    "rejected": "未予赔付",
    "paid": "已赔付",
    "closed": "已结案（本次无赔付金额）",
}

# (status, action) -> the statuses the action may lead to
TRANSITIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("draft", "submit"): ("submitted",),
    ("submitted", "adjudicate"): ("approved", "pending_review", "rejected"),
    ("pending_review", "request_info"): ("more_info_requested",),
    ("more_info_requested", "answer"): ("pending_review",),
    ("pending_review", "approve"): ("approved",),
    ("pending_review", "reject"): ("rejected",),
    ("pending_review", "redetermine"): ("pending_review",),
    ("rejected", "request_human_review"): ("pending_review",),
    ("approved", "pay"): ("paid", "closed"),
    ("approved", "payout_failed"): ("pending_review",),
}

# Where the member may still change the claim's contents (amounts, documents).
EDITABLE = ("draft", "more_info_requested")
# Claims that count as "filed" for the refund rule (a draft has not been filed).
FILED = tuple(s for s in STATUSES if s != "draft")
# Claims a reviewer works on.
REVIEWABLE = ("pending_review",)


def next_status(status: str, action: str, outcome: str | None = None) -> str:
    """The status after `action`; `outcome` picks among several possible ones. Raises a 409
    Conflict with a stable code when the action is not allowed from `status`."""
    allowed = TRANSITIONS.get((status, action))
    if allowed is None:
        raise Conflict(
            f"理赔当前状态为“{STATUS_LABELS.get(status, status)}”，不能执行此操作",
            code="claim_state_conflict",
        )
    if outcome is None:
        if len(allowed) != 1:
            raise ValueError(f"{action} from {status} needs an outcome among {allowed}")
        return allowed[0]
    if outcome not in allowed:
        raise ValueError(f"{action} from {status} cannot lead to {outcome}")
    return outcome
