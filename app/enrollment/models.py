"""Orders, their insured people, payments, refunds and the premium ledger.

Concurrency is designed into the schema:
- an order item is `open` while its order is pending or paid and its policy not void; a partial
  unique index allows one open item per person per plan year (a double-tapped enroll, or two
  family members enrolling the same child at once, cannot both succeed);
- a partial unique index allows one pending payment per order;
- status changes are conditional UPDATEs with row-count checks (see services).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import Base, utcnow
from app.enrollment.statuses import OrderStatus, PaymentStatus, RefundStatus
from app.members.models import Person

# The status sets come from app/enrollment/statuses.py; the CHECK constraints below spell them
# out as they were created (tests/test_statuses.py checks that they agree).
ORDER_STATUSES = tuple(s.value for s in OrderStatus)
PAYMENT_METHODS = ("personal_account", "wechat", "sponsor")
PAYMENT_STATUSES = tuple(s.value for s in PaymentStatus)
REFUND_STATUSES = tuple(s.value for s in RefundStatus)
LEDGER_KINDS = (
    "personal_account_debit",
    "wechat_payment",
    "sponsor_subsidy",
    "personal_account_refund",
    "wechat_refund",
    "sponsor_refund",
)


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_no: Mapped[str] = mapped_column(String(32), unique=True)
    # Both null on an order a sponsor's batch enrollment job placed (app/jobs): no member placed
    # it and the programme pays all of it; its job row names the job and the roster entry.
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    payer_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    plan_year: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.PENDING_PAYMENT)
    payment_method: Mapped[str | None] = mapped_column(String(16))
    total_premium_fen: Mapped[int]
    total_subsidy_fen: Mapped[int]
    total_pay_fen: Mapped[int]
    terms_version: Mapped[str] = mapped_column(String(32))
    terms_sha256: Mapped[str] = mapped_column(String(64))
    terms_agreed_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    close_reason: Mapped[str | None] = mapped_column(String(32))

    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order", order_by="OrderItem.id", lazy="selectin"
    )

    __table_args__ = (
        CheckConstraint("status IN ('pending_payment', 'paying', 'paid', 'closed')", name="status"),
        CheckConstraint(
            "total_premium_fen >= 0 AND total_subsidy_fen >= 0 AND total_pay_fen >= 0",
            name="amounts_non_negative",
        ),
        CheckConstraint(
            "total_premium_fen = total_subsidy_fen + total_pay_fen", name="amounts_add_up"
        ),
    )


class OrderItem(Base):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    plan_year: Mapped[int]
    relation: Mapped[str] = mapped_column(String(16))
    premium_fen: Mapped[int]
    subsidy_fen: Mapped[int]
    pay_fen: Mapped[int]
    # Funders of the subsidy: [{"programme_id", "funder_name", "funder_kind", "amount_fen"}]
    subsidies: Mapped[list] = mapped_column(JSON, default=list)
    open: Mapped[bool] = mapped_column(default=True)

    order: Mapped[Order] = relationship(back_populates="items")
    person: Mapped[Person] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint(
            "premium_fen = subsidy_fen + pay_fen AND subsidy_fen >= 0 AND pay_fen >= 0",
            name="amounts_add_up",
        ),
        Index(
            "uq_order_items_open_person_year",
            "person_id",
            "plan_year",
            unique=True,
            sqlite_where=text("open"),
            postgresql_where=text("open"),
        ),
    )


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    method: Mapped[str] = mapped_column(String(16))
    amount_fen: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=PaymentStatus.PENDING)
    # Our idempotent reference at the other side: bureau request id or WeChat out_trade_no.
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    authorisation_id: Mapped[str | None] = mapped_column(String(64))
    external_txn_id: Mapped[str | None] = mapped_column(String(64))
    payer_psn_no: Mapped[str | None] = mapped_column(String(40))
    failure_code: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    settled_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("status IN ('pending', 'succeeded', 'failed', 'closed')", name="status"),
        CheckConstraint("method IN ('personal_account', 'wechat')", name="method"),
        Index(
            "uq_payments_one_pending_per_order",
            "order_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )


class Refund(Base):
    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    order_item_id: Mapped[int | None] = mapped_column(ForeignKey("order_items.id"))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    method: Mapped[str] = mapped_column(String(16))  # personal_account | wechat | sponsor
    programme_id: Mapped[int | None]  # the sponsor programme credited back
    amount_fen: Mapped[int]
    reference: Mapped[str] = mapped_column(String(64), unique=True)  # out_refund_no / request id
    reason: Mapped[str] = mapped_column(String(32))  # surrender | paid_after_close
    status: Mapped[str] = mapped_column(String(16), default=RefundStatus.PENDING)
    external_refund_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    settled_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status"),
    )


class LedgerEntry(Base):
    """Append-only record of every premium movement. Positive = money in for the order,
    negative = money back out. Per order item, the entries sum to the premium of an item whose
    cover stands and to zero for one refunded; `flask ledger check` verifies this."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    order_item_id: Mapped[int | None] = mapped_column(ForeignKey("order_items.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    amount_fen: Mapped[int]
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"))
    programme_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint("amount_fen <> 0", name="amount_nonzero"),
        CheckConstraint(
            "kind IN ('personal_account_debit', 'wechat_payment', 'sponsor_subsidy', "
            "'personal_account_refund', 'wechat_refund', 'sponsor_refund')",
            name="kind",
        ),
    )
