"""How many more people a programme can pay for (pure): budget at the most it pays for one
person, and its quota of people, whichever is smaller."""

from __future__ import annotations

import pytest

from app.sponsors.rules import FundingRule, capacity
from tests.sponsors.test_matching import prog


@pytest.mark.parametrize(
    ("rule", "budget", "quota", "premium", "people", "per_person"),
    [
        (FundingRule.full(), 89_000, None, 8_900, 10, 8_900),
        (FundingRule.full(), 88_999, None, 8_900, 9, 8_900),  # a fen short of the tenth
        (FundingRule.full(), 0, None, 8_900, 0, 8_900),
        (FundingRule.full(), 89_000, 3, 8_900, 3, 8_900),  # the quota is smaller
        (FundingRule.full(), 89_000, 0, 8_900, 0, 8_900),
        (FundingRule.percentage(5000), 89_000, None, 8_900, 20, 4_450),
        (FundingRule.fixed(3_000), 10_000, None, 8_900, 3, 3_000),
        (FundingRule.fixed(20_000), 40_000, None, 8_900, 4, 8_900),  # never above the premium
        (FundingRule.full(), 89_000, None, 0, None, 0),  # nothing to pay, no quota: no limit
        (FundingRule.full(), 89_000, 7, 0, 7, 0),
    ],
)
def test_capacity(rule, budget, quota, premium, people, per_person):
    found = capacity(
        prog(1, rule=rule, budget_remaining_fen=budget, quota_remaining=quota), premium
    )
    assert (found.people, found.per_person_fen) == (people, per_person)
    assert found.covers(people or 0)
    if people is not None:
        assert not found.covers(people + 1)


def test_the_shortfall_names_the_numbers():
    found = capacity(prog(1, budget_remaining_fen=89_000, quota_remaining=50), 8_900)
    assert found.shortfall_text(12) == (
        "需资助 12 人，但剩余预算 890.00 元，每人最高资助 89.00 元，剩余资助人数名额 50 人，"
        "只够资助 10 人"
    )
