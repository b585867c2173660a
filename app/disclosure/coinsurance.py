"""A plan year's settlement shared among the co-insurance group (共保体) by agreed shares (pure).

Every insurer gets its share of the money figures, exact to the fen, by the largest-remainder
rule of `app.common.money.split_by_shares` (the lead, listed first, wins ties). The figures that
are split directly are premiums collected, premiums refunded, claims paid, the corridor's cost
allowance and the floor shortfall; the others follow from them so that each insurer's row keeps
the settlement's identities:

    net premium      = collected - refunded
    insurer keeps    = claims paid + cost allowance   (below the corridor's full-premium band)
                     = net premium                     (at or above it)
    returned         = net premium - insurer keeps
    margin           = insurer keeps - claims paid

Each column of the insurers' rows sums to the group's figure, to the fen.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.common.money import split_by_shares
from app.disclosure.corridor import Settlement
from app.products.definition import Insurer


@dataclass(frozen=True)
class InsurerShare:
    code: str
    name: str
    lead: bool
    share_bp: int
    premiums_collected_fen: int
    premiums_refunded_fen: int
    net_premium_fen: int
    claims_paid_fen: int
    floor_shortfall_fen: int
    insurer_keeps_fen: int | None  # None without a corridor
    cost_allowance_fen: int | None
    returned_fen: int | None
    surplus_carried_forward_fen: int
    insurer_margin_fen: int | None


def share_settlement(
    insurers: tuple[Insurer, ...],
    *,
    premiums_collected_fen: int,
    premiums_refunded_fen: int,
    settlement: Settlement,
) -> list[InsurerShare]:
    if not insurers:
        return []
    shares = [i.share_bp for i in insurers]
    collected = split_by_shares(premiums_collected_fen, shares)
    refunded = split_by_shares(premiums_refunded_fen, shares)
    paid = split_by_shares(settlement.claims_paid_fen, shares)
    shortfall = split_by_shares(settlement.floor_shortfall_fen, shares)
    outcome = settlement.corridor
    allowance = split_by_shares(outcome.cost_allowance_fen if outcome else 0, shares)
    rows = []
    for index, insurer in enumerate(insurers):
        net = collected[index] - refunded[index]
        keeps = returned = margin = cost = None
        if outcome is not None:
            if outcome.band == "below_full_premium":
                keeps = paid[index] + allowance[index]
            elif outcome.band == "at_or_above_full_premium":
                keeps = net
            else:  # no premium: nothing kept, nothing returned
                keeps = 0
            cost = allowance[index]
            returned = net - keeps if outcome.band != "no_premium" else 0
            margin = keeps - paid[index]
        rows.append(
            InsurerShare(
                code=insurer.code,
                name=insurer.name,
                lead=insurer.lead,
                share_bp=insurer.share_bp,
                premiums_collected_fen=collected[index],
                premiums_refunded_fen=refunded[index],
                net_premium_fen=net,
                claims_paid_fen=paid[index],
                floor_shortfall_fen=shortfall[index],
                insurer_keeps_fen=keeps,
                cost_allowance_fen=cost,
                returned_fen=returned,
                surplus_carried_forward_fen=returned if returned is not None else shortfall[index],
                insurer_margin_fen=margin,
            )
        )
    return rows
