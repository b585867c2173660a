"""Renewal consents, runs and the outcome of each consent in a run.

A consent is the member's (the payer's) standing agreement to renew one insured person's cover
each plan year, recorded with the version of the consent text they agreed to; revoking it (opt
out) keeps the row. A run renews one target product (next year's) from the product it `renews`;
each consent gets at most one outcome per target product (unique), so running twice renews once,
and a run that was interrupted takes up the consents still pending.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base, utcnow


class ConsentStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"  # every consent has an outcome (some may not be renewed)
    FAILED = "failed"  # stopped by an error; `resume` takes up its pending outcomes


class OutcomeStatus(StrEnum):
    PENDING = "pending"  # not processed yet
    RENEWED = "renewed"  # paid from the personal account: next year's policy issued
    AWAITING_PAYMENT = "awaiting_payment"  # order placed, member notified to pay
    NOT_ELIGIBLE = "not_eligible"  # the bureau's answer says no (suspended, moved away ...)
    ALREADY_INSURED = "already_insured"  # already enrolled for the year another way
    FAILED = "failed"  # could not be processed (bureau unavailable ...); member notified


CONSENT_STATUSES = tuple(s.value for s in ConsentStatus)
RUN_STATUSES = tuple(s.value for s in RunStatus)
OUTCOME_STATUSES = tuple(s.value for s in OutcomeStatus)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class RenewalConsent(Base):
    __tablename__ = "renewal_consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)  # the payer
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)  # the insured
    relation: Mapped[str] = mapped_column(String(16))  # the insured's relation to the member
    auto_debit: Mapped[bool] = mapped_column(default=False)  # pay from the personal account
    text_version: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(12))  # enrollment | member
    status: Mapped[str] = mapped_column(String(8), default=ConsentStatus.ACTIVE)
    consented_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(_in("status", CONSENT_STATUSES), name="status"),
        CheckConstraint("source IN ('enrollment', 'member')", name="source"),
        Index(
            "uq_renewal_consents_active",
            "member_id",
            "person_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )


class RenewalRun(Base):
    __tablename__ = "renewal_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)  # next year
    from_product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    plan_year: Mapped[int]
    status: Mapped[str] = mapped_column(String(12), default=RunStatus.QUEUED)
    total: Mapped[int] = mapped_column(default=0)
    processed: Mapped[int] = mapped_column(default=0)
    started_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id"))
    runs: Mapped[int] = mapped_column(default=0)  # times started (1 + resumptions)
    error_code: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(_in("status", RUN_STATUSES), name="status"),
        CheckConstraint("processed >= 0 AND processed <= total", name="counts"),
        # One run at a time per product: two would race for the same consents.
        Index(
            "uq_renewal_runs_one_active",
            "product_id",
            unique=True,
            sqlite_where=text("status IN ('queued', 'running')"),
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )


class RenewalOutcome(Base):
    __tablename__ = "renewal_outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("renewal_runs.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    consent_id: Mapped[int] = mapped_column(ForeignKey("renewal_consents.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    from_policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"))
    status: Mapped[str] = mapped_column(String(20), default=OutcomeStatus.PENDING)
    reason_code: Mapped[str | None] = mapped_column(String(40))
    message: Mapped[str | None] = mapped_column(Text)  # Chinese, shown to the member
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policies.id"))
    processed_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(_in("status", OUTCOME_STATUSES), name="status"),
        # One outcome per consent per target product: running twice renews once.
        UniqueConstraint("product_id", "consent_id"),
    )
