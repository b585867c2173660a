"""The public statistics of one product's plan year, built from its counters (pure).

Input: the product's counter cells {(month, metric, dimension): value} (aggregates.counters_for),
the region's basic-insured population, and the minimum cell size. Output: the year and each
month that has any counter, every figure a cell {"value", "suppressed"} (rates: {"basis_points",
"display", "suppressed"}); a suppressed cell has value null.

What is suppressed (suppression.py does the work):
- count cells under the minimum (people per insurance type, per funding source and in all;
  claims received, settled, paid), and the unpublished counts behind published amounts
  (policies issued behind premiums collected, refund payments behind premiums refunded);
- complementary cells, over the equations year = sum of months (every figure that adds up) and
  all people = sum per insurance type = sum per funding source (every period);
- linked cells, hidden together because each gives the others away: people enrolled, policies
  issued and premiums collected (a flat premium times the people is the premium collected);
  refund payments and premiums refunded; claims settled and the amount settled; claims paid,
  the amount paid, the average and the largest claim;
- derived figures: the participation rate with the people enrolled; the loss ratio when the
  amount paid, the premiums collected or the premiums refunded is hidden.

Rates: the participation rate is people enrolled / basic-insured population; the loss ratio is
amount paid / (premiums collected - premiums refunded). Both in basis points, rounded half up
(round_half_up_fen on the exact integer ratio), and displayed with two decimals ("88.00%").
A month's rate is of that month's flows. A rate whose denominator is missing or not positive is
null without being suppressed.
"""

from __future__ import annotations

from collections.abc import Mapping

from app.common.money import BP, round_half_up_fen
from app.disclosure import metrics as agg
from app.disclosure.suppression import primary_suppressed, suppress

YEAR = "year"


def rate_display(basis_points: int) -> str:
    """8800 -> '88.00%', 5 -> '0.05%'."""
    whole, rest = divmod(basis_points, 100)
    return f"{whole}.{rest:02d}%"


def ratio_bp(numerator: int, denominator: int | None) -> int | None:
    """numerator / denominator in basis points, half up; None without a positive denominator."""
    if denominator is None or denominator <= 0 or numerator < 0:
        return None
    return round_half_up_fen(numerator * BP, denominator)


class _Table:
    """Values per cell key; a key is (figure, period) or (figure, dimension, period)."""

    def __init__(self, counters: Mapping[tuple[str, str, str], int]) -> None:
        self.by_month_metric: dict[tuple[str, str], dict[str, int]] = {}
        for (month, metric, dimension), value in counters.items():
            self.by_month_metric.setdefault((month, metric), {})[dimension] = value
        self.months = sorted({month for month, _, _ in counters})
        self.periods = [*self.months, YEAR]
        self.values: dict[tuple, int] = {}

    def raw(self, period: str, metric: str, dimension: str | None = None) -> int:
        """A metric in one period: one dimension, or all dimensions added (or the largest, for
        a maximum); the year adds (or takes the largest of) its months."""
        found: list[int] = []
        for month in self.months if period == YEAR else [period]:
            cells = self.by_month_metric.get((month, metric), {})
            found += cells.values() if dimension is None else [cells.get(dimension, 0)]
        if metric in agg.MAXIMUM_METRICS:
            return max(found, default=0)
        return sum(found)

    def define(self, key: tuple, value: int) -> tuple:
        self.values[key] = value
        return key


