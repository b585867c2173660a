"""The value estimate's pure rules: the past plan year recomputed, why nothing would have been
paid, totals by bucket."""

from __future__ import annotations

from datetime import date

import pytest

from app.estimates.rules import Period, RecordFigures, by_bucket, past_period, why_nothing

Y_START, Y_END = date(2027, 1, 1), date(2027, 12, 31)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        # next year's product on sale in the autumn: last year in full
        (
            date(2026, 11, 23),
            Period(2026, date(2026, 1, 1), date(2026, 12, 31), date(2026, 12, 31), False),
        ),
        (
            date(2026, 12, 31),
            Period(2026, date(2026, 1, 1), date(2026, 12, 31), date(2026, 12, 31), False),
        ),
        # the window extended into the cover year: the product's own year, to date
        (
            date(2027, 1, 1),
            Period(2027, date(2027, 1, 1), date(2027, 1, 1), date(2027, 12, 31), True),
        ),
        (
            date(2027, 3, 15),
            Period(2027, date(2027, 1, 1), date(2027, 3, 15), date(2027, 12, 31), True),
        ),
        (
            date(2028, 2, 1),
            Period(2027, date(2027, 1, 1), date(2027, 12, 31), date(2027, 12, 31), False),
        ),
    ],
)
def test_past_period(today, expected):
    assert past_period(2027, Y_START, Y_END, today) == expected


def test_past_period_of_a_cover_starting_on_29_february():
    period = past_period(2028, date(2028, 2, 29), date(2029, 2, 28), date(2028, 1, 10))
    assert (period.start, period.end) == (date(2027, 2, 28), date(2028, 2, 28))


def _fig(payable=0, run=True, counted=0, deductible=0, buckets=None):
    return RecordFigures(payable, run, buckets or {}, deductible, counted)


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        ([], "没有结算记录"),
        ([_fig(run=False)], "已冲销或不属于保障范围"),
        ([_fig(counted=0)], "没有可计入保障责任的个人自付费用"),
        ([_fig(counted=900_000, deductible=900_000)], "合计 9000.00 元，未超过免赔额"),
        (
            [_fig(counted=500_000, deductible=500_000), _fig(counted=300_000, deductible=300_000)],
            "合计 8000.00 元，未超过免赔额",
        ),
        ([_fig(counted=2_000_000, deductible=1_500_000)], "可赔付金额为 0 元"),
        ([_fig(payable=1), _fig(counted=5, deductible=5)], None),
    ],
)
def test_why_nothing(records, expected):
    answer = why_nothing(records)
    if expected is None:
        assert answer is None
    else:
        assert expected in answer


def test_by_bucket_adds_up_and_drops_zeroes():
    assert by_bucket([{"b": 100, "a": 0}, {"b": 50, "c": 7}, {}]) == {"b": 150, "c": 7}
