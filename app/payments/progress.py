"""Where a member's payment stands: what a client polls after a 202 or a `processing` answer, and
the answer to a payment request retried after its first attempt died."""

from __future__ import annotations

from sqlalchemy import select

from app.database import get_session
from app.enrollment.models import Payment
from app.enrollment.services import get_order
from app.enrollment.statuses import PaymentStatus
from app.error_catalogue import E
from app.payments.services import PaymentStart, PaymentUnconfirmed

# A payment's status -> the `state` the member's payment page shows (PaymentStartResultSchema).
_PROGRESS = {
    PaymentStatus.SUCCEEDED: "paid",
    PaymentStatus.FAILED: "failed",
    PaymentStatus.CLOSED: "failed",
}


def resume_payment(member_id: int, order_id: int) -> PaymentStart | PaymentUnconfirmed:
    """The answer for a retry of a payment request whose first attempt died (its worker was
    killed; app/common/idempotency.py `resumed`): that attempt's payment, the order's latest,
    as it stands now. Still pending: the same 202 a database failure gives."""
    order = get_order(member_id, order_id)
    latest = get_session().scalar(
        select(Payment.id).where(Payment.order_id == order.id).order_by(Payment.id.desc())
    )
    if latest is None:
        raise E.payment_not_found()
    started = payment_progress(member_id, order_id, latest)
    assert started.payment is not None
    if started.payment.status != PaymentStatus.PENDING:
        return started
    payment = started.payment
    return PaymentUnconfirmed(
        order.id, payment.id, payment.method, payment.amount_fen, started.state
    )


def payment_progress(member_id: int, order_id: int, payment_id: int) -> PaymentStart:
    """Where one of the member's payments stands: what a client polls after a 202 (the outcome
    was not recorded when it answered) or a `processing` answer, until it is paid or failed."""
    order = get_order(member_id, order_id)  # another member's order: 404
    payment = get_session().scalar(
        select(Payment).where(Payment.id == payment_id, Payment.order_id == order.id)
    )
    if payment is None:
        raise E.payment_not_found()
    state = _PROGRESS.get(PaymentStatus(payment.status))
    if state is None:
        state = "awaiting_wechat" if payment.method == "wechat" else "processing"
    return PaymentStart(order, payment, state)
