from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base, utcnow

STAFF_ROLES = (
    "reviewer",  # claims reviewer at the insurer's service centre
    "operator",  # runs the service: products, organisations, reconciliation
    "employer_admin",  # an employer's HR clerk
    "charity_admin",  # a charity's / donor enterprise's officer
    "fund_admin",  # a government relief fund's officer
    "paired_admin",  # a paired-assistance body's officer
)
ORGANISATION_ROLES = ("employer_admin", "charity_admin", "fund_admin", "paired_admin")


class StaffAccount(Base):
    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    # The organisation an organisation admin acts for; null for insurer staff.
    organisation_id: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(
            "role IN ('reviewer', 'operator', 'employer_admin', 'charity_admin', 'fund_admin', "
            "'paired_admin')",
            name="role",
        ),
        CheckConstraint(
            "(role IN ('reviewer', 'operator')) = (organisation_id IS NULL)",
            name="organisation_scope",
        ),
    )


class RefreshToken(Base):
    """Opaque refresh tokens, stored as SHA-256 digests. Each use rotates the token within its
    family; presenting an already-rotated token revokes the whole family (theft detection)."""

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[str] = mapped_column(String(36), index=True)
    subject_type: Mapped[str] = mapped_column(String(8))  # member | staff
    subject_id: Mapped[int]
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    rotated_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("refresh_tokens.id"))

    __table_args__ = (
        CheckConstraint("subject_type IN ('member', 'staff')", name="subject_type"),
        Index("ix_refresh_tokens_subject", "subject_type", "subject_id"),
    )


class StaffWebSession(Base):
    """A signed-in staff console session (app/web). The browser holds an opaque random token in
    an HttpOnly cookie; only its SHA-256 digest is stored. A new token is made at every sign-in
    (a token the browser had before is ended, never upgraded: session fixation), and the session
    ends on sign-out, after WEB_SESSION_IDLE_SECONDS without a request, or WEB_SESSION_MAX_SECONDS
    after sign-in. `csrf_token` is the value every state-changing page request must echo."""

    __tablename__ = "staff_web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
