"""The dashboard's early warnings (app/disclosure/early_warnings.py), table-driven: each row is the
figures, the codes and levels expected, and where it matters the numbers behind the warning."""

from __future__ import annotations

import pytest

from app import config as settings
from app.disclosure.early_warnings import (
    BacklogFacts,
    BudgetFacts,
    FraudRateFacts,
    LossRatioFacts,
    PayoutFacts,
    Thresholds,
    budget_warnings,
    fraud_rate_warnings,
    has_fraud_flag,
    loss_ratio_warnings,
    payout_warnings,
    projected_loss_ratio_bp,
    reconciliation_warnings,
)

T = Thresholds(
    projection_min_days=30,
    budget_warn_bp=9000,
    reconciliation_age_seconds=3600,
    reconciliation_critical_seconds=86400,
    payout_failure_min=3,
    payout_failure_warn_bp=1000,
    payout_failure_critical_bp=5000,
    fraud_min_flagged=5,
    fraud_rate_factor_pct=200,
)


def _codes(found) -> list[tuple[str, str]]:
    return [(w.code, str(w.level)) for w in found]


# --- loss ratio -------------------------------------------------------------------------------


def _loss(paid: int, owed: int = 0, *, elapsed: int = 73, premium: int = 1_000_000, **kw):
    """A 365-day cover, 73 days in (a fifth): the run rate multiplies incurred claims by 5."""
    base = {
        "net_premium_fen": premium,
        "claims_paid_fen": paid,
        "claims_approved_unpaid_fen": owed,
        "coverage_days": 365,
        "elapsed_days": elapsed,
        "floor_bp": 8000,
        "corridor_low_bp": 9500,
        "corridor_high_bp": 10500,
    }
    return LossRatioFacts(**{**base, **kw})


LOSS_CASES = [
    # id, facts, projected bp, expected (code, level)s
    # 190,000 x 5 = 950,000 of 1,000,000: exactly 95%, inside the corridor.
    ("at the corridor's lower edge", _loss(190_000), 9500, []),
    # 210,000 x 5 = 1,050,000: exactly 105%, still inside.
    ("at the corridor's upper edge", _loss(210_000), 10500, []),
    # 189,999 x 5 = 949,995 -> 94.9995%, shown as 9500 bp but below 95% exactly.
    (
        "a fen under the corridor (rounded display 95.00%)",
        _loss(189_999),
        9500,
        [("loss_ratio_projected_below_corridor", "warning")],
    ),
    (
        "a fen over the corridor",
        _loss(210_001),
        10500,
        [("loss_ratio_projected_above_corridor", "critical")],
    ),
    # 159,999 x 5 = 799,995 -> below the 80% floor: the floor outranks the corridor.
    (
        "below the floor",
        _loss(159_999),
        8000,
        [("loss_ratio_projected_below_floor", "critical")],
    ),
    ("at the floor", _loss(160_000), 8000, [("loss_ratio_projected_below_corridor", "warning")]),
    # Approved claims awaiting their transfer count as incurred: 150,000 + 40,000 = 190,000.
    ("approved and unpaid count", _loss(150_000, 40_000), 9500, []),
    # Before 30 days of cover (or without premium) nothing is projected, so nothing warns.
    ("too early to project", _loss(0, elapsed=29), None, []),
    ("no premium", _loss(500, premium=0), None, []),
    ("before cover starts", _loss(0, elapsed=0), None, []),
    # Past the end of cover the elapsed days stop at the cover's length: no extrapolation.
    ("after the cover ended", _loss(960_000, elapsed=400), 9600, []),
    # Without a corridor only the floor is checked.
    (
        "no corridor, under the floor",
        _loss(100_000, corridor_low_bp=None, corridor_high_bp=None),
        5000,
        [("loss_ratio_projected_below_floor", "critical")],
    ),
    (
        "no corridor, far above",
        _loss(400_000, corridor_low_bp=None, corridor_high_bp=None),
        20000,
        [],
    ),
    (
        "no floor, no corridor",
        _loss(1, floor_bp=None, corridor_low_bp=None, corridor_high_bp=None),
        0,
        [],
    ),
]


@pytest.mark.parametrize(
    "facts, projected, expected", [c[1:] for c in LOSS_CASES], ids=[c[0] for c in LOSS_CASES]
)
def test_loss_ratio_projection(facts, projected, expected):
    assert projected_loss_ratio_bp(facts, T) == projected
    found = loss_ratio_warnings(facts, T)
    assert _codes(found) == expected
    for w in found:
        assert w.figures["projected_loss_ratio_bp"] == projected
        assert w.figures["net_premium_fen"] == facts.net_premium_fen
        assert "预测全年赔付率" in w.message


