"""The demo product's catalogues as data: the 商保目录 (commercial list) and 特药目录 (special-drug
list) of ganzhou-demo-2026, version 2026.1, in force for the whole plan year.

One source for two users: the sandbox bureau bills some of these list codes on the showcase
family's settlements (app/integrations/bureau/sandbox_demo_data.py), and the catalogue import
loads the same entries, either as the parsed entries below or as the spreadsheet rows
`commercial_rows()` / `special_drug_rows()` give (they parse back to exactly these entries with
app.catalogues.rules.parse_commercial_rows / parse_special_drug_rows).

The list codes have the national dictionaries' shapes (西药 X + 22, 医用耗材 C + 26); names,
prices and limits are illustrative, not a real insurer's list. Money is integer fen. Text is
already in the NFKC form the import gives (ASCII brackets), so a round trip changes nothing.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from app.catalogues.rules import (
    CommercialCatalogue,
    CommercialItem,
    SpecialDrug,
    SpecialDrugCatalogue,
)

DEMO_PRODUCT_CODE = "ganzhou-demo-2026"
DEMO_VERSION = "2026.1"
DEMO_EFFECTIVE_FROM = date(2026, 1, 1)
DEMO_EFFECTIVE_TO = date(2026, 12, 31)

# The designated places for special drugs: the city's tertiary hospitals that dispense them and
# one DTP pharmacy. The first two are sandbox hospitals (sandbox_demo_data.HOSPITALS).
GANNAN_FIRST_HOSPITAL = "赣南医科大学第一附属医院"
GANZHOU_PEOPLES_HOSPITAL = "赣州市人民医院"
DTP_PHARMACY = "赣州国大药房(DTP专业药房)"

# --- 商保目录 --------------------------------------------------------------------------------------
# Items outside basic insurance (丙类, or 乙类 used outside their restriction) the product pays
# from its out-of-policy bucket, within a price limit per unit and a quantity limit per settlement.

ALBUMIN = "XB05AAR047B002010104527"
EDARAVONE_DEXBORNEOL = "XN07XXY113B002010178812"
IVIG = "XJ06BAJ054B002010181432"
NAB_PACLITAXEL = "XL01CDZ011B001010101234"
MULTIFOCAL_IOL = "C14130211400000147800000023"
ABSORBABLE_CLIP = "C02101503000000113200000458"
OPHTHALMIC_VISCOELASTIC = "C14130312000000136500000071"
ACETYLCYSTEINE_INHALED = "XR05CBY042L002010101517"

DEMO_COMMERCIAL_ITEMS: tuple[CommercialItem, ...] = (
    CommercialItem(
        ALBUMIN,
        "人血白蛋白注射液(10g)",
        "西药",
        45_000,  # 450 yuan per bottle
        Decimal(10),
        "限重症、抢救以外使用时",
    ),
    CommercialItem(
        EDARAVONE_DEXBORNEOL,
        "依达拉奉右莰醇注射用浓溶液(5ml)",
        "西药",
        38_000,  # 380 yuan per vial
        Decimal(28),
        "急性缺血性脑卒中",
    ),
    CommercialItem(
        IVIG,
        "静注人免疫球蛋白(pH4)(2.5g)",
        "西药",
        70_000,  # 700 yuan per bottle
        Decimal(10),
        "",
    ),
    CommercialItem(
        NAB_PACLITAXEL,
        "注射用紫杉醇(白蛋白结合型)(100mg)",
        "西药",
        120_000,  # 1,200 yuan per vial
        None,
        "限恶性肿瘤化疗",
    ),
    CommercialItem(
        MULTIFOCAL_IOL,
        "非球面多焦点人工晶体",
        "医用耗材",
        600_000,  # 6,000 yuan per lens
        Decimal(2),
        "白内障手术",
    ),
    CommercialItem(
        ABSORBABLE_CLIP,
        "可吸收结扎夹",
        "医用耗材",
        30_000,  # 300 yuan per clip
        Decimal(6),
        "腔镜手术",
    ),
    CommercialItem(
        OPHTHALMIC_VISCOELASTIC,
        "医用透明质酸钠凝胶(眼科手术用)",
        "医用耗材",
        28_000,  # 280 yuan per syringe
        Decimal(2),
        "白内障手术",
    ),
    CommercialItem(
        ACETYLCYSTEINE_INHALED,
        "吸入用乙酰半胱氨酸溶液(3ml:0.3g)",
        "西药",
        2_500,  # 25 yuan per ampoule
        Decimal(20),
        "儿童下呼吸道感染",
    ),
)

# --- 特药目录 --------------------------------------------------------------------------------------
# Keyed by national list code (drug_code accepts one), so 5204 lines match without an approval
# number; annual_cap is the per-drug sub-cap (the product's `per_drug` sub-cap is 200,000 yuan).

OSIMERTINIB = "XL01XEA318A001010100931"
PEMBROLIZUMAB = "XL01XCP137B002010100631"
TRASTUZUMAB_EMTANSINE = "XL01XCE210B001010100731"

DEMO_SPECIAL_DRUGS: tuple[SpecialDrug, ...] = (
    SpecialDrug(
        "甲磺酸奥希替尼片(80mg×30片)",
        OSIMERTINIB,
        ("EGFR T790M突变阳性的局部晚期或转移性非小细胞肺癌",),
        20_000_000,  # 200,000 yuan a year
        (GANNAN_FIRST_HOSPITAL, DTP_PHARMACY),
        # An oral drug bought at a designated place on a specialist's prescription: no approval.
        False,
    ),
    SpecialDrug(
        "帕博利珠单抗注射液(100mg/4ml)",
        PEMBROLIZUMAB,
        ("非小细胞肺癌", "黑色素瘤", "食管癌"),
        20_000_000,
        (GANNAN_FIRST_HOSPITAL, GANZHOU_PEOPLES_HOSPITAL),
        True,
    ),
    SpecialDrug(
        "注射用恩美曲妥珠单抗(100mg)",
        TRASTUZUMAB_EMTANSINE,
        ("HER2阳性早期乳腺癌辅助治疗", "HER2阳性晚期乳腺癌"),
        15_000_000,  # 150,000 yuan a year
        (GANNAN_FIRST_HOSPITAL, GANZHOU_PEOPLES_HOSPITAL, DTP_PHARMACY),
        True,
    ),
)

DEMO_COMMERCIAL_CATALOGUE = CommercialCatalogue(
    version=DEMO_VERSION,
    effective_from=DEMO_EFFECTIVE_FROM,
    effective_to=DEMO_EFFECTIVE_TO,
    items=DEMO_COMMERCIAL_ITEMS,
)
DEMO_SPECIAL_DRUG_CATALOGUE = SpecialDrugCatalogue(
    version=DEMO_VERSION,
    effective_from=DEMO_EFFECTIVE_FROM,
    effective_to=DEMO_EFFECTIVE_TO,
    drugs=DEMO_SPECIAL_DRUGS,
)


def _yuan(fen: int | None) -> str:
    return "" if fen is None else f"{fen // 100}.{fen % 100:02d}"


def commercial_rows() -> list[list[str]]:
    """The 商保目录 as a published sheet: a title row, the header, one row per item."""
    rows = [
        [f"赣州惠民保 2026（示范）商保目录 {DEMO_VERSION}"],
        ["序号", "医保编码", "名称", "类别", "限价（元）", "限量", "备注"],
    ]
    for number, item in enumerate(DEMO_COMMERCIAL_ITEMS, start=1):
        rows.append(
            [
                str(number),
                item.med_list_codg,
                item.name,
                item.category,
                _yuan(item.price_limit_fen),
                "" if item.quantity_limit is None else str(item.quantity_limit),
                item.note,
            ]
        )
    return rows


def special_drug_rows() -> list[list[str]]:
    """The 特药目录 as a published sheet: the header, one row per drug."""
    rows = [["药品名称", "批准文号", "适应症", "年度限额（元）", "指定药店", "是否需要事前审核"]]
    for drug in DEMO_SPECIAL_DRUGS:
        rows.append(
            [
                drug.drug_name,
                drug.drug_code,
                "；".join(drug.indications),
                _yuan(drug.annual_cap_fen) or "不限",
                "；".join(drug.pharmacies),
                "是" if drug.preauth_required else "否",
            ]
        )
    return rows
