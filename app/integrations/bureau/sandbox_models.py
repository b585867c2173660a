"""Tables behind the sandbox bureau: the synthetic residents the embedded default knows.
They play the part of the bureau's own records and are never used by a production profile."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base, utcnow


class SandboxResident(Base):
    __tablename__ = "sandbox_residents"

    id: Mapped[int] = mapped_column(primary_key=True)
    certno_enc: Mapped[str] = mapped_column(Text)
    certno_index: Mapped[str] = mapped_column(String(64), unique=True)
    psn_no: Mapped[str] = mapped_column(String(40), unique=True)
    psn_name: Mapped[str] = mapped_column(String(64))
    gend: Mapped[str] = mapped_column(String(1))
    brdy: Mapped[date]
    insutype: Mapped[str] = mapped_column(String(3))
    psn_insu_stas: Mapped[str] = mapped_column(String(1))
    paus_insu_date: Mapped[date | None]
    insuplc_admdvs: Mapped[str] = mapped_column(String(12))
    # Personal-account balance in fen (employee insurance only).
    balc_fen: Mapped[int | None]
    idet_types: Mapped[list] = mapped_column(JSON, default=list)


# --- Personal-account debit (个人账户划扣) -----------------------------------------------------
# The bureau's side of authorise -> debit -> query -> refund. Written only by `SandboxBureau`,
# in its own session, so they behave like another system's records.


class SandboxAccountAuthorisation(Base):
    """The payer's consent to one debit of exactly `amount_fen` for `order_no`, until
    `expires_at`; `used` once a debit with it succeeded."""

    __tablename__ = "sandbox_account_authorisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    authorisation_id: Mapped[str] = mapped_column(String(40), unique=True)
    psn_no: Mapped[str] = mapped_column(String(40))
    amount_fen: Mapped[int]
    order_no: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    used: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)


class SandboxAccountTxn(Base):
    """One debit or refund request as the bureau recorded it, failed ones included, keyed by the
    caller's idempotent `request_id` (unique across debits and refunds)."""

    __tablename__ = "sandbox_account_txns"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(8))            # "debit" | "refund"
    psn_no: Mapped[str] = mapped_column(String(40), index=True)
    amount_fen: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))         # port.DEBIT_SUCCEEDED / DEBIT_FAILED
    bureau_txn_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    authorisation_id: Mapped[str | None] = mapped_column(String(40))   # debits
    order_no: Mapped[str | None] = mapped_column(String(64))           # debits
    original_request_id: Mapped[str | None] = mapped_column(String(64), index=True)  # refunds
    # On a succeeded debit: how much of it has been refunded so far (never above amount_fen).
    refunded_fen: Mapped[int] = mapped_column(default=0)
    balance_after_fen: Mapped[int | None]
    failure_code: Mapped[str | None] = mapped_column(String(40))
    failure_message: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("kind IN ('debit', 'refund')", name="kind_known"),
        CheckConstraint("refunded_fen >= 0 AND refunded_fen <= amount_fen", name="refund_within_debit"),
    )
