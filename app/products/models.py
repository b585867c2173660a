"""Products and their terms as stored rows.

The definition (app/products/definition.py) is stored whole as JSON, as validated when it was
loaded from its TOML file, with its SHA-256; the columns beside it are what queries need.
`window_closes` is the one column that may differ from the stored definition: an operator may
extend the window (`flask products extend-window`), and a reload of an unchanged file keeps that.
Terms are versioned: a member agrees to one version (recorded on the order with its digest), and
a version's text never changes once published.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base, utcnow


class ProductStatus(StrEnum):
    PUBLISHED = "published"
    RETIRED = "retired"  # no longer sold; its policies and claims go on


PRODUCT_STATUSES = tuple(s.value for s in ProductStatus)


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    plan_year: Mapped[int]
    region_prefix: Mapped[str] = mapped_column(String(6))
    status: Mapped[str] = mapped_column(String(16), default=ProductStatus.PUBLISHED)
    window_opens: Mapped[date]
    window_closes: Mapped[date]  # inclusive; may be later than the definition's (extended)
    coverage_starts: Mapped[date]
    coverage_ends: Mapped[date]  # inclusive
    # When cover starts for a payment on or after coverage_starts (definition.COVER_START_RULES).
    cover_start_rule: Mapped[str] = mapped_column(String(24), default="day_after_payment")
    renews_code: Mapped[str | None] = mapped_column(String(40))  # last plan year's product
    definition: Mapped[dict] = mapped_column(JSON)
    definition_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint("status IN ('published', 'retired')", name="status"),
        CheckConstraint("window_opens <= window_closes", name="window_order"),
        CheckConstraint("coverage_starts <= coverage_ends", name="coverage_order"),
        CheckConstraint("window_closes <= coverage_ends", name="window_within_coverage"),
        CheckConstraint(
            "cover_start_rule IN ('fixed', 'payment_day', 'day_after_payment')",
            name="cover_start_rule",
        ),
        Index("ix_products_status_window", "status", "window_opens", "window_closes"),
    )


class ProductTerms(Base):
    """One published version of a product's terms. Never updated once written."""

    __tablename__ = "product_terms"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    version: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("product_id", "version"),)
