"""Pure rules of the public check and the policy texts: the verdict per status and date, and the
benefit rows built from a product definition's buckets."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from app.policies.benefits import benefit_lines, benefit_row, benefit_rows, percent
from app.policies.certificate import VERDICT_LABELS, Verdict, verdict
from app.products.definition import Bucket, SubCap, Tier
from app.products.loader import load_file

START, END = date(2026, 1, 1), date(2026, 12, 31)
DEFINITIONS = Path(__file__).resolve().parents[2] / "app" / "products" / "definitions"


@pytest.mark.parametrize(
    "status, today, expected, label",
    [
        ("active", date(2025, 12, 31), Verdict.NOT_YET_EFFECTIVE, "未生效"),
        ("active", START, Verdict.IN_FORCE, "有效"),
        ("active", date(2026, 6, 1), Verdict.IN_FORCE, "有效"),
        ("active", END, Verdict.IN_FORCE, "有效"),
        ("active", date(2027, 1, 1), Verdict.EXPIRED, "已过期"),
        ("surrendered", date(2026, 6, 1), Verdict.TERMINATED, "已终止"),
        ("surrendered", date(2025, 12, 1), Verdict.TERMINATED, "已终止"),
        ("void", date(2026, 6, 1), Verdict.TERMINATED, "已终止"),
        ("void", date(2027, 6, 1), Verdict.TERMINATED, "已终止"),
    ],
)
def test_verdict(status, today, expected, label):
    found = verdict(status, START, END, today)
    assert found is expected and VERDICT_LABELS[found] == label


def test_verdict_refuses_an_unknown_status():
    with pytest.raises(ValueError):
        verdict("lapsed", START, END, START)


@pytest.mark.parametrize("bp, text", [(7500, "75%"), (7550, "75.50%"), (5, "0.05%"), (0, "0%")])
def test_percent(bp, text):
    assert percent(bp) == text


BASE = Bucket(
    code="b",
    name="住院医疗费用",
    counts=("in_policy_self_pay",),
    deductible_fen=2_000_000,
    ratio_healthy_bp=7000,
    ratio_pre_existing_bp=5000,
    cap_fen=100_000_000,
)


@pytest.mark.parametrize(
    "changes, shares, deductible, ratio, cap, notes",
    [
        ({}, False, "20,000.00 元", "70%（既往症人群 50%）", "1,000,000.00 元", ()),
        (
            {"deductible_fen": 0, "ratio_pre_existing_bp": 7000, "cap_fen": None},
            False,
            "无",
            "70%",
            "不设封顶",
            (),
        ),
        (
            {"ratio_pre_existing_bp": 0},
            True,
            "20,000.00 元",
            "70%（既往症人群 不赔付）",
            "1,000,000.00 元",
            ("与同组责任共用年度起付线",),
        ),
        (
            {"deductible_pre_existing_fen": 3_000_000, "tiers": (Tier(10_000_000, 8000, 6000),)},
            False,
            "20,000.00 元（既往症人群 30,000.00 元）",
            "70%（既往症人群 50%）；年度累计超过 100,000.00 元的部分 80%（既往症人群 60%）",
            "1,000,000.00 元",
            (),
        ),
        (
            {
                "tiers": (Tier(5_000_000, 9000, 9000),),
                "tiers_from": "above_deductible",
                "renewal_deductible_step_fen": 100_000,
                "renewal_deductible_floor_fen": 1_000_000,
                "sub_caps": (SubCap("per_drug", "单药限额", 2_000_000, "item"),),
                "commercial_list_required": True,
            },
            False,
            "20,000.00 元",
            "70%（既往症人群 50%）；超过起付线后累计超过 50,000.00 元的部分 90%",
            "1,000,000.00 元",
            (
                "连续健康续保每年起付线降低 1,000.00 元，最低 10,000.00 元",
                "单药限额（每项） 20,000.00 元",
                "限产品目录内费用",
            ),
        ),
    ],
)
def test_benefit_row(changes, shares, deductible, ratio, cap, notes):
    row = benefit_row(replace(BASE, **changes), shares)
    assert (row.name, row.deductible, row.ratio, row.cap, row.notes) == (
        "住院医疗费用",
        deductible,
        ratio,
        cap,
        notes,
    )


def test_benefit_lines_of_the_demo_product_follow_its_toml():
    defn = load_file(DEFINITIONS / "ganzhou-demo-2026.toml")
    rows = benefit_rows(defn)
    assert [r.name for r in rows] == [b.name for b in defn.buckets]
    # in_policy and out_of_policy share the "main" deductible; the others have none.
    assert rows[0].notes[0] == rows[1].notes[0] == "与同组责任共用年度起付线"
    assert rows[2].deductible == rows[3].deductible == "无"
    name, summary = benefit_lines(defn)[0]
    assert name == "医保政策范围内个人自付医疗费用"
    assert summary == (
        "年度起付线 15,000.00 元；赔付比例 75%（既往症人群 50%）；"
        "年度累计超过 100,000.00 元的部分 85%（既往症人群 60%）；年度封顶 1,500,000.00 元；"
        "与同组责任共用年度起付线"
    )
    assert defn.insurers_line() == (
        "主承保：示范人寿赣州分公司（演示） 60%；共保：示范财险赣州分公司（演示） 40%"
    )
