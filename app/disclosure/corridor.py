"""The insurer's settlement for a plan year (pure: integers in, integers out).

Two rules from the seeds, each optional per product (products/definition.py `Disclosure`):

1. Loss-ratio floor (Ganzhou: at least 80%). loss ratio = claims paid / net premium, where net
   premium = premiums collected - premiums refunded. Below the floor, the shortfall
   (floor x net premium - claims paid, in whole fen rounded up: FLOOR_SHORTFALL) is surplus that
   rolls into the next year. The floor is missed exactly when the shortfall is positive.

2. Settlement corridor (Huizhou 2013), on the payout ratio (= the loss ratio):
   - payout >= 95% of premium: the insurer keeps the whole premium (it bears any loss);
   - payout <  95%: the insurer keeps the payout plus 4% of the payout for its costs, and the
     rest of the premium is returned to the fund and carried forward;
   - payout outside 95%-105% of premium: the next year's premium is renegotiated.
   The thresholds are the product's (`Corridor`); 95% / 4% / 95%-105% are Huizhou's.

When a product has a corridor, the amount carried forward is the corridor's return (the insurer
settles by the corridor); otherwise it is the floor shortfall. Both are reported either way.

Roundings, each named:
- LOSS_RATIO:      claims paid x 10000 / net premium -> basis points, half up;
- FLOOR_SHORTFALL: (net premium x floor - claims paid x 10000) / 10000 -> fen, rounded UP: the
                   least whole fen that, paid on top, meets the floor (333 x 80% = 266.4 with
                   200 paid: 67, since 266 would still miss it). Half up would report a missed
                   floor with a 0-fen shortfall when it is missed by less than half a fen;
- COST_ALLOWANCE:  claims paid x allowance / 10000 -> fen, half up.
Threshold comparisons are exact (cross-multiplied integers), never made on rounded ratios.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.common.money import BP, round_half_up_fen
from app.products.definition import Corridor


@dataclass(frozen=True)
class CorridorOutcome:
    band: str  # at_or_above_full_premium | below_full_premium | no_premium
    insurer_keeps_fen: int
    cost_allowance_fen: int
    returned_fen: int  # to the fund, carried forward
    renegotiate: bool


@dataclass(frozen=True)
class Settlement:
    net_premium_fen: int
    claims_paid_fen: int
    loss_ratio_bp: int | None  # None without premium
    loss_ratio_floor_bp: int | None
    meets_floor: bool | None  # None without a floor or without premium
    floor_shortfall_fen: int
    corridor: CorridorOutcome | None
    surplus_carried_forward_fen: int
    insurer_margin_fen: int | None  # what the insurer keeps minus what it paid (corridor)


def settle(
    *,
    net_premium_fen: int,
    claims_paid_fen: int,
    loss_ratio_floor_bp: int | None,
    corridor: Corridor | None,
) -> Settlement:
    for name, value in (("net_premium_fen", net_premium_fen), ("claims_paid_fen", claims_paid_fen)):
        if type(value) is not int or value < 0:
            raise ValueError(f"{name} must be a non-negative integer (fen)")
    premium, paid = net_premium_fen, claims_paid_fen

    loss_ratio = round_half_up_fen(paid * BP, premium) if premium > 0 else None  # LOSS_RATIO
    meets_floor = None
    shortfall = 0
    if loss_ratio_floor_bp is not None and premium > 0:
        missing = premium * loss_ratio_floor_bp - paid * BP  # exact, in fen x basis points
        meets_floor = missing <= 0
        shortfall = -(-missing // BP) if missing > 0 else 0  # FLOOR_SHORTFALL (ceiling)

    outcome = corridor_outcome(premium, paid, corridor) if corridor is not None else None
    return Settlement(
        net_premium_fen=premium,
        claims_paid_fen=paid,
        loss_ratio_bp=loss_ratio,
        loss_ratio_floor_bp=loss_ratio_floor_bp,
        meets_floor=meets_floor,
        floor_shortfall_fen=shortfall,
        corridor=outcome,
        surplus_carried_forward_fen=outcome.returned_fen if outcome is not None else shortfall,
        insurer_margin_fen=outcome.insurer_keeps_fen - paid if outcome is not None else None,
    )


def corridor_outcome(premium: int, paid: int, corridor: Corridor) -> CorridorOutcome:
    if premium == 0:
        return CorridorOutcome("no_premium", 0, 0, 0, renegotiate=paid > 0)
    renegotiate = (
        paid * BP < corridor.renegotiate_below_bp * premium
        or paid * BP > corridor.renegotiate_above_bp * premium
    )
    if paid * BP >= corridor.full_premium_from_bp * premium:
        return CorridorOutcome("at_or_above_full_premium", premium, 0, 0, renegotiate)
    allowance = round_half_up_fen(paid * corridor.cost_allowance_bp, BP)  # COST_ALLOWANCE
    # The loader refuses corridors where payout plus allowance could pass the premium below the
    # threshold; the bound here only guards the half-fen of rounding at that edge.
    keeps = min(paid + allowance, premium)
    return CorridorOutcome("below_full_premium", keeps, keeps - paid, premium - keeps, renegotiate)
