"""The insurer's settlement (app/disclosure/corridor.py), table-driven: Huizhou corridor (95% /
4% / 95%-105%) and the 80% loss-ratio floor. Amounts in fen; the arithmetic is in each row."""

from __future__ import annotations

import pytest

from app.disclosure.corridor import CorridorOutcome, settle
from app.products.definition import Corridor

HUIZHOU = Corridor(
    full_premium_from_bp=9500,
    cost_allowance_bp=400,
    renegotiate_below_bp=9500,
    renegotiate_above_bp=10500,
)
AT_OR_ABOVE, BELOW, NO_PREMIUM = "at_or_above_full_premium", "below_full_premium", "no_premium"

# (id, premium, paid, floor, corridor, loss_ratio_bp, meets_floor, shortfall,
#  (band, keeps, allowance, returned, renegotiate) | None, carried_forward, margin)
CASES = [
    # 960,000 / 1,000,000 = 96% >= 95%: the insurer keeps the premium; within 95-105%.
    (
        "96% keeps the premium",
        1_000_000,
        960_000,
        8000,
        HUIZHOU,
        9600,
        True,
        0,
        (AT_OR_ABOVE, 1_000_000, 0, 0, False),
        0,
        40_000,
    ),
    # Exactly 95%: at or above; 95% is inside the renegotiation band.
    (
        "exactly 95%",
        1_000_000,
        950_000,
        8000,
        HUIZHOU,
        9500,
        True,
        0,
        (AT_OR_ABOVE, 1_000_000, 0, 0, False),
        0,
        50_000,
    ),
    # 949,999 / 1,000,000 = 94.9999%: the ratio rounds to 9,500 bp, but the band is decided
    # exactly: below. Allowance 949,999 x 4% = 37,999.96 -> 38,000; keeps 949,999 + 38,000 =
    # 987,999; returned 1,000,000 - 987,999 = 12,001; outside 95-105% -> renegotiate.
    (
        "a fen under 95%",
        1_000_000,
        949_999,
        8000,
        HUIZHOU,
        9500,
        True,
        0,
        (BELOW, 987_999, 38_000, 12_001, True),
        12_001,
        38_000,
    ),
    # 70%: allowance 700,000 x 4% = 28,000; keeps 728,000; returned 272,000 (carried forward).
    # Floor 80%: 1,000,000 x 80% = 800,000; shortfall 800,000 - 700,000 = 100,000.
    (
        "70% below the floor",
        1_000_000,
        700_000,
        8000,
        HUIZHOU,
        7000,
        False,
        100_000,
        (BELOW, 728_000, 28_000, 272_000, True),
        272_000,
        28_000,
    ),
    # Exactly 105%: keeps the premium and bears the 50,000 loss; 105% is inside the band.
    (
        "exactly 105%",
        1_000_000,
        1_050_000,
        8000,
        HUIZHOU,
        10500,
        True,
        0,
        (AT_OR_ABOVE, 1_000_000, 0, 0, False),
        0,
        -50_000,
    ),
    # 1,050,001 / 1,000,000 = 105.0001% > 105%: renegotiate (ratio rounds to 10,500 bp).
    (
        "a fen over 105%",
        1_000_000,
        1_050_001,
        8000,
        HUIZHOU,
        10500,
        True,
        0,
        (AT_OR_ABOVE, 1_000_000, 0, 0, True),
        0,
        -50_001,
    ),
    # No corridor: the floor decides what carries forward: 800,000 - 750,000 = 50,000.
    ("floor only", 1_000_000, 750_000, 8000, None, 7500, False, 50_000, None, 50_000, None),
    # A fraction of a fen below the floor: 1,001 x 80% = 800.8 and 800 paid; not met (800 x
    # 10,000 < 8,000 x 1,001), so the shortfall is 0.8 -> 1 fen, never 0 (half up would say 0).
    ("0.8 fen under the floor", 1_001, 800, 8000, None, 7992, False, 1, None, 1, None),
    # 0.4 fen under: 1,003 x 80% = 802.4, 802 paid -> 1 fen (the ratio rounds to 7,996 bp).
    ("0.4 fen under the floor", 1_003, 802, 8000, None, 7996, False, 1, None, 1, None),
    # Exactly on the floor: 1,005 x 80% = 804, 804 paid -> met, 0.
    ("exactly on the floor", 1_005, 804, 8000, None, 8000, True, 0, None, 0, None),
    # Neither: nothing to check, nothing carried forward.
    ("no floor, no corridor", 1_000_000, 750_000, None, None, 7500, None, 0, None, 0, None),
    # Allowance rounding half up: 12,345 x 4% = 493.8 -> 494; keeps 12,345 + 494 = 12,839;
    # returned 987,161. Ratio 12,345 / 1,000,000 = 123.45 bp -> 123.
    # Floor 800,000 - 12,345 = 787,655.
    (
        "allowance rounds half up",
        1_000_000,
        12_345,
        8000,
        HUIZHOU,
        123,
        False,
        787_655,
        (BELOW, 12_839, 494, 987_161, True),
        987_161,
        494,
    ),
    # Small premium: floor 333 x 80% = 266.4; shortfall 266.4 - 200 = 66.4 -> 67 (the least
    # whole fen that meets the floor: 200 + 66 = 266 is still below 266.4).
    # Allowance 200 x 4% = 8; keeps 208; returned 125. Ratio 200 / 333 = 6,006.006 bp -> 6,006.
    (
        "shortfall rounds up",
        333,
        200,
        8000,
        HUIZHOU,
        6006,
        False,
        67,
        (BELOW, 208, 8, 125, True),
        125,
        8,
    ),
    # Ratio exactly half a basis point: 1 / 20,000 = 0.5 bp -> 1 (half up).
    # Allowance 1 x 4% = 0.04 -> 0; keeps 1; returned 19,999.
    (
        "ratio half rounds up",
        20_000,
        1,
        None,
        HUIZHOU,
        1,
        None,
        0,
        (BELOW, 1, 0, 19_999, True),
        19_999,
        0,
    ),
    # No premium at all: no ratio; nothing kept or returned; nothing paid -> no renegotiation.
    (
        "no premium, no claims",
        0,
        0,
        8000,
        HUIZHOU,
        None,
        None,
        0,
        (NO_PREMIUM, 0, 0, 0, False),
        0,
        0,
    ),
    # Claims paid without premium: renegotiate.
    (
        "claims without premium",
        0,
        5_000,
        8000,
        HUIZHOU,
        None,
        None,
        0,
        (NO_PREMIUM, 0, 0, 0, True),
        0,
        -5_000,
    ),
]


