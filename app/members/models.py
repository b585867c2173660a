"""Member accounts, relatives and consents.

`Person` (a natural person known by ID number) is the identity capability's model
(app/identity/models.py); it is imported here, where members and relatives point at it, and stays
importable from here for existing callers.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Select, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import Base, utcnow
from app.identity.models import Person

INSURANCE_TYPES = ("employee", "resident")  # bureau insutype 310 / 390
INSURANCE_STATUSES = ("active", "suspended")
RELATIONS = ("spouse", "child", "parent", "grandparent", "grandchild", "sibling")
# value_estimate / value_estimate_withdrawn: the separate consent to fetch last year's
# settlement records for the value estimate (app/estimates), and its withdrawal (append-only:
# the member's latest row of the two decides). identity_verification_withdrawn: the member
# withdrew their consent to the processing of personal information (PIPL art. 15); the latest
# of it and identity_verification decides (app/members/privacy.py).
CONSENT_PURPOSES = (
    "identity_verification",
    "guardian",
    "value_estimate",
    "value_estimate_withdrawn",
    "identity_verification_withdrawn",
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
    # Account closure (注销, app/members/closure.py): when, and until when the insurance records
    # of the closed account are kept (PIPL art. 47, 保险法 art. 87); null: nothing under retention.
    # A closed account's openid is replaced by "closed:<id>", so the next login is a new account.
    closed_at: Mapped[datetime | None]
    retain_until: Mapped[date | None]

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


# The consent to the processing of personal information (PIPL art. 15): the member's latest row of
# these two purposes says whether it stands (app/members/privacy.py).
PI_CONSENT_GRANTED, PI_CONSENT_WITHDRAWN = (
    "identity_verification",
    "identity_verification_withdrawn",
)


def latest_pi_consent(member_id: Any) -> Select:
    """The member's latest row of the two purposes (`member_id`: a value or a column)."""
    return (
        select(Consent)
        .where(
            Consent.member_id == member_id,
            Consent.purpose.in_((PI_CONSENT_GRANTED, PI_CONSENT_WITHDRAWN)),
        )
        .order_by(Consent.id.desc())
        .limit(1)
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
            "'value_estimate_withdrawn', 'identity_verification_withdrawn')",
            name="purpose",
        ),
        Index("ix_consents_member_purpose", "member_id", "purpose"),
    )
