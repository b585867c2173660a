"""The refund rule (退保), pure: within `within_days` of payment (Asia/Shanghai dates, the
payment day is day 0 and the last day counts) and, when the product requires it, no claim filed.

A claim counts against the refund only if its care could fall in the cover: a claim whose care
began before the policy's cover started is refused by adjudication (`care_outside_coverage`) and
can never be paid, so it does not take the member's right to a refund away. A claim whose date
of care is not known yet (a draft-like intake) counts, to be safe.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from app.products.definition import RefundRule

WINDOW_PASSED = "refund_window_passed"
CLAIM_EXISTS = "refund_claim_exists"


def claim_blocks_refund(care_start: date | None, coverage_start: date) -> bool:
    return care_start is None or care_start >= coverage_start


def refund_refusal(
    rule: RefundRule,
    *,
    paid_on: date,
    today: date,
    coverage_start: date,
    claim_care_starts: Iterable[date | None],
) -> str | None:
    """The error code refusing the refund, or None when it is allowed."""
    if (today - paid_on).days > rule.within_days:
        return WINDOW_PASSED
    if rule.requires_no_claim and any(
        claim_blocks_refund(start, coverage_start) for start in claim_care_starts
    ):
        return CLAIM_EXISTS
    return None
