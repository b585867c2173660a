"""Member accounts, relatives and consents.

`Person` (a natural person known by ID number) is the identity capability's model
(app/identity/models.py); it is imported here, where members and relatives point at it, and stays
importable from here for existing callers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import Base, utcnow
from app.identity.models import Person

INSURANCE_TYPES = ("employee", "resident")  # bureau insutype 310 / 390
INSURANCE_STATUSES = ("active", "suspended")
RELATIONS = ("spouse", "child", "parent", "grandparent", "grandchild", "sibling")
# value_estimate / value_estimate_withdrawn: the separate consent to fetch last year's
# settlement records for the value estimate (app/estimates), and its withdrawal (append-only:
# the member's latest row of the two decides).
CONSENT_PURPOSES = (
    "identity_verification",
    "guardian",
    "value_estimate",
    "value_estimate_withdrawn",
)


class Member(Base):
    """An account in the mini-program, created on first WeChat login."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(String(64))
    # The person this account belongs to, once verified. One account per person.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    person: Mapped[Person | None] = relationship(lazy="joined")


class Relative(Base):
    """A person a member may act for (enroll, pay for, claim for)."""

    __tablename__ = "relatives"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    relation: Mapped[str] = mapped_column(String(16))
    guardian_consent_id: Mapped[int | None] = mapped_column(ForeignKey("consents.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[Person] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("member_id", "person_id"),
        CheckConstraint(
            "relation IN ('spouse', 'child', 'parent', 'grandparent', 'grandchild', 'sibling')",
            name="relation",
        ),
    )


class Consent(Base):
    """A recorded separate consent (PIPL 单独同意) or guardian consent, append-only."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    subject_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    purpose: Mapped[str] = mapped_column(String(32))
    text_version: Mapped[str] = mapped_column(String(32))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint(
            "purpose IN ('identity_verification', 'guardian', 'value_estimate', "
            "'value_estimate_withdrawn')",
            name="purpose",
        ),
        Index("ix_consents_member_purpose", "member_id", "purpose"),
    )
