"""The product calendar: pure rules over plan years (no Flask, no database).

A plan year is one product row (`plan_year`, its sale window, its cover period and the rule for
when cover starts, app/products/definition.py COVER_START_RULES). Several plan years may be on
sale on one day (the city's autumn window for next year while this year's is still open), and
one is in force. The rules here answer: which are on sale on a date, which is in force, and when
cover bought with a payment on a date starts. The premium is the whole year's, whatever the start
(no pro-rating): the terms price a plan year, not days of cover.

They take anything shaped like `PlanYear` (a ProductDefinition or a Product row) and plain dates.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    from app.products.definition import ProductDefinition


class PlanYear(Protocol):
    @property
    def plan_year(self) -> int: ...
    @property
    def window_opens(self) -> date: ...
    @property
    def window_closes(self) -> date: ...  # inclusive
    @property
    def coverage_starts(self) -> date: ...
    @property
    def coverage_ends(self) -> date: ...  # inclusive
    @property
    def cover_start_rule(self) -> str: ...


Y = TypeVar("Y", bound=PlanYear)


def on_sale_on(year: PlanYear, day: date) -> bool:
    """Inside the sale window; a fixed-start year is not sold once its cover has started (a
    payment then could not buy the cover the terms promise from the start date)."""
    if year.cover_start_rule == "fixed" and day > year.coverage_starts:
        return False
    return year.window_opens <= day <= year.window_closes


def on_sale(years: Iterable[Y], day: date) -> list[Y]:
    """The plan years on sale on `day`, the latest plan year first (what a member is offered by
    default)."""
    return sorted(
        (y for y in years if on_sale_on(y, day)),
        key=lambda y: (y.plan_year, y.window_opens),
        reverse=True,
    )


def in_force(years: Iterable[Y], day: date) -> list[Y]:
    """The plan years whose cover period contains `day`."""
    return [y for y in years if y.coverage_starts <= day <= y.coverage_ends]


def cover_start(year: PlanYear, paid_on: date, waiting_days: int = 0) -> date:
    """When cover bought with a payment on `paid_on` (an Asia/Shanghai date) starts.

    Paid before the cover period: from its start (e.g. 1 January). Paid on or after it, as the
    terms state: `payment_day` from the day of payment (自缴费成功之日起), `day_after_payment` from
    the next day (次日零时), each plus `waiting_days`; `fixed` is not sold then (`on_sale_on`), so
    it keeps the start date. Never later than the end of cover."""
    start = year.coverage_starts
    if paid_on >= start and year.cover_start_rule != "fixed":
        lag = 0 if year.cover_start_rule == "payment_day" else 1
        start = paid_on + timedelta(days=lag + waiting_days)
    return min(start, year.coverage_ends)


def cover_period(defn: ProductDefinition, paid_on: date) -> tuple[date, date]:
    """(start, end) of the cover a payment on `paid_on` buys under a product definition."""
    return cover_start(defn, paid_on, defn.late_enrollment_waiting_days), defn.coverage_ends
