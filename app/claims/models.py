"""Claims, their documents, invoices and transitions; the per-person-year accumulators the
engine reads and the deltas it writes; payouts and the claim ledger."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.claims.statuses import ClaimStatus, PayoutStatus
from app.claims.workflow import STATUSES
from app.database import Base, utcnow

CLAIM_SOURCES = ("documents", "settlement")
# Who moved a claim (claim_transitions.actor_type).
ACTOR_TYPES = ("member", "staff", "system")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Claim(Base):
    __tablename__ = "claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_no: Mapped[str] = mapped_column(String(32), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)  # who filed it
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)  # the insured
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    plan_year: Mapped[int]
    source: Mapped[str] = mapped_column(String(12))
    setl_id: Mapped[str | None] = mapped_column(String(40))
    # Its keyed digest (app/claims/digests.py): what the duplicate checks compare; kept when the
    # end of retention erases the number.
    setl_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    mdtrt_id: Mapped[str | None] = mapped_column(String(40))

    care_kind: Mapped[str | None] = mapped_column(String(24))
    hospital_name: Mapped[str | None] = mapped_column(String(100))
    hospital_code: Mapped[str | None] = mapped_column(String(40))
    admitted_on: Mapped[date | None]
    discharged_on: Mapped[date | None]
    diagnosis: Mapped[str | None] = mapped_column(Text)
    # ICD-10 (the bureau's dise_codg): a chronic out-patient visit is covered only for a class-one
    # condition the product lists (app/adjudication/chronic.py)
    diagnosis_code: Mapped[str | None] = mapped_column(String(20))
    patient_name: Mapped[str | None] = mapped_column(String(64))  # the name on the bill

    medfee_sumamt_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    hifp_pay_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    hifmi_pay_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    hifob_pay_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    maf_pay_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    in_policy_self_pay_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    out_of_policy_self_pay_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    special_drugs_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    # The member's money of kinds without a column (proton, a product's own kinds): kind -> fen.
    other_amounts: Mapped[dict | None] = mapped_column(JSON)

    pre_existing_declared: Mapped[bool] = mapped_column(Boolean, default=False)
    health: Mapped[str] = mapped_column(String(16), default="healthy")
    health_set_by: Mapped[str] = mapped_column(String(8), default="member")

    payee_name: Mapped[str | None] = mapped_column(String(64))
    payee_bank_name: Mapped[str | None] = mapped_column(String(64))
    payee_account_enc: Mapped[str | None] = mapped_column(Text)
    payee_account_last4: Mapped[str | None] = mapped_column(String(4))

    status: Mapped[str] = mapped_column(String(24), default=ClaimStatus.DRAFT)
    assigned_staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_accounts.id"), index=True
    )
    flags: Mapped[list] = mapped_column(JSON, default=list)
    decision: Mapped[str | None] = mapped_column(String(16))  # the engine's last decision
    payable_fen: Mapped[int | None] = mapped_column(BigInteger)  # the engine's last figure
    # The person-year's accumulator version (AccumulatorYear.version) that figure was computed
    # against: once another claim of the year settles, the version moves on and the figure is
    # stale (the queue marks it; the claim page and approval re-run the engine: claims/figure.py).
    adjudicated_version: Mapped[int | None]
    approved_fen: Mapped[int | None] = mapped_column(BigInteger)
    paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    adjudication: Mapped[dict | None] = mapped_column(JSON)  # lines, buckets, reason codes
    applied_deltas: Mapped[dict | None] = mapped_column(JSON)  # what settling it added
    info_request: Mapped[dict | None] = mapped_column(JSON)  # the reviewer's open question
    auto_rejected: Mapped[bool] = mapped_column(Boolean, default=False)
    settlement_disclosed: Mapped[bool] = mapped_column(Boolean, default=False)  # counted once
    human_review_requested_at: Mapped[datetime | None]
    # 复核 (app/claims/recheck.py): when the member asked for it (at most once) and the reviewer
    # whose rejection it rechecks (who may not decide it).
    recheck_requested_at: Mapped[datetime | None]
    rejected_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id"))

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]  # kept after a reversal: the counter did pay, then
    # the hospital cancelled the settlement (撤销) at reversed_at; the views show paid_at only
    # while the payment stands (claims/schemas.py)
    reversed_at: Mapped[datetime | None]

    documents: Mapped[list[ClaimDocument]] = relationship(
        order_by="ClaimDocument.id",
        primaryjoin="and_(ClaimDocument.claim_id == Claim.id, ClaimDocument.deleted_at.is_(None))",
        viewonly=True,
    )
    invoices: Mapped[list[ClaimInvoice]] = relationship(
        order_by="ClaimInvoice.id", cascade="all, delete-orphan"
    )
    transitions: Mapped[list[ClaimTransition]] = relationship(
        order_by="ClaimTransition.id", viewonly=True
    )

    __table_args__ = (
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint(_in("source", CLAIM_SOURCES), name="source"),
        CheckConstraint("health IN ('healthy', 'pre_existing')", name="health"),
        CheckConstraint("paid_fen >= 0", name="paid_nonnegative"),
        CheckConstraint(
            "medfee_sumamt_fen >= 0 AND hifp_pay_fen >= 0 AND hifmi_pay_fen >= 0 AND "
            "hifob_pay_fen >= 0 AND maf_pay_fen >= 0 AND in_policy_self_pay_fen >= 0 AND "
            "out_of_policy_self_pay_fen >= 0 AND special_drugs_fen >= 0",
            name="amounts_nonnegative",
        ),
        # A settlement number always has its digest (the number may be erased, the digest not).
        CheckConstraint("setl_id IS NULL OR setl_digest IS NOT NULL", name="setl_digest"),
        # One live claim per settlement record and person: the one-tap path cannot file twice
        # (by the digest, so a claim whose number was erased still counts).
        Index(
            "uq_claims_person_setl_live",
            "person_id",
            "setl_digest",
            unique=True,
            sqlite_where=text("setl_digest IS NOT NULL AND status <> 'rejected'"),
            postgresql_where=text("setl_digest IS NOT NULL AND status <> 'rejected'"),
        ),
    )


class ClaimInvoice(Base):
    """An invoice (发票) the member lists: the duplicate check looks across every claim."""

    __tablename__ = "claim_invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    issuer: Mapped[str] = mapped_column(String(100))
    number: Mapped[str] = mapped_column(String(40))
    # The keyed digest of issuer and number (app/claims/digests.py): what the duplicate check
    # compares; kept when the end of retention erases the number.
    number_digest: Mapped[str] = mapped_column(String(64), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (CheckConstraint("amount_fen >= 0", name="amount_nonnegative"),)


class ClaimDocument(Base):
    __tablename__ = "claim_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    doc_type: Mapped[str] = mapped_column(String(24))
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    media_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]


class ClaimTransition(Base):
    """Append-only: every change of a claim's status, by whom and why."""

    __tablename__ = "claim_transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    actor_type: Mapped[str] = mapped_column(String(8))  # member | staff | system
    actor_id: Mapped[int | None]
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (CheckConstraint(_in("actor_type", ACTOR_TYPES), name="actor_type"),)


