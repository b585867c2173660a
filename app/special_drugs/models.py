"""Special-drug applications (事前审核), their documents, the purchases claimed against an
approval, the per-drug annual cap accumulator (one row per person, product, plan year and
drug, moved only by a conditional UPDATE so concurrent purchases and claims cannot pass the cap)
and what of it each itemised claim holds."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base, utcnow


class ApplicationStatus(StrEnum):
    DRAFT = "draft"  # documents being added
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"  # valid_from..valid_to
    REJECTED = "rejected"
    EXPIRED = "expired"  # an approval whose period ended, closed when a new one is applied for


# An application in one of these blocks another for the same person and drug.
LIVE_STATUSES = (
    ApplicationStatus.DRAFT,
    ApplicationStatus.PENDING_REVIEW,
    ApplicationStatus.APPROVED,
)


class PurchaseStatus(StrEnum):
    RESERVED = "reserved"  # cap reserved, the claim being filed
    SUBMITTED = "submitted"  # the claim was submitted
    FAILED = "failed"  # filing the claim failed: the reservation was given back
    # the claim's rejection became final: the reservation was given back (a later approval,
    # after a human review of an automatic rejection, takes it again: back to `submitted`)
    RELEASED = "released"


def _in(column: str, enum: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(m.value) for m in enum)})"


_LIVE_SQL = "status IN ({})".format(", ".join(repr(s.value) for s in LIVE_STATUSES))


class SpecialDrugApplication(Base):
    __tablename__ = "special_drug_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_no: Mapped[str] = mapped_column(String(32), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)  # who applied
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))  # the insured
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    plan_year: Mapped[int]
    catalogue_version: Mapped[str] = mapped_column(String(40))  # the label applied under
    drug_code: Mapped[str] = mapped_column(String(64))  # the catalogue's (normalised)
    drug_name: Mapped[str] = mapped_column(String(500))
    indication: Mapped[str] = mapped_column(String(500))  # one the catalogue lists
    status: Mapped[str] = mapped_column(String(16), default=ApplicationStatus.DRAFT)
    # Set on approval: the period and the designated places (the catalogue's, at approval).
    valid_from: Mapped[date | None]
    valid_to: Mapped[date | None]
    pharmacies: Mapped[list] = mapped_column(JSON, default=list)
    annual_cap_fen: Mapped[int | None] = mapped_column(BigInteger)
    reviewed_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id"))
    reason_code: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(_in("status", ApplicationStatus), name="status"),
        CheckConstraint(
            "(status <> 'approved') OR (valid_from IS NOT NULL AND valid_to IS NOT NULL "
            "AND valid_to >= valid_from)",
            name="approved_period",
        ),
        # One live application per insured person and drug.
        Index(
            "uq_special_drug_applications_live",
            "person_id",
            "drug_code",
            unique=True,
            sqlite_where=text(_LIVE_SQL),
            postgresql_where=text(_LIVE_SQL),
        ),
        Index("ix_special_drug_applications_status", "status", "id"),
    )


class SpecialDrugDocument(Base):
    """A prescription or diagnostic proof, sanitised (app/documents) and stored (app/integrations
    /storage) like a claim's documents."""

    __tablename__ = "special_drug_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("special_drug_applications.id"), index=True
    )
    doc_type: Mapped[str] = mapped_column(String(24))
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    media_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class SpecialDrugUsage(Base):
    """What of a drug's annual cap a person has used in a plan year (fen). `used_fen` moves only
    by `UPDATE ... WHERE used_fen + n <= cap_fen`, so two purchases at once cannot pass it."""

    __tablename__ = "special_drug_usage"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    plan_year: Mapped[int]
    drug_code: Mapped[str] = mapped_column(String(64))
    cap_fen: Mapped[int | None] = mapped_column(BigInteger)  # None: no per-drug cap
    used_fen: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (
        UniqueConstraint("person_id", "product_id", "plan_year", "drug_code"),
        CheckConstraint("used_fen >= 0", name="used_nonnegative"),
        CheckConstraint("cap_fen IS NULL OR used_fen <= cap_fen", name="within_cap"),
    )


class SpecialDrugPurchase(Base):
    """One purchase claimed against an approval, with the claim it became and what of it counts
    as special-drug money (the rest is explained in `reasons`)."""

    __tablename__ = "special_drug_purchases"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("special_drug_applications.id"), index=True
    )
    usage_id: Mapped[int] = mapped_column(ForeignKey("special_drug_usage.id"))
    # Set once the claim is drafted (the cap is reserved first, so a refused claim releases it).
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"), unique=True)
    pharmacy: Mapped[str] = mapped_column(String(100))
    purchased_on: Mapped[date]
    quantity: Mapped[int]
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    counted_fen: Mapped[int] = mapped_column(BigInteger)  # special-drug money, within the cap
    invoice_no: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12), default=PurchaseStatus.RESERVED)
    lines: Mapped[list] = mapped_column(JSON)  # the claim's lines (rules.line_json)
    reasons: Mapped[list] = mapped_column(JSON)  # [{code, zh, en}]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint(_in("status", PurchaseStatus), name="status"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("counted_fen >= 0 AND counted_fen <= amount_fen", name="counted_range"),
    )


class SpecialDrugClaimHold(Base):
    """What of a drug's annual cap an itemised claim (a photographed, one-tap or counter claim
    whose lines count the drug as special-drug money) holds while its money is settled: taken
    in the transaction that approves it, given back when that approval is undone (a payout the
    bank refused sends it back to review; the hospital counter cancels its settlement)."""

    __tablename__ = "special_drug_claim_holds"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"))
    usage_id: Mapped[int] = mapped_column(ForeignKey("special_drug_usage.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("claim_id", "usage_id"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
    )
