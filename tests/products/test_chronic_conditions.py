"""The class-one chronic conditions a product covers (一类门诊慢特病): the prefix rule, table-driven,
and how definitions state the list (loader, stored form, product view)."""

from __future__ import annotations

import pytest

from app.products.definition import ChronicCondition, class_one_condition, normalise_icd10
from app.products.loader import (
    DEFINITIONS_DIR,
    definition_from_json,
    definition_to_json,
    load_file,
    parse_definition,
)
from tests.products.test_loader import TERMS, errors_of, ganzhou_raw

UREMIA = ChronicCondition("N18.5", "尿毒症透析（慢性肾脏病5期）")
CANCER = ChronicCondition("C", "恶性肿瘤门诊放化疗")
TRANSPLANT = ChronicCondition("Z94", "器官移植术后抗排异治疗")
LIST = (CANCER, UREMIA, TRANSPLANT)


@pytest.mark.parametrize(
    ("code", "normal"),
    [
        ("N18.500", "N18500"),  # dots dropped: N18.5 and N185 are one prefix
        ("i10.x00", "I10X00"),  # the bureau writes a lower-case x placeholder
        (" n18.5 ", "N185"),  # surrounding whitespace
        ("N 18.5", "N185"),  # inner whitespace
        ("Ｎ１８．５００", "N18500"),  # full-width, as typed on a Chinese keyboard (NFKC)
        ("", ""),
    ],
)
def test_normalise_icd10(code, normal):
    assert normalise_icd10(code) == normal


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("N18.500", UREMIA),  # 慢性肾脏病5期 (the sandbox's code) starts with N18.5
        ("N18.5", UREMIA),  # exactly the prefix
        ("n18.501", UREMIA),  # lower case
        ("  N18.500\t", UREMIA),  # whitespace around
        ("N185", UREMIA),  # written without the dot
        ("Ｎ１８．５００", UREMIA),  # full-width
        ("C34.900", CANCER),  # 肺恶性肿瘤: C covers C00-C97
        ("Z94.001", TRANSPLANT),  # 肾移植状态
        ("N18.400", None),  # 慢性肾脏病4期: N18.4 is not N18.5
        ("N18", None),  # shorter than the prefix: not enough to tell
        ("E11.900", None),  # 2型糖尿病: not on the list (usually 二类)
        ("I10.x00", None),  # 高血压: not on the list
        ("D50.900", None),  # D, not C: 缺铁性贫血
        ("", None),  # no code
        ("   ", None),  # blank
    ],
)
def test_class_one_condition(code, expected):
    assert class_one_condition(LIST, code) == expected


def test_an_empty_list_covers_no_diagnosis():
    assert class_one_condition((), "N18.500") is None


def test_the_first_listed_prefix_wins():
    broad = ChronicCondition("N18", "慢性肾脏病")
    assert class_one_condition((broad, UREMIA), "N18.500") == broad
    assert class_one_condition((UREMIA, broad), "N18.500") == UREMIA


# --- the definition ---------------------------------------------------------------------------


def test_a_product_taking_chronic_claims_must_state_its_list():
    raw = ganzhou_raw()
    assert "chronic_outpatient" in raw["required_documents"]
    del raw["class_one_chronic_conditions"]
    errors = errors_of(raw)
    assert len(errors) == 1
    path, message = errors[0]
    assert path == "class_one_chronic_conditions"
    assert "须列明所保障的一类门诊慢特病" in message and "空列表" in message


def test_an_empty_list_states_that_no_chronic_visit_is_covered():
    raw = ganzhou_raw()
    raw["class_one_chronic_conditions"] = []
    assert parse_definition(raw, TERMS).class_one_chronic_conditions == ()


def test_a_product_not_taking_chronic_claims_covers_none_without_the_key():
    raw = ganzhou_raw()
    del raw["class_one_chronic_conditions"]
    del raw["required_documents"]["chronic_outpatient"]
    assert parse_definition(raw, TERMS).class_one_chronic_conditions == ()


@pytest.mark.parametrize(
    ("entry", "path", "fragment"),
    [
        ({"code": "N18.500.1", "name": "x"}, "class_one_chronic_conditions[9].code", "ICD-10"),
        ({"code": "18.5", "name": "x"}, "class_one_chronic_conditions[9].code", "ICD-10"),
        ({"code": "", "name": "x"}, "class_one_chronic_conditions[9].code", "不能为空"),
        ({"code": "n18.5", "name": "x"}, "class_one_chronic_conditions[9].code", "重复"),
        ({"code": "E11"}, "class_one_chronic_conditions[9].name", "缺少"),
        (
            {"code": "E11", "name": "x", "ratio": 1},
            "class_one_chronic_conditions[9].ratio",
            "未知字段",
        ),
    ],
)
def test_a_broken_entry_names_its_path(entry, path, fragment):
    raw = ganzhou_raw()
    raw["class_one_chronic_conditions"].append(entry)
    found = [(p, m) for p, m in errors_of(raw) if p.startswith(path)]
    assert found and any(fragment in m for _, m in found), errors_of(raw)


def test_the_shipped_products_state_their_lists():
    ganzhou = load_file(DEFINITIONS_DIR / "ganzhou-demo-2026.toml")
    codes = [c.code for c in ganzhou.class_one_chronic_conditions or ()]
    # the sandbox example (docs/adjudication.md), not the city's list
    assert codes == ["C", "N18.5", "Z94", "D66", "D67", "D68", "D61", "F20", "F31"]
    assert load_file(DEFINITIONS_DIR / "ganzhou-demo-2027.toml").class_one_chronic_conditions == (
        ganzhou.class_one_chronic_conditions
    )
    assert load_file(DEFINITIONS_DIR / "huhuibao-2021.toml").class_one_chronic_conditions == ()


def test_a_definition_stored_before_the_list_reads_back_as_not_stated():
    stored = definition_to_json(load_file(DEFINITIONS_DIR / "ganzhou-demo-2026.toml"))
    assert stored["class_one_chronic_conditions"][1] == {
        "code": "N18.5",
        "name": "尿毒症透析（慢性肾脏病5期）",
    }
    del stored["class_one_chronic_conditions"]
    # not "none covered" (an empty tuple) and not a guess: the engine holds such visits for review
    assert definition_from_json(stored).class_one_chronic_conditions is None
