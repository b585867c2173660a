"""The product calendar (app/products/plan_years.py): which plan years are on sale on a date,
which is in force, and when cover bought on a date starts. Pure, table-driven."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from app.products.plan_years import cover_start, in_force, on_sale, on_sale_on


@dataclass(frozen=True)
class Year:
    plan_year: int
    window_opens: date
    window_closes: date
    coverage_starts: date
    coverage_ends: date
    cover_start_rule: str


# The demo calendar: 2026 sold from autumn 2025, extended to the end of 2026, cover from payment
# day once the year has begun; 2027 sold with basic insurance in December, cover from 1 January.
Y2026 = Year(
    2026, date(2025, 10, 1), date(2026, 12, 31), date(2026, 1, 1), date(2026, 12, 31), "payment_day"
)
Y2027 = Year(
    2027, date(2026, 12, 1), date(2026, 12, 31), date(2027, 1, 1), date(2027, 12, 31), "fixed"
)
NEXT_DAY = Year(
    2026,
    date(2025, 10, 1),
    date(2026, 12, 31),
    date(2026, 1, 1),
    date(2026, 12, 31),
    "day_after_payment",
)


@pytest.mark.parametrize(
    "day, selling",
    [
        (date(2025, 9, 30), []),
        (date(2025, 10, 1), [2026]),
        (date(2026, 11, 30), [2026]),
        (date(2026, 12, 1), [2027, 2026]),  # both on sale: next year first (the default offer)
        (date(2026, 12, 6), [2027, 2026]),
        (date(2026, 12, 31), [2027, 2026]),
        (date(2027, 1, 1), []),
    ],
)
def test_plan_years_on_sale(day, selling):
    assert [y.plan_year for y in on_sale([Y2026, Y2027], day)] == selling


@pytest.mark.parametrize(
    "day, forced",
    [(date(2025, 12, 31), []), (date(2026, 12, 6), [2026]), (date(2027, 1, 1), [2027])],
)
def test_plan_year_in_force(day, forced):
    assert [y.plan_year for y in in_force([Y2026, Y2027], day)] == forced


def test_a_fixed_start_year_is_not_sold_once_cover_has_started_even_if_the_window_says_so():
    extended = Year(
        2027, date(2026, 12, 1), date(2027, 2, 28), date(2027, 1, 1), date(2027, 12, 31), "fixed"
    )
    assert on_sale_on(extended, date(2027, 1, 1)) and not on_sale_on(extended, date(2027, 1, 2))


@pytest.mark.parametrize(
    "year, paid_on, waiting, starts",
    [
        (Y2027, date(2026, 12, 1), 0, date(2027, 1, 1)),  # bought in December: from 1 January
        (Y2027, date(2026, 12, 31), 0, date(2027, 1, 1)),
        (Y2027, date(2027, 1, 1), 0, date(2027, 1, 1)),
        (Y2026, date(2025, 12, 20), 0, date(2026, 1, 1)),  # before the year: from its start
        (Y2026, date(2026, 1, 1), 0, date(2026, 1, 1)),
        (Y2026, date(2026, 12, 6), 0, date(2026, 12, 6)),  # 自缴费成功之日起: the payment day
        (Y2026, date(2026, 12, 6), 30, date(2026, 12, 31)),  # a waiting period, capped at the end
        (NEXT_DAY, date(2026, 12, 6), 0, date(2026, 12, 7)),  # 次日零时
        (NEXT_DAY, date(2026, 6, 1), 10, date(2026, 6, 12)),
        (NEXT_DAY, date(2026, 12, 31), 0, date(2026, 12, 31)),  # never after the end
        (NEXT_DAY, date(2025, 11, 1), 10, date(2026, 1, 1)),  # early: no waiting period
    ],
)
def test_cover_start_for_a_payment_date(year, paid_on, waiting, starts):
    assert cover_start(year, paid_on, waiting) == starts
