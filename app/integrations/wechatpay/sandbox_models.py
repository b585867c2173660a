"""Tables behind the sandbox WeChat Pay: they play WeChat's own ledger of trades and refunds.
Never used by a production profile (which refuses sandbox adapters)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base, utcnow


class SandboxWeChatTrade(Base):
    __tablename__ = "sandbox_wechat_trades"

    id: Mapped[int] = mapped_column(primary_key=True)
    out_trade_no: Mapped[str] = mapped_column(String(32), unique=True)
    prepay_id: Mapped[str] = mapped_column(String(64), unique=True)
    # The order amount (amount.total) as created, in fen.
    amount_fen: Mapped[int]
    # What WeChat reports as paid once the trade is SUCCESS (normally amount_fen; a test may
    # simulate a different figure to exercise the app's amount check).
    paid_fen: Mapped[int | None]
    payer_openid: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(String(127))
    # NOTPAY, SUCCESS, REFUND, CLOSED (port constants).
    state: Mapped[str] = mapped_column(String(16))
    transaction_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    time_expire: Mapped[datetime]
    success_time: Mapped[datetime | None]
    # The id of the payment notification, reused for duplicate deliveries.
    notification_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SandboxWeChatRefund(Base):
    __tablename__ = "sandbox_wechat_refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    out_refund_no: Mapped[str] = mapped_column(String(64), unique=True)
    refund_id: Mapped[str] = mapped_column(String(32), unique=True)
    trade_id: Mapped[int] = mapped_column(ForeignKey("sandbox_wechat_trades.id"), index=True)
    amount_fen: Mapped[int]
    reason: Mapped[str] = mapped_column(String(80), default="")
    # PROCESSING, SUCCESS, ABNORMAL, CLOSED (port constants).
    status: Mapped[str] = mapped_column(String(16))
    success_time: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
