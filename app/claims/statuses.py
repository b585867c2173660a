"""Claim and payout statuses as StrEnums (members equal their strings: `claim.status ==
ClaimStatus.PAID` holds for a row read back as plain str). claims/workflow.py STATUSES and
claims/models.py PAYOUT_STATUSES (the strings the CHECK constraints are built from) are derived
from these; tests/test_statuses.py checks they agree with the constraints."""

from __future__ import annotations

from enum import StrEnum


class ClaimStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    PENDING_REVIEW = "pending_review"
    MORE_INFO_REQUESTED = "more_info_requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    PAID = "paid"
    CLOSED = "closed"
    # 复核: the member asked for a second reviewer to look at a reviewer's rejection
    RECHECK = "recheck"


class PayoutStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