def test_loss_ratio_warning_says_its_numbers():
    [w] = loss_ratio_warnings(_loss(100_000), T)
    assert w.message == "按当前赔付进度预测全年赔付率为 50%，低于 80% 的赔付率下限"
    assert w.figures == {
        "projected_loss_ratio_bp": 5000,
        "net_premium_fen": 1_000_000,
        "claims_paid_fen": 100_000,
        "claims_approved_unpaid_fen": 0,
        "coverage_days": 365,
        "elapsed_days": 73,
        "floor_bp": 8000,
        "corridor_low_bp": 9500,
        "corridor_high_bp": 10500,
    }


# --- sponsor budgets --------------------------------------------------------------------------


def _budget(total: int, committed: int, pid: int = 1) -> BudgetFacts:
    return BudgetFacts(pid, "困难群众资助", "赣州市慈善总会", total, committed)


BUDGET_CASES = [
    ("half used", [_budget(100_000, 50_000)], []),
    ("a fen under 90%", [_budget(100_000, 89_999)], []),
    ("exactly 90%", [_budget(100_000, 90_000)], [("sponsor_budget_nearly_spent", "warning")]),
    ("all committed", [_budget(100_000, 100_000)], [("sponsor_budget_exhausted", "critical")]),
    ("no budget at all", [_budget(0, 0)], []),
    (
        "one of two",
        [_budget(100_000, 10_000, 1), _budget(8_900, 8_900, 2)],
        [("sponsor_budget_exhausted", "critical")],
    ),
]


@pytest.mark.parametrize(
    "budgets, expected", [c[1:] for c in BUDGET_CASES], ids=[c[0] for c in BUDGET_CASES]
)
def test_budgets(budgets, expected):
    assert _codes(budget_warnings(budgets, T)) == expected


def test_budget_warning_numbers_and_message():
    [w] = budget_warnings([_budget(1_000_000, 925_050, pid=7)], T)
    assert w.figures == {
        "programme_id": 7,
        "budget_total_fen": 1_000_000,
        "budget_committed_fen": 925_050,
        "budget_remaining_fen": 74_950,
        "used_bp": 9251,  # 92.505% half up
        "warn_bp": 9000,
    }
    assert w.message == (
        "赣州市慈善总会「困难群众资助」预算已使用 92.51%（9,250.50 / 10,000.00 元），剩余 749.50 元"
    )


# --- reconciliation backlog -------------------------------------------------------------------

BACKLOG_CASES = [
    ("nothing pending", [BacklogFacts("payment", 0, 0, 0)], []),
    (
        "one payment",
        [BacklogFacts("payment", 1, 8900, 4000)],
        [("reconciliation_backlog", "warning")],
    ),
    (
        "a payout a day old",
        [BacklogFacts("payout", 2, 50_000, 86_400)],
        [("reconciliation_backlog", "critical")],
    ),
    (
        "each kind its own",
        [
            BacklogFacts("payment", 3, 26_700, 7200),
            BacklogFacts("refund", 0, 0, 0),
            BacklogFacts("payout", 1, 10_000, 86_399),
        ],
        [("reconciliation_backlog", "warning"), ("reconciliation_backlog", "warning")],
    ),
]


@pytest.mark.parametrize(
    "backlogs, expected", [c[1:] for c in BACKLOG_CASES], ids=[c[0] for c in BACKLOG_CASES]
)
def test_reconciliation_backlog(backlogs, expected):
    assert _codes(reconciliation_warnings(backlogs, T)) == expected


def test_backlog_message():
    [w] = reconciliation_warnings([BacklogFacts("refund", 2, 17_800, 3 * 3600 + 5)], T)
    assert w.message == "2 笔保费退款（178.00 元）结果未明，超过 60 分钟未对账，最久已等待 3 小时"
    assert (w.figures["kind"], w.figures["count"], w.figures["amount_fen"]) == ("refund", 2, 17_800)


# --- failing payouts --------------------------------------------------------------------------

PAYOUT_CASES = [
    ("none ended", PayoutFacts(7, 0, 0, 0), []),
    ("two failed of two: under the minimum count", PayoutFacts(7, 0, 2, 1000), []),
    ("3 of 31 (9.68%)", PayoutFacts(7, 28, 3, 3000), []),
    ("3 of 30 (10%)", PayoutFacts(7, 27, 3, 3000), [("payouts_failing", "warning")]),
    ("5 of 10 (50%)", PayoutFacts(7, 5, 5, 5000), [("payouts_failing", "critical")]),
    ("all failed", PayoutFacts(7, 0, 4, 4000), [("payouts_failing", "critical")]),
]


@pytest.mark.parametrize(
    "facts, expected", [c[1:] for c in PAYOUT_CASES], ids=[c[0] for c in PAYOUT_CASES]
)
def test_failing_payouts(facts, expected):
    assert _codes(payout_warnings(facts, T)) == expected


