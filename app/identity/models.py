"""Persons: the natural people Huimin knows by ID number.

A `Person` is shared by every member who is or acts for them (both parents add the same child: one
Person). The ID number is stored encrypted and found by blind index; the last bureau verification
is kept on the person, since it is a fact about the person, not about whoever asked. It belongs to
the identity capability (which verifies and upserts persons); members, policies and the rest
point at it.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base, utcnow


class Person(Base):
    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    id_number_enc: Mapped[str] = mapped_column(Text)
    id_number_index: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    birth_date: Mapped[date]
    gender: Mapped[str] = mapped_column(String(1))
    # Last verification with the bureau (1101).
    psn_no: Mapped[str | None] = mapped_column(String(40), index=True)
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


class InsuranceAnswer(Base):
    """One 1101 `insuinfo` row as the bureau gave it for a person on `observed_on` (Asia/Shanghai
    date), kept on every verification and re-verification: the snapshot on Person is only the
    status now, these are the history a claim is judged on (status on the date of care,
    app/identity/periods.py), so a past suspension still counts after a reinstatement."""

    __tablename__ = "insurance_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    insutype: Mapped[str] = mapped_column(String(6))
    psn_insu_stas: Mapped[str] = mapped_column(String(1))  # 1 active | 2 suspended | 4 ended
    paus_insu_date: Mapped[date | None]
    begin_date: Mapped[date | None]  # 1101 psn_insu_date
    observed_on: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
