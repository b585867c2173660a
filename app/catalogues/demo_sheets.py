"""Demo catalogues for the demo product, as the spreadsheets an operator would upload: a 商保目录
as XLSX and a 特药目录 as CSV (UTF-8 with BOM), built from the small lists below.

`flask demo seed` imports them through the ordinary import (app/demo/catalogues.py), so the
demo exercises the same reading, checking and all-or-nothing writing as an upload. The entries
are illustrative: codes have the national list codes' shapes, approval numbers the 国药准字
shape; they are not real list entries.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

DEMO_PRODUCT = "ganzhou-demo-2026"

COMMERCIAL_HEADER = ("序号", "医保编码", "名称", "类别", "限价（元）", "限量", "备注")
# (医保编码, 名称, 类别, 限价（元）, 限量, 备注)
COMMERCIAL_ENTRIES: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("XL01XCH165A001010183873", "帕博利珠单抗注射液", "西药", "", "", "院内使用"),
    ("XL01EXR045A001010100421", "仑伐替尼胶囊", "西药", "120", "30", ""),
    ("C0301050010000000123", "冠脉药物洗脱支架", "医用耗材", "6000", "3", "限价按每个"),
    ("250403011", "肿瘤基因检测（多基因）", "医疗服务项目", "3000", "1", ""),
)

SPECIAL_DRUG_HEADER = (
    "药品名称",
    "批准文号",
    "适应症",
    "年度限额（元）",
    "指定药店",
    "是否需要事前审核",
)
# (药品名称, 批准文号, 适应症, 年度限额（元）, 指定药店, 是否需要事前审核)
SPECIAL_DRUG_ENTRIES: tuple[tuple[str, str, str, str, str, str], ...] = (
    (
        "注射用曲妥珠单抗",
        "国药准字S20180006",
        "HER2阳性乳腺癌；HER2阳性胃癌",
        "100000",
        "赣州市特药定点药房（章贡店）",
        "是",
    ),
    ("奥希替尼片", "国药准字H20183113", "EGFR突变阳性非小细胞肺癌", "80000", "", "是"),
    ("来那度胺胶囊", "国药准字H20203012", "多发性骨髓瘤", "", "", "否"),
)


@dataclass(frozen=True)
class DemoSheet:
    kind: str  # commercial | special_drug
    product_code: str
    label: str
    effective_from: date
    effective_to: date | None
    filename: str
    data: bytes


def commercial_xlsx(entries=COMMERCIAL_ENTRIES) -> bytes:
    """The 商保目录 as a workbook with a title row above the header (as lists are published);
    codes are text cells, so no leading zero is lost."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "商保目录"
    sheet.append(["赣惠保（演示）2026 商保目录"])
    sheet.append(list(COMMERCIAL_HEADER))
    for number, entry in enumerate(entries, start=1):
        sheet.append([number, *entry])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def special_drug_csv(entries=SPECIAL_DRUG_ENTRIES) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(SPECIAL_DRUG_HEADER)
    writer.writerows(entries)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def demo_catalogue_sheets() -> list[DemoSheet]:
    """The demo product's catalogues for its plan year, ready to import."""
    start, end = date(2026, 1, 1), date(2026, 12, 31)
    return [
        DemoSheet(
            "commercial",
            DEMO_PRODUCT,
            "2026.1",
            start,
            end,
            "商保目录-2026.1.xlsx",
            commercial_xlsx(),
        ),
        DemoSheet(
            "special_drug",
            DEMO_PRODUCT,
            "2026.1",
            start,
            end,
            "特药目录-2026.1.csv",
            special_drug_csv(),
        ),
    ]
