"""Catalogue use cases: import a version of a product's 商保目录 or 特药目录 from a spreadsheet
(all or nothing, with a per-row report), list and read versions, retire one, and hand the claims
engine the entries in force on a date of care.

An import reads the file (app/common/spreadsheets.py: CSV in UTF-8/GB18030 or XLSX, checked for
size), validates every row (app/catalogues/rules.py), and only when every row is good writes the
version, its entries and its report in one transaction, after checking with the product row
locked that no active version of the same kind is in force on any of the same days. A bad row,
a bad header or a clash writes nothing.

The claims engine's read, the catalogues in force on a date of care (`entries_in_force`,
`catalogues_in_force`), lives in app/catalogues/in_force.py (built catalogues cached per
process) and is re-exported here.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit.services import record as audit
from app.auth.principal import Principal
from app.catalogues import rules
from app.catalogues.in_force import catalogues_in_force as catalogues_in_force
from app.catalogues.in_force import entries_in_force as entries_in_force
from app.catalogues.models import (
    CatalogueImportRow,
    CatalogueKind,
    CatalogueStatus,
    CatalogueVersion,
    CommercialEntry,
    SpecialDrugEntry,
)
from app.common import spreadsheets
from app.common.bulk import insert_rows
from app.common.pagination import Page, paginate
from app.database import read_scope, transaction, utcnow
from app.error_catalogue import E, error
from app.products.models import Product

log = logging.getLogger(__name__)

MAX_COLUMNS = 30  # a catalogue needs at most seven; a published list may carry a few more
MAX_LABEL = 40

# app/common/spreadsheets.py's reasons -> this capability's stable codes (all in the catalogue).
SHEET_ERRORS = {
    "file_empty": "catalogue_file_empty",
    "format_xls": "catalogue_format_xls",
    "encoding": "catalogue_encoding",
    "format_unsupported": "catalogue_format_unsupported",
    "csv_invalid": "catalogue_csv_invalid",
    "xlsx_invalid": "catalogue_xlsx_invalid",
    "xlsx_too_large": "catalogue_xlsx_too_large",
}


@dataclass(frozen=True)
class Limits:
    """How much of a file is read (app.config's CATALOGUE_* settings)."""

    max_rows: int = 50_000
    max_xlsx_uncompressed: int = 64 * 1024 * 1024

    @classmethod
    def from_config(cls, config: Any) -> Limits:
        return cls(config["CATALOGUE_MAX_ROWS"], config["CATALOGUE_XLSX_MAX_UNCOMPRESSED_BYTES"])


@dataclass(frozen=True)
class ImportResult:
    version: CatalogueVersion
    report: rules.ParseReport[Any]


# --- reading a file -------------------------------------------------------------------------------


def read_sheet(data: bytes, limits: Limits) -> tuple[str, list[list[object]]]:
    """The file's format and its rows in order (row i is the spreadsheet's row i + 1). Raises the
    catalogue_<reason> error for a file that cannot be read or has too many rows."""
    # The header may sit below a title row or two (rules.HEADER_SEARCH_ROWS): allow for it.
    most = limits.max_rows + rules.HEADER_SEARCH_ROWS
    rows: list[list[object]] = []
    try:
        file_format, records = spreadsheets.read_records(
            data,
            max_columns=MAX_COLUMNS,
            max_xlsx_uncompressed=limits.max_xlsx_uncompressed,
            what="目录",
        )
        with closing(records):  # the workbook is closed even when reading stops early
            for number, cells in records:
                # An XLSX may skip empty rows: pad them, so row numbers are the sheet's. A CSV
                # record is one row whatever its line count (a cell may hold a line break).
                while file_format == "xlsx" and len(rows) < number - 1:
                    rows.append([])
                rows.append(cells)
                if len(rows) > most:
                    raise _too_many_rows(limits)
    except spreadsheets.SheetError as exc:
        raise error(SHEET_ERRORS[exc.reason], exc.message) from None
    return file_format, rows


def _too_many_rows(limits: Limits) -> Exception:
    return E.catalogue_too_many_rows(
        f"目录最多 {limits.max_rows} 行（不含表头），请拆分文件或联系技术人员"
    )


def parse_sheet(kind: str, rows: Iterable[Sequence[object]]) -> rules.ParseReport[Any]:
    if kind == CatalogueKind.COMMERCIAL:
        return rules.parse_commercial_rows(rows)
    return rules.parse_special_drug_rows(rows)


def report_as_dict(report: rules.ParseReport[Any]) -> dict[str, Any]:
    """The per-row report as JSON (the 201 answer and the 422 problem's errors.report)."""
    return {
        "kind": report.kind,
        "ok": report.ok,
        "summary": report.summary,
        "header_row": report.header_row,
        "error_count": report.error_count,
        "header_errors": [{"code": e.code, "message": e.message} for e in report.header_errors],
        "rows": [
            {
                "row_number": r.row_number,
                "ok": r.ok,
                "code": r.code,
                "message": r.message,
                "errors": [
                    {"code": e.code, "message": e.message, "column": e.column} for e in r.errors
                ],
            }
            for r in report.rows
        ],
    }


# --- importing ------------------------------------------------------------------------------------


def _require_operator(actor: Principal | None) -> None:
    """Staff operators only; None is the CLI or the demo seed (whoever runs them is trusted)."""
    if actor is not None and (actor.kind != "staff" or actor.role != "operator"):
        raise E.role_forbidden()


def _check_request(label: str, effective_from: date, effective_to: date | None) -> str:
    label = rules.clean_text(label)
    if not label or len(label) > MAX_LABEL:
        raise E.catalogue_label_invalid()
    if effective_to is not None and effective_to < effective_from:
        raise E.catalogue_dates_reversed(
            f"失效日期 {effective_to.isoformat()} 早于生效日期 {effective_from.isoformat()}"
        )
    return label


def _product(session: Session, product_code: str, *, lock: bool = False) -> Product:
    stmt = select(Product).where(Product.code == product_code)
    product = session.scalar(stmt.with_for_update() if lock else stmt)
    if product is None:
        raise E.product_not_found(status=422)
    return product


def _check_versions(
    session: Session, product: Product, kind: str, new: rules.VersionWindow
) -> None:
    """Refuse a label used before (any status) or days already covered by an active version."""
    existing = session.scalars(
        select(CatalogueVersion).where(
            CatalogueVersion.product_id == product.id, CatalogueVersion.kind == kind
        )
    ).all()
    if any(v.label == new.version for v in existing):
        raise E.catalogue_version_conflict(f"版本号 {new.version} 已被使用")
    windows = [
        rules.VersionWindow(v.label, v.effective_from, v.effective_to)
        for v in existing
        if v.status == CatalogueStatus.ACTIVE
    ]
    problems = rules.version_problems([*windows, new])
    if problems:
        raise E.catalogue_version_conflict("；".join(p.message for p in problems))


def import_catalogue(
    *,
    kind: str,
    product_code: str,
    data: bytes,
    filename: str,
    label: str,
    effective_from: date,
    effective_to: date | None,
    actor: Principal | None,
    limits: Limits,
) -> ImportResult:
    """Import one version, all or nothing. A bad file or row raises catalogue_rows_invalid (422)
    with the per-row report in errors.report; a clash with another version is a 409."""
    _require_operator(actor)
    kind = CatalogueKind(kind)
    label = _check_request(label, effective_from, effective_to)
    window = rules.VersionWindow(label, effective_from, effective_to)
    with read_scope() as session:  # a clear answer before the file is read
        _check_versions(session, _product(session, product_code), kind, window)
    file_format, rows = read_sheet(data, limits)
    report = parse_sheet(kind, rows)
    if len(report.rows) > limits.max_rows:
        raise _too_many_rows(limits)
    if not report.ok:
        raise E.catalogue_rows_invalid(report.summary, errors={"report": report_as_dict(report)})
    try:
        with transaction() as session:
            # The product row lock serialises imports for one product (PostgreSQL), so two
            # overlapping versions cannot both pass the check; the unique label backs it up.
            product = _product(session, product_code, lock=True)
            _check_versions(session, product, kind, window)
            version = CatalogueVersion(
                kind=kind,
                product_id=product.id,
                plan_year=product.plan_year,
                label=label,
                effective_from=effective_from,
                effective_to=effective_to,
                status=CatalogueStatus.ACTIVE,
                imported_by_staff_id=actor.id if actor else None,
                source_filename=(filename or "")[:200],
                file_format=file_format,
                file_sha256=hashlib.sha256(data).hexdigest(),
                row_count=len(report.entries),
            )
            session.add(version)
            session.flush()
            _write_entries(session, version, report)
            audit(
                session,
                actor_type="staff" if actor else "system",
                actor_id=actor.id if actor else None,
                action="catalogue.imported",
                object_type="catalogue_version",
                object_id=version.id,
                detail={
                    "kind": str(kind),
                    "product": product_code,
                    "label": label,
                    "rows": version.row_count,
                    "sha256": version.file_sha256,
                },
            )
    except IntegrityError:
        raise E.catalogue_version_conflict(f"版本号 {label} 已被使用") from None
    log.info(
        "catalogue imported",
        extra={"catalogue_version_id": version.id, "kind": str(kind), "rows": version.row_count},
    )
    return ImportResult(version, report)


def _write_entries(
    session: Session, version: CatalogueVersion, report: rules.ParseReport[Any]
) -> None:
    good = [r.row_number for r in report.rows]  # every row is good: entries follow rows
    if version.kind == CatalogueKind.COMMERCIAL:
        insert_rows(
            session,
            CommercialEntry.__table__,
            [
                {
                    "version_id": version.id,
                    "row_number": number,
                    "med_list_codg": item.med_list_codg,
                    "name": item.name,
                    "category": item.category,
                    "price_limit_fen": item.price_limit_fen,
                    "quantity_limit": None
                    if item.quantity_limit is None
                    else str(item.quantity_limit),
                    "note": item.note,
                }
                for number, item in zip(good, report.entries)
            ],
        )
    else:
        insert_rows(
            session,
            SpecialDrugEntry.__table__,
            [
                {
                    "version_id": version.id,
                    "row_number": number,
                    "drug_name": drug.drug_name,
                    "drug_code": drug.drug_code,
                    "indications": list(drug.indications),
                    "annual_cap_fen": drug.annual_cap_fen,
                    "pharmacies": list(drug.pharmacies),
                    "preauth_required": drug.preauth_required,
                }
                for number, drug in zip(good, report.entries)
            ],
        )
    insert_rows(
        session,
        CatalogueImportRow.__table__,
        [
            {
                "version_id": version.id,
                "row_number": r.row_number,
                "code": r.code,
                "message": r.message[:1000],
            }
            for r in report.rows
        ],
    )


def retire_version(version_id: int, actor: Principal | None) -> CatalogueVersion:
    """Take a version out of force for good (claims already decided keep their figures). Its
    dates become free for a corrected version. Retiring a retired version changes nothing."""
    _require_operator(actor)
    with transaction() as session:
        version = session.scalar(
            select(CatalogueVersion).where(CatalogueVersion.id == version_id).with_for_update()
        )
        if version is None:
            raise E.catalogue_not_found()
        if version.status == CatalogueStatus.RETIRED:
            return version
        version.status = CatalogueStatus.RETIRED
        version.retired_at = utcnow()
        audit(
            session,
            actor_type="staff" if actor else "system",
            actor_id=actor.id if actor else None,
            action="catalogue.retired",
            object_type="catalogue_version",
            object_id=version.id,
            detail={"kind": version.kind, "label": version.label},
        )
    return version


# --- reading --------------------------------------------------------------------------------------


def version_view(version: CatalogueVersion, product_code: str) -> dict[str, Any]:
    return {
        "id": version.id,
        "kind": version.kind,
        "product_code": product_code,
        "plan_year": version.plan_year,
        "label": version.label,
        "effective_from": version.effective_from,
        "effective_to": version.effective_to,
        "status": version.status,
        "source_filename": version.source_filename,
        "file_format": version.file_format,
        "file_sha256": version.file_sha256,
        "row_count": version.row_count,
        "imported_by_staff_id": version.imported_by_staff_id,
        "created_at": version.created_at,
        "retired_at": version.retired_at,
    }


def list_versions(
    *, product_code: str | None, kind: str | None, status: str | None, page: int, page_size: int
) -> dict[str, Any]:
    """Versions, newest product year first, then by kind and start date (latest first)."""
    stmt = select(CatalogueVersion, Product.code).join(
        Product, Product.id == CatalogueVersion.product_id
    )
    if product_code:
        stmt = stmt.where(Product.code == product_code)
    if kind:
        stmt = stmt.where(CatalogueVersion.kind == kind)
    if status:
        stmt = stmt.where(CatalogueVersion.status == status)
    stmt = stmt.order_by(
        CatalogueVersion.plan_year.desc(),
        CatalogueVersion.kind,
        CatalogueVersion.effective_from.desc(),
        CatalogueVersion.id.desc(),
    )
    with read_scope() as session:
        found: Page[Any] = paginate(session, stmt, page, page_size)
        return found.as_dict(items=[version_view(v, code) for v, code in found.items])


def _version(session: Session, version_id: int) -> tuple[CatalogueVersion, str]:
    row = session.execute(
        select(CatalogueVersion, Product.code)
        .join(Product, Product.id == CatalogueVersion.product_id)
        .where(CatalogueVersion.id == version_id)
    ).first()
    if row is None:
        raise E.catalogue_not_found()
    return row[0], row[1]


def get_version(version_id: int) -> dict[str, Any]:
    with read_scope() as session:
        return version_view(*_version(session, version_id))


def _commercial_view(e: CommercialEntry) -> dict[str, Any]:
    return {
        "row_number": e.row_number,
        "code": e.med_list_codg,
        "name": e.name,
        "category": e.category,
        "price_limit_fen": e.price_limit_fen,
        "quantity_limit": e.quantity_limit,
        "note": e.note,
    }


def _special_drug_view(e: SpecialDrugEntry) -> dict[str, Any]:
    return {
        "row_number": e.row_number,
        "code": e.drug_code,
        "name": e.drug_name,
        "indications": list(e.indications),
        "annual_cap_fen": e.annual_cap_fen,
        "pharmacies": list(e.pharmacies),
        "preauth_required": e.preauth_required,
    }


def version_entries(version_id: int, page: int, page_size: int) -> dict[str, Any]:
    """A version's entries in file order, paged."""
    with read_scope() as session:
        version, _ = _version(session, version_id)
        if version.kind == CatalogueKind.COMMERCIAL:
            commercial: Page[Any] = paginate(
                session,
                select(CommercialEntry)
                .where(CommercialEntry.version_id == version.id)
                .order_by(CommercialEntry.row_number, CommercialEntry.id),
                page,
                page_size,
                scalars=True,
            )
            return commercial.as_dict(items=[_commercial_view(e) for e in commercial.items])
        drugs: Page[Any] = paginate(
            session,
            select(SpecialDrugEntry)
            .where(SpecialDrugEntry.version_id == version.id)
            .order_by(SpecialDrugEntry.row_number, SpecialDrugEntry.id),
            page,
            page_size,
            scalars=True,
        )
        return drugs.as_dict(items=[_special_drug_view(e) for e in drugs.items])


def report_csv(version_id: int) -> bytes:
    """The import's per-row report as CSV (UTF-8 with BOM, so spreadsheets read the Chinese)."""
    with read_scope() as session:
        version, _ = _version(session, version_id)
        rows = session.execute(
            select(
                CatalogueImportRow.row_number, CatalogueImportRow.code, CatalogueImportRow.message
            )
            .where(CatalogueImportRow.version_id == version.id)
            .order_by(CatalogueImportRow.row_number)
        ).all()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["行号", "结果", "代码", "说明"])
    for number, code, message in rows:
        writer.writerow([number, "通过" if code == "ok" else "错误", code, message])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
