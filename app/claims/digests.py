"""Keyed digests of a claim's bureau settlement number (setl_id) and of its invoices' numbers,
which the duplicate checks compare instead of the numbers (a second claim of a settlement, an
invoice used again: app/claims/adjudication_run.py, common.py, settlement.py and the counter's
app/direct_settlement/stay.py).

Every claim carries them from the start, so there is one way to look a number up. The end of
retention (`flask members purge-retained`, app/members/retention.py) erases the numbers and
keeps the digests: a purged claim's settlement or invoice still blocks a second claim, while the
number itself is gone. HMAC-SHA256 under DUPLICATE_CHECK_KEY (its own key, required in
production): without the key a digest cannot be turned back into a number by trying every
possible one, which a plain hash of a short number could be.
"""

from __future__ import annotations

from app.security.crypto import duplicate_digest

SETTLEMENT_PURPOSE = "claim_setl_id"
INVOICE_PURPOSE = "claim_invoice"


def settlement_digest(setl_id: str | None) -> str | None:
    """The settlement number's digest; None for a claim without one (photographed)."""
    return duplicate_digest(SETTLEMENT_PURPOSE, setl_id) if setl_id else None


def invoice_digest(issuer: str, number: str) -> str:
    """An invoice is the same when its issuer and number are (what the check always compared)."""
    return duplicate_digest(INVOICE_PURPOSE, f"{issuer}\x00{number}")
