"""Dates as people in the city see them: Asia/Shanghai.

`now_utc()` is the one clock the services read (database.utcnow delegates to it). `backdated`
shifts it for the current context only; the demo seed uses it to record last December's
enrollment of the showcase family, so their 2026 policies cover the bureau's 2026 settlements.
Nothing else may use it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

_shift: ContextVar[timedelta] = ContextVar("clock_shift", default=timedelta(0))


def now_utc() -> datetime:
    return datetime.now(UTC) + _shift.get()


def today_shanghai() -> date:
    return now_utc().astimezone(SHANGHAI).date()


def age_on(birth: date, day: date) -> int:
    """Age in whole years on `day` (a birthday counts from the day itself)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


@contextlib.contextmanager
def backdated(at: datetime) -> Iterator[None]:
    """Run the block as if it were `at` (an aware datetime), the clock still ticking."""
    token = _shift.set(at - datetime.now(UTC))
    try:
        yield
    finally:
        _shift.reset(token)
