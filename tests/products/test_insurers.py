"""[[insurers]]: the co-insurance group a product names, and the split of money among it."""

from __future__ import annotations

import pytest

from app.common.money import split_by_shares
from app.products.definition import Insurer
from app.products.loader import definition_from_json, definition_to_json, parse_definition
from tests.products.test_loader import TERMS, errors_of, ganzhou_raw

LEAD = {"code": "lead", "name": "甲保险公司", "share_bp": 6000, "lead": True}
CO = {"code": "co", "name": "乙保险公司", "share_bp": 4000}


def test_the_demo_names_two_insurers_lead_first():
    defn = parse_definition(ganzhou_raw(), TERMS)
    assert [(i.code, i.share_bp, i.lead) for i in defn.insurers] == [
        ("demo-lead", 6000, True),
        ("demo-co", 4000, False),
    ]
    assert defn.lead_insurer() == defn.insurers[0]
    assert definition_from_json(definition_to_json(defn)) == defn


def test_the_lead_is_stored_first_whatever_the_order_written():
    raw = ganzhou_raw()
    raw["insurers"] = [CO, LEAD]
    defn = parse_definition(raw, TERMS)
    assert [i.code for i in defn.insurers] == ["lead", "co"]


def test_a_product_without_insurers_still_loads():
    raw = ganzhou_raw()
    del raw["insurers"]
    defn = parse_definition(raw, TERMS)
    assert defn.insurers == () and defn.lead_insurer() is None


@pytest.mark.parametrize(
    ("insurers", "path", "fragment"),
    [
        ([LEAD, {**CO, "share_bp": 3999}], "insurers", "现为 9999"),
        ([{**LEAD, "lead": False}, CO], "insurers", "现有 0 家"),
        ([LEAD, {**CO, "lead": True}], "insurers", "现有 2 家"),
        ([LEAD, {**CO, "code": "lead"}], "insurers[1].code", "重复"),
        ([LEAD, {**CO, "share_bp": 0}], "insurers[1].share_bp", "1 到 10000"),
        ([LEAD, {**CO, "code": "Co Op"}], "insurers[1].code", "格式不正确"),
        ([LEAD, {**CO, "name": " "}], "insurers[1].name", "不能为空"),
        ([LEAD, {**CO, "extra": 1}], "insurers[1].extra", "未知字段"),
        ([LEAD, {"code": "co", "share_bp": 4000}], "insurers[1].name", "缺少必填项"),
        ({"code": "x"}, "insurers", "应为列表"),
    ],
)
def test_a_broken_group_is_refused_with_its_path(insurers, path, fragment):
    raw = ganzhou_raw()
    raw["insurers"] = insurers
    errors = errors_of(raw)
    assert any(where == path and fragment in message for where, message in errors), errors


@pytest.mark.parametrize(
    ("amount", "shares", "parts"),
    [
        (10000, [6000, 4000], [6000, 4000]),
        (8900, [6000, 4000], [5340, 3560]),
        (1, [6000, 4000], [1, 0]),
        (1, [5000, 5000], [1, 0]),  # a tie goes to the earlier (the lead)
        (3, [3334, 3333, 3333], [1, 1, 1]),
        (2, [3334, 3333, 3333], [1, 1, 0]),
        (100, [3333, 3333, 3334], [33, 33, 34]),
        (101, [3333, 3333, 3334], [34, 33, 34]),
        (7, [5500, 4500], [4, 3]),  # 3.85 / 3.15: the larger remainder takes the fen
        (-8900, [6000, 4000], [-5340, -3560]),
        (-1, [6000, 4000], [-1, 0]),
        (0, [6000, 4000], [0, 0]),
        (123456789, [10000], [123456789]),
    ],
)
def test_split_by_shares(amount, shares, parts):
    assert split_by_shares(amount, shares) == parts
    assert sum(parts) == amount


@pytest.mark.parametrize("amount", range(-50, 51))
@pytest.mark.parametrize("shares", [[6000, 4000], [3333, 3333, 3334], [1, 9999], [2500] * 4])
def test_split_is_exact_and_within_a_fen_of_the_true_share(amount, shares):
    parts = split_by_shares(amount, shares)
    assert sum(parts) == amount
    for part, share in zip(parts, shares, strict=True):
        assert abs(part * 10000 - amount * share) < 10000


@pytest.mark.parametrize(
    ("shares", "error"),
    [
        ([6000, 3000], ValueError),
        ([10000, 0], ValueError),
        ([], ValueError),
        ([6000.0, 4000], ValueError),
    ],
)
def test_split_refuses_shares_that_are_not_a_whole(shares, error):
    with pytest.raises(error):
        split_by_shares(100, shares)


def test_insurer_is_a_plain_value():
    assert Insurer("a", "甲", 10000, True) == Insurer(
        code="a", name="甲", share_bp=10000, lead=True
    )


def test_the_line_a_certificate_prints():
    defn = parse_definition(ganzhou_raw(), TERMS)
    assert defn.insurers_line() == (
        "主承保：示范人寿赣州分公司（演示） 60%；共保：示范财险赣州分公司（演示） 40%"
    )
    raw = ganzhou_raw()
    raw["insurers"] = [{**LEAD, "share_bp": 10000}]
    assert parse_definition(raw, TERMS).insurers_line() == "主承保：甲保险公司 100%"
    del raw["insurers"]
    assert parse_definition(raw, TERMS).insurers_line() == ""
