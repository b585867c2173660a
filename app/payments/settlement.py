"""Settling each payment exactly once: `settle_success` and `settle_failure`, whichever way the
outcome arrives (the bureau's direct answer, a WeChat notification, or reconciliation; callers
in app/payments/services.py). Each starts with a conditional UPDATE of the payment's status, so
duplicates and races have one effect; a success pays the order through the enrollment writer
(`record_paid`) in the same transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import joinedload

from app.audit.services import record as audit
from app.database import rowcount, transaction, utcnow
from app.enrollment.models import LedgerEntry, Order, Payment, Refund
from app.enrollment.statuses import OrderStatus, PaymentStatus
from app.enrollment.writer import LEDGER_KIND_IN, PaidOrderFacts, record_paid
from app.ops.metrics import payment_outcome


def settle_success(
    payment_id: int,
    external_txn_id: str | None,
    amount_fen: int,
    *,
    authorisation_id: str | None = None,
    defn=None,
    on_paid: Callable[[Any, Order, Payment], None] | None = None,
) -> str:
    """Apply a confirmed payment exactly once. If the order was closed meanwhile (paid after
    cancel), the money is recorded and refunded in full. `authorisation_id`: the bureau's
    authorisation of a personal-account debit, recorded with it; `defn`: the order's product
    definition when the caller has it already; `on_paid(session, order, payment)` runs in the
    settling transaction once the order is paid (the payment request records its answer)."""
    refund_id = None
    with transaction() as s:
        won = _settle_payment(
            s,
            payment_id,
            (PaymentStatus.PENDING, PaymentStatus.CLOSED),
            authorisation_id,
            status=PaymentStatus.SUCCEEDED,
            external_txn_id=external_txn_id,
        )
        if not won:
            return "duplicate"
        # Both are usually in the session already (the payment request read them; the UPDATEs
        # here keep them current), else read once, the order with its items.
        payment = s.get_one(Payment, payment_id)
        order = s.get_one(Order, payment.order_id, options=[joinedload(Order.items)])
        paid = rowcount(
            s.execute(
                update(Order)
                .where(
                    Order.id == order.id,
                    Order.status.in_((OrderStatus.PENDING_PAYMENT, OrderStatus.PAYING)),
                )
                .values(status=OrderStatus.PAID, paid_at=utcnow(), payment_method=payment.method)
            )
        )
        if paid == 1:
            if defn is None:
                from app.products.services import definition_of, get_product_by_id

                defn = definition_of(get_product_by_id(order.product_id))
            record_paid(
                s,
                order.product_id,
                order.plan_year,
                [PaidOrderFacts.of(order)],
                defn=defn,
                payment_id=payment.id,
            )
            if on_paid is not None:
                on_paid(s, order, payment)
            outcome = "paid"
        else:
            s.add(
                LedgerEntry(
                    order_id=order.id,
                    kind=LEDGER_KIND_IN[payment.method],
                    amount_fen=payment.amount_fen,
                    payment_id=payment.id,
                )
            )
            refund = Refund(
                order_id=order.id,
                payment_id=payment.id,
                method=payment.method,
                amount_fen=payment.amount_fen,
                reason="paid_after_close",
                reference=f"RF{payment.reference}",
            )
            s.add(refund)
            s.flush()
            refund_id = refund.id
            audit(
                s,
                actor_type="system",
                actor_id=None,
                action="payment.paid_after_close",
                object_type="order",
                object_id=order.id,
            )
            outcome = "refunding_paid_after_close"
    payment_outcome(payment.method, PaymentStatus.SUCCEEDED, payment.amount_fen)
    if refund_id is not None:
        from app.payments.refunds import execute_refund

        execute_refund(refund_id)
    return outcome


def _settle_payment(s, payment_id: int, pending, authorisation_id: str | None, **values) -> bool:
    """The one conditional UPDATE that settles a payment still in one of the `pending` statuses,
    with the bureau's authorisation when there is one: won (True) by exactly one caller."""
    if authorisation_id is not None:
        values["authorisation_id"] = authorisation_id
    return (
        rowcount(
            s.execute(
                update(Payment)
                .where(Payment.id == payment_id, Payment.status.in_(pending))
                .values(settled_at=utcnow(), **values)
            )
        )
        == 1
    )


def settle_failure(
    payment_id: int, failure_code: str, *, authorisation_id: str | None = None
) -> bool:
    with transaction() as s:
        won = _settle_payment(
            s,
            payment_id,
            (PaymentStatus.PENDING,),
            authorisation_id,
            status=PaymentStatus.FAILED,
            failure_code=failure_code[:40],
        )
        if won:
            payment = s.get_one(Payment, payment_id)
            s.execute(
                update(Order)
                .where(Order.id == payment.order_id, Order.status == OrderStatus.PAYING)
                .values(status=OrderStatus.PENDING_PAYMENT)
            )
    if won:
        payment_outcome(payment.method, PaymentStatus.FAILED, payment.amount_fen)
    return won
