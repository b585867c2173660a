"""A batch enrollment job's per-row outcomes as XLSX: the rows `services.list_rows` gives the
API (names and ID numbers masked there), every page of them, laid out as one sheet."""

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
HEADER = ["序号", "姓名", "身份证号", "结果", "代码", "说明", "保单编号"]


def rows_xlsx(actor: Principal, programme_id: int, job_id: int) -> bytes:
    size = current_app.config["MAX_PAGE_SIZE"]
    rows: list[list[object]] = []
    page = 1
    while True:
        found = services.list_rows(
            actor, programme_id, job_id, status=None, page=page, page_size=size
        )
        for item in found.items:
            rows.append(
                [
                    len(rows) + 1,
                    item["name_masked"],
                    item["id_number_masked"],
                    ROW_STATUS_LABELS[JobRowStatus(item["status"])],
                    item["code"],
                    item["message"],
                    item["policy_id"],
                ]
            )
        if page * size >= found.total:
            break
        page += 1
    return xlsx_bytes("批量投保结果", HEADER, rows, widths=[6, 10, 22, 10, 24, 44, 10])
