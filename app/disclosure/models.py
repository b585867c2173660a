"""Maintained aggregates for public disclosure.

`DisclosureCounter` holds one number per (product, plan year, month, metric, dimension, slot):
the public statistics read only these rows, never the raw tables. A cell's value is the sum of
its slot rows (the largest, for a maximum); an event adds to one slot, chosen at random, so
events of the same month rarely wait on each other's row lock. Each row is changed by an atomic
upsert in the same transaction as the event it counts (see aggregates.py), so the figures can
never disagree with the events that committed.

`DisclosureEnrollment` remembers, per policy, the cells its issue incremented (month, insurance
type, funding source), so voiding the policy later decrements exactly those cells even if the
person's verified insurance type has changed since; its `voided_at` makes the decrement
happen once.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base, utcnow


class DisclosureCounter(Base):
    __tablename__ = "disclosure_counters"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    plan_year: Mapped[int]
    month: Mapped[str] = mapped_column(String(7))  # 'YYYY-MM', Asia/Shanghai
    metric: Mapped[str] = mapped_column(String(40))
    # "" when the metric has no breakdown: never NULL, or the unique key (and the upsert's
    # ON CONFLICT target) would not match.
    dimension: Mapped[str] = mapped_column(String(40), default="")
    # 0 .. DISCLOSURE_COUNTER_SLOTS - 1: which of the cell's rows this is (see module doc).
    slot: Mapped[int] = mapped_column(default=0, server_default="0")
    value: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint(
            "product_id",
            "plan_year",
            "month",
            "metric",
            "dimension",
            "slot",
            name="uq_disclosure_counters_cell_slot",
        ),
        CheckConstraint("length(month) = 7", name="month_format"),
    )


class DisclosureEnrollment(Base):
    __tablename__ = "disclosure_enrollments"

    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    plan_year: Mapped[int]
    issued_on: Mapped[date]  # Asia/Shanghai date of payment
    insurance_type: Mapped[str] = mapped_column(String(16))
    funding_source: Mapped[str] = mapped_column(String(24))
    voided_at: Mapped[datetime | None]
