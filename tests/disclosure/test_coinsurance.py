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
    result, group = _group(collected, refunded, paid, corridor)
    rows = share_settlement(
        insurers,
        premiums_collected_fen=collected,
        premiums_refunded_fen=refunded,
        settlement=result,
    )
    assert [r.code for r in rows] == [i.code for i in insurers]
    for column in MONEY:
        values = [getattr(r, column) for r in rows]
        if group[column] is None:
            assert values == [None] * len(rows), column
        else:
            assert sum(values) == group[column], column
    for row in rows:
        assert row.net_premium_fen == row.premiums_collected_fen - row.premiums_refunded_fen
        assert abs(row.claims_paid_fen * 10000 - paid * row.share_bp) < 10000
        if corridor is not None and result.corridor.band != "no_premium":
            assert row.insurer_keeps_fen + row.returned_fen == row.net_premium_fen
            assert row.insurer_margin_fen == row.insurer_keeps_fen - row.claims_paid_fen
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
