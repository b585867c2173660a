"""The names of the disclosure counters (metrics) and their dimensions: plain data shared by the
counter writers (aggregates.py) and the pure statistics over them (statistics.py), so the pure
side needs no database module; and who paid a premium (pure)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from app.sponsors.statuses import ORGANISATION_KINDS

ENROLLED_BY_INSURANCE_TYPE = "enrolled_by_insurance_type"  # people, dim: INSURANCE_TYPES
ENROLLED_BY_FUNDING_SOURCE = "enrolled_by_funding_source"  # people, dim: FUNDING_SOURCES
POLICIES_ISSUED = "policies_issued"  # gross, never decremented
PREMIUMS_COLLECTED_FEN = "premiums_collected_fen"  # fen, dim: FUNDING_SOURCES
REFUNDS = "refunds"  # refund payments, dim: source
PREMIUMS_REFUNDED_FEN = "premiums_refunded_fen"  # fen, dim: FUNDING_SOURCES
CLAIMS_RECEIVED = "claims_received"
CLAIMS_SETTLED = "claims_settled"
CLAIMS_SETTLED_PAYABLE_FEN = "claims_settled_payable_fen"
CLAIMS_PAID = "claims_paid"
CLAIMS_PAID_FEN = "claims_paid_fen"
LARGEST_CLAIM_PAID_FEN = "largest_claim_paid_fen"  # maximum, not a sum
ESTIMATES_SHOWN = "estimates_shown"  # value estimates shown (app/estimates), per estimate
ESTIMATES_CONVERTED = "estimates_converted"  # members shown one who then enrolled someone new

# "unknown" only if a person was enrolled without a verified insurance type (the quote refuses
# that today; the cell exists so such a person would still be counted somewhere).
INSURANCE_TYPES = ("employee", "resident", "unknown")
SPONSOR_KINDS = ORGANISATION_KINDS  # employer, charity, relief_fund, paired_assistance
# Order matters: it breaks ties when two sources paid the same amount.
FUNDING_SOURCES = ("personal_account", "wechat", *SPONSOR_KINDS)
MAXIMUM_METRICS = frozenset({LARGEST_CLAIM_PAID_FEN})


# --- funding sources ---------------------------------------------------------------------------


def contributions_of(
    payer_method: str | None, pay_fen: int, subsidies: Iterable[Mapping]
) -> dict[str, int]:
    """Who paid how much of one insured person's premium, per funding source (fen > 0 only).
    `payer_method` is the order's payment method (personal_account | wechat) for the member's own
    share; `subsidies` are the order item's [{"funder_kind", "amount_fen", ...}]."""
    amounts: dict[str, int] = defaultdict(int)
    if pay_fen > 0:
        if payer_method not in ("personal_account", "wechat"):
            raise ValueError(f"a paid share needs a payment method, not {payer_method!r}")
        amounts[payer_method] += pay_fen
    for subsidy in subsidies:
        kind, fen = subsidy["funder_kind"], subsidy["amount_fen"]
        if kind not in SPONSOR_KINDS:
            raise ValueError(f"unknown funder kind {kind!r}")
        if fen > 0:
            amounts[kind] += fen
    return dict(amounts)


def main_funding_source(contributions: Mapping[str, int]) -> str:
    """The source that paid most; ties go to the first in FUNDING_SOURCES."""
    paid = {source: fen for source, fen in contributions.items() if fen > 0}
    if not paid:
        raise ValueError("nobody paid this premium (premiums are never zero)")
    top = max(paid.values())
    return next(source for source in FUNDING_SOURCES if paid.get(source) == top)
