"""The table behind the sandbox notifier: every message it was asked to send, with the outcome
it answered, so a test or the demo can read what a member would have received. Never used by a
production profile (which refuses the sandbox notifier)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base, utcnow


class SandboxNotification(Base):
    __tablename__ = "sandbox_notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(128), index=True)
    template_id: Mapped[str] = mapped_column(String(128))
    data: Mapped[dict] = mapped_column(JSON)
    page: Mapped[str | None] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(8))  # notifier.port NOTIFY_*
    code: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint("status IN ('sent', 'retry', 'failed')", name="status_known"),
    )