def test_payout_warning_numbers():
    [w] = payout_warnings(PayoutFacts(7, 27, 3, 123_456), T)
    assert w.figures["failed_share_bp"] == 1000
    assert w.message == "近 7 天理赔转账失败 3 笔（1,234.56 元），占已完成转账的 10%"


# --- fraud flags ------------------------------------------------------------------------------

FRAUD_CASES = [
    # recent 5 of 50 = 10%, baseline 10 of 200 = 5%: exactly twice -> warn.
    (
        "twice the baseline",
        FraudRateFacts(7, 28, 50, 5, 200, 10),
        [("fraud_flags_unusual", "warning")],
    ),
    # 5 of 51 = 9.8% < 10%: not twice.
    ("just under twice", FraudRateFacts(7, 28, 51, 5, 200, 10), []),
    # High share but too few flagged claims to mean anything.
    ("under the minimum count", FraudRateFacts(7, 28, 4, 4, 200, 1), []),
    # The baseline had claims but none flagged: any share is unusual once the minimum is met.
    ("baseline clean", FraudRateFacts(7, 28, 100, 5, 200, 0), [("fraud_flags_unusual", "warning")]),
    # No baseline claims: nothing to compare with, warn on the minimum alone.
    ("no baseline", FraudRateFacts(7, 28, 20, 6, 0, 0), [("fraud_flags_unusual", "warning")]),
    ("no recent claims", FraudRateFacts(7, 28, 0, 0, 200, 10), []),
    ("a steady rate", FraudRateFacts(7, 28, 100, 10, 400, 40), []),
]


@pytest.mark.parametrize(
    "facts, expected", [c[1:] for c in FRAUD_CASES], ids=[c[0] for c in FRAUD_CASES]
)
def test_fraud_rate(facts, expected):
    assert _codes(fraud_rate_warnings(facts, T)) == expected


def test_fraud_warning_message():
    [w] = fraud_rate_warnings(FraudRateFacts(7, 28, 50, 5, 200, 10), T)
    assert w.message == "近 7 天提交的 50 笔理赔中 5 笔触发风险标记（10%），前 28 天为 5%"
    assert (w.figures["recent_share_bp"], w.figures["baseline_share_bp"]) == (1000, 500)
    [w] = fraud_rate_warnings(FraudRateFacts(7, 28, 20, 6, 0, 0), T)
    assert w.message.endswith("前 28 天无理赔可比") and w.figures["baseline_share_bp"] is None


@pytest.mark.parametrize(
    "flags, fraud",
    [
        ([], False),
        ([{"code": "payout_failed", "zh": "理赔款转账失败"}], False),
        ([{"code": "duplicate_invoice", "zh": "..."}], True),
        ([{"code": "payout_failed", "zh": "..."}, {"code": "name_mismatch", "zh": "..."}], True),
    ],
)
def test_which_flags_are_fraud_flags(flags, fraud):
    assert has_fraud_flag(flags) is fraud


# --- the thresholds' settings -----------------------------------------------------------------


@pytest.mark.parametrize(
    "name, value, accepted",
    [
        ("DASHBOARD_REFRESH_SECONDS", 5, True),
        ("DASHBOARD_REFRESH_SECONDS", 4, False),  # a page hammering the server
        ("DASHBOARD_DAYS", 0, False),
        ("DASHBOARD_FRAUD_WINDOW_DAYS", 0, False),
        ("DASHBOARD_PAYOUT_FAILURE_MIN", 0, False),
        ("DASHBOARD_FRAUD_MIN_FLAGGED", 0, False),
        ("DASHBOARD_BUDGET_WARN_BP", 0, True),  # warn on any budget used
        ("DASHBOARD_BUDGET_WARN_BP", -1, False),
        ("DASHBOARD_RECONCILIATION_AGE_SECONDS", 0, True),
    ],
)
def test_dashboard_settings_are_checked(name, value, accepted):
    cfg = settings.testing_config()
    setattr(cfg, name, value)
    if accepted:
        cfg.validate()
    else:
        with pytest.raises(settings.ConfigurationError):
            cfg.validate()


def test_dashboard_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("DASHBOARD_REFRESH_SECONDS", "30")
    monkeypatch.setenv("DASHBOARD_FRAUD_RATE_FACTOR_PCT", "300")
    cfg = settings.development_config()
    assert (cfg.DASHBOARD_REFRESH_SECONDS, cfg.DASHBOARD_FRAUD_RATE_FACTOR_PCT) == (30, 300)
    monkeypatch.setenv("DASHBOARD_DAYS", "thirty")
    with pytest.raises(settings.ConfigurationError):
        settings.development_config()
