"""The settlement shared among the 共保体 (pure): every column sums to the group's figure, and
each insurer's row keeps the settlement's identities."""

from __future__ import annotations

import pytest

from app.disclosure.coinsurance import share_settlement
from app.disclosure.corridor import settle
from app.products.definition import Corridor, Insurer

TWO = (Insurer("lead", "甲", 6000, True), Insurer("co", "乙", 4000))
THREE = (Insurer("a", "甲", 3334, True), Insurer("b", "乙", 3333), Insurer("c", "丙", 3333))
CORRIDOR = Corridor()
MONEY = (
    "premiums_collected_fen",
    "premiums_refunded_fen",
    "net_premium_fen",
    "claims_paid_fen",
    "floor_shortfall_fen",
    "insurer_keeps_fen",
    "cost_allowance_fen",
    "returned_fen",
    "surplus_carried_forward_fen",
    "insurer_margin_fen",
)


def _group(collected, refunded, paid, corridor=CORRIDOR, floor=8000):
    result = settle(
        net_premium_fen=collected - refunded,
        claims_paid_fen=paid,
        loss_ratio_floor_bp=floor,
        corridor=corridor,
    )
    figures = {
        "premiums_collected_fen": collected,
        "premiums_refunded_fen": refunded,
        "net_premium_fen": result.net_premium_fen,
        "claims_paid_fen": paid,
        "floor_shortfall_fen": result.floor_shortfall_fen,
        "insurer_keeps_fen": result.corridor.insurer_keeps_fen if result.corridor else None,
        "cost_allowance_fen": result.corridor.cost_allowance_fen if result.corridor else None,
        "returned_fen": result.corridor.returned_fen if result.corridor else None,
        "surplus_carried_forward_fen": result.surplus_carried_forward_fen,
        "insurer_margin_fen": result.insurer_margin_fen,
    }
    return result, figures


# Every figure that cannot be negative for the group cannot be for an insurer; the margin (what
# the insurer keeps minus what it paid) has the group's sign in every row.
NON_NEGATIVE = tuple(c for c in MONEY if c != "insurer_margin_fen")
UNEVEN = (Insurer("a", "甲", 5000, True), Insurer("b", "乙", 3000), Insurer("c", "丙", 2000))


def _check_rows(insurers, collected, refunded, paid, corridor):
    result, group = _group(collected, refunded, paid, corridor)
    rows = share_settlement(
        insurers,
        premiums_collected_fen=collected,
        premiums_refunded_fen=refunded,
        settlement=result,
    )
    case = (collected, refunded, paid, corridor is not None)
    for column in MONEY:
        values = [getattr(r, column) for r in rows]
        if group[column] is None:
            assert values == [None] * len(rows), (column, case)
            continue
        assert sum(values) == group[column], (column, case, values)
        if column in NON_NEGATIVE:
            assert min(values) >= 0, (column, case, values)
        else:
            assert all(v * group[column] >= 0 for v in values), (column, case, values)
    for row in rows:
        assert row.net_premium_fen == row.premiums_collected_fen - row.premiums_refunded_fen, case
        if result.corridor is not None and result.corridor.band != "no_premium":
            assert row.insurer_keeps_fen + row.returned_fen == row.net_premium_fen, case
            assert row.insurer_margin_fen == row.insurer_keeps_fen - row.claims_paid_fen, case
    return rows


@pytest.mark.parametrize("insurers", [TWO, THREE], ids=["two", "three"])
@pytest.mark.parametrize(
    ("collected", "refunded", "paid", "corridor"),
    [
        (53_400, 8_900, 40_000, CORRIDOR),  # below the full-premium band
        (1_000_001, 333, 777_777, CORRIDOR),  # odd fen everywhere
        (1_000_001, 333, 999_999, CORRIDOR),  # at or above 95%: the insurers keep the premium
        (0, 0, 5_000, CORRIDOR),  # no premium
        (1_000_001, 333, 777_777, None),  # no corridor: the floor shortfall carries forward
        (999_999_999, 7, 1, CORRIDOR),
    ],
)
def test_columns_sum_to_the_group_and_rows_keep_the_identities(
    insurers, collected, refunded, paid, corridor
):
    result, _ = _group(collected, refunded, paid, corridor)
    rows = _check_rows(insurers, collected, refunded, paid, corridor)
    assert [r.code for r in rows] == [i.code for i in insurers]
    for row in rows:
        assert abs(row.claims_paid_fen * 10000 - paid * row.share_bp) < 10000
        if corridor is not None and result.corridor.band != "no_premium":
            assert row.surplus_carried_forward_fen == row.returned_fen
        if corridor is None:
            assert row.surplus_carried_forward_fen == row.floor_shortfall_fen


def test_a_product_without_insurers_has_no_rows():
    result, _ = _group(100, 0, 50)
    assert (
        share_settlement((), premiums_collected_fen=100, premiums_refunded_fen=0, settlement=result)
        == []
    )


def test_hand_computed_odd_fen_go_by_largest_remainder():
    # 1,000,001 collected at 60/40: 600,000.6 / 400,000.4 -> the lead's .6 takes the fen.
    result, _ = _group(1_000_001, 0, 0, None, None)
    rows = share_settlement(
        TWO, premiums_collected_fen=1_000_001, premiums_refunded_fen=0, settlement=result
    )
    assert [r.premiums_collected_fen for r in rows] == [600_001, 400_000]


@pytest.mark.parametrize("insurers", [TWO, THREE, UNEVEN], ids=["two", "three", "uneven"])
@pytest.mark.parametrize(
    ("collected", "refunded", "paid", "corridor"),
    [
        (0, 0, 0, CORRIDOR),  # nothing at all: every figure 0
        (1, 0, 0, CORRIDOR),  # 1 fen collected, nothing paid: it returns to the fund
        (1, 0, 1, CORRIDOR),  # 1 of 1 paid (100%): kept by whoever paid it
        (2, 0, 1, CORRIDOR),  # 50%: allowance 1 x 4% = 0.04 -> 0; returned 1
        (2, 1, 1, CORRIDOR),  # net 1, all paid
        (3, 1, 1, CORRIDOR),  # net 2, paid 1 (50%): returned 1 (was -1 for the lead of three)
        (14, 0, 13, CORRIDOR),  # 92.9%: allowance 13 x 4% = 0.52 -> 1; returned 0 (lead was -1)
        (0, 0, 1, CORRIDOR),  # paid without premium: the margin is a loss, never a gain
        (2, 0, 3, CORRIDOR),  # 150%: keeps the premium, margin -1
        (1, 0, 2, None),  # no corridor: shortfall 0; floor 0.8 met
        (2, 0, 0, None),  # floor 2 x 80% = 1.6 -> shortfall 2 (rounded up)
    ],
)
def test_small_amounts_give_no_negative_share(insurers, collected, refunded, paid, corridor):
    _check_rows(insurers, collected, refunded, paid, corridor)


def test_every_small_settlement_splits_without_a_negative_share():
    """Property-style: every settlement of up to 40 fen collected, any refund, payouts up to 45
    fen, with and without a corridor, among two, three and uneven shares."""
    for insurers in (TWO, THREE, UNEVEN):
        for corridor in (CORRIDOR, None):
            for collected in range(41):
                for refunded in range(collected + 1):
                    for paid in range(0, 46, 1 if collected < 12 else 5):
                        _check_rows(insurers, collected, refunded, paid, corridor)
