"""Institutions and their keys, used request nonces, trials, confirmed settlements, the
hospitals' ledger (what the insurer owes each hospital), statements and reconciliations."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base, utcnow
from app.direct_settlement.statuses import (
    DIRECT_STATUSES,
    ENTRY_KINDS,
    INSTITUTION_STATUSES,
    STATEMENT_STATUSES,
    DirectStatus,
    InstitutionStatus,
    StatementStatus,
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Institution(Base):
    """A designated hospital (定点医疗机构) or the bureau, with the SM2 public key it signs with
    and the account its statements are paid to."""

    __tablename__ = "direct_institutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    fixmedins_code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    key_id: Mapped[str] = mapped_column(String(64), unique=True)
    public_key: Mapped[str] = mapped_column(String(130))
    status: Mapped[str] = mapped_column(String(12), default=InstitutionStatus.ACTIVE)
    payee_name: Mapped[str] = mapped_column(String(64))
    payee_bank_name: Mapped[str] = mapped_column(String(64))
    payee_account: Mapped[str] = mapped_column(String(32))  # a hospital's corporate account
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (CheckConstraint(_in("status", INSTITUTION_STATUSES), name="status"),)


class DirectNonce(Base):
    """A request nonce already used: each signed request is accepted once."""

    __tablename__ = "direct_nonces"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("direct_institutions.id"))
    nonce: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    __table_args__ = (UniqueConstraint("institution_id", "nonce"),)


class DirectTrial(Base):
    """A trial settlement (预结算): what was asked and what 惠民保 would pay. Changes nothing."""

    __tablename__ = "direct_trials"

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_no: Mapped[str] = mapped_column(String(32), unique=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("direct_institutions.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"))
    setl_id: Mapped[str] = mapped_column(String(40))
    mdtrt_id: Mapped[str] = mapped_column(String(40))
    request: Mapped[dict] = mapped_column(JSON)  # setlinfo and feedetail as received
    payable_fen: Mapped[int] = mapped_column(BigInteger)
    explanation: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DirectSettlement(Base):
    """A confirmed direct settlement (结算), unique per hospital settlement number."""

    __tablename__ = "direct_settlements"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("direct_institutions.id"))
    setl_sn: Mapped[str] = mapped_column(String(40))
    trial_id: Mapped[int] = mapped_column(ForeignKey("direct_trials.id"), unique=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), unique=True)
    status: Mapped[str] = mapped_column(String(12), default=DirectStatus.CONFIRMED)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    settled_on: Mapped[date]  # Asia/Shanghai day of the confirmation (reconciliation day)
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("institution_id", "setl_sn"),
        CheckConstraint(_in("status", DIRECT_STATUSES), name="status"),
        CheckConstraint("amount_fen >= 0", name="amount_nonnegative"),
    )


class HospitalStatement(Base):
    """清算: what the insurer owed a hospital up to a day, paid through the payout port."""

    __tablename__ = "direct_statements"

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_no: Mapped[str] = mapped_column(String(40), unique=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("direct_institutions.id"))
    through: Mapped[date]
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    settlements: Mapped[int]
    status: Mapped[str] = mapped_column(String(12), default=StatementStatus.PENDING)
    external_id: Mapped[str | None] = mapped_column(String(64))
    failure_code: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(_in("status", STATEMENT_STATUSES), name="status"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
    )


class HospitalLedgerEntry(Base):
    """Append-only: + owed on a confirmation, - on its cancellation, - a paid statement. Per
    hospital the entries sum to what is owed and not yet paid; `flask ledger check` checks it."""

    __tablename__ = "direct_hospital_ledger"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("direct_institutions.id"), index=True)
    settlement_id: Mapped[int | None] = mapped_column(ForeignKey("direct_settlements.id"))
    statement_id: Mapped[int | None] = mapped_column(ForeignKey("direct_statements.id"))
    kind: Mapped[str] = mapped_column(String(12))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint(_in("kind", ENTRY_KINDS), name="kind"),
        CheckConstraint(
            "(kind = 'owed' AND amount_fen > 0) OR (kind <> 'owed' AND amount_fen < 0)",
            name="sign",
        ),
    )


class Reconciliation(Base):
    """对账: a hospital's counts and sums for a day against ours, with what differs."""

    __tablename__ = "direct_reconciliations"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("direct_institutions.id"), index=True)
    day: Mapped[date]
    their_count: Mapped[int]
    their_sum_fen: Mapped[int] = mapped_column(BigInteger)
    our_count: Mapped[int]
    our_sum_fen: Mapped[int] = mapped_column(BigInteger)
    mismatches: Mapped[list] = mapped_column(JSON, default=list)
    matched: Mapped[bool]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
