"""A plan year's settlement shared among the co-insurance group (共保体) by agreed shares (pure).

The group's figures are sums of parts that are never negative, and what is split is the parts:
each by the largest-remainder rule of `app.common.money.split_by_shares` (the lead, listed first,
wins ties), so every part of every insurer is within a fen of its exact share and never below 0.
Each insurer's figures are then the sums of its parts, which keeps the settlement's identities
in every row and makes each column sum to the group's figure, to the fen:

    premiums collected = refunded + net premium
    net premium        = claims paid + cost allowance + returned  (below the full-premium band)
                       = claims paid + margin                      (at or above it, no loss)
                       = net premium; claims paid = net + loss     (at or above it, a loss)
    insurer keeps      = claims paid + cost allowance  (below)  |  net premium  (at or above)
    margin             = insurer keeps - claims paid: the group's sign in every row

Splitting each figure on its own instead left a difference of two roundings in the figures that
follow from them: 14 fen collected at 60/40 with 13 paid returns 0 to the fund (allowance 13 x
4% = 0.52 -> 1), yet the lead's row said 8 - 8 - 1 = -1. A figure that is a sum of parts
(premiums collected, for one) is within as many fen of its exact share as it has parts.
Without a corridor the net premium, claims paid and floor shortfall are split as they are.
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

    def split(amount: int) -> list[int]:
        return split_by_shares(amount, shares)

    refunded = split(premiums_refunded_fen)
    shortfall = split(settlement.floor_shortfall_fen)
    net_total, paid_total = settlement.net_premium_fen, settlement.claims_paid_fen
    outcome = settlement.corridor
    band = outcome.band if outcome is not None else None
    zeros = [0] * len(shares)
    allowance = returned = zeros
    if band == "below_full_premium":
        assert outcome is not None
        paid = split(paid_total)
        allowance, returned = split(outcome.cost_allowance_fen), split(outcome.returned_fen)
        net = [p + a + r for p, a, r in zip(paid, allowance, returned)]
    elif band == "at_or_above_full_premium" and paid_total <= net_total:
        paid = split(paid_total)
        net = [p + m for p, m in zip(paid, split(net_total - paid_total))]
    elif band == "at_or_above_full_premium":  # a loss: the claims are the net premium and more
        net = split(net_total)
        paid = [n + loss for n, loss in zip(net, split(paid_total - net_total))]
    else:  # no corridor (nothing derived from claims), or no premium (nothing kept or returned)
        net, paid = split(net_total), split(paid_total)
    rows = []
    for index, insurer in enumerate(insurers):
        keeps = margin = cost = back = None
        if band is not None:
            keeps = {"below_full_premium": paid[index] + allowance[index], "no_premium": 0}.get(
                band, net[index]
            )
            cost, back, margin = allowance[index], returned[index], keeps - paid[index]
        rows.append(
            InsurerShare(
                code=insurer.code,
                name=insurer.name,
                lead=insurer.lead,
                share_bp=insurer.share_bp,
                premiums_collected_fen=refunded[index] + net[index],
                premiums_refunded_fen=refunded[index],
                net_premium_fen=net[index],
                claims_paid_fen=paid[index],
                floor_shortfall_fen=shortfall[index],
                insurer_keeps_fen=keeps,
                cost_allowance_fen=cost,
                returned_fen=back,
                surplus_carried_forward_fen=back if back is not None else shortfall[index],
                insurer_margin_fen=margin,
            )
        )
    return rows
