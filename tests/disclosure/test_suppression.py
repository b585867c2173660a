"""Small-cell and complementary suppression, table-driven (app/disclosure/suppression.py and
the public tables of app/disclosure/statistics.py). Each row can be checked by hand."""

from __future__ import annotations

import pytest

from app.disclosure import aggregates as agg
from app.disclosure.statistics import product_statistics, rate_display, ratio_bp
from app.disclosure.suppression import primary_suppressed, suppress

K = 10

# Cells are months m1..m3 and the year y of one figure: y = m1 + m2 + m3.
COLUMN = [["m1", "m2", "m3", "y"]]

SUPPRESS_CASES = [
    # (id, values, primary, equations, links, hidden)
    (
        "nothing small: nothing hidden",
        {"m1": 20, "m2": 30, "m3": 40, "y": 90},
        set(),
        COLUMN,
        [],
        set(),
    ),
    # m2 = 4 is hidden; alone, 80 - 20 - 56 would give it back, so the smallest other
    # non-zero cell (m1 = 20, smaller than m3 = 56 and y = 80) is hidden too.
    (
        "one small month takes the smallest other month with it",
        {"m1": 20, "m2": 4, "m3": 56, "y": 80},
        {"m2"},
        COLUMN,
        [],
        {"m2", "m1"},
    ),
    # m1 = 0 is published; the complement is the smallest NON-ZERO cell: m3 = 30.
    (
        "a zero is never the complement",
        {"m1": 0, "m2": 4, "m3": 30, "y": 34},
        {"m2"},
        COLUMN,
        [],
        {"m2", "m3"},
    ),
    # Two hidden months: 40 - 30 = 10 = m1 + m2 but neither alone is known.
    (
        "two small months protect each other",
        {"m1": 3, "m2": 7, "m3": 30, "y": 40},
        {"m1", "m2"},
        COLUMN,
        [],
        {"m1", "m2"},
    ),
    # m2 = 5 is the only non-zero month, so y = 5 is the one other non-zero cell.
    (
        "the year is the complement when it is the only non-zero cell",
        {"m1": 0, "m2": 5, "m3": 0, "y": 5},
        {"m2"},
        COLUMN,
        [],
        {"m2", "y"},
    ),
    # Equal candidates (m1 = m3 = 12): the earlier cell of the equation is taken.
    (
        "ties go to the earlier cell",
        {"m1": 12, "m2": 2, "m3": 12, "y": 26},
        {"m2"},
        COLUMN,
        [],
        {"m2", "m1"},
    ),
    # A hidden zero (hidden through a link) with every other cell zero: nothing to protect.
    (
        "a hidden zero among zeros adds nothing",
        {"m1": 0, "m2": 0, "m3": 0, "y": 0},
        {"m2"},
        COLUMN,
        [],
        {"m2"},
    ),
    # Count c1 = 3 hides its amount a1 (linked); a1's column then needs a complement: the
    # smaller of a2 = 900 and ay = 1,200 is a2, and a2 hides its count c2 through the link,
    # which completes the counts' column (c1, c2 hidden; cy published).
    (
        "links hide a count's amount and the complement's count",
        {"c1": 3, "c2": 10, "cy": 13, "a1": 300, "a2": 900, "ay": 1200},
        {"c1"},
        [["c1", "c2", "cy"], ["a1", "a2", "ay"]],
        [["c1", "a1"], ["c2", "a2"]],
        {"c1", "a1", "a2", "c2"},
    ),
    # Two-way table: rows are months (total t = e + r), columns are figures (year = m1 + m2).
    #            e    r    t
    #     m1    40   20   60
    #     m2    12    3   15
    #     y     52   23   75
    # r2 = 3 is primary. Row m2 (e2, r2, t2) -> hide e2 = 12 (< t2 = 15). Column r (r1, r2, ry)
    # -> hide r1 = 20 (< ry = 23). Column e (e1, e2, ey) -> hide e1 = 40 (< ey = 52).
    # Row m1 now has e1 and r1 hidden; the totals and the year row stay published.
    (
        "two-way table",
        {"e1": 40, "r1": 20, "t1": 60, "e2": 12, "r2": 3, "t2": 15, "ey": 52, "ry": 23, "ty": 75},
        {"r2"},
        [
            ["e1", "r1", "t1"],
            ["e2", "r2", "t2"],
            ["ey", "ry", "ty"],
            ["e1", "e2", "ey"],
            ["r1", "r2", "ry"],
            ["t1", "t2", "ty"],
        ],
        [],
        {"r2", "e2", "r1", "e1"},
    ),
]


