"""The per-product plan the engine keeps (app/adjudication/plan.py), the result's lines made on
first read (model.Adjudication.written) and the engine's own rounding call (money.fen_of): none
may change a figure or a word."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.adjudication import Explanation, adjudicate
from app.adjudication.money import BP, fen_of, round_half_up_fen
from app.adjudication.plan import plan
from tests.adjudication.products import (
    GANZHOU,
    HEALTHY,
    Y,
    bucket,
    claim,
    make_product,
    policy_for,
)

DAY = date(2026, 3, 1)


def _one_bucket(ratio_bp: int):
    return make_product(
        bucket(
            "in_policy",
            ["in_policy_self_pay"],
            deductible=0,
            healthy=ratio_bp,
            pre=ratio_bp,
            cap=10**9,
        )
    )


def test_a_copy_with_another_window_shares_the_plan():
    extended = replace(GANZHOU, window_closes=date(2026, 12, 31))
    assert plan(extended) is plan(GANZHOU)


def test_a_new_product_is_never_served_an_old_plan():
    """Products made and dropped one after another (as hypothesis does): each pays its own
    ratio. 1,000 yuan at 50% then at 70%..."""
    for ratio_bp in (5000, 7000, 9000, 5000):
        product = _one_bucket(ratio_bp)
        result = adjudicate(product, claim(DAY, in_=1_000 * Y), policy_for(product), HEALTHY)
        assert result.payable_fen == 1_000 * Y * ratio_bp // 10_000
        del product, result


def test_a_deductible_key_collision_is_refused_every_time():
    """A bucket with its own deductible and a group of its name (the loader refuses such a
    product; the engine checks again for one built by hand): refused on every call, no plan
    is kept for it."""
    base = _one_bucket(5000)
    own = base.buckets[0]
    grouped = replace(
        own, code="out", counts=("out_of_policy_self_pay",), deductible_group="in_policy"
    )
    clash = replace(base, buckets=(own, grouped))
    for _ in range(2):
        with pytest.raises(ValueError, match="accumulator keys would collide"):
            adjudicate(clash, claim(DAY, in_=1_000 * Y), policy_for(clash), HEALTHY)


def test_lines_are_made_when_read_and_survive_replace():
    result = adjudicate(GANZHOU, claim(DAY, in_=30_000 * Y), policy_for(GANZHOU), HEALTHY)
    assert "lines" not in vars(result)  # nothing made yet
    lines = result.lines
    assert all(isinstance(line, Explanation) for line in lines)
    assert result.lines is lines  # made once
    assert [line.code for line in lines][-1] == "payable_total"
    assert lines[-1].zh == "本次赔付合计 11,250.00 元"  # (30,000 - 15,000) x 75%
    copy = replace(result, decision="review")
    assert copy.lines == lines and copy.decision == "review" and copy != result


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**15))
def test_the_engines_rounding_is_round_half_up_fen(numerator: int):
    assert fen_of(numerator) == round_half_up_fen(numerator, BP)
