"""A batch enrollment job's per-row outcomes as XLSX: the rows `services.list_rows` gives the
API (names and ID numbers masked there), every page of them, laid out as one sheet.

The sheet is for the HR clerk or the charity's staff who made the roster: each row names the
upload and the line of their own file that listed the person (the order the sheet is in), and
an enrolled row the policy number (保单号, HMB...) the member sees on their policy, not an
internal id."""

from __future__ import annotations

from flask import current_app

from app.auth.principal import Principal
from app.common.spreadsheets import xlsx_bytes
from app.jobs import services
from app.jobs.models import JobRowStatus

ROW_STATUS_LABELS = {
    JobRowStatus.PENDING: "待处理",
    JobRowStatus.SUCCEEDED: "已投保",
    JobRowStatus.FAILED: "未投保",
}
HEADER = ["行号", "姓名", "身份证号", "结果", "代码", "说明", "保单号", "上传编号"]
WIDTHS = [8, 10, 22, 10, 24, 44, 26, 10]


def _all_rows(actor: Principal, programme_id: int, job_id: int) -> list[dict]:
    size = current_app.config["MAX_PAGE_SIZE"]
    items: list[dict] = []
    page = 1
    while True:
        found = services.list_rows(
            actor, programme_id, job_id, status=None, page=page, page_size=size
        )
        items.extend(found.items)
        if page * size >= found.total:
            return items
        page += 1


def _file_order(item: dict) -> tuple:
    """The clerk's file order: upload, then line (a row without a line, last of its upload)."""
    line = item["line"]
    return (item["upload_id"], line is None, line or 0, item["id"])


def rows_xlsx(actor: Principal, programme_id: int, job_id: int) -> bytes:
    rows: list[list[object]] = [
        [
            item["line"],
            item["name_masked"],
            item["id_number_masked"],
            ROW_STATUS_LABELS[JobRowStatus(item["status"])],
            item["code"],
            item["message"],
            item["policy_no"],
            item["upload_id"],
        ]
        for item in sorted(_all_rows(actor, programme_id, job_id), key=_file_order)
    ]
    return xlsx_bytes("批量投保结果", HEADER, rows, widths=WIDTHS)
