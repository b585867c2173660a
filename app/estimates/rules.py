"""The value estimate's pure rules: which past plan year is recomputed, why a person's year paid
nothing, and the per-person and family totals by bucket."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from app.common.money import yuan_plain

NOTICE = (
    "以上金额是按今天在售产品的条款，对过去一个保障年度的医保结算记录所作的重新计算（假设当时已参保、"
    "无既往症、每笔结算都及时申请理赔），仅供参考，不是对过去或未来赔付的承诺；"
    "实际赔付以保险合同条款和理赔审核为准。"
)


@dataclass(frozen=True)
class Period:
    """The care dates recomputed: `plan_year`'s coverage dates (`start`..`cover_ends`, as a
    policy of that year would have covered them), records fetched up to `end` (today at most)."""

    plan_year: int
    start: date
    end: date
    cover_ends: date
    to_date: bool  # the year is still running: records up to today


def _shifted(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def past_period(
    plan_year: int, coverage_starts: date, coverage_ends: date, today: date
) -> Period | None:
    """The last plan year as the product on sale would have covered it: the year before the
    product's own when its cover has not begun yet (the usual autumn sale of next year's
    product), else the product's own year up to today (a window extended into the cover year).
    None when not a day of it has passed."""
    if today < coverage_starts:
        ends = _shifted(coverage_ends, 1)
        return Period(plan_year - 1, _shifted(coverage_starts, 1), ends, ends, False)
    end = min(coverage_ends, today)
    return Period(plan_year, coverage_starts, end, coverage_ends, end < coverage_ends)


@dataclass(frozen=True)
class RecordFigures:
    """What the estimate needs from one record's outcome (plain data, no engine types)."""

    payable_fen: int
    run: bool  # False: not run at all (reversed, not a covered kind of care)
    by_bucket: Mapping[str, int]
    deductible_fen: int  # own money absorbed by the deductible on this record
    counted_fen: int  # own money the buckets counted


def by_bucket(items: Iterable[Mapping[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        for bucket, fen in item.items():
            if fen:
                out[bucket] = out.get(bucket, 0) + fen
    return dict(sorted(out.items()))


def why_nothing(records: list[RecordFigures]) -> str | None:
    """Plain words for a year that would have paid nothing (None when something was paid)."""
    if any(r.payable_fen for r in records):
        return None
    run = [r for r in records if r.run]
    if not records:
        return "该年度医保系统中没有结算记录，因此不会产生赔付"
    if not run:
        return "该年度的结算记录均已冲销或不属于保障范围，因此不会产生赔付"
    counted = sum(r.counted_fen for r in run)
    if counted == 0:
        return (
            "该年度的费用都已由基本医保等报销，没有可计入保障责任的个人自付费用，因此不会产生赔付"
        )
    absorbed = sum(r.deductible_fen for r in run)
    if absorbed >= counted:
        return (
            f"该年度可计入的个人自付费用合计 {yuan_plain(counted)} 元，"
            "未超过免赔额，因此不会产生赔付"
        )
    return "该年度的费用按条款计算后可赔付金额为 0 元（详见各笔说明）"
