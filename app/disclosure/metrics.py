"""The names of the disclosure counters (metrics) and their dimensions: plain data shared by the
counter writers (aggregates.py) and the pure statistics over them (statistics.py), so the pure
side needs no database module."""

from __future__ import annotations

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
ESTIMATES_CONVERTED = "estimates_converted"  # members shown one who then enrolled that year

# "unknown" only if a person was enrolled without a verified insurance type (the quote refuses
# that today; the cell exists so such a person would still be counted somewhere).
INSURANCE_TYPES = ("employee", "resident", "unknown")
SPONSOR_KINDS = ORGANISATION_KINDS  # employer, charity, relief_fund, paired_assistance
# Order matters: it breaks ties when two sources paid the same amount.
FUNDING_SOURCES = ("personal_account", "wechat", *SPONSOR_KINDS)
MAXIMUM_METRICS = frozenset({LARGEST_CLAIM_PAID_FEN})