@pytest.mark.parametrize(
    "premium, paid, floor, corridor, ratio, meets, shortfall, outcome, carried, margin",
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_settlement(
    premium, paid, floor, corridor, ratio, meets, shortfall, outcome, carried, margin
):
    result = settle(
        net_premium_fen=premium, claims_paid_fen=paid, loss_ratio_floor_bp=floor, corridor=corridor
    )
    assert result.loss_ratio_bp == ratio
    assert result.meets_floor is meets
    assert result.floor_shortfall_fen == shortfall
    assert result.corridor == (None if outcome is None else CorridorOutcome(*outcome))
    assert result.surplus_carried_forward_fen == carried
    assert result.insurer_margin_fen == margin
    if result.corridor is not None:  # what the insurer keeps and what returns make the premium
        assert result.corridor.insurer_keeps_fen + result.corridor.returned_fen == (
            premium if premium else 0
        )


@pytest.mark.parametrize("premium, paid", [(-1, 0), (0, -1), (1.5, 0)])
def test_refuses_negative_or_fractional_amounts(premium, paid):
    with pytest.raises(ValueError):
        settle(
            net_premium_fen=premium, claims_paid_fen=paid, loss_ratio_floor_bp=None, corridor=None
        )


def test_not_met_means_a_positive_shortfall_and_met_means_none():
    """For every small premium and payout: the floor is missed exactly when the shortfall is
    positive, and the shortfall is the least whole fen that, paid on top, meets the floor."""
    for floor in (8000, 7999, 9500, 1):
        for premium in range(160):
            for paid in range(premium + 2):
                result = settle(
                    net_premium_fen=premium,
                    claims_paid_fen=paid,
                    loss_ratio_floor_bp=floor,
                    corridor=None,
                )
                if premium == 0:
                    assert (result.meets_floor, result.floor_shortfall_fen) == (None, 0)
                    continue
                short = result.floor_shortfall_fen
                assert result.meets_floor is (short == 0), (floor, premium, paid)
                assert (paid + short) * 10000 >= floor * premium, (floor, premium, paid)
                if short:
                    assert (paid + short - 1) * 10000 < floor * premium, (floor, premium, paid)
