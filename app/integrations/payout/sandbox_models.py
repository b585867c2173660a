"""The table behind the sandbox payout: the bank's own record of each transfer request, keyed
by the caller's request id. The account number is stored encrypted (it is sensitive even in a
sandbox) with a keyed fingerprint for the idempotency comparison and its last four digits.
Never used by a production profile (which refuses the sandbox payout)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base, utcnow


class SandboxPayout(Base):
    __tablename__ = "sandbox_payouts"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    payee_name: Mapped[str] = mapped_column(String(64))
    account_enc: Mapped[str] = mapped_column(Text)
    account_index: Mapped[str] = mapped_column(String(64))
    account_last4: Mapped[str] = mapped_column(String(4))
    bank_name: Mapped[str] = mapped_column(String(64))
    memo: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12))  # payout.port PAYOUT_SUCCEEDED / FAILED
    external_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    failure_code: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("status IN ('succeeded', 'failed')", name="status_final"),
    )
