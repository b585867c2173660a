"""Paying for an order, and settling each payment exactly once.

Every outcome goes through `settle_success` / `settle_failure` (app/payments/settlement.py),
whichever way it arrives (the bureau's direct answer, a WeChat notification, or reconciliation),
and each starts with a conditional UPDATE of the payment's status, so duplicates and races have
one effect.
Calls to outside systems never happen inside a database transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import DBAPIError

from app.audit.services import record as audit
from app.common.clock import today_shanghai
from app.database import (
    end_transaction,
    get_session,
    is_outage,
    read_scope,
    transaction,
    utcnow,
)
from app.enrollment import balances
from app.enrollment.models import Order, Payment
from app.enrollment.quote import Payer, personal_account_refusal
from app.enrollment.services import close_order, get_order
from app.enrollment.statuses import OrderStatus, PaymentStatus
from app.error_catalogue import E, error
from app.errors import DomainError
from app.integrations import registry
from app.integrations.bureau.port import (
    DEBIT_FAILED,
    DEBIT_NOT_FOUND,
    DEBIT_PENDING,
    DEBIT_SUCCEEDED,
    BureauUnavailable,
)
from app.integrations.wechatpay.port import (
    TRADE_CLOSED,
    TRADE_NOTPAY,
    TRADE_SUCCESS,
    NotificationRejected,
    WeChatPayError,
)
from app.members import privacy
from app.members.models import Member, Person
from app.members.relation_rules import Party, unlisted_refusal
from app.members.services import relations_now, spouses_listed
from app.payments.refunds import account_port
from app.payments.settlement import settle_failure, settle_success

log = logging.getLogger(__name__)

# The bureau's failure codes on a refused debit (app/integrations/bureau/sandbox.py lists them)
# -> the catalogued error the member gets; any other code -> personal_account_debit_failed.
BUREAU_REFUSALS = {
    bureau_code: f"personal_account_{bureau_code}"
    for bureau_code in (
        "insufficient_balance",
        "insurance_suspended",
        "insurance_ended",
        "no_personal_account",
        "authorisation_expired",
        "authorisation_not_found",
        "authorisation_mismatch",
        "authorisation_used",
        "request_id_conflict",
    )
}


@dataclass(frozen=True)
class PaymentStart:
    order: Order
    payment: Payment | None
    state: str  # paid | processing | awaiting_wechat
    wechat_js_params: dict | None = None


@dataclass(frozen=True)
class PaymentUnconfirmed:
    """The answer when the database failed after the outside system was called (the bureau may
    have debited the account; WeChat has a prepay order): the payment as it was when the call
    was made, in plain data captured before it (a failed transaction's rollback expires the
    session's objects, and reading them again needs the database). The payment stays pending and
    reconciliation settles it; the member polls `GET /orders/{id}/payments/{payment_id}`."""

    order_id: int
    payment_id: int
    method: str
    amount_fen: int
    state: str  # processing | awaiting_wechat
    wechat_js_params: dict | None = None


def _after_outside_call(
    unconfirmed: PaymentUnconfirmed, record: Callable[[], PaymentStart]
) -> PaymentStart | PaymentUnconfirmed:
    """Record what the outside system answered. Money may have moved already, so a database
    outage here must not turn into an error: try once more (a killed backend or a failover
    drops one connection and the pool opens a new one; every settlement is a conditional UPDATE,
    so a second run has one effect), then answer with the pending state."""
    for attempt in (1, 2):
        try:
            return record()
        except DBAPIError as exc:
            if not is_outage(exc):
                raise
            get_session().close()  # its connection is gone; the next statement takes a new one
            log.warning(
                "database failed after the outside call; payment left to reconciliation",
                extra={"payment_id": unconfirmed.payment_id, "attempt": attempt},
            )
    return unconfirmed


def _payment_reference(order: Order, method: str, earlier: int) -> str:
    """Our reference at the other side: the order number, the method, and the payment's rank
    among the order's payments (`earlier` made before it)."""
    return f"{order.order_no}{'A' if method == 'personal_account' else 'W'}{earlier + 1:02d}"


def _lock_order_for_payment(session, member_id: int, order_id: int, method: str) -> Order:
    order = get_order(member_id, order_id)
    if order.status == OrderStatus.PAID:
        raise E.order_already_paid()
    if order.status == OrderStatus.CLOSED:
        raise E.order_closed()
    if order.status == OrderStatus.PAYING:
        raise E.payment_in_progress()
    if order.expires_at <= utcnow():
        with transaction() as s:
            close_order(s, order, "expired")  # a lost race writes nothing: the commit is empty
        raise E.order_closed("订单已超时关闭，请重新下单")
    if order.total_pay_fen <= 0:
        raise E.order_nothing_to_pay()
    return order


# Called in the transaction that settles a payment this request made, with the answer it will
# give: the route records it there as the keyed request's answer (idempotency.record_answer).
Answer = Callable[[Any, PaymentStart], None]


def start_payment(
    member_id: int, order_id: int, method: str, answer: Answer | None = None
) -> PaymentStart | PaymentUnconfirmed:
    session = get_session()
    privacy.check_in_session(session, member_id, "start_payment")
    order = _lock_order_for_payment(session, member_id, order_id, method)
    from app.products.services import definition_of, get_product_by_id

    defn = definition_of(get_product_by_id(order.product_id))
    if method not in defn.payment_methods or method == "sponsor":
        raise E.payment_method_unavailable()
    # The order's payments, read once: the pending one, and how many came before a new one.
    earlier = list(session.scalars(select(Payment).where(Payment.order_id == order.id)))
    pending = next((p for p in earlier if p.status == PaymentStatus.PENDING), None)
    if method == "personal_account":
        if pending is not None and pending.method == "wechat":
            _close_wechat_payment(session, pending)
        return _pay_from_account(session, member_id, order, defn, len(earlier), answer)
    if pending is not None and pending.method == "personal_account":
        raise E.payment_in_progress()
    return _pay_with_wechat(session, member_id, order, pending, defn.name, len(earlier))


# --- personal account ---------------------------------------------------------------------


def _pay_from_account(
    session, member_id: int, order: Order, defn, earlier: int, answer: Answer | None
) -> PaymentStart | PaymentUnconfirmed:
    # The payer (the member who placed the order): usually in the session already, as one of
    # the insured loaded with the order's items.
    person = session.get(Person, order.payer_person_id) if order.payer_person_id else None
    if person is None:
        person = session.get_one(Member, member_id).person
    items = [item for item in order.items if item.pay_fen > 0]
    paid_for = [
        (item.relation, Party(item.person.birth_date, item.person.gender)) for item in items
    ]
    # The list may have changed since the order was placed (a relative removed, or added back
    # under another relation): the account pays only for the family as it stands now.
    # The member's own item is the payer's (an identity an order rests on cannot be unbound).
    relatives = [item for item in items if item.relation != "self"]
    now = relations_now(session, member_id, [item.person_id for item in relatives])
    now.update({item.person_id: "self" for item in items if item.person_id == person.id})
    unlisted = unlisted_refusal([(item.relation, now.get(item.person_id)) for item in items])
    if unlisted is not None:
        raise error(unlisted.code, unlisted.message, status=422)
    payer = Payer(
        person.insurance_type,
        person.insurance_status,
        person.has_personal_account,
        birth_date=person.birth_date,
        gender=person.gender,
        spouses_listed=spouses_listed(session, member_id, [r for r, _ in paid_for]),
    )
    # The order's relations as placed; one placed before the relation rules, or for a relative
    # stored before them, may break them: the account refuses (WeChat Pay still may).
    refusal = personal_account_refusal(defn, payer, paid_for, today_shanghai())
    if refusal is not None:
        raise error(refusal.code, refusal.message, status=422)
    with transaction() as s:
        won = cast(
            CursorResult[Any],
            s.execute(
                update(Order)
                .where(Order.id == order.id, Order.status == OrderStatus.PENDING_PAYMENT)
                .values(status=OrderStatus.PAYING, payment_method="personal_account")
            ),
        ).rowcount
        if won != 1:
            raise E.order_state_changed()
        payment = Payment(
            order_id=order.id,
            method="personal_account",
            amount_fen=order.total_pay_fen,
            reference=_payment_reference(order, "personal_account", earlier),
            payer_psn_no=person.psn_no,
        )
        s.add(payment)
    unconfirmed = PaymentUnconfirmed(
        order.id, payment.id, "personal_account", payment.amount_fen, "processing"
    )
    try:
        return _authorise_and_debit(
            member_id, unconfirmed, person.psn_no, payment.reference, (order, payment, defn, answer)
        )
    except DBAPIError as exc:
        # From here on the payment exists, pending, with the order `paying`: whatever the bureau
        # did, reconciliation settles it (a debit that never happened: failed, payable again).
        if not is_outage(exc):
            raise
        get_session().close()
        log.warning(
            "database failed during a personal-account payment; left to reconciliation",
            extra={"payment_id": unconfirmed.payment_id},
        )
        return unconfirmed


def _authorise_and_debit(
    member_id: int, known: PaymentUnconfirmed, psn_no: str, reference: str, loaded
) -> PaymentStart | PaymentUnconfirmed:
    """Authorise and debit at the bureau, then settle. `loaded` is the order, the payment and
    the product's definition as this request read them, passed down so that settling and
    answering read none of them again."""
    order = loaded[0]
    bureau = account_port()
    try:
        auth = bureau.authorise_debit(psn_no, known.amount_fen, order.order_no)
    except BureauUnavailable:
        settle_failure(known.payment_id, "bureau_unavailable")
        raise E.bureau_unavailable("医保系统暂时无法扣款，请稍后再试或选择微信支付") from None
    balances.forget(psn_no)  # the quote asks the bureau again after this debit
    # The authorisation is recorded with the outcome (settle_success / settle_failure, or below
    # when the outcome is unknown): the reference, not it, is what reconciliation asks by.
    authorised = auth.authorisation_id
    try:
        txn = bureau.debit(reference, authorised, psn_no, known.amount_fen, order.order_no)
    except BureauUnavailable:
        # Outcome unknown: the payment stays pending and reconciliation settles it.
        log.warning(
            "personal-account debit outcome unknown", extra={"payment_id": known.payment_id}
        )
        return _after_outside_call(known, lambda: _processing(member_id, known, authorised))
    return _after_outside_call(
        known, lambda: _apply_account_result(member_id, known, txn, authorised, loaded)
    )


def _processing(member_id: int, known: PaymentUnconfirmed, authorisation_id: str) -> PaymentStart:
    """The debit's outcome is not known yet: record the authorisation, answer `processing`."""
    with transaction() as s:
        s.execute(
            update(Payment)
            .where(Payment.id == known.payment_id)
            .values(authorisation_id=authorisation_id)
        )
    return _started(member_id, known, "processing")


def _started(member_id: int, known: PaymentUnconfirmed, state: str) -> PaymentStart:
    """The answer, read afresh (an earlier attempt may have closed the session)."""
    payment = get_session().get(Payment, known.payment_id, populate_existing=True)
    return PaymentStart(
        get_order(member_id, known.order_id), payment, state, known.wechat_js_params
    )


def _apply_account_result(
    member_id: int, known: PaymentUnconfirmed, txn, authorisation_id: str, loaded
) -> PaymentStart:
    if txn.status == DEBIT_SUCCEEDED:
        if txn.amount_fen != known.amount_fen:
            log.error("bureau debited a different amount", extra={"payment_id": known.payment_id})
            return _processing(member_id, known, authorisation_id)
        order, payment, defn, answer = loaded

        def paid(session, settled_order: Order, settled_payment: Payment) -> None:
            if answer is not None:
                answer(session, PaymentStart(settled_order, settled_payment, "paid"))

        settled = settle_success(
            known.payment_id,
            txn.bureau_txn_id,
            txn.amount_fen,
            authorisation_id=authorisation_id,
            defn=defn,
            on_paid=paid,
        )
        if settled == "paid" and order in get_session():
            # Settled by this request's session: the order and payment it holds were updated by
            # the settlement's own statements (their new status, times and method).
            return PaymentStart(order, payment, "paid")
        return _started(member_id, known, "paid")
    if txn.status == DEBIT_FAILED:
        code = txn.failure_code or "debit_failed"
        settle_failure(known.payment_id, code, authorisation_id=authorisation_id)
        raise error(BUREAU_REFUSALS.get(code, "personal_account_debit_failed"))
    return _processing(member_id, known, authorisation_id)


# --- WeChat Pay -----------------------------------------------------------------------------


def _pay_with_wechat(
    session, member_id, order, pending, description, earlier: int
) -> PaymentStart | PaymentUnconfirmed:
    member = session.get(Member, member_id)
    if pending is None:
        with transaction() as s:
            pending = Payment(
                order_id=order.id,
                method="wechat",
                amount_fen=order.total_pay_fen,
                reference=_payment_reference(order, "wechat", earlier),
            )
            s.add(pending)
            s.execute(update(Order).where(Order.id == order.id).values(payment_method="wechat"))
    else:
        end_transaction(session, keep=True)  # the keyed claim (FIRST_COMMIT), before WeChat Pay
    cfg = current_app.config
    order_id, payment_id, amount_fen = order.id, pending.id, pending.amount_fen
    try:
        prepay = registry.wechat_pay().create_jsapi_order(
            out_trade_no=pending.reference,
            description=description[:127],
            amount_fen=pending.amount_fen,
            payer_openid=member.openid,
            notify_url=cfg["WECHATPAY_NOTIFY_URL"],
            time_expire=order.expires_at,
        )
    except WeChatPayError as exc:
        if not exc.retryable:
            settle_failure(pending.id, f"wechat_{exc.code or 'rejected'}".lower()[:40])
        raise E.wechat_pay_unavailable() from None
    unconfirmed = PaymentUnconfirmed(
        order_id, payment_id, "wechat", amount_fen, "awaiting_wechat", prepay.js_params
    )
    return _after_outside_call(
        unconfirmed, lambda: _started(member_id, unconfirmed, "awaiting_wechat")
    )


def _close_wechat_payment(session, payment: Payment) -> None:
    end_transaction(session, keep=True)  # the keyed claim (FIRST_COMMIT), before WeChat Pay
    try:
        registry.wechat_pay().close_order(payment.reference)
    except WeChatPayError as exc:
        # ORDERPAID: the member paid in WeChat and the notification is still on its way. Apply
        # the payment now (as reconciliation would) rather than call WeChat Pay unavailable.
        if exc.code == "ORDERPAID" and _settle_paid_trade(payment.id, payment.reference):
            raise E.order_already_paid("订单已通过微信支付成功，无需再次支付") from None
        raise E.wechat_pay_unavailable() from None
    with transaction() as s:
        s.execute(
            update(Payment)
            .where(Payment.id == payment.id, Payment.status == PaymentStatus.PENDING)
            .values(
                status=PaymentStatus.CLOSED, settled_at=utcnow(), failure_code="switched_method"
            )
        )


def _settle_paid_trade(payment_id: int, reference: str) -> bool:
    """Ask WeChat about a trade it says is paid; settle it when it is, for the expected amount."""
    try:
        status = registry.wechat_pay().query_order(reference)
    except WeChatPayError:
        return False
    if status.trade_state != TRADE_SUCCESS:
        return False
    with read_scope() as session:
        expected_fen = session.get_one(Payment, payment_id).amount_fen
    if status.amount_fen is not None and status.amount_fen != expected_fen:
        return False
    settle_success(payment_id, status.transaction_id, expected_fen)
    return True


def handle_wechat_notification(headers: dict, body: bytes) -> str:
    """Verify and apply a WeChat Pay notification. Returns what happened (for logs/tests);
    raises NotificationRejected for forged, stale or malformed ones."""
    note = registry.wechat_pay().parse_notification(headers, body)
    if note.trade_state != TRADE_SUCCESS:
        return "ignored_state"
    with read_scope() as session:
        payment = session.scalar(
            select(Payment).where(
                Payment.reference == note.out_trade_no, Payment.method == "wechat"
            )
        )
        if payment is None:
            log.warning("notification for an unknown out_trade_no")
            return "unknown_trade"
        payment_id, expected_fen = payment.id, payment.amount_fen
    if note.amount_total_fen != expected_fen:
        with transaction() as s:
            audit(
                s,
                actor_type="system",
                actor_id=None,
                action="payment.amount_mismatch",
                object_type="payment",
                object_id=payment_id,
                detail={"expected_fen": expected_fen, "notified_fen": note.amount_total_fen},
            )
        raise NotificationRejected("amount_mismatch")
    return settle_success(payment_id, note.transaction_id, note.amount_total_fen)


# --- expiry and reconciliation ---------------------------------------------------------------


def expire_orders() -> int:
    """Close unpaid orders past their deadline (closing their WeChat trades first)."""
    session = get_session()
    overdue = list(
        session.scalars(
            select(Order).where(
                Order.status == OrderStatus.PENDING_PAYMENT, Order.expires_at <= utcnow()
            )
        )
    )
    closed = 0
    for order in overdue:
        pending = session.scalar(
            select(Payment).where(
                Payment.order_id == order.id, Payment.status == PaymentStatus.PENDING
            )
        )
        if pending is not None and pending.method == "wechat":
            try:
                _close_wechat_payment(session, pending)
            except DomainError:
                continue  # try again next run
        with transaction() as s:
            if close_order(s, s.get_one(Order, order.id), "expired"):
                closed += 1
    return closed


def reconcile(min_age_seconds: int = 60) -> dict[str, int]:
    """Settle payments whose outcome is unknown (timeouts, lost notifications) by asking the
    other side. Safe to run at any time and as often as wanted."""
    cutoff = utcnow() - timedelta(seconds=min_age_seconds)
    with read_scope() as session:
        pending = list(
            session.scalars(
                select(Payment).where(
                    Payment.status == PaymentStatus.PENDING, Payment.created_at <= cutoff
                )
            )
        )
    summary = {"checked": 0, "paid": 0, "failed": 0, "still_pending": 0, "errors": 0}
    for payment in pending:
        summary["checked"] += 1
        try:
            outcome = _reconcile_one(payment)
        except (BureauUnavailable, WeChatPayError):
            summary["errors"] += 1
            continue
        summary[outcome] += 1
    from app.payments.refunds import reconcile_refunds

    summary["refunds_settled"] = reconcile_refunds(min_age_seconds)
    summary["orders_expired"] = expire_orders()
    return summary


def _reconcile_one(payment: Payment) -> str:
    if payment.method == "personal_account":
        txn = account_port().query(payment.reference)
        if txn.status == DEBIT_SUCCEEDED:
            settle_success(payment.id, txn.bureau_txn_id, txn.amount_fen)
            return "paid"
        if txn.status in (DEBIT_FAILED, DEBIT_NOT_FOUND):
            settle_failure(payment.id, txn.failure_code or "debit_not_found")
            return "failed"
        assert txn.status == DEBIT_PENDING
        return "still_pending"
    status = registry.wechat_pay().query_order(payment.reference)
    if status.trade_state == TRADE_SUCCESS:
        if status.amount_fen is not None and status.amount_fen != payment.amount_fen:
            return "still_pending"
        settle_success(payment.id, status.transaction_id, payment.amount_fen)
        return "paid"
    if status.trade_state in (TRADE_CLOSED, TRADE_NOTPAY):
        order = get_session().get_one(Order, payment.order_id)
        if status.trade_state == TRADE_CLOSED or order.expires_at <= utcnow():
            if status.trade_state == TRADE_NOTPAY:
                registry.wechat_pay().close_order(payment.reference)
            settle_failure(payment.id, "wechat_" + status.trade_state.lower())
            return "failed"
    return "still_pending"


def sandbox_simulate_wechat_payment(member_id: int, order_id: int) -> str:
    """Development and tests only: the sandbox plays the member paying in WeChat and WeChat
    sending its signed, encrypted notification, which goes through the real verification."""
    with read_scope() as session:
        order = get_order(member_id, order_id)
        payment = session.scalar(
            select(Payment).where(
                Payment.order_id == order.id,
                Payment.method == "wechat",
                Payment.status == PaymentStatus.PENDING,
            )
        )
        if payment is None:
            raise E.no_pending_wechat_payment()
        # The sandbox adapter's own method: this path is open only with the sandbox.
        sandbox = registry.wechat_pay()
        headers, body = sandbox.simulate_payment(payment.reference)  # type: ignore[attr-defined]
    return handle_wechat_notification(headers, body)
