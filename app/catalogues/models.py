"""A product year's catalogues as stored data: dated versions of the 商保目录 (commercial list) and
the 特药目录 (special-drug list), their entries, and each import's per-row report.

A version is written whole or not at all (app/catalogues/services.py imports it in one
transaction), and never edited afterwards: a correction is a new version with its own dates, the
old one retired. Two active versions of one kind for one product never overlap in time: the
service refuses that (rules.version_problems) while holding the product row locked.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base, utcnow


class CatalogueKind(StrEnum):
    COMMERCIAL = "commercial"  # 商保目录
    SPECIAL_DRUG = "special_drug"  # 特药目录


class CatalogueStatus(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"  # kept for claims already decided with it; never in force again


def _in(column: str, enum: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(m.value) for m in enum)})"


class CatalogueVersion(Base):
    __tablename__ = "catalogue_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    plan_year: Mapped[int]  # the product's, kept for listing and reports
    label: Mapped[str] = mapped_column(String(40))  # e.g. 2026.1
    effective_from: Mapped[date]
    effective_to: Mapped[date | None]  # inclusive; None: until replaced
    status: Mapped[str] = mapped_column(String(8), default=CatalogueStatus.ACTIVE)
    imported_by_staff_id: Mapped[int | None]  # None: the CLI or the demo seed
    source_filename: Mapped[str] = mapped_column(String(200))
    file_format: Mapped[str] = mapped_column(String(8))  # csv | xlsx (sniffed, not the name)
    file_sha256: Mapped[str] = mapped_column(String(64))
    row_count: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("product_id", "kind", "label"),
        CheckConstraint(_in("kind", CatalogueKind), name="kind"),
        CheckConstraint(_in("status", CatalogueStatus), name="status"),
        CheckConstraint("file_format IN ('csv', 'xlsx')", name="file_format"),
        CheckConstraint(
            "effective_to IS NULL OR effective_to >= effective_from", name="effective_order"
        ),
        CheckConstraint("row_count > 0", name="row_count"),
        CheckConstraint(
            "(status = 'retired') = (retired_at IS NOT NULL)", name="retired_at_with_status"
        ),
        Index("ix_catalogue_versions_product_kind", "product_id", "kind", "effective_from"),
    )


class CommercialEntry(Base):
    """One item of a 商保目录 version (rules.CommercialItem)."""

    __tablename__ = "catalogue_commercial_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("catalogue_versions.id"))
    row_number: Mapped[int]  # in the imported file
    med_list_codg: Mapped[str] = mapped_column(String(40))  # normalised (rules.normalise_code)
    name: Mapped[str] = mapped_column(String(500))
    category: Mapped[str] = mapped_column(String(500), default="")
    price_limit_fen: Mapped[int | None]
    # Exact decimal text ("2", "0.5"): SQLite has no decimal type and a float would round.
    quantity_limit: Mapped[str | None] = mapped_column(String(24))
    note: Mapped[str] = mapped_column(String(500), default="")

    __table_args__ = (
        UniqueConstraint("version_id", "med_list_codg"),
        CheckConstraint("price_limit_fen IS NULL OR price_limit_fen > 0", name="price_limit"),
    )


class SpecialDrugEntry(Base):
    """One drug of a 特药目录 version (rules.SpecialDrug)."""

    __tablename__ = "catalogue_special_drugs"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("catalogue_versions.id"))
    row_number: Mapped[int]
    drug_name: Mapped[str] = mapped_column(String(500))
    drug_code: Mapped[str] = mapped_column(String(64))  # rules.normalise_approval form
    indications: Mapped[list] = mapped_column(JSON)  # list of str, at least one
    annual_cap_fen: Mapped[int | None]
    pharmacies: Mapped[list] = mapped_column(JSON)  # list of str; empty: any
    preauth_required: Mapped[bool]

    __table_args__ = (
        UniqueConstraint("version_id", "drug_code"),
        CheckConstraint("annual_cap_fen IS NULL OR annual_cap_fen > 0", name="annual_cap"),
    )


class CatalogueImportRow(Base):
    """One data row of an imported file and its verdict (rules.RowReport). A version exists only
    when every row was good, so these are the report an operator downloads for the record."""

    __tablename__ = "catalogue_import_rows"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("catalogue_versions.id"))
    row_number: Mapped[int]
    code: Mapped[str] = mapped_column(String(40))  # "ok" or the first error's code
    message: Mapped[str] = mapped_column(String(1000))

    __table_args__ = (UniqueConstraint("version_id", "row_number"),)
