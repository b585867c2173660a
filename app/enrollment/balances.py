"""The payer's personal-account balance (个人账户余额) as the bureau reports it (AccountPort
`balance`, 9605), for the quote: a member sees what the account holds and the account is marked
as unable to pay before an order is placed, not at payment.

Asked at most once per ACCOUNT_BALANCE_CACHE_SECONDS per person and process (a quote is asked for
again and again while a member picks relatives); a debit or refund through Huimin forgets the
cached value at once (`forget`). When the bureau cannot answer, the balance is unknown (None)
and nothing is marked: the debit itself still refuses an account that cannot pay.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import cast

from flask import current_app

from app.common.clock import now_utc
from app.integrations import registry
from app.integrations.bureau.port import AccountPort, BureauUnavailable

log = logging.getLogger(__name__)

_KEY = "account_balances"


def _cache() -> dict[str, tuple[int | None, datetime]]:
    return current_app.extensions.setdefault(_KEY, {})


def account_balance(psn_no: str) -> int | None:
    """The balance in fen (None: no personal account, or the bureau did not answer)."""
    cache = _cache()
    hit = cache.get(psn_no)
    now = now_utc()
    if hit is not None and hit[1] > now:
        return hit[0]
    try:
        balance = cast(AccountPort, registry.bureau()).balance(psn_no)
    except BureauUnavailable:
        log.warning("personal-account balance unavailable")
        return None
    ttl = current_app.config["ACCOUNT_BALANCE_CACHE_SECONDS"]
    if ttl > 0:
        cache[psn_no] = (balance, now + timedelta(seconds=ttl))
    return balance


def forget(psn_no: str | None) -> None:
    """Money moved on this account: the next quote asks the bureau again."""
    if psn_no:
        _cache().pop(psn_no, None)
