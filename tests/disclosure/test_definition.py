"""The [disclosure] section of a product definition: the region's basic-insured population, the
loss-ratio floor and the optional corridor, validated on load with a path and a Chinese message."""

from __future__ import annotations

import json

import pytest

from app.products.definition import Corridor, Disclosure
from app.products.loader import (
    definition_from_json,
    definition_to_json,
    load_file,
    parse_definition,
)
from tests.products.test_loader import GANZHOU, HUHUIBAO, TERMS, _del, _set, errors_of, ganzhou_raw


def _area(code: str, name):
    """A mutation setting one area (its code stays a string key, as TOML reads it)."""
    return lambda raw: raw["disclosure"]["areas"].__setitem__(code, name)


CASES = [
    # id, mutation of the shipped Ganzhou definition, error path, message fragment
    ("empty section", _set("disclosure", {}), "disclosure", "不能为空"),
    ("unknown key", _set("disclosure.population", 1), "disclosure.population", "未知字段"),
    (
        "population zero",
        _set("disclosure.region_basic_insured_population", 0),
        "disclosure.region_basic_insured_population",
        "1 到 20 亿",
    ),
    (
        "population as text",
        _set("disclosure.region_basic_insured_population", "8600000"),
        "disclosure.region_basic_insured_population",
        "应为整数",
    ),
    (
        "floor above 100%",
        _set("disclosure.loss_ratio_floor_bp", 12000),
        "disclosure.loss_ratio_floor_bp",
        "0 到 10000",
    ),
    # The city's bound is 80% (bounds.loss_ratio_floor_bp = 8000): 75% promises less.
    (
        "floor under the city's bound",
        _set("disclosure.loss_ratio_floor_bp", 7500),
        "disclosure.loss_ratio_floor_bp",
        "不能低于城市规定的 8000",
    ),
    (
        "corridor key missing",
        _del("disclosure.corridor.cost_allowance_bp"),
        "disclosure.corridor.cost_allowance_bp",
        "缺少必填项",
    ),
    (
        "corridor threshold zero",
        _set("disclosure.corridor.full_premium_from_bp", 0),
        "disclosure.corridor.full_premium_from_bp",
        "1 到 10000",
    ),
    (
        "renegotiation band upside down",
        _set("disclosure.corridor.renegotiate_below_bp", 11000),
        "disclosure.corridor.renegotiate_above_bp",
        "不能低于下限",
    ),
    # 9,800 x (10,000 + 400) = 101,920,000 > 100,000,000: just under 98% the insurer would keep
    # 98% x 1.04 = 101.92% of the premium.
    (
        "participation target above 100%",
        _set("disclosure.participation_target_bp", 10001),
        "disclosure.participation_target_bp",
        "1 到 10000",
    ),
    (
        "participation target as a percentage text",
        _set("disclosure.participation_target_bp", "20%"),
        "disclosure.participation_target_bp",
        "应为整数",
    ),
    ("areas not a table", _set("disclosure.areas", ["360702"]), "disclosure.areas", "应为表"),
    (
        "area code of five digits",
        _area("36070", "章贡区"),
        "disclosure.areas.36070",
        "6 位数字",
    ),
    ("area without a name", _area("360702", " "), "disclosure.areas.360702", "不能为空"),
    (
        "allowance would pass the premium",
        _set("disclosure.corridor.full_premium_from_bp", 9800),
        "disclosure.corridor.cost_allowance_bp",
        "超过保费",
    ),
]


@pytest.mark.parametrize(
    "mutate, path, fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_broken_disclosure_is_reported(mutate, path, fragment):
    raw = ganzhou_raw()
    mutate(raw)
    errors = errors_of(raw)
    assert any(p == path and fragment in message for p, message in errors), errors


def test_shipped_definitions():
    ganzhou = load_file(GANZHOU).disclosure
    assert ganzhou == Disclosure(
        region_basic_insured_population=8_600_000,
        loss_ratio_floor_bp=8000,
        corridor=Corridor(9500, 400, 9500, 10500),
        participation_target_bp=2000,
        areas=ganzhou.areas,
    )
    # The city's 18 counties and districts, by their six-digit codes.
    assert len(ganzhou.areas) == 18
    assert (ganzhou.areas["360702"], ganzhou.areas["360781"]) == ("章贡区", "瑞金市")
    huhuibao = load_file(HUHUIBAO).disclosure
    assert huhuibao == Disclosure(region_basic_insured_population=19_000_000)


def test_the_section_is_optional_and_round_trips():
    raw = ganzhou_raw()
    del raw["disclosure"]
    assert parse_definition(raw, TERMS).disclosure == Disclosure()
    d = load_file(GANZHOU)
    stored = json.loads(json.dumps(definition_to_json(d), ensure_ascii=False))
    assert definition_from_json(stored) == d
    # A definition stored before the section existed reads back with none.
    del stored["disclosure"]
    assert definition_from_json(stored).disclosure == Disclosure()
