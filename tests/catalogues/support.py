"""Helpers for the catalogue tests: spreadsheets made in the test (openpyxl, CSV in any
encoding) and an operator's upload."""

from __future__ import annotations

import csv
import io

from tests.conftest import bearer

PRODUCT = "ganzhou-demo-2026"
COMMERCIAL_HEADER = ["医保编码", "名称", "类别", "限价（元）", "限量", "备注"]
COMMERCIAL_ROWS = [
    ["XL01XCH165A001010183873", "帕博利珠单抗注射液", "西药", "", "", ""],
    ["C0301050010000000123", "冠脉药物洗脱支架", "医用耗材", "6000", "3", "每个"],
    ["250403011", "肿瘤基因检测", "医疗服务项目", "3000.5", "1", ""],
]
SPECIAL_HEADER = [
    "药品名称",
    "批准文号",
    "适应症",
    "年度限额（元）",
    "指定药店",
    "是否需要事前审核",
]
SPECIAL_ROWS = [
    [
        "注射用曲妥珠单抗",
        "国药准字S20180006",
        "HER2阳性乳腺癌；HER2阳性胃癌",
        "100000",
        "章贡药房",
        "是",
    ],
    ["来那度胺胶囊", "H20203012", "多发性骨髓瘤", "不限", "", "否"],
]


def xlsx(rows: list[list[object]], *, title: str | None = None) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    if title:
        sheet.append([title])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list[object]], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding)


def commercial_xlsx(rows=None) -> bytes:
    return xlsx([COMMERCIAL_HEADER, *(COMMERCIAL_ROWS if rows is None else rows)], title="商保目录")


def special_csv(rows=None, encoding: str = "gb18030") -> bytes:
    return csv_bytes([SPECIAL_HEADER, *(SPECIAL_ROWS if rows is None else rows)], encoding)


def upload(client, token: str, data: bytes, filename: str = "目录.xlsx", **form):
    fields = {
        "kind": "commercial",
        "product_code": PRODUCT,
        "label": "2026.1",
        "effective_from": "2026-01-01",
        **form,
    }
    return client.post(
        "/staff/catalogues",
        headers=bearer(token),
        data={**fields, "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )
