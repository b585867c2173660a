"""Catalogues of a product: the 商保目录 (commercial list of items outside basic insurance that
the product pays for) and the 特药目录 (special drugs), each as dated versions.

`app.catalogues.rules` holds the pure part: parsing spreadsheet rows into entries with a per-row
report, and picking the version in force on a date of care; `matching` turns fee lines into the
engine's claim lines against them. `models` + `services` store versions imported from CSV/XLSX
(all or nothing), `routes` (operators, /staff/catalogues) and `cli` (`flask catalogues import`)
are the ways in; `demo_sheets` builds the demo product's sheets for `flask demo seed`.
"""

from app.catalogues.rules import (
    CommercialCatalogue,
    CommercialItem,
    HeaderError,
    ParseReport,
    RowError,
    RowReport,
    SpecialDrug,
    SpecialDrugCatalogue,
    VersionProblem,
    VersionWindow,
    normalise_approval,
    normalise_code,
    parse_commercial_rows,
    parse_special_drug_rows,
    select_version,
    version_problems,
    yuan_to_fen,
)

__all__ = [
    "CommercialCatalogue",
    "CommercialItem",
    "HeaderError",
    "ParseReport",
    "RowError",
    "RowReport",
    "SpecialDrug",
    "SpecialDrugCatalogue",
    "VersionProblem",
    "VersionWindow",
    "normalise_approval",
    "normalise_code",
    "parse_commercial_rows",
    "parse_special_drug_rows",
    "select_version",
    "version_problems",
    "yuan_to_fen",
]
