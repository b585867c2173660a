"""Claim and payout statuses as StrEnums (members equal their strings: `claim.status ==
ClaimStatus.PAID` holds for a row read back as plain str). New beside the claims package while it
is being split; claims/workflow.py STATUSES and claims/models.py PAYOUT_STATUSES are to be derived
from these (tests/test_statuses.py checks they agree meanwhile)."""

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


class PayoutStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
