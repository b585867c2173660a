"""Persons, member accounts, relatives and consents.

A `Person` is a natural person known to us by ID number, shared by every member who is or acts
for them (both parents add the same child: one Person). The ID number is stored encrypted and
found by blind index; the last bureau verification is kept on the person, since it is a fact about
the person, not about whoever asked.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import Base, utcnow

INSURANCE_TYPES = ("employee", "resident")  # bureau insutype 310 / 390
INSURANCE_STATUSES = ("active", "suspended")
RELATIONS = ("spouse", "child", "parent", "grandparent", "grandchild", "sibling")
CONSENT_PURPOSES = ("identity_verification", "guardian")


class Person(Base):
    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    id_number_enc: Mapped[str] = mapped_column(Text)
    id_number_index: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    birth_date: Mapped[date]
    gender: Mapped[str] = mapped_column(String(1))
    # Last verification with the bureau (1101).
    psn_no: Mapped[str | None] = mapped_column(String(40))
    insurance_type: Mapped[str | None] = mapped_column(String(16))
    insurance_status: Mapped[str | None] = mapped_column(String(16))
    suspended_since: Mapped[date | None]
    region_code: Mapped[str | None] = mapped_column(String(12))
    identity_flags: Mapped[list] = mapped_column(JSON, default=list)
    has_personal_account: Mapped[bool] = mapped_column(default=False)
    verified_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint(
            "insurance_type IS NULL OR insurance_type IN ('employee', 'resident')",
            name="insurance_type",
        ),
        CheckConstraint(
            "insurance_status IS NULL OR insurance_status IN ('active', 'suspended')",
            name="insurance_status",
        ),
        CheckConstraint("gender IN ('1', '2')", name="gender"),
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
        CheckConstraint("purpose IN ('identity_verification', 'guardian')", name="purpose"),
        Index("ix_consents_member_purpose", "member_id", "purpose"),
    )
