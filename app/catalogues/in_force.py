"""The catalogues in force on a date of care, for the claims engine, with a per-process cache of
the built catalogues.

A version's entries are written once, with the version, at import (app/catalogues/services.py)
and never change, so the catalogue built from them (rules.CommercialCatalogue /
rules.SpecialDrugCatalogue, with its index by code) is kept per process, at most
`CACHED_VERSIONS` of them, least recently used out first. What may change about a version, its
status (retired) and, in principle, its dates, is read on every call: one statement reads the
few columns of the versions in force (both kinds at once for `catalogues_in_force`), and the
entries are read only when the catalogue is not cached.

The cache key is the version's id and its content identity (kind, file digest, creation time,
label, dates): an id alone is not enough, SQLite may give a new version the id of one deleted
(the test suite's databases start afresh every test, in one process).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from app.catalogues import rules
from app.catalogues.models import (
    CatalogueKind,
    CatalogueStatus,
    CatalogueVersion,
    CommercialEntry,
    SpecialDrugEntry,
)
from app.database import read_scope

Catalogue = rules.CommercialCatalogue | rules.SpecialDrugCatalogue

CACHED_VERSIONS = 32


class _VersionRow(NamedTuple):
    """The columns of a version the catalogue is built from, and its key in the cache."""

    id: int
    kind: str
    file_sha256: str
    created_at: datetime
    label: str
    effective_from: date
    effective_to: date | None


_COLUMNS = (
    CatalogueVersion.id,
    CatalogueVersion.kind,
    CatalogueVersion.file_sha256,
    CatalogueVersion.created_at,
    CatalogueVersion.label,
    CatalogueVersion.effective_from,
    CatalogueVersion.effective_to,
)


class _Catalogues:
    """Built catalogues by version row, least recently used out first; safe across threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._kept: OrderedDict[_VersionRow, Catalogue] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: _VersionRow) -> Catalogue | None:
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
            return found

    def put(self, key: _VersionRow, catalogue: Catalogue) -> None:
        with self._lock:
            self._kept[key] = catalogue
            self._kept.move_to_end(key)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()

    def __len__(self) -> int:
        return len(self._kept)


CACHE = _Catalogues(CACHED_VERSIONS)


_IN_FORCE = (
    select(*_COLUMNS)
    .where(
        CatalogueVersion.product_id == bindparam("product_id"),
        CatalogueVersion.status == CatalogueStatus.ACTIVE,
        CatalogueVersion.effective_from <= bindparam("care_date"),
        (CatalogueVersion.effective_to.is_(None))
        | (CatalogueVersion.effective_to >= bindparam("care_date")),
    )
    .order_by(CatalogueVersion.id)
)  # built once: building the expression costs more CPU than sending it; every kind (there
# are two), filtered here: an expanding IN (kinds) is rendered anew at every execution


def _versions_in_force(
    session: Session, product_id: int, kinds: tuple[CatalogueKind, ...], care_date: date
) -> dict[str, _VersionRow]:
    """The active version of each kind in force on `care_date`, in one statement (two active
    versions of one kind never overlap: the import refuses it; were there two, the lower id)."""
    rows = session.execute(_IN_FORCE, {"product_id": product_id, "care_date": care_date}).all()
    found: dict[str, _VersionRow] = {}
    for row in rows:
        if row.kind in kinds:
            found.setdefault(row.kind, _VersionRow(*row))
    return found


def _catalogue(session: Session, version: _VersionRow) -> Catalogue:
    """The version's catalogue: from the cache, or built from its entries (and then cached)."""
    cached = CACHE.get(version)
    if cached is not None:
        return cached
    built = _build(session, version)
    CACHE.put(version, built)
    return built


def _build(session: Session, version: _VersionRow) -> Catalogue:
    if version.kind == CatalogueKind.COMMERCIAL:
        items = tuple(
            rules.CommercialItem(
                code,
                name,
                category,
                price_limit,
                None if quantity is None else Decimal(quantity),
                note,
            )
            for code, name, category, price_limit, quantity, note in session.execute(
                select(
                    CommercialEntry.med_list_codg,
                    CommercialEntry.name,
                    CommercialEntry.category,
                    CommercialEntry.price_limit_fen,
                    CommercialEntry.quantity_limit,
                    CommercialEntry.note,
                )
                .where(CommercialEntry.version_id == version.id)
                .order_by(CommercialEntry.row_number)
            )
        )
        return rules.CommercialCatalogue(
            version=version.label,
            effective_from=version.effective_from,
            effective_to=version.effective_to,
            items=items,
        )
    drugs = tuple(
        rules.SpecialDrug(
            name, code, tuple(indications), annual_cap, tuple(pharmacies), preauth_required
        )
        for name, code, indications, annual_cap, pharmacies, preauth_required in session.execute(
            select(
                SpecialDrugEntry.drug_name,
                SpecialDrugEntry.drug_code,
                SpecialDrugEntry.indications,
                SpecialDrugEntry.annual_cap_fen,
                SpecialDrugEntry.pharmacies,
                SpecialDrugEntry.preauth_required,
            )
            .where(SpecialDrugEntry.version_id == version.id)
            .order_by(SpecialDrugEntry.row_number)
        )
    )
    return rules.SpecialDrugCatalogue(
        version=version.label,
        effective_from=version.effective_from,
        effective_to=version.effective_to,
        drugs=drugs,
    )


def entries_in_force(
    product_id: int, kind: str, care_date: date, *, session: Session | None = None
) -> Catalogue | None:
    """The active version of `kind` in force on `care_date` for the product, as the pure rules'
    catalogue (rules.CommercialCatalogue / rules.SpecialDrugCatalogue, ready for
    matching.match_lines), or None when no version is in force.

    Pass the caller's `session` when called inside its transaction (the claims engine): without
    one the read runs in its own read_scope(), which ends the request session's transaction."""
    if session is None:
        with read_scope() as own:
            return entries_in_force(product_id, kind, care_date, session=own)
    kind = CatalogueKind(kind)
    version = _versions_in_force(session, product_id, (kind,), care_date).get(kind)
    return None if version is None else _catalogue(session, version)


def catalogues_in_force(
    product_id: int, care_date: date, *, session: Session | None = None
) -> tuple[rules.CommercialCatalogue | None, rules.SpecialDrugCatalogue | None]:
    """Both kinds at once, (commercial, special drugs), each as `entries_in_force` gives it: the
    versions are read in one statement."""
    if session is None:
        with read_scope() as own:
            return catalogues_in_force(product_id, care_date, session=own)
    versions = _versions_in_force(
        session, product_id, (CatalogueKind.COMMERCIAL, CatalogueKind.SPECIAL_DRUG), care_date
    )
    commercial = versions.get(CatalogueKind.COMMERCIAL)
    special = versions.get(CatalogueKind.SPECIAL_DRUG)
    found_commercial = None if commercial is None else _catalogue(session, commercial)
    found_special = None if special is None else _catalogue(session, special)
    assert found_commercial is None or isinstance(found_commercial, rules.CommercialCatalogue)
    assert found_special is None or isinstance(found_special, rules.SpecialDrugCatalogue)
    return found_commercial, found_special
