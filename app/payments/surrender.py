"""退保 (surrender): within the product's refund rule, void the member's policy and refund each
funding source (what the payer paid, and each programme's subsidy back to its budget).

A payments use case, not a policies one: it creates refunds and runs payments' refund executor
(app/payments/refunds.py), and payments sits above policies. It reads the policy and asks
whether claims were filed through policies' services (the claims-filed hook point)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from app.audit.services import record as audit
from app.common import hooks
from app.common.clock import today_shanghai
from app.database import get_session, transaction, utcnow
from app.enrollment.models import Order, OrderItem, Payment, Refund
from app.enrollment.statuses import PaymentStatus
from app.error_catalogue import E
from app.payments.refunds import execute_refund
from app.policies.models import Policy, PolicyStatus
from app.policies.rules import CLAIM_EXISTS, WINDOW_PASSED, refund_refusal
from app.policies.services import claims_filed, get_policy


def surrender(member_id: int, policy_id: int) -> Policy:
    """退保: within the product's refund rule, refund each funding source and void the policy."""
    from app.products.services import definition_of, get_product_by_id

    session = get_session()
    policy = get_policy(member_id, policy_id)
    item = session.get_one(OrderItem, policy.order_item_id)
    order = session.get_one(Order, item.order_id)
    if order.member_id != member_id:
        raise E.surrender_payer_only()
    if policy.status != PolicyStatus.ACTIVE:
        raise E.policy_not_active()
    rule = definition_of(get_product_by_id(policy.product_id)).refund
    refusal = refund_refusal(
        rule,
        paid_on=policy.paid_on,
        today=today_shanghai(),
        coverage_start=policy.coverage_start,
        claim_care_starts=claims_filed(session, policy),
    )
    if refusal == WINDOW_PASSED:
        raise E.refund_window_passed(f"已超过缴费后{rule.within_days}天的退保期限")
    if refusal == CLAIM_EXISTS:
        raise E.refund_claim_exists()
    refund_ids = []
    with transaction() as s:
        won = cast(
            CursorResult[Any],
            s.execute(
                update(Policy)
                .where(Policy.id == policy.id, Policy.status == PolicyStatus.ACTIVE)
                .values(status=PolicyStatus.SURRENDERED, surrendered_at=utcnow())
            ),
        ).rowcount
        if won != 1:
            raise E.policy_not_active("保单状态已变化，请刷新")
        # Given back with the cover, in this transaction: an invite campaign's place (the
        # programme's budget follows when its refund succeeds). Locks the campaign row after
        # the policy's, never after a programme's: a redemption locks campaign then programme.
        for give_back in hooks.providers(hooks.POLICY_SURRENDERED):
            give_back(s, policy.id)
        payment = s.scalar(
            select(Payment).where(
                Payment.order_id == order.id, Payment.status == PaymentStatus.SUCCEEDED
            )
        )
        refunds = []
        if item.pay_fen > 0:
            assert payment is not None  # what the payer paid was paid by a succeeded payment
            refunds.append(
                Refund(
                    order_id=order.id,
                    order_item_id=item.id,
                    payment_id=payment.id,
                    method=payment.method,
                    amount_fen=item.pay_fen,
                    reason="surrender",
                    reference=f"RF{policy.policy_no}P",
                )
            )
        for n, subsidy in enumerate(item.subsidies):
            refunds.append(
                Refund(
                    order_id=order.id,
                    order_item_id=item.id,
                    method="sponsor",
                    programme_id=subsidy["programme_id"],
                    amount_fen=subsidy["amount_fen"],
                    reason="surrender",
                    reference=f"RF{policy.policy_no}S{n}",
                )
            )
        s.add_all(refunds)
        s.flush()
        refund_ids = [r.id for r in refunds]
        audit(
            s,
            actor_type="member",
            actor_id=member_id,
            action="policy.surrendered",
            object_type="policy",
            object_id=policy.id,
        )
        if not refunds:  # nothing was paid for it: void at once
            s.execute(
                update(Policy)
                .where(Policy.id == policy.id)
                .values(status=PolicyStatus.VOID, voided_at=utcnow())
            )
            s.execute(update(OrderItem).where(OrderItem.id == item.id).values(open=False))
            from app.disclosure.aggregates import record_policy_voided

            record_policy_voided(s, policy.id)
    for refund_id in refund_ids:
        execute_refund(refund_id)
    session = get_session()
    session.expire_all()
    return session.get_one(Policy, policy.id)
