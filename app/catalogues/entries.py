"""Catalogue entries and versions: the parsed 商保目录 item and 特药目录 drug, a version's
window (effective_from .. effective_to, Asia/Shanghai dates), refusing overlapping versions and
picking the one in force on a date of care. Pure; re-exported by app.catalogues.rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol, TypeVar

from app.common.sheet_cells import normalise_approval, normalise_code

# --- entries --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommercialItem:
    """One row of the 商保目录: an item outside basic insurance that the product pays for.

    price_limit_fen     the most per unit (pric) the product counts; the part of a price above it
                        does not count (None: no limit)
    quantity_limit      the most units (cnt) counted per settlement (None: no limit)
    """

    med_list_codg: str  # normalised (normalise_code)
    name: str
    category: str = ""
    price_limit_fen: int | None = None
    quantity_limit: Decimal | None = None
    note: str = ""


@dataclass(frozen=True)
class SpecialDrug:
    """One row of the 特药目录.

    drug_code           国药准字 number (normalise_approval form) or a national list code
    indications         the indications the product pays the drug for
    annual_cap_fen      per-drug annual sub-cap (None: only the bucket's cap applies)
    pharmacies          designated pharmacies / institutions (names or codes); empty: any
    preauth_required    the member needs the insurer's approval (事前审核) before dispensing
    """

    drug_name: str
    drug_code: str
    indications: tuple[str, ...]
    annual_cap_fen: int | None
    pharmacies: tuple[str, ...]
    preauth_required: bool


# --- catalogues and versions ----------------------------------------------------------------------


def _check_day(name: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime.date (Asia/Shanghai), got {value!r}")


@dataclass(frozen=True)
class VersionWindow:
    """When a catalogue version is in force: effective_from .. effective_to, both inclusive
    Asia/Shanghai dates; effective_to None = until replaced (open-ended)."""

    version: str
    effective_from: date
    effective_to: date | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.version, str) or not self.version.strip():
            raise ValueError("version must be a non-empty string")
        _check_day("effective_from", self.effective_from)
        _check_day("effective_to", self.effective_to, optional=True)

    def in_force_on(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )


@dataclass(frozen=True)
class CommercialCatalogue(VersionWindow):
    """One version of a product's 商保目录, looked up by national list code."""

    items: tuple[CommercialItem, ...] = ()
    _index: Mapping[str, CommercialItem] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "items", tuple(self.items))
        index: dict[str, CommercialItem] = {}
        for item in self.items:
            if item.med_list_codg in index:
                raise ValueError(f"duplicate code {item.med_list_codg!r} in one catalogue version")
            index[item.med_list_codg] = item
        object.__setattr__(self, "_index", index)

    def item(self, code: str) -> CommercialItem | None:
        return self._index.get(normalise_code(code))


@dataclass(frozen=True)
class SpecialDrugCatalogue(VersionWindow):
    """One version of a product's 特药目录, looked up by approval number or list code."""

    drugs: tuple[SpecialDrug, ...] = ()
    _index: Mapping[str, SpecialDrug] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "drugs", tuple(self.drugs))
        index: dict[str, SpecialDrug] = {}
        for drug in self.drugs:
            if drug.drug_code in index:
                raise ValueError(f"duplicate drug code {drug.drug_code!r} in one catalogue version")
            index[drug.drug_code] = drug
        object.__setattr__(self, "_index", index)

    def drug(self, *codes: str | None) -> SpecialDrug | None:
        """The drug any of these identifiers (list code, approval number) names, or None."""
        for code in codes:
            if code:
                found = self._index.get(normalise_approval(code))
                if found is not None:
                    return found
        return None


class Versioned(Protocol):
    # Read-only members, so frozen dataclasses (VersionWindow) satisfy the protocol too.
    @property
    def version(self) -> str: ...
    @property
    def effective_from(self) -> date: ...
    @property
    def effective_to(self) -> date | None: ...


V = TypeVar("V", bound=Versioned)


@dataclass(frozen=True)
class VersionProblem:
    code: str  # version_dates_reversed | version_duplicate | version_overlap
    message: str  # 中文
    versions: tuple[str, ...]


def _end(v: Versioned) -> date:
    return v.effective_to or date.max


def version_problems(versions: Iterable[Versioned]) -> tuple[VersionProblem, ...]:
    """Why this set of versions (one product, one kind of catalogue) cannot stand together:
    an effective_to before its effective_from, a version label used twice, or two versions in
    force on the same day. Empty when they are fine. A loader adds a version only when the
    existing ones plus the new one give no problem."""
    items = list(versions)
    problems: list[VersionProblem] = []
    seen: set[str] = set()
    for v in items:
        if v.effective_to is not None and v.effective_to < v.effective_from:
            problems.append(
                VersionProblem(
                    "version_dates_reversed",
                    f"版本 {v.version} 的失效日期 {v.effective_to} 早于生效日期 {v.effective_from}",
                    (v.version,),
                )
            )
        if v.version in seen:
            problems.append(
                VersionProblem("version_duplicate", f"版本号 {v.version} 重复", (v.version,))
            )
        seen.add(v.version)
    ordered = sorted(
        (v for v in items if v.effective_to is None or v.effective_to >= v.effective_from),
        key=lambda v: (v.effective_from, _end(v)),
    )
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            if b.effective_from > _end(a):
                break
            to = "长期" if a.effective_to is None else a.effective_to.isoformat()
            problems.append(
                VersionProblem(
                    "version_overlap",
                    f"版本 {a.version}（{a.effective_from} 至 {to}）与版本 {b.version}"
                    f"（自 {b.effective_from} 起）生效期重叠",
                    (a.version, b.version),
                )
            )
    return tuple(problems)


def select_version(versions: Iterable[V], day: date) -> V | None:
    """The version in force on `day` (an Asia/Shanghai date of care), or None when none is.

    Raises ValueError when more than one is in force: overlapping versions must have been
    refused by version_problems before they were stored."""
    _check_day("day", day)
    found = [
        v
        for v in versions
        if v.effective_from <= day and (v.effective_to is None or day <= v.effective_to)
    ]
    if len(found) > 1:
        raise ValueError(
            f"versions {', '.join(v.version for v in found)} are all in force on {day}"
        )
    return found[0] if found else None