@pytest.mark.parametrize(
    "values, primary, equations, links, hidden",
    [case[1:] for case in SUPPRESS_CASES],
    ids=[case[0] for case in SUPPRESS_CASES],
)
def test_suppress(values, primary, equations, links, hidden):
    result = suppress(values, primary, equations, links)
    assert result == hidden
    for equation in equations:  # the property the rule exists for
        hidden_here = [c for c in equation if c in result]
        assert len(hidden_here) != 1 or all(values[c] == 0 for c in equation), equation


@pytest.mark.parametrize(
    "value, hidden", [(0, False), (1, True), (9, True), (10, False), (11, False)]
)
def test_primary_threshold(value, hidden):
    """Under 10 is hidden, except 0 (describes nobody); 10 itself is published."""
    assert primary_suppressed({"c": value}, ["c"], K) == ({"c"} if hidden else set())


@pytest.mark.parametrize(
    "numerator, denominator, expected",
    [
        (35_000, 44_500, 7_865),  # 35,000 x 10,000 / 44,500 = 7,865.17 -> 7,865
        (1, 20_000, 1),  # 0.5 bp -> 1 (half up)
        (1, 20_001, 0),  # 0.49998 bp -> 0
        (8_900, 8_900, 10_000),  # 100%
        (5, None, None),  # no population configured
        (5, 0, None),  # nothing to divide by
    ],
)
def test_ratio_bp(numerator, denominator, expected):
    assert ratio_bp(numerator, denominator) == expected


@pytest.mark.parametrize(
    "bp, text", [(8800, "88.00%"), (5, "0.05%"), (12345, "123.45%"), (0, "0.00%")]
)
def test_rate_display(bp, text):
    assert rate_display(bp) == text


def _counters(rows):
    """Counter cells as the upserts leave them: rows for the same cell add up."""
    cells: dict = {}
    for month, metric, dim, value in rows:
        cells[(month, metric, dim)] = cells.get((month, metric, dim), 0) + value
    return cells


def _enrolled(month, insurance_type, source, people, premium=8900):
    return [
        (month, agg.ENROLLED_BY_INSURANCE_TYPE, insurance_type, people),
        (month, agg.ENROLLED_BY_FUNDING_SOURCE, source, people),
        (month, agg.POLICIES_ISSUED, "", people),
        (month, agg.PREMIUMS_COLLECTED_FEN, source, people * premium),
    ]


def test_public_table_with_a_small_resident_cell():
    """The two-way table above, built from counters: 2026-01 has 40 employees and 20 residents,
    2026-02 has 12 employees and 3 residents, everyone paying by WeChat."""
    counters = _counters(
        _enrolled("2026-01", "employee", "wechat", 40)
        + _enrolled("2026-01", "resident", "wechat", 20)
        + _enrolled("2026-02", "employee", "wechat", 12)
        + _enrolled("2026-02", "resident", "wechat", 3)
    )
    stats = product_statistics(counters, plan_year=2026, population=1_000_000, min_cell=K)
    jan, feb = stats["months"]
    year = stats["year"]
    hidden = lambda p, t: p["enrolled_by_insurance_type"][t]["suppressed"]  # noqa: E731
    assert [hidden(p, t) for p in (jan, feb, year) for t in ("employee", "resident")] == [
        True,
        True,
        True,
        True,
        False,
        False,
    ]
    assert year["enrolled_by_insurance_type"]["resident"]["value"] == 23
    # The people in all and by source are large enough to publish in every period.
    assert [p["enrolled_people"]["value"] for p in (jan, feb, year)] == [60, 15, 75]
    assert feb["enrolled_by_funding_source"]["wechat"]["value"] == 15
    # 15 x 8,900 = 133,500 fen; 15 / 1,000,000 = 0.15 bp -> 0 bp.
    assert feb["premiums_collected_fen"] == {"value": 133_500, "suppressed": False}
    assert feb["participation_rate"] == {"basis_points": 0, "display": "0.00%", "suppressed": False}
    # 75 / 1,000,000 = 0.75 bp -> 1 bp (half up).
    assert year["participation_rate"]["basis_points"] == 1