class AccumulatorYear(Base):
    """One row per insured person, product and plan year. Its `version` is the lock: settling a
    claim bumps it with a conditional UPDATE (WHERE version = the one read), so two claims
    settled at once cannot both consume the same deductible; the loser re-runs the engine."""

    __tablename__ = "accumulator_years"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    plan_year: Mapped[int]
    version: Mapped[int] = mapped_column(default=0)

    __table_args__ = (UniqueConstraint("person_id", "product_id", "plan_year"),)


class AccumulatorEntry(Base):
    """Deductible used, eligible spend, amount paid and sub-cap use, per key, in fen."""

    __tablename__ = "accumulator_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    year_id: Mapped[int] = mapped_column(ForeignKey("accumulator_years.id"))
    # paid | eligible | deductible | sub_cap | above_ded (eligible spend above the deductible)
    kind: Mapped[str] = mapped_column(String(12))
    key: Mapped[str] = mapped_column(String(200))  # bucket / deductible key / "b|sub|scope"
    value_fen: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (
        UniqueConstraint("year_id", "kind", "key"),
        CheckConstraint(
            "kind IN ('paid', 'eligible', 'deductible', 'sub_cap', 'above_ded')", name="kind"
        ),
        CheckConstraint("value_fen >= 0", name="value_nonnegative"),
    )


# The CHECK constraint on payouts.status is built from these strings.
PAYOUT_STATUSES = tuple(s.value for s in PayoutStatus)


class Payout(Base):
    __tablename__ = "payouts"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    attempt: Mapped[int]
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12), default=PayoutStatus.PENDING)
    external_id: Mapped[str | None] = mapped_column(String(64))
    failure_code: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint(_in("status", PAYOUT_STATUSES), name="status"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        UniqueConstraint("claim_id", "attempt"),
        # at most one transfer in flight or done per claim
        Index(
            "uq_payouts_claim_live",
            "claim_id",
            unique=True,
            sqlite_where=text("status <> 'failed'"),
            postgresql_where=text("status <> 'failed'"),
        ),
    )


class ClaimLedgerEntry(Base):
    """Append-only: + the approved amount owed to the member, - each transfer that succeeded,
    - the approved amount again when a refused transfer sends the claim back to review.
    Per claim the entries sum to what is still owed; `flask ledger check` verifies it."""

    __tablename__ = "claim_ledger_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    payout_id: Mapped[int | None] = mapped_column(ForeignKey("payouts.id"))
    kind: Mapped[str] = mapped_column(String(20))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint(
            "kind IN ('claim_approved', 'claim_payout', 'approval_reversed')", name="kind"
        ),
        CheckConstraint(
            "(kind = 'claim_approved' AND amount_fen > 0) OR "
            "(kind <> 'claim_approved' AND amount_fen < 0)",
            name="sign",
        ),
    )


class ClaimFailedAccount(Base):
    """A payee account the bank refused for good on a claim: never paid again on that claim.
    Kept only as a keyed hash (blind index) and the last four digits, never in clear."""

    __tablename__ = "claim_failed_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    payout_id: Mapped[int | None] = mapped_column(ForeignKey("payouts.id"))
    account_index: Mapped[str] = mapped_column(String(64))
    account_last4: Mapped[str] = mapped_column(String(4))
    failure_code: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("claim_id", "account_index"),)
