"""Catalogue sheets and versions (app/catalogues/rules.py), table-driven.

Each row is a case a person can check by hand; money is yuan in the sheet and fen in the result
(1 yuan = 100 fen, ROUND_HALF_UP to the fen)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.catalogues.rules import (
    CommercialCatalogue,
    CommercialItem,
    SpecialDrug,
    SpecialDrugCatalogue,
    VersionWindow,
    normalise_approval,
    parse_commercial_rows,
    parse_special_drug_rows,
    select_version,
    version_problems,
    yuan_to_fen,
)

X = "XL01XCT177B002010101445"  # a 23-character 西药 code (X + 22)
X2 = "XL01XCP089B002010179485"
Z = "ZA01AAL0010010100405"  # a 20-character 中成药 code
C = "C02010211600002603770"  # 21 characters: not a consumables length (20 or 27)
SERVICE = "001201000010000"  # a 15-digit 医疗服务项目 code

HEADER = ["序号", "医保编码", "名称", "类别", "限价（元）", "限量", "备注"]


# --- yuan -> fen ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "fen"),
    [
        ("12.5", 1250),  # 12.5 x 100
        ("12.345", 1235),  # 1234.5 fen -> half up -> 1235
        ("12.344", 1234),  # 1234.4 fen -> 1234
        ("0.005", 1),  # 0.5 fen -> half up -> 1 (not banker's 0)
        ("1,234.56", 123456),  # thousands separator dropped
        ("¥12", 1200),
        ("12元", 1200),
        ("１２．５", 1250),  # full-width digits and point (NFKC)
        (12.35, 1235),  # a float cell goes through repr "12.35", not 12.3499...
        (Decimal("0.125"), 13),  # 12.5 fen -> 13
        (7, 700),
        ("", None),
        (None, None),
    ],
)
def test_yuan_to_fen(cell, fen):
    assert yuan_to_fen(cell) == fen


@pytest.mark.parametrize("cell", ["-1", "abc", "1.2.3", True, "NaN", "Infinity"])
def test_yuan_to_fen_refuses(cell):
    with pytest.raises(ValueError):
        yuan_to_fen(cell)


# --- 商保目录 rows --------------------------------------------------------------------------------


def commercial(*rows, header=HEADER):
    return parse_commercial_rows([header, *rows])


def test_commercial_good_file_loads_every_row():
    report = commercial(
        [1, X, "注射用曲妥珠单抗", "西药", "1,998.5", "4支", "限HER2阳性"],
        [2, f" {Z.lower()} ", "复方丹参滴丸", "中成药", "", "", None],
        [3, SERVICE, "质子放疗", "医疗服务", 30000, None, ""],
        [None, None, None, None, None, None, None],  # a trailing blank row is not data
    )
    assert report.ok, report.rows
    assert report.header_row == 1
    assert [r.row_number for r in report.rows] == [2, 3, 4]
    assert [r.code for r in report.rows] == ["ok", "ok", "ok"]
    assert report.entries == (
        # 1,998.5 yuan = 199850 fen; "4支" -> 4
        CommercialItem(X, "注射用曲妥珠单抗", "西药", 199850, Decimal(4), "限HER2阳性"),
        # lower case and spaces normalised; no limits
        CommercialItem(Z, "复方丹参滴丸", "中成药", None, None, ""),
        # 30000 yuan = 3,000,000 fen
        CommercialItem(SERVICE, "质子放疗", "医疗服务", 3_000_000, None, ""),
    )
    assert report.summary == "共 3 行，全部通过，可以导入"


# One bad row per case: (cells after 序号, error code, words the message must contain, column)
BAD_COMMERCIAL = [
    # code column empty
    (["", "某药", "", "", "", ""], "code_missing", "医保编码", "med_list_codg"),
    # a spreadsheet number: 001201000010000 became 1201000010000, leading zeros lost
    ([1201000010000, "某项目", "", "", "", ""], "code_not_text", "前导零", "med_list_codg"),
    # a CSV export in scientific notation
    (["1.201E+12", "某项目", "", "", "", ""], "code_not_text", "科学计数法", "med_list_codg"),
    # a name pasted into the code column
    (["曲妥珠单抗", "某药", "", "", "", ""], "code_malformed", "8 至 40 位", "med_list_codg"),
    # 西药 codes are 23 characters; this one lost its last character (22)
    ([X[:-1], "某药", "", "", "", ""], "code_malformed", "23 位", "med_list_codg"),
    # 耗材 codes are 20 or 27 characters; 21 is neither
    ([C, "某耗材", "", "", "", ""], "code_malformed", "20 或 27 位", "med_list_codg"),
    # an 8-digit service code: at least 9 digits (zeros lost)
    (["12010000", "某项目", "", "", "", ""], "code_malformed", "至少 9 位", "med_list_codg"),
    ([X, "", "", "", "", ""], "name_missing", "名称", "name"),
    ([X, "某药", "", "十元", "", ""], "price_limit_invalid", "十元", "price_limit"),
    ([X, "某药", "", "-5", "", ""], "price_limit_invalid", "-5", "price_limit"),
    # 0 yuan is not a limit (leave it empty for none)
    ([X, "某药", "", "0", "", ""], "price_limit_not_positive", "大于 0", "price_limit"),
    ([X, "某药", "", "", "每日两支", ""], "quantity_limit_invalid", "每日两支", "quantity_limit"),
    ([X, "某药", "", "", "0", ""], "quantity_limit_invalid", "大于 0", "quantity_limit"),
    ([X, "某" * 501, "", "", "", ""], "value_too_long", "500", "name"),
]


@pytest.mark.parametrize(("cells", "code", "words", "column"), BAD_COMMERCIAL)
def test_commercial_bad_row_fails_the_whole_file(cells, code, words, column):
    report = commercial([1, X2, "好药", "", "", "", ""], [2, *cells])
    assert not report.ok
    assert report.entries == ()  # all or nothing: the good row 2 is not loaded either
    good, bad = report.rows
    assert (good.row_number, good.ok) == (2, True)
    assert (bad.row_number, bad.ok, bad.code) == (3, False, code)
    assert words in bad.message
    assert bad.errors[0].column == column
    assert report.summary == "共 2 行，其中 1 行有错误，整个文件未导入"


def test_commercial_duplicate_code_reported_on_the_later_row():
    report = commercial(
        [1, X, "曲妥珠单抗", "", "", "", ""],
        [2, X2, "帕妥珠单抗", "", "", "", ""],
        [3, X.lower(), "曲妥珠单抗（重复）", "", "", "", ""],  # same code once normalised
    )
    assert [r.code for r in report.rows] == ["ok", "ok", "duplicate_code"]
    assert report.rows[2].message == f"医保编码“{X}”与第 2 行重复"
    assert report.entries == ()


def test_commercial_row_with_two_errors_lists_both():
    report = commercial([1, "", "", "", "abc", "", ""])
    assert [e.code for e in report.rows[0].errors] == [
        "code_missing",
        "name_missing",
        "price_limit_invalid",
    ]


@pytest.mark.parametrize(
    ("rows", "header_row", "code"),
    [
        # a title row above the header: found on row 2
        ([["2026年度商保目录"], ["医保编码", "名称"], [X, "某药"]], 2, None),
        # aliases, English field names, full-width brackets and a required-mark star
        ([["国家医保编码*", "项目名称", "最高限价（元）"], [X, "某药", "5"]], 1, None),
        ([["med_list_codg", "name"], [X, "某药"]], 1, None),
        # 名称 missing: no header found
        ([["医保编码", "规格"], [X, "10mg"]], None, "header_not_found"),
        # two columns that both mean 医保编码
        ([["医保编码", "国家编码", "名称"], [X, X, "某药"]], 1, "header_duplicate_column"),
        # a header and nothing under it (blank rows do not count)
        ([["医保编码", "名称"], ["", None]], 1, "no_data_rows"),
    ],
)
def test_commercial_header(rows, header_row, code):
    report = parse_commercial_rows(rows)
    assert report.header_row == header_row
    if code is None:
        assert report.ok and len(report.entries) == 1
    else:
        assert not report.ok and report.entries == ()
        assert [e.code for e in report.header_errors] == [code]


# --- 特药目录 rows --------------------------------------------------------------------------------

DRUG_HEADER = ["药品名称", "批准文号", "适应症", "年度限额（元）", "指定药店", "是否需要事前审核"]


def test_special_drugs_good_file():
    report = parse_special_drug_rows(
        [
            DRUG_HEADER,
            [
                "奥希替尼",
                "国药准字HJ20170022",
                "EGFR突变阳性非小细胞肺癌；术后辅助治疗;\n二线治疗",
                "100,000",
                "赣州市人民医院药房、国大药房（章贡店）",
                "是",
            ],
            ["某生物药", "s20190001", "类风湿关节炎", "不限", "", "否"],
            ["某双通道药", X, "乳腺癌", "", "某药房", "N"],
        ]
    )
    assert report.ok, report.rows
    assert report.entries == (
        SpecialDrug(
            "奥希替尼",
            "国药准字HJ20170022",
            # split on ；, ; and new lines; commas inside one indication are kept
            ("EGFR突变阳性非小细胞肺癌", "术后辅助治疗", "二线治疗"),
            10_000_000,  # 100,000 yuan
            ("赣州市人民医院药房", "国大药房(章贡店)"),  # full-width brackets -> ASCII (NFKC)
            True,
        ),
        # a bare approval number gets its 国药准字 prefix; 不限 -> no per-drug cap
        SpecialDrug("某生物药", "国药准字S20190001", ("类风湿关节炎",), None, (), False),
        # identified by a national list code instead of an approval number
        SpecialDrug("某双通道药", X, ("乳腺癌",), None, ("某药房",), False),
    )


BAD_DRUG = [
    (["", "国药准字H20183113", "肺癌", "", "", "是"], "drug_name_missing"),
    (["某药", "", "肺癌", "", "", "是"], "drug_code_missing"),
    (["某药", "准字123", "肺癌", "", "", "是"], "drug_code_malformed"),
    (["某药", "国药准字H2018311", "肺癌", "", "", "是"], "drug_code_malformed"),  # 7 digits
    (["某药", "国药准字H20183113", " ；; ", "", "", "是"], "indications_missing"),
    (["某药", "国药准字H20183113", "肺癌", "十万", "", "是"], "annual_cap_invalid"),
    (["某药", "国药准字H20183113", "肺癌", "0", "", "是"], "annual_cap_invalid"),
    (["某药", "国药准字H20183113", "肺癌", "", "", "看情况"], "preauth_invalid"),
    (["某药", "国药准字H20183113", "肺癌", "", "", ""], "preauth_invalid"),
]


@pytest.mark.parametrize(("cells", "code"), BAD_DRUG)
def test_special_drug_bad_row(cells, code):
    report = parse_special_drug_rows([DRUG_HEADER, cells])
    assert not report.ok and report.entries == ()
    assert report.rows[0].code == code
    assert report.rows[0].row_number == 2


def test_special_drug_duplicate_with_and_without_prefix():
    report = parse_special_drug_rows(
        [
            DRUG_HEADER,
            ["甲药", "国药准字H20183113", "肺癌", "", "", "是"],
            ["甲药", "H20183113", "肝癌", "", "", "是"],  # the same approval number
        ]
    )
    assert [r.code for r in report.rows] == ["ok", "duplicate_code"]
    assert "与第 2 行重复" in report.rows[1].message


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("国药准字H20183113", "国药准字H20183113"),
        ("h20183113", "国药准字H20183113"),
        (" 国药准字 SJ20170022 ", "国药准字SJ20170022"),
        (X.lower(), X),  # not an approval number: normalised list code
    ],
)
def test_normalise_approval(value, key):
    assert normalise_approval(value) == key


# --- versions -------------------------------------------------------------------------------------

V1 = VersionWindow("2026-01", date(2026, 1, 1), date(2026, 6, 30))
V2 = VersionWindow("2026-07", date(2026, 7, 1), None)  # open-ended


@pytest.mark.parametrize(
    ("day", "version"),
    [
        (date(2025, 12, 31), None),  # before the first version
        (date(2026, 1, 1), "2026-01"),  # first day, inclusive
        (date(2026, 6, 30), "2026-01"),  # last day, inclusive
        (date(2026, 7, 1), "2026-07"),  # the adjustment takes over the next day
        (date(2030, 1, 1), "2026-07"),  # open-ended
    ],
)
def test_select_version(day, version):
    found = select_version([V2, V1], day)
    assert (found.version if found else None) == version


@pytest.mark.parametrize(
    ("versions", "codes"),
    [
        ([V1, V2], []),
        # starts on V1's last day: one day in force twice
        ([V1, VersionWindow("x", date(2026, 6, 30), date(2026, 12, 31))], ["version_overlap"]),
        # open-ended V2 swallows any later version
        ([V2, VersionWindow("2027", date(2027, 1, 1))], ["version_overlap"]),
        # inside V1
        ([V1, VersionWindow("x", date(2026, 3, 1), date(2026, 3, 31))], ["version_overlap"]),
        ([VersionWindow("x", date(2026, 2, 1), date(2026, 1, 31))], ["version_dates_reversed"]),
        ([V1, VersionWindow("2026-01", date(2027, 1, 1))], ["version_duplicate"]),
        # a gap between versions is allowed (no list in force: the caller holds such claims)
        ([V1, VersionWindow("x", date(2026, 8, 1))], []),
    ],
)
def test_version_problems(versions, codes):
    assert [p.code for p in version_problems(versions)] == codes


def test_select_version_refuses_overlap():
    with pytest.raises(ValueError, match="in force"):
        select_version([V1, VersionWindow("x", date(2026, 3, 1), None)], date(2026, 4, 1))


def test_catalogue_lookup_normalises_codes():
    commercial = CommercialCatalogue(
        "2026-01", date(2026, 1, 1), None, items=(CommercialItem(X, "曲妥珠单抗"),)
    )
    assert commercial.item(f" {X.lower()}").name == "曲妥珠单抗"
    assert commercial.item(X2) is None
    drugs = SpecialDrugCatalogue(
        "2026-01",
        date(2026, 1, 1),
        None,
        drugs=(SpecialDrug("甲药", "国药准字H20183113", ("肺癌",), None, (), True),),
    )
    assert drugs.drug(None, "H20183113").drug_name == "甲药"
    assert drugs.drug(X) is None
    with pytest.raises(ValueError, match="duplicate"):
        CommercialCatalogue(
            "v", date(2026, 1, 1), items=(CommercialItem(X, "a"), CommercialItem(X, "b"))
        )
