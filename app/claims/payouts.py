"""Paying approved claims: a pending Payout row is committed before the transfer is asked for,
so a crash leaves a recoverable pending state that `reconcile_payouts` finishes; a permanent
failure reverses the approval and sends the claim back to review. Also the claim ledger check."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.claims import accumulators
from app.claims import lines as claim_lines
from app.claims.common import (
    claim_by_id,
    disclose_settled,
    existing,
    notify,
    rows_changed,
    transition,
)
from app.claims.models import Claim, ClaimFailedAccount, ClaimLedgerEntry, Payout
from app.claims.statuses import ClaimStatus, PayoutStatus
from app.claims.workflow import FILED
from app.common.clock import today_shanghai
from app.common.money import yuan_plain
from app.database import read_scope, transaction, utcnow
from app.error_catalogue import E
from app.integrations.payout.port import (
    PAYOUT_NOT_FOUND,
    PAYOUT_PENDING,
    PAYOUT_SUCCEEDED,
    Payee,
    PayoutResult,
    failure_label,
)
from app.ops.metrics import claim_outcome, payout_outcome

log = logging.getLogger(__name__)

PAYOUT_ATTEMPTS = 3
PERMANENT_PAYOUT_FAILURES = (
    "account_invalid",
    "payee_name_mismatch",
    "account_frozen",
    "account_closed",
)


def _payee(claim: Claim) -> Payee:
    """Only an approved claim is paid, and approval needs a payee (the completeness check, or
    the one-tap claim's required payee)."""
    from app.security.crypto import cipher

    assert claim.payee_name and claim.payee_bank_name and claim.payee_account_enc, "no payee"
    return Payee(
        name=claim.payee_name,
        bank_name=claim.payee_bank_name,
        bank_account=cipher().decrypt(claim.payee_account_enc, "claims.payee_account"),
    )


FAILED_ACCOUNT_PURPOSE = "claims.failed_account"


def account_index(account: str) -> str:
    """The keyed hash a failed account is remembered by (the number itself is never stored)."""
    from app.security.crypto import index_of

    return index_of(FAILED_ACCOUNT_PURPOSE, account)


def failed_before(session: Session, claim_id: int, account: str) -> bool:
    """Whether the bank has refused this account for good on this claim."""
    return (
        session.scalar(
            select(ClaimFailedAccount.id).where(
                ClaimFailedAccount.claim_id == claim_id,
                ClaimFailedAccount.account_index == account_index(account),
            )
        )
        is not None
    )


def _remember_failed(session: Session, claim: Claim, payout_id: int, code: str) -> None:
    account = _payee(claim).bank_account
    if not failed_before(session, claim.id, account):
        session.add(
            ClaimFailedAccount(
                claim_id=claim.id,
                payout_id=payout_id,
                account_index=account_index(account),
                account_last4=account[-4:],
                failure_code=code,
            )
        )


def payee_failed_before(session: Session, claim: Claim) -> bool:
    """Whether the claim's current payee account was refused for good on it."""
    return bool(claim.payee_account_enc) and failed_before(
        session, claim.id, _payee(claim).bank_account
    )


def pay(claim_id: int) -> Claim:
    """Start (or resume) the transfer of an approved claim."""
    from app.integrations.registry import payout

    with transaction() as s:
        claim = claim_by_id(s, claim_id)
        if claim.status != ClaimStatus.APPROVED or not claim.approved_fen:
            return claim
        live = s.scalar(
            select(Payout).where(Payout.claim_id == claim.id, Payout.status != PayoutStatus.FAILED)
        )
        if live is not None:
            return claim  # in flight: reconcile_payouts resolves it
        if payee_failed_before(s, claim):
            # never the same refused account again: the payee must be corrected first
            log.warning("payout for claim %s held: the payee account was refused", claim_id)
            return claim
        attempt = 1 + (
            s.scalar(select(func.count()).select_from(Payout).where(Payout.claim_id == claim.id))
            or 0
        )
        row = Payout(
            claim_id=claim.id,
            request_id=f"{claim.claim_no}P{attempt}",
            attempt=attempt,
            amount_fen=claim.approved_fen,
        )
        s.add(row)
        try:
            s.flush()
        except IntegrityError:
            raise E.payout_in_progress() from None
        payout_id, request_id, payee = row.id, row.request_id, _payee(claim)
        amount, memo = row.amount_fen, f"惠民保理赔 {claim.claim_no}"
    try:
        result = payout().transfer(request_id, payee, amount, memo)
    except Exception as exc:
        log.warning("payout transfer for claim %s left pending: %s", claim_id, type(exc).__name__)
        return claim  # as committed above (expire_on_commit=False keeps it loaded)
    return record_payout(payout_id, result)


def record_payout(payout_id: int, result: PayoutResult) -> Claim:
    """Apply a transfer outcome exactly once (a conditional UPDATE from pending)."""
    paid_now, answered = None, None
    with transaction() as s:
        row = existing(s, Payout, payout_id)
        claim = existing(s, Claim, row.claim_id)
        if result.status == PAYOUT_PENDING or row.status != PayoutStatus.PENDING:
            return claim
        moved = rows_changed(
            s,
            update(Payout)
            .where(Payout.id == row.id, Payout.status == PayoutStatus.PENDING)
            .values(
                status=result.status,
                external_id=result.external_id,
                failure_code=result.failure_code,
                updated_at=utcnow(),
            ),
        )
        if moved != 1:
            return claim
        answered = "succeeded" if result.status == PAYOUT_SUCCEEDED else "retrying"
        if result.status == PAYOUT_SUCCEEDED:
            s.add(
                ClaimLedgerEntry(
                    claim_id=claim.id,
                    payout_id=row.id,
                    kind="claim_payout",
                    amount_fen=-row.amount_fen,
                )
            )
            transition(
                s,
                claim,
                "pay",
                actor_type="system",
                actor_id=None,
                outcome=ClaimStatus.PAID,
                reason=f"理赔款 {yuan_plain(row.amount_fen)} 元已转账",
                paid_fen=claim.paid_fen + row.amount_fen,
                paid_at=utcnow(),
            )
            disclose_settled(s, claim, row.amount_fen)
            from app.disclosure.aggregates import record_claim_paid

            record_claim_paid(
                s, claim.product_id, claim.plan_year, today_shanghai(), row.amount_fen
            )
            notify(s, claim, "claim_paid", amount=yuan_plain(row.amount_fen))
            paid_now = row.amount_fen
        elif result.failure_code in PERMANENT_PAYOUT_FAILURES or row.attempt >= PAYOUT_ATTEMPTS:
            answered = "failed"
            if result.failure_code in PERMANENT_PAYOUT_FAILURES:
                _remember_failed(s, claim, row.id, result.failure_code)
            flags = list(claim.flags or []) + [
                {
                    "code": "payout_failed",
                    "zh": f"理赔款转账失败：{failure_label(result.failure_code)}",
                }
            ]
            _reverse_approval(s, claim)
            transition(
                s,
                claim,
                "payout_failed",
                actor_type="system",
                actor_id=None,
                reason=f"转账失败：{failure_label(result.failure_code)}",
                flags=flags,
            )
            notify(s, claim, "claim_payout_failed")
    if answered is not None:
        payout_outcome(answered, None if answered == "succeeded" else result.failure_code)
    if paid_now is not None:
        claim_outcome(ClaimStatus.PAID, paid_now)
    return claim


def _reverse_approval(session: Session, claim: Claim) -> None:
    """A claim going back to review gives back what settling it consumed, so the reviewer's
    next approval re-runs the engine against honest accumulators."""
    applied = claim.applied_deltas or {}
    year = accumulators.year_of(session, claim.person_id, claim.product_id, claim.plan_year)
    for kind, amounts in applied.items():
        for key, amount in amounts.items():
            session.execute(
                update(accumulators.AccumulatorEntry)
                .where(
                    accumulators.AccumulatorEntry.year_id == year.id,
                    accumulators.AccumulatorEntry.kind == kind,
                    accumulators.AccumulatorEntry.key == key,
                )
                .values(value_fen=accumulators.AccumulatorEntry.value_fen - amount)
            )
    session.execute(
        update(accumulators.AccumulatorYear)
        .where(accumulators.AccumulatorYear.id == year.id)
        .values(version=accumulators.AccumulatorYear.version + 1)
    )
    if claim.approved_fen:
        session.add(
            ClaimLedgerEntry(
                claim_id=claim.id, kind="approval_reversed", amount_fen=-claim.approved_fen
            )
        )
    claim_lines.release_caps(session, claim)  # what it held of special drugs' annual caps
    claim.approved_fen, claim.applied_deltas = None, None


def reconcile_payouts(min_age_seconds: int = 60) -> dict[str, int]:
    """Resolve transfers left pending (timeouts) by querying, and retry approved claims whose
    last transfer failed for a transient reason."""
    cutoff = utcnow() - timedelta(seconds=min_age_seconds)
    with read_scope() as s:
        pending = list(
            s.scalars(
                select(Payout.id).where(
                    Payout.status == PayoutStatus.PENDING, Payout.created_at <= cutoff
                )
            )
        )
        retry = list(
            s.scalars(
                select(Claim.id).where(Claim.status == ClaimStatus.APPROVED, Claim.approved_fen > 0)
            )
        )
    counts = {"resolved": 0, "still_pending": 0, "retried": 0}
    for payout_id in pending:
        try:
            result = _ask_the_bank(payout_id)
        except Exception:
            counts["still_pending"] += 1
            continue
        record_payout(payout_id, result)
        counts["resolved" if result.status != PAYOUT_PENDING else "still_pending"] += 1
    for claim_id in retry:
        before = _payout_count(claim_id)
        pay(claim_id)
        counts["retried"] += int(_payout_count(claim_id) > before)
    return counts


def _ask_the_bank(payout_id: int) -> PayoutResult:
    """Where a pending transfer stands; one the bank never received is sent again under the SAME
    request id (a late arrival of the first one is then the same transfer, never a second).
    Each read ends before the bank is called."""
    from app.integrations.registry import payout

    with read_scope() as s:
        request_id = existing(s, Payout, payout_id).request_id
    result = payout().query(request_id)
    if result.status == PAYOUT_NOT_FOUND:
        with read_scope() as s:
            row = existing(s, Payout, payout_id)
            claim = existing(s, Claim, row.claim_id)
            payee, amount, memo = _payee(claim), row.amount_fen, f"惠民保理赔 {claim.claim_no}"
        result = payout().transfer(request_id, payee, amount, memo)
    return result


def _payout_count(claim_id: int) -> int:
    with read_scope() as s:
        return (
            s.scalar(select(func.count()).select_from(Payout).where(Payout.claim_id == claim_id))
            or 0
        )


# --- the claim ledger -----------------------------------------------------------------------------


def check_claim_ledger() -> list[str]:
    """Per claim: ledger sum == approved - paid (approved is kept while money is owed)."""
    with read_scope() as s:
        return _ledger_problems(s)


def _ledger_problems(s: Session) -> list[str]:
    sums = dict(
        s.execute(
            select(ClaimLedgerEntry.claim_id, func.sum(ClaimLedgerEntry.amount_fen)).group_by(
                ClaimLedgerEntry.claim_id
            )
        ).all()
    )
    problems = []
    for claim in s.scalars(select(Claim).where(Claim.status.in_(FILED))):
        owed = (
            (claim.approved_fen or 0) - claim.paid_fen
            if claim.status in (ClaimStatus.APPROVED, ClaimStatus.PAID)
            else 0
        )
        if sums.get(claim.id, 0) != owed:
            problems.append(
                f"claim {claim.claim_no}: ledger {sums.get(claim.id, 0)} != owed {owed}"
            )
    return problems
