"""The per-row report of a catalogue sheet: row errors with stable codes and Chinese messages,
the header error, and the all-or-nothing ParseReport. Pure; used by app.catalogues.rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

# --- reports --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    code: str  # stable machine code
    message: str  # 中文, for the person who uploaded the file
    column: str | None = None  # the canonical field name, when one column is at fault


@dataclass(frozen=True)
class RowReport:
    """One data row. row_number is the spreadsheet's own (1-based, header row counted)."""

    row_number: int
    errors: tuple[RowError, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def code(self) -> str:
        """'ok', or the first error's code."""
        return self.errors[0].code if self.errors else "ok"

    @property
    def message(self) -> str:
        return "；".join(e.message for e in self.errors) if self.errors else "通过"


@dataclass(frozen=True)
class HeaderError:
    code: str  # header_not_found | header_duplicate_column | no_data_rows
    message: str


E = TypeVar("E")


@dataclass(frozen=True)
class ParseReport(Generic[E]):
    """The verdict on one file. `entries` holds the parsed items only when `ok` (every row good);
    otherwise it is empty, so nothing of a bad file can be loaded by mistake."""

    kind: str  # commercial | special_drug
    header_row: int | None
    columns: Mapping[str, int]  # canonical field -> 0-based column index
    header_errors: tuple[HeaderError, ...]
    rows: tuple[RowReport, ...]
    entries: tuple[E, ...]

    @property
    def ok(self) -> bool:
        return not self.header_errors and all(r.ok for r in self.rows)

    @property
    def error_count(self) -> int:
        return len(self.header_errors) + sum(1 for r in self.rows if not r.ok)

    @property
    def summary(self) -> str:
        if self.ok:
            return f"共 {len(self.rows)} 行，全部通过，可以导入"
        if self.header_errors:
            return "；".join(e.message for e in self.header_errors)
        bad = sum(1 for r in self.rows if not r.ok)
        return f"共 {len(self.rows)} 行，其中 {bad} 行有错误，整个文件未导入"
