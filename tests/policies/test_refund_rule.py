"""The refund rule (app/policies/rules.py): 15 days from payment, no claim filed, and a claim
whose care began before cover does not count. Pure, table-driven."""

from __future__ import annotations

from datetime import date

import pytest

from app.policies.rules import CLAIM_EXISTS, WINDOW_PASSED, refund_refusal
from app.products.definition import RefundRule

RULE = RefundRule(within_days=15, requires_no_claim=True)
PAID = date(2026, 12, 6)
COVER = date(2027, 1, 1)  # bought in December for next year


@pytest.mark.parametrize(
    "rule, today, claims, refusal",
    [
        (RULE, date(2026, 12, 6), [], None),
        (RULE, date(2026, 12, 21), [], None),  # day 15 counts
        (RULE, date(2026, 12, 22), [], WINDOW_PASSED),
        (RULE, date(2026, 12, 10), [date(2026, 11, 30)], None),  # care before cover
        (RULE, date(2026, 12, 10), [date(2026, 12, 31)], None),  # the day before cover
        (RULE, date(2026, 12, 10), [date(2027, 1, 1)], CLAIM_EXISTS),  # care in cover
        (RULE, date(2026, 12, 10), [None], CLAIM_EXISTS),  # care date not stated
        (RULE, date(2026, 12, 10), [date(2026, 11, 30), date(2027, 1, 2)], CLAIM_EXISTS),
        (RULE, date(2026, 12, 22), [date(2026, 11, 30)], WINDOW_PASSED),
        (RefundRule(15, requires_no_claim=False), date(2026, 12, 10), [date(2027, 1, 1)], None),
    ],
)
def test_refund_rule(rule, today, claims, refusal):
    assert (
        refund_refusal(
            rule, paid_on=PAID, today=today, coverage_start=COVER, claim_care_starts=claims
        )
        == refusal
    )
