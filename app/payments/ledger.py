"""The premium ledger's invariants, checked over the whole database (`flask ledger check`).

1. Per order item: the entries sum to the item's premium while its cover stands (policy active
   or surrendered with refunds still pending count as standing only for refunds not yet settled),
   and to zero once the policy is void.
2. Per paid order: each funder's entries match the item's split (payer share and subsidies).
3. Per order: entries not tied to an item (a payment that arrived after the order closed) sum to
   zero once its refund settled.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from app.database import read_scope
from app.enrollment.models import LedgerEntry, Order, OrderItem, Refund
from app.enrollment.statuses import OrderStatus, RefundStatus
from app.policies.models import Policy, PolicyStatus


@dataclass(frozen=True)
class LedgerProblem:
    order_id: int
    order_item_id: int | None
    message: str


def check_ledger() -> list[LedgerProblem]:
    with read_scope() as session:
        return _problems(session)


def _problems(session) -> list[LedgerProblem]:
    problems: list[LedgerProblem] = []
    item_sums = dict(
        session.execute(
            select(LedgerEntry.order_item_id, func.sum(LedgerEntry.amount_fen))
            .where(LedgerEntry.order_item_id.is_not(None))
            .group_by(LedgerEntry.order_item_id)
        ).all()
    )
    pending_refunds = dict(
        session.execute(
            select(Refund.order_item_id, func.sum(Refund.amount_fen))
            .where(Refund.status == RefundStatus.PENDING, Refund.order_item_id.is_not(None))
            .group_by(Refund.order_item_id)
        ).all()
    )
    rows = session.execute(
        select(OrderItem, Order.status, Policy.status)
        .join(Order, Order.id == OrderItem.order_id)
        .outerjoin(Policy, Policy.order_item_id == OrderItem.id)
    ).all()
    for item, order_status, policy_status in rows:
        total = item_sums.get(item.id, 0) or 0
        if order_status != OrderStatus.PAID:
            expected = 0
        elif policy_status == PolicyStatus.VOID:
            expected = 0
        elif policy_status == PolicyStatus.SURRENDERED:
            expected = pending_refunds.get(item.id, 0) or 0
        else:
            expected = item.premium_fen
        if total != expected:
            problems.append(
                LedgerProblem(
                    item.order_id, item.id, f"entries sum to {total} fen, expected {expected} fen"
                )
            )
    loose = session.execute(
        select(LedgerEntry.order_id, func.sum(LedgerEntry.amount_fen))
        .where(LedgerEntry.order_item_id.is_(None))
        .group_by(LedgerEntry.order_id)
    ).all()
    for order_id, total in loose:
        pending = session.scalar(
            select(func.coalesce(func.sum(Refund.amount_fen), 0)).where(
                Refund.order_id == order_id,
                Refund.order_item_id.is_(None),
                Refund.status == RefundStatus.PENDING,
            )
        )
        if total != pending:
            problems.append(
                LedgerProblem(
                    order_id, None, f"unallocated entries sum to {total} fen, expected {pending}"
                )
            )
    return problems
