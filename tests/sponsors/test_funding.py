"""Funding rules: how much one programme pays towards one premium (fen; basis points).

Percentages round half up to the fen with `round_half_up_div(premium x bp, 10000)`, which is
floor((2n + d) / 2d): exact integer arithmetic, no floats.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.sponsors.rules import FundingRule, RuleError, round_half_up_div, subsidy_for

SUBSIDY_CASES = [
    # rule, premium, expected
    pytest.param(FundingRule.full(), 8900, 8900, id="full: the whole 89 yuan"),
    pytest.param(FundingRule.full(), 0, 0, id="full of nothing is nothing"),
    pytest.param(FundingRule.fixed(5000), 8900, 5000, id="fixed 50 yuan of 89: 5000"),
    pytest.param(
        FundingRule.fixed(10000), 8900, 8900, id="fixed 100 yuan capped at the 89 yuan premium"
    ),
    pytest.param(FundingRule.fixed(8900), 8900, 8900, id="fixed equal to the premium"),
    pytest.param(FundingRule.percentage(5000), 8900, 4450, id="50% of 8900 = 4450 exactly"),
    pytest.param(
        FundingRule.percentage(5000), 9999, 5000, id="50% of 9999 = 4999.5 -> 5000 (half up)"
    ),
    pytest.param(FundingRule.percentage(3333), 8900, 2966, id="33.33% of 8900 = 2966.37 -> 2966"),
    pytest.param(FundingRule.percentage(2500), 8902, 2226, id="25% of 8902 = 2225.5 -> 2226"),
    pytest.param(FundingRule.percentage(7000), 5900, 4130, id="70% of 5900 = 4130"),
    pytest.param(FundingRule.percentage(6667), 12900, 8600, id="66.67% of 12900 = 8600.43 -> 8600"),
    pytest.param(FundingRule.percentage(1), 4999, 0, id="0.01% of 4999 = 0.4999 -> 0"),
    pytest.param(FundingRule.percentage(1), 5000, 1, id="0.01% of 5000 = 0.5 -> 1"),
    pytest.param(FundingRule.percentage(10000), 12900, 12900, id="100% is the premium"),
]


@pytest.mark.parametrize("rule, premium, expected", SUBSIDY_CASES)
def test_subsidy_for(rule, premium, expected):
    assert subsidy_for(rule, premium) == expected


ROUNDING_CASES = [
    # numerator, denominator, expected
    (5, 2, 3),  # 2.5 -> 3
    (7, 2, 4),  # 3.5 -> 4
    (4, 2, 2),  # 2 exactly
    (1, 3, 0),  # 0.333 -> 0
    (2, 3, 1),  # 0.667 -> 1
    (0, 7, 0),
    (44995000, 10000, 4500),  # 4499.5 -> 4500
    (44994999, 10000, 4499),  # 4499.4999 -> 4499
]


@pytest.mark.parametrize("numerator, denominator, expected", ROUNDING_CASES)
def test_round_half_up_div(numerator, denominator, expected):
    assert round_half_up_div(numerator, denominator) == expected


@given(st.integers(0, 10**12), st.integers(1, 10**6))
def test_round_half_up_div_agrees_with_decimal(numerator, denominator):
    expected = (Decimal(numerator) / Decimal(denominator)).quantize(
        Decimal(1), rounding=ROUND_HALF_UP
    )
    assert round_half_up_div(numerator, denominator) == int(expected)


@given(st.integers(0, 10**7), st.integers(1, 10000))
def test_percentage_never_exceeds_the_premium_and_grows_with_the_rate(premium, bp):
    paid = subsidy_for(FundingRule.percentage(bp), premium)
    assert 0 <= paid <= premium
    if bp < 10000:
        assert paid <= subsidy_for(FundingRule.percentage(bp + 1), premium)


BAD_RULES = [
    pytest.param(lambda: FundingRule("donation"), "funding_kind", id="unknown kind"),
    pytest.param(lambda: FundingRule.fixed(0), "funding_amount", id="fixed 0"),
    pytest.param(lambda: FundingRule.fixed(-100), "funding_amount", id="fixed negative"),
    pytest.param(lambda: FundingRule.fixed(True), "funding_amount", id="fixed bool"),
    pytest.param(lambda: FundingRule("fixed"), "funding_amount", id="fixed without amount"),
    pytest.param(
        lambda: FundingRule("full", amount_fen=100), "funding_amount", id="full with amount"
    ),
    pytest.param(lambda: FundingRule.percentage(0), "funding_basis_points", id="0 bp"),
    pytest.param(lambda: FundingRule.percentage(10001), "funding_basis_points", id="above 100%"),
    pytest.param(
        lambda: FundingRule("percentage", basis_points=50.0), "funding_basis_points", id="float bp"
    ),
    pytest.param(
        lambda: FundingRule("fixed", amount_fen=100, basis_points=10),
        "funding_basis_points",
        id="fixed with bp",
    ),
]


@pytest.mark.parametrize("make, code", BAD_RULES)
def test_bad_rules_are_refused(make, code):
    with pytest.raises(RuleError) as caught:
        make()
    assert caught.value.code == code


@pytest.mark.parametrize("premium", [-1, 89.0, None])
def test_premium_must_be_a_non_negative_integer(premium):
    with pytest.raises(RuleError):
        subsidy_for(FundingRule.full(), premium)


@pytest.mark.parametrize("numerator, denominator", [(-1, 2), (1, 0), (1, -2)])
def test_rounding_domain(numerator, denominator):
    with pytest.raises(RuleError):
        round_half_up_div(numerator, denominator)
