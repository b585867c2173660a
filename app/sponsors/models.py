"""Sponsors (organisations), their programmes, and each programme's append-only budget ledger.

A programme's money figures are caches of its ledger (see `services.check_programme`):
- budget_total_fen     = sum of top_up (+) and refund (-) entries (money given, money handed back);
- budget_reserved_fen  = sum of reserve (+) and release (-) entries (promised to open orders,
                         and spent on paid ones);
- beneficiaries_reserved = number of reserve entries minus number of release entries.
They are changed only by conditional UPDATEs that also write the matching entry, in one
transaction; the CHECK constraints make an overspend impossible even for a buggy writer.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, String, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import Base, utcnow
from app.sponsors.statuses import ProgrammeStatus

PROGRAMME_STATUSES = tuple(s.value for s in ProgrammeStatus)
RULE_KINDS = ("full", "fixed", "percentage")
PROGRAMME_LEDGER_KINDS = ("top_up", "reserve", "release", "refund")


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(24))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint(
            "kind IN ('employer', 'charity', 'relief_fund', 'paired_assistance')", name="kind"
        ),
    )


class Programme(Base):
    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    plan_year: Mapped[int]
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(8), default=ProgrammeStatus.ACTIVE)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    rule_kind: Mapped[str] = mapped_column(String(16))
    rule_amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    rule_basis_points: Mapped[int | None]
    eligibility_categories: Mapped[list] = mapped_column(JSON, default=list)
    roster_only: Mapped[bool] = mapped_column(default=False)
    quota: Mapped[int | None]
    beneficiaries_reserved: Mapped[int] = mapped_column(default=0)
    budget_total_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    budget_reserved_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by_staff_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation: Mapped[Organisation] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("status IN ('active', 'paused', 'closed')", name="status"),
        CheckConstraint("rule_kind IN ('full', 'fixed', 'percentage')", name="rule_kind"),
        CheckConstraint("starts_on <= ends_on", name="dates"),
        CheckConstraint(
            "budget_reserved_fen >= 0 AND budget_reserved_fen <= budget_total_fen",
            name="budget_not_overspent",
        ),
        CheckConstraint(
            "beneficiaries_reserved >= 0 AND (quota IS NULL OR beneficiaries_reserved <= quota)",
            name="beneficiaries_within_quota",
        ),
    )


class ProgrammeLedgerEntry(Base):
    """Append-only: rows are inserted, never updated or deleted (enforced for ORM writes below)."""

    __tablename__ = "programme_ledger_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    amount_fen: Mapped[int] = mapped_column(BigInteger)  # signed: release/refund are negative
    order_item_id: Mapped[int | None] = mapped_column(ForeignKey("order_items.id"), index=True)
    staff_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint("kind IN ('top_up', 'reserve', 'release', 'refund')", name="kind"),
        CheckConstraint(
            "(kind IN ('top_up', 'reserve') AND amount_fen > 0) OR "
            "(kind IN ('release', 'refund') AND amount_fen < 0)",
            name="amount_sign",
        ),
    )


@event.listens_for(ProgrammeLedgerEntry, "before_update")
@event.listens_for(ProgrammeLedgerEntry, "before_delete")
def _append_only(_mapper, _connection, _target):
    raise RuntimeError("programme ledger entries are append-only")
