"""Sponsor downloads as XLSX: "who got covered" (已参保名单) and a roster upload's per-row report.
The rows come from the same services the JSON reports use (app/sponsors/reports.py,
app/sponsors/roster_services.py), masked there; this module only lays them out as a sheet
(app/common/spreadsheets.py)."""

from __future__ import annotations

from decimal import Decimal

from app.auth.principal import Principal
from app.common.money import yuan_plain
from app.common.spreadsheets import xlsx_bytes
from app.sponsors import reports, roster_services

COVERED_HEADER = [
    "序号",
    "姓名",
    "身份证号",
    "保障年度",
    "保单状态",
    "保障起期",
    "保障止期",
    "资助项目",
    "资助金额（元）",
]


def covered_xlsx(
    actor: Principal, *, programme_id: int | None = None, plan_year: int | None = None
) -> bytes:
    """The organisation's funded policies, one row each, names and ID numbers masked."""
    found = reports.covered(actor, programme_id=programme_id, plan_year=plan_year)
    rows: list[list[object]] = [
        [
            number,
            row["insured_name_masked"],
            row["id_number_masked"],
            row["plan_year"],
            row["policy_status_label"],
            row["coverage_start"].isoformat(),
            row["coverage_end"].isoformat(),
            "、".join(p["programme_name"] for p in row["programmes"]),
            Decimal(yuan_plain(row["subsidy_fen"])),
        ]
        for number, row in enumerate(found["rows"], start=1)
    ]
    return xlsx_bytes(
        "已参保名单", COVERED_HEADER, rows, widths=[6, 10, 22, 10, 10, 12, 12, 28, 14]
    )


def upload_report_xlsx(actor: Principal, programme_id: int, upload_id: int) -> bytes:
    """A roster upload's per-row report (the CSV's rows) as a sheet."""
    rows = roster_services.report_rows(actor, programme_id, upload_id)
    return xlsx_bytes(
        "逐行校验结果", roster_services.REPORT_HEADER, rows, widths=[8, 10, 22, 10, 12, 26, 40]
    )