def test_few_people_hide_the_premiums_and_the_loss_ratio():
    """12 people in January, 4 in February (all by personal account); 3 claims paid in March.
    February's 4 are hidden, January's 12 with them (else 16 - 12); the premiums go with the
    people; 3 claims paid hide the amount paid, the average, the largest claim and, through
    the amount paid, the loss ratio of March and of the year."""
    counters = _counters(
        _enrolled("2026-01", "employee", "personal_account", 12)
        + _enrolled("2026-02", "employee", "personal_account", 4)
        + [
            ("2026-03", agg.CLAIMS_PAID, "", 3),
            ("2026-03", agg.CLAIMS_PAID_FEN, "", 30_000),
            ("2026-03", agg.LARGEST_CLAIM_PAID_FEN, "", 20_000),
        ]
    )
    stats = product_statistics(counters, plan_year=2026, population=None, min_cell=K)
    jan, feb, mar = stats["months"]
    year = stats["year"]
    assert jan["enrolled_people"]["suppressed"] and feb["enrolled_people"]["suppressed"]
    assert year["enrolled_people"] == {"value": 16, "suppressed": False}
    assert (
        jan["premiums_collected_fen"]["suppressed"] and feb["premiums_collected_fen"]["suppressed"]
    )
    assert year["premiums_collected_fen"] == {"value": 16 * 8900, "suppressed": False}
    for period in (mar, year):
        for name in (
            "claims_paid",
            "amount_paid_fen",
            "average_claim_paid_fen",
            "largest_claim_paid_fen",
        ):
            assert period[name] == {"value": None, "suppressed": True}, name
        assert period["loss_ratio"]["suppressed"] is True
    # Without a configured population the participation rate is null, not suppressed.
    assert year["participation_rate"] == {
        "basis_points": None,
        "display": None,
        "suppressed": False,
    }
    # With a minimum of 1 everything is published: 30,000 / 142,400 = 2,106.74 -> 2,107 bp.
    open_stats = product_statistics(counters, plan_year=2026, population=None, min_cell=1)
    assert open_stats["year"]["loss_ratio"]["basis_points"] == 2_107
    assert open_stats["year"]["average_claim_paid_fen"]["value"] == 10_000
    assert open_stats["year"]["largest_claim_paid_fen"]["value"] == 20_000


def test_refunds_hide_with_their_own_count():
    """2 refund payments in a month: the refunded amount is hidden, and so is the loss ratio
    (premium and paid published would give the refunds back through it)."""
    counters = _counters(
        _enrolled("2026-01", "resident", "wechat", 50)
        + [
            ("2026-01", agg.REFUNDS, "wechat", 2),
            ("2026-01", agg.PREMIUMS_REFUNDED_FEN, "wechat", 17_800),
            ("2026-01", agg.CLAIMS_PAID, "", 20),
            ("2026-01", agg.CLAIMS_PAID_FEN, "", 200_000),
        ]
    )
    year = product_statistics(counters, plan_year=2026, population=None, min_cell=K)["year"]
    assert year["premiums_refunded_fen"] == {"value": None, "suppressed": True}
    assert year["premiums_collected_fen"] == {"value": 445_000, "suppressed": False}
    assert year["amount_paid_fen"] == {"value": 200_000, "suppressed": False}
    assert year["loss_ratio"]["suppressed"] is True
