"""Invite campaigns and their redemptions.

`claimed` counts redemptions that hold cover. It goes up only by the conditional UPDATE in
`services.redeem` (``claimed < quota``), in the same transaction as the redemption row, the
sponsor-paid order, the programme's budget reservation and the policy, and down only when that
policy is surrendered (`surrender.release_place`, in the surrender's transaction, as the sponsor
refund gives the programme its budget back); the CHECK constraint makes an over-quota campaign
impossible even for a buggy writer. One redemption per person per campaign (unique), so scanning
twice finds the first one (and a surrendered one is refused, not given again).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.campaigns.statuses import CampaignStatus
from app.database import Base, utcnow
from app.sponsors.models import Organisation, Programme

CAMPAIGN_STATUSES = tuple(s.value for s in CampaignStatus)


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Random; the only thing a link carries (app/campaigns/tokens.py).
    public_code: Mapped[str] = mapped_column(String(32), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    quota: Mapped[int]
    claimed: Mapped[int] = mapped_column(default=0)
    expires_on: Mapped[date]  # inclusive, Asia/Shanghai
    status: Mapped[str] = mapped_column(String(8), default=CampaignStatus.ACTIVE)
    eligibility_categories: Mapped[list] = mapped_column(JSON, default=list)
    min_age: Mapped[int | None]
    max_age: Mapped[int | None]
    region_prefix: Mapped[str | None] = mapped_column(String(6))
    created_by_staff_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_by_staff_id: Mapped[int | None]

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    programme: Mapped[Programme] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("status IN ('active', 'revoked')", name="status"),
        CheckConstraint("quota > 0", name="quota_positive"),
        CheckConstraint("claimed >= 0 AND claimed <= quota", name="claimed_within_quota"),
        CheckConstraint("min_age IS NULL OR max_age IS NULL OR min_age <= max_age", name="ages"),
    )


class CampaignRedemption(Base):
    __tablename__ = "campaign_redemptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("campaign_id", "person_id"),)
