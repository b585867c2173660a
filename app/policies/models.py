"""Policies: one per insured person per plan year (a partial unique index over policies that
are not void), each tied to the order item that paid for it."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import Base, utcnow

if TYPE_CHECKING:
    from app.members.models import Person


class PolicyStatus(StrEnum):
    ACTIVE = "active"
    SURRENDERED = "surrendered"  # refunded within the surrender window
    VOID = "void"  # never took effect (its order was undone); frees the person's plan year


POLICY_STATUSES = tuple(s.value for s in PolicyStatus)


class Policy(Base):
    __tablename__ = "policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_no: Mapped[str] = mapped_column(String(32), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    plan_year: Mapped[int]
    order_item_id: Mapped[int] = mapped_column(ForeignKey("order_items.id"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=PolicyStatus.ACTIVE)
    coverage_start: Mapped[date]
    coverage_end: Mapped[date]
    premium_fen: Mapped[int]
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_on: Mapped[date]  # Asia/Shanghai date of payment (refund window)
    surrendered_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]
    # The insured person, read only (loaded with the policy where a listing shows the name).
    person: Mapped[Person] = relationship(viewonly=True)

    __table_args__ = (
        CheckConstraint("status IN ('active', 'surrendered', 'void')", name="status"),
        CheckConstraint("coverage_start <= coverage_end", name="coverage_dates"),
        Index(
            "uq_policies_person_year_standing",
            "person_id",
            "plan_year",
            unique=True,
            sqlite_where=text("status <> 'void'"),
            postgresql_where=text("status <> 'void'"),
        ),
    )
