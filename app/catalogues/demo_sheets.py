"""Demo catalogues for the demo product, as the spreadsheets an operator would upload: a 商保目录
as XLSX and a 特药目录 as CSV (UTF-8 with BOM), built from app/catalogues/demo_data.py.

demo_data.py is the one source: the sandbox bureau bills those list codes on the showcase
family's settlements (app/integrations/bureau/sandbox_demo_data.py), so the catalogues `flask
demo seed` imports (app/demo/catalogues.py) are the ones the sandbox fee lines hit. The import is
the ordinary one, so the demo exercises the same reading, checking and all-or-nothing writing as
an upload. The entries are illustrative, not a real insurer's list.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

from app.catalogues.demo_data import (
    DEMO_EFFECTIVE_FROM,
    DEMO_EFFECTIVE_TO,
    DEMO_PRODUCT_CODE,
    DEMO_VERSION,
    commercial_rows,
    special_drug_rows,
)

DEMO_PRODUCT = DEMO_PRODUCT_CODE


@dataclass(frozen=True)
class DemoSheet:
    kind: str  # commercial | special_drug
    product_code: str
    label: str
    effective_from: date
    effective_to: date | None
    filename: str
    data: bytes


def commercial_xlsx(rows: list[list[str]] | None = None) -> bytes:
    """The 商保目录 as a workbook (a title row above the header, as lists are published); codes
    are text cells, so no leading zero is lost."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "商保目录"
    for row in commercial_rows() if rows is None else rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def special_drug_csv(rows: list[list[str]] | None = None) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(special_drug_rows() if rows is None else rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def demo_catalogue_sheets() -> list[DemoSheet]:
    """The demo product's catalogues for its plan year, ready to import."""
    return [
        DemoSheet(
            "commercial",
            DEMO_PRODUCT,
            DEMO_VERSION,
            DEMO_EFFECTIVE_FROM,
            DEMO_EFFECTIVE_TO,
            f"商保目录-{DEMO_VERSION}.xlsx",
            commercial_xlsx(),
        ),
        DemoSheet(
            "special_drug",
            DEMO_PRODUCT,
            DEMO_VERSION,
            DEMO_EFFECTIVE_FROM,
            DEMO_EFFECTIVE_TO,
            f"特药目录-{DEMO_VERSION}.csv",
            special_drug_csv(),
        ),
    ]
