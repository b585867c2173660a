"""Refunds back to each original funding source: the personal account through the bureau,
WeChat by out_refund_no, a sponsor back to its programme. Each refund is idempotent at the other
side (its reference is the idempotent id) and settled exactly once here."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from app.common.clock import today_shanghai
from app.database import read_scope, transaction, utcnow
from app.enrollment import balances
from app.enrollment.models import LedgerEntry, OrderItem, Payment, Refund
from app.enrollment.statuses import RefundStatus
from app.integrations import registry
from app.integrations.bureau.port import (
    DEBIT_FAILED,
    DEBIT_SUCCEEDED,
    AccountPort,
    BureauUnavailable,
)
from app.integrations.wechatpay.port import (
    REFUND_ABNORMAL,
    REFUND_CLOSED,
    REFUND_SUCCESS,
    WeChatPayError,
)
from app.policies.models import Policy, PolicyStatus

log = logging.getLogger(__name__)
LEDGER_KIND_OUT = {
    "personal_account": "personal_account_refund",
    "wechat": "wechat_refund",
    "sponsor": "sponsor_refund",
}


def account_port() -> AccountPort:
    """The bureau's personal-account side (AccountPort). The registry hands out one bureau
    adapter, typed as BureauPort; the sandbox and HTTP adapters implement both ports."""
    return cast(AccountPort, registry.bureau())


def execute_refund(refund_id: int) -> str:
    """Send one refund to its funding source; returns pending | succeeded | failed."""
    with read_scope() as session:
        refund = session.get(Refund, refund_id)
        if refund is None or refund.status != RefundStatus.PENDING:
            return refund.status if refund else "missing"
        payment = session.get(Payment, refund.payment_id) if refund.payment_id else None
    if refund.method == "sponsor":
        return _succeeded(refund_id, None)
    assert payment is not None  # a personal-account or WeChat refund returns a payment
    try:
        if refund.method == "personal_account":
            txn = account_port().refund(refund.reference, payment.reference, refund.amount_fen)
            balances.forget(payment.payer_psn_no)
            if txn.status == DEBIT_SUCCEEDED:
                return _succeeded(refund_id, txn.bureau_txn_id)
            if txn.status == DEBIT_FAILED:
                return _failed(refund_id, txn.failure_code)
            return RefundStatus.PENDING
        result = registry.wechat_pay().refund(
            out_trade_no=payment.reference,
            out_refund_no=refund.reference,
            refund_fen=refund.amount_fen,
            total_fen=payment.amount_fen,
            reason="惠民保退保" if refund.reason == "surrender" else "订单已关闭，退回款项",
        )
    except (BureauUnavailable, WeChatPayError):
        log.warning(
            "refund outcome unknown; reconciliation will retry", extra={"refund_id": refund_id}
        )
        return RefundStatus.PENDING
    if result.status == REFUND_SUCCESS:
        return _succeeded(refund_id, result.refund_id)
    if result.status in (REFUND_ABNORMAL, REFUND_CLOSED):
        return _failed(refund_id, result.status.lower())
    return RefundStatus.PENDING


def _succeeded(refund_id: int, external_id: str | None) -> str:
    with transaction() as s:
        won = cast(
            CursorResult[Any],
            s.execute(
                update(Refund)
                .where(Refund.id == refund_id, Refund.status == RefundStatus.PENDING)
                .values(
                    status=RefundStatus.SUCCEEDED,
                    external_refund_id=external_id,
                    settled_at=utcnow(),
                )
            ),
        ).rowcount
        if won != 1:
            return "duplicate"
        refund = s.get_one(Refund, refund_id)
        s.add(
            LedgerEntry(
                order_id=refund.order_id,
                order_item_id=refund.order_item_id,
                kind=LEDGER_KIND_OUT[refund.method],
                amount_fen=-refund.amount_fen,
                payment_id=refund.payment_id,
                refund_id=refund.id,
                programme_id=refund.programme_id,
            )
        )
        s.flush()
        from app.disclosure.aggregates import record_refund_settled

        record_refund_settled(s, refund, on=today_shanghai())
        if refund.method == "sponsor" and refund.programme_id is not None:
            # Sponsorship: the subsidy goes back to its programme's budget and quota.
            from app.sponsors.services import release_budget

            release_budget(s, refund.programme_id, refund.amount_fen, refund.order_item_id)
        if refund.order_item_id is not None:
            _void_if_fully_refunded(s, refund.order_item_id)
    return RefundStatus.SUCCEEDED


def _failed(refund_id: int, code: str | None) -> str:
    with transaction() as s:
        s.execute(
            update(Refund)
            .where(Refund.id == refund_id, Refund.status == RefundStatus.PENDING)
            .values(status=RefundStatus.FAILED, settled_at=utcnow())
        )
    log.error("refund refused by the funding source", extra={"refund_id": refund_id, "code": code})
    return RefundStatus.FAILED


def _void_if_fully_refunded(s, order_item_id: int) -> None:
    statuses = set(s.scalars(select(Refund.status).where(Refund.order_item_id == order_item_id)))
    if statuses == {RefundStatus.SUCCEEDED}:
        voided = cast(
            CursorResult[Any],
            s.execute(
                update(Policy)
                .where(
                    Policy.order_item_id == order_item_id, Policy.status == PolicyStatus.SURRENDERED
                )
                .values(status=PolicyStatus.VOID, voided_at=utcnow())
            ),
        ).rowcount
        s.execute(update(OrderItem).where(OrderItem.id == order_item_id).values(open=False))
        if voided == 1:
            from app.disclosure.aggregates import record_policy_voided

            record_policy_voided(
                s, s.scalar(select(Policy.id).where(Policy.order_item_id == order_item_id))
            )


def reconcile_refunds(min_age_seconds: int = 60) -> int:
    cutoff = utcnow() - timedelta(seconds=min_age_seconds)
    with read_scope() as session:
        ids = list(
            session.scalars(
                select(Refund.id).where(
                    Refund.status == RefundStatus.PENDING, Refund.created_at <= cutoff
                )
            )
        )
    settled = 0
    for refund_id in ids:
        if _query_or_retry(refund_id) in (RefundStatus.SUCCEEDED, RefundStatus.FAILED):
            settled += 1
    return settled


def _query_or_retry(refund_id: int) -> str:
    with read_scope() as session:
        refund = session.get_one(Refund, refund_id)
    try:
        if refund.method == "wechat":
            result = registry.wechat_pay().query_refund(refund.reference)
            if result.status == REFUND_SUCCESS:
                return _succeeded(refund_id, result.refund_id)
            if result.status in (REFUND_ABNORMAL, REFUND_CLOSED):
                return _failed(refund_id, result.status.lower())
            return RefundStatus.PENDING
    except WeChatPayError as exc:
        if exc.code != "RESOURCE_NOT_EXISTS":
            return RefundStatus.PENDING
    # Personal account, sponsor, or a WeChat refund never received: repeating is idempotent.
    return execute_refund(refund_id)