def product_statistics(
    counters: Mapping[tuple[str, str, str], int],
    *,
    plan_year: int,
    population: int | None,
    min_cell: int,
) -> dict:
    """{"year": figures, "months": [figures, ...]} for one product (see module doc)."""
    t = _Table(counters)
    counts: list[tuple] = []
    equations: list[list[tuple]] = []
    links: list[list[tuple]] = []
    columns: dict[tuple, list[tuple]] = {}

    def cell(figure: tuple, period: str, value: int, *, count: bool) -> tuple:
        key = t.define((*figure, period), value)
        columns.setdefault(figure, []).append(key)
        if count:
            counts.append(key)
        return key

    for p in t.periods:
        by_type = [
            cell(
                ("insurance_type", it), p, t.raw(p, agg.ENROLLED_BY_INSURANCE_TYPE, it), count=True
            )
            for it in agg.INSURANCE_TYPES
        ]
        by_source = [
            cell(
                ("funding_source", fs), p, t.raw(p, agg.ENROLLED_BY_FUNDING_SOURCE, fs), count=True
            )
            for fs in agg.FUNDING_SOURCES
        ]
        enrolled = cell(("enrolled",), p, sum(t.values[k] for k in by_type), count=True)
        equations += [[*by_type, enrolled], [*by_source, enrolled]]
        issued = cell(("issued",), p, t.raw(p, agg.POLICIES_ISSUED), count=True)
        collected = cell(("collected",), p, t.raw(p, agg.PREMIUMS_COLLECTED_FEN), count=False)
        refunds = cell(("refunds",), p, t.raw(p, agg.REFUNDS), count=True)
        refunded = cell(("refunded",), p, t.raw(p, agg.PREMIUMS_REFUNDED_FEN), count=False)
        cell(("received",), p, t.raw(p, agg.CLAIMS_RECEIVED), count=True)
        settled = cell(("settled",), p, t.raw(p, agg.CLAIMS_SETTLED), count=True)
        settled_fen = cell(
            ("settled_fen",), p, t.raw(p, agg.CLAIMS_SETTLED_PAYABLE_FEN), count=False
        )
        paid = cell(("paid",), p, t.raw(p, agg.CLAIMS_PAID), count=True)
        paid_fen = cell(("paid_fen",), p, t.raw(p, agg.CLAIMS_PAID_FEN), count=False)
        t.define(("largest", p), t.raw(p, agg.LARGEST_CLAIM_PAID_FEN))
        links += [
            [enrolled, issued, collected],
            [refunds, refunded],
            [settled, settled_fen],
            [paid, paid_fen, ("largest", p)],
        ]
    # Every figure that adds up: the year is the sum of its months.
    equations += [keys for keys in columns.values()]
    hidden = suppress(t.values, primary_suppressed(t.values, counts, min_cell), equations, links)

    def figures(p: str) -> dict:
        def show(key: tuple) -> dict:
            if key in hidden:
                return {"value": None, "suppressed": True}
            return {"value": t.values[key], "suppressed": False}

        def rate(value: int | None, suppressed: bool) -> dict:
            if suppressed:
                return {"basis_points": None, "display": None, "suppressed": True}
            return {
                "basis_points": value,
                "suppressed": False,
                "display": None if value is None else rate_display(value),
            }

        v = lambda name: t.values[(name, p)]  # noqa: E731
        net_premium = v("collected") - v("refunded")
        paid_hidden = ("paid", p) in hidden
        average = round_half_up_fen(v("paid_fen"), v("paid")) if v("paid") > 0 else None
        return {
            "period": str(plan_year) if p == YEAR else p,
            "enrolled_people": show(("enrolled", p)),
            "enrolled_by_insurance_type": {
                it: show(("insurance_type", it, p)) for it in agg.INSURANCE_TYPES
            },
            "enrolled_by_funding_source": {
                fs: show(("funding_source", fs, p)) for fs in agg.FUNDING_SOURCES
            },
            "participation_rate": rate(
                ratio_bp(v("enrolled"), population), ("enrolled", p) in hidden
            ),
            "premiums_collected_fen": show(("collected", p)),
            "premiums_refunded_fen": show(("refunded", p)),
            "claims_received": show(("received", p)),
            "claims_settled": show(("settled", p)),
            "claims_paid": show(("paid", p)),
            "amount_settled_fen": show(("settled_fen", p)),
            "amount_paid_fen": show(("paid_fen", p)),
            "loss_ratio": rate(
                ratio_bp(v("paid_fen"), net_premium),
                any((name, p) in hidden for name in ("paid_fen", "collected", "refunded")),
            ),
            "average_claim_paid_fen": (
                {"value": None, "suppressed": True}
                if paid_hidden
                else {"value": average, "suppressed": False}
            ),
            "largest_claim_paid_fen": (
                {"value": None, "suppressed": True}
                if paid_hidden
                else {"value": v("largest") if v("paid") > 0 else None, "suppressed": False}
            ),
        }

    return {"year": figures(YEAR), "months": [figures(m) for m in t.months]}
