"""Product definitions: every broken definition names the path and says what is wrong (in
Chinese); the shipped files load, keep their bounds, and survive the JSON round trip."""

from __future__ import annotations

import copy
import json
import tomllib
from datetime import date, datetime

import pytest

from app.products.definition import PremiumRule, ProductDefinition
from app.products.loader import (
    DEFINITIONS_DIR,
    DefinitionError,
    definition_from_json,
    definition_to_json,
    load_file,
    parse_definition,
    shipped_definition_paths,
)

GANZHOU = DEFINITIONS_DIR / "ganzhou-demo-2026.toml"
HUHUIBAO = DEFINITIONS_DIR / "huhuibao-2021.toml"
TERMS = "# 条款\n\n正文。\n"


def ganzhou_raw() -> dict:
    return tomllib.loads(GANZHOU.read_text(encoding="utf-8"))


def errors_of(raw: dict, terms: str = TERMS) -> list[tuple[str, str]]:
    with pytest.raises(DefinitionError) as info:
        parse_definition(raw, terms)
    return info.value.errors


def _set(path: str, value):
    """A mutation setting a dotted/indexed path, e.g. "buckets.2.cap_fen"."""

    def mutate(raw):
        *parents, last = path.split(".")
        node = raw
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return mutate


def _del(path: str):
    def mutate(raw):
        *parents, last = path.split(".")
        node = raw
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[last]

    return mutate


def _append(path: str, value):
    def mutate(raw):
        node = raw
        for part in path.split("."):
            node = node[int(part)] if part.isdigit() else node[part]
        node.append(value)

    return mutate


CASES = [
    # id, mutation of the valid Ganzhou definition, expected error path, message fragment
    ("missing code", _del("code"), "code", "缺少必填项"),
    ("missing bucket cap", _del("buckets.0.cap_fen"), "buckets[0].cap_fen", "缺少必填项"),
    ("unknown top-level key", _set("premium_fen", 8900), "premium_fen", "未知字段"),
    ("no cap and a cap", _set("buckets.2.no_cap", True), "buckets[2].cap_fen", "不设封顶线"),
    (
        "tiers_from unknown",
        _set("buckets.0.tiers_from", "deductible"),
        "buckets[0].tiers_from",
        "不是允许的取值",
    ),
    (
        "amount kind not a code",
        _set("amount_kinds", {"CAR-T": "CAR-T"}),
        "amount_kinds.CAR-T",
        "小写字母",
    ),
    (
        "built-in amount kind declared",
        _set("amount_kinds", {"special_drugs": "特药"}),
        "amount_kinds.special_drugs",
        "内置",
    ),
    (
        "provider mapped to an uncounted kind",
        _set("settlement_providers", {"H1": "car_t"}),
        "settlement_providers.H1",
        "不是本产品",
    ),
    ("unknown bucket key (typo)", _set("buckets.0.cap", 1), "buckets[0].cap", "未知字段"),
    ("code not a slug", _set("code", "Ganzhou 2026"), "code", "格式不正确"),
    ("reserved code shadows /products/current", _set("code", "current"), "code", "保留字"),
    ("plan year as a string", _set("plan_year", "2026"), "plan_year", "应为整数"),
    ("a boolean is not money", _set("premium.default_fen", True), "premium.default_fen", "整数"),
    ("impossible date", _set("window.opens", "2026-02-30"), "window.opens", "有效日期"),
    (
        "a datetime is not a date",
        _set("window.opens", datetime(2025, 10, 1, 8, 0)),
        "window.opens",
        "不要带时间",
    ),
    (
        "window closes before it opens",
        _set("window.closes", date(2025, 9, 30)),
        "window.closes",
        "不能早于开始日期",
    ),
    (
        "coverage ends before it starts",
        _set("coverage.ends", date(2025, 12, 31)),
        "coverage.ends",
        "不能早于开始日期",
    ),
    (
        "window closes after coverage ends",
        _set("window.closes", date(2027, 1, 15)),
        "window.closes",
        "不能晚于保障结束日期",
    ),
    (
        "ratio above 100%",
        _set("buckets.0.ratio_healthy_bp", 10001),
        "buckets[0].ratio_healthy_bp",
        "0 到 10000",
    ),
    (
        "negative ratio",
        _set("buckets.1.ratio_pre_existing_bp", -1),
        "buckets[1].ratio_pre_existing_bp",
        "0 到 10000",
    ),
    (
        "pre-existing ratio above healthy",
        _set("buckets.2.ratio_pre_existing_bp", 8000),
        "buckets[2].ratio_pre_existing_bp",
        "不能高于健康人群",
    ),
    (
        "negative deductible",
        _set("buckets.2.deductible_fen", -1),
        "buckets[2].deductible_fen",
        "不能为负数",
    ),
    ("zero cap", _set("buckets.2.cap_fen", 0), "buckets[2].cap_fen", "必须大于 0"),
    (
        "sub-cap above the bucket cap",
        _set("buckets.2.sub_caps.0.cap_fen", 100000001),
        "buckets[2].sub_caps[0].cap_fen",
        "不能高于所属责任的年度封顶线",
    ),
    (
        "sub-cap period unknown",
        _set("buckets.2.sub_caps.0.per", "month"),
        "buckets[2].sub_caps[0].per",
        "不是允许的取值",
    ),
    (
        "tiers not strictly increasing",
        _append(
            "buckets.0.tiers",
            {"above_fen": 10000000, "ratio_healthy_bp": 9000, "ratio_pre_existing_bp": 7000},
        ),
        "buckets[0].tiers[1].above_fen",
        "严格递增",
    ),
    (
        "a higher tier paying less",
        _set("buckets.0.tiers.0.ratio_healthy_bp", 7000),
        "buckets[0].tiers[0].ratio_healthy_bp",
        "不能低于前一段",
    ),
    (
        "unknown countable amount",
        _set("buckets.0.counts", ["dental"]),
        "buckets[0].counts[0]",
        "不是允许的取值",
    ),
    (
        "an amount counted by two buckets",
        _set("buckets.2.counts", ["special_drugs", "in_policy_self_pay"]),
        "buckets[2].counts[1]",
        "已由 buckets[0] 计入",
    ),
    ("duplicate bucket code", _set("buckets.1.code", "in_policy"), "buckets[1].code", "重复"),
    ("no buckets", _set("buckets", []), "buckets", "至少需要一项"),
    (
        "shared deductible group disagrees",
        _set("buckets.1.deductible_fen", 1000000),
        "buckets[1].deductible_group",
        "起付线设置必须一致",
    ),
    (
        "unknown insured relation",
        _append("insured_relations", "friend"),
        "insured_relations[4]",
        "不是允许的取值",
    ),
    ("duplicate relation", _append("insured_relations", "self"), "insured_relations[4]", "重复"),
    (
        "family pool outside insured relations",
        _set("insured_relations", ["self", "spouse"]),
        "family_pool_relations[2]",
        "不在可投保关系",
    ),
    (
        "family pool without personal-account payment",
        _set("payment_methods", ["wechat"]),
        "family_pool_relations",
        "personal_account",
    ),
    (
        "unknown payment method",
        _append("payment_methods", "alipay"),
        "payment_methods[3]",
        "不是允许的取值",
    ),
    (
        "unknown care kind",
        _set("required_documents.dental", ["invoice"]),
        "required_documents.dental",
        "不是允许的就医类型",
    ),
    (
        "unknown document type",
        _set("required_documents.in_patient", ["invoice", "photo"]),
        "required_documents.in_patient[1]",
        "不是允许的取值",
    ),
    (
        "premium above the city's bound",
        _set("premium.default_fen", 10001),
        "premium.default_fen",
        "超过上限",
    ),
    (
        "premium rule above the bound",
        _set("premium.rules", [{"premium_fen": 12900, "min_age": 80}]),
        "premium.rules[0].premium_fen",
        "超过上限",
    ),
    (
        "premium rule after a catch-all rule is dead",
        _set("premium.rules", [{"premium_fen": 8900}, {"premium_fen": 5900, "max_age": 17}]),
        "premium.rules[1]",
        "永远不会生效",
    ),
    (
        "premium rule ages reversed",
        _set("premium.rules", [{"premium_fen": 5900, "min_age": 18, "max_age": 6}]),
        "premium.rules[0].max_age",
        "不能小于最小年龄",
    ),
    (
        "premium rule insurance type unknown",
        _set("premium.rules", [{"premium_fen": 5900, "insurance_type": "commercial"}]),
        "premium.rules[0].insurance_type",
        "employee",
    ),
    ("refund period negative", _set("refund.within_days", -1), "refund.within_days", "0 到 365"),
    (
        "terms file outside the directory",
        _set("terms.file", "../secrets.md"),
        "terms.file",
        "格式不正确",
    ),
    (
        "bounds ratio above 100%",
        _set("bounds.loss_ratio_floor_bp", 12000),
        "bounds.loss_ratio_floor_bp",
        "0 到 10000",
    ),
    ("region prefix not digits", _set("region_prefix", "GZ"), "region_prefix", "格式不正确"),
]


@pytest.mark.parametrize(
    "mutate, path, fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_broken_definition_names_path_and_problem(mutate, path, fragment):
    raw = ganzhou_raw()
    mutate(raw)
    errors = errors_of(raw)
    matching = [msg for where, msg in errors if where == path]
    assert matching, f"no error at {path}; got {errors}"
    assert any(fragment in msg for msg in matching), f"{path}: {matching}"


def test_empty_terms_text_is_rejected():
    assert ("terms.text", "条款正文不能为空") in errors_of(ganzhou_raw(), "  \n")


def test_every_problem_is_reported_at_once():
    raw = ganzhou_raw()
    del raw["name"]
    raw["plan_year"] = "x"
    raw["buckets"][0]["ratio_healthy_bp"] = 20000
    raw["buckets"][2]["cap_fen"] = -5
    raw["colour"] = "red"
    paths = {where for where, _ in errors_of(raw)}
    assert {
        "name",
        "plan_year",
        "buckets[0].ratio_healthy_bp",
        "buckets[2].cap_fen",
        "colour",
    } <= paths
    with pytest.raises(DefinitionError) as info:
        parse_definition(raw, TERMS)
    text = str(info.value)
    assert "处错误" in text and "buckets[2].cap_fen" in text


def test_not_a_table_at_all():
    assert errors_of([]) == [("(根)", "应为表（键值对）")]  # type: ignore[arg-type]


# --- shipped files -------------------------------------------------------------------------------


def test_the_shipped_files_load():
    codes = [load_file(p).code for p in shipped_definition_paths()]
    assert codes == ["ganzhou-demo-2026", "ganzhou-demo-2027", "huhuibao-2021"]


def test_ganzhou_2027_is_next_year_sold_with_basic_insurance_from_1_january():
    d = load_file(GANZHOU.with_name("ganzhou-demo-2027.toml"))
    assert (d.plan_year, d.renews, d.cover_start_rule) == (2027, "ganzhou-demo-2026", "fixed")
    assert (d.window_opens, d.window_closes) == (date(2026, 12, 1), date(2026, 12, 31))
    assert (d.coverage_starts, d.coverage_ends) == (date(2027, 1, 1), date(2027, 12, 31))
    assert d.window_open_on(date(2026, 12, 6)) and not d.window_open_on(date(2026, 11, 30))
    assert d.terms.version == "2027.1" and "2027年1月1日零时起" in d.terms.text
    # the operator's dashboard names its areas and measures it against a target, as for 2026
    d26 = load_file(GANZHOU)
    assert d.disclosure.areas == d26.disclosure.areas and d.disclosure.areas["360702"] == "章贡区"
    assert d.disclosure.participation_target_bp == 2000


@pytest.mark.parametrize(
    "coverage, message",
    [
        ({"cover_starts": "someday"}, "不是允许的取值"),
        ({"cover_starts": "fixed"}, "投保窗口须在保障开始日当天或之前结束"),
    ],
)
def test_cover_start_rule_is_checked(coverage, message):
    raw = tomllib.loads(GANZHOU.read_text(encoding="utf-8"))
    raw["coverage"].update(coverage)  # the 2026 window runs to 2026-12-31, after 1 January
    problems = errors_of(raw)
    assert [where for where, text in problems if message in text] == ["coverage.cover_starts"]


def test_ganzhou_demo_is_within_its_bounds_and_open_now():
    d = load_file(GANZHOU)
    assert (d.plan_year, d.region_prefix) == (2026, "3607")
    assert d.window_open_on(date(2026, 11, 23))
    assert (d.coverage_starts, d.coverage_ends) == (date(2026, 1, 1), date(2026, 12, 31))
    assert d.premium_default_fen == 8900 and d.late_enrollment_waiting_days == 0
    assert d.premium_for(insurance_type="resident", age=3) == 8900
    assert d.premium_for(insurance_type="employee", age=95) == 8900
    b = d.bounds
    assert (b.premium_max_fen, b.deductible_max_fen, b.cap_min_fen, b.loss_ratio_floor_bp) == (
        10000,
        1500000,
        100000000,
        8000,
    )
    assert d.premium_default_fen <= b.premium_max_fen
    assert all(r.premium_fen <= b.premium_max_fen for r in d.premium_rules)
    assert all(x.deductible_fen <= b.deductible_max_fen for x in d.buckets)
    assert all(x.cap_fen >= b.cap_min_fen for x in d.buckets)
    inside, outside, drugs, proton = d.buckets
    assert (proton.code, proton.counts, proton.deductible_fen, proton.cap_fen) == (
        "proton_heavy_ion",
        ("proton_heavy_ion",),
        0,
        100000000,
    )
    assert (proton.ratio_healthy_bp, proton.ratio_pre_existing_bp) == (7000, 3000)
    assert d.settlement_providers == {"H31011500099": "proton_heavy_ion"}
    assert d.claim_amount_kinds() == (
        "in_policy_self_pay",
        "out_of_policy_self_pay",
        "special_drugs",
        "proton_heavy_ion",
    )
    assert (inside.deductible_group, outside.deductible_group) == ("main", "main")
    assert (inside.ratio_healthy_bp, inside.ratio_pre_existing_bp, inside.cap_fen) == (
        7500,
        5000,
        150000000,
    )
    assert [(t.above_fen, t.ratio_healthy_bp, t.ratio_pre_existing_bp) for t in inside.tiers] == [
        (10000000, 8500, 6000)
    ]
    assert (
        outside.ratio_healthy_bp,
        outside.ratio_pre_existing_bp,
        outside.cap_fen,
        outside.commercial_list_required,
    ) == (6000, 3000, 100000000, True)
    assert (
        drugs.deductible_fen,
        drugs.ratio_healthy_bp,
        drugs.ratio_pre_existing_bp,
        drugs.cap_fen,
    ) == (0, 7000, 3000, 100000000)
    assert [(s.cap_fen, s.per) for s in drugs.sub_caps] == [(20000000, "item")]
    assert d.required_documents["special_drug"] == ("invoice", "prescription", "pathology")
    assert d.auto_approve_max_fen == 5000000
    assert (d.refund.within_days, d.refund.requires_no_claim) == (15, True)
    assert d.terms.version == "2026.1" and "保险条款" in d.terms.text


def test_huhuibao_reproduces_the_public_table():
    d = load_file(HUHUIBAO)
    assert d.premium_default_fen == 11500 and d.plan_year == 2021
    assert d.bounds.premium_max_fen is None  # no Ganzhou bounds for Shanghai
    rows = [
        (b.counts, b.deductible_fen, b.ratio_healthy_bp, b.ratio_pre_existing_bp, b.cap_fen)
        for b in d.buckets
    ]
    assert rows == [
        (("in_policy_self_pay", "out_of_policy_self_pay"), 2000000, 7000, 5000, 100000000),
        (("special_drugs",), 0, 7000, 3000, 100000000),
        (("proton_heavy_ion",), 0, 7000, 3000, 30000000),
    ]


def test_over_bound_variant_is_rejected_with_three_errors():
    """101 yuan premium, 15,001 yuan deductible, 999,999 yuan cap: each named."""
    raw = ganzhou_raw()
    raw["premium"]["default_fen"] = 10100
    raw["buckets"][2]["deductible_fen"] = 1500100
    raw["buckets"][2]["cap_fen"] = 99999900
    errors = errors_of(raw)
    assert errors == [
        ("premium.default_fen", "保费 101 元 超过上限 100 元"),
        ("buckets[2].deductible_fen", "起付线 15,001 元 超过上限 15,000 元"),
        ("buckets[2].cap_fen", "封顶线 999,999 元 低于下限 1,000,000 元"),
    ]


def test_the_same_variant_without_bounds_is_fine():
    raw = ganzhou_raw()
    raw["premium"]["default_fen"] = 10100
    raw["buckets"][2]["deductible_fen"] = 1500100
    raw["buckets"][2]["cap_fen"] = 99999900
    del raw["bounds"]
    assert parse_definition(raw, TERMS).premium_default_fen == 10100


def test_load_file_reports_a_missing_terms_file(tmp_path):
    text = GANZHOU.read_text(encoding="utf-8")
    (tmp_path / "x.toml").write_text(text, encoding="utf-8")
    with pytest.raises(DefinitionError) as info:
        load_file(tmp_path / "x.toml")
    assert info.value.errors == [("terms.file", "找不到条款文件 ganzhou-demo-2026.terms.md")]
    assert info.value.source == "x.toml"


def test_load_file_reports_toml_syntax(tmp_path):
    (tmp_path / "bad.toml").write_text("code = \n", encoding="utf-8")
    with pytest.raises(DefinitionError) as info:
        load_file(tmp_path / "bad.toml")
    assert "TOML 语法错误" in info.value.errors[0][1]


# --- JSON round trip ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", [GANZHOU, HUHUIBAO], ids=lambda p: p.stem)
def test_json_round_trip_is_exact(path):
    d = load_file(path)
    stored = json.loads(json.dumps(definition_to_json(d), ensure_ascii=False))
    assert definition_from_json(stored) == d
    assert stored["window_opens"] == d.window_opens.isoformat()


def test_json_round_trip_with_rules_and_optional_fields():
    raw = ganzhou_raw()
    raw["premium"]["rules"] = [
        {"premium_fen": 5900, "max_age": 17},
        {"premium_fen": 9900, "insurance_type": "resident"},
    ]
    raw["buckets"][0]["deductible_pre_existing_fen"] = 1500000
    raw["buckets"][1]["deductible_pre_existing_fen"] = 1500000
    raw["buckets"][2]["renewal_deductible_step_fen"] = 0
    d = parse_definition(copy.deepcopy(raw), TERMS)
    assert definition_from_json(definition_to_json(d)) == d


# --- premium rules ------------------------------------------------------------------------------

RULED = parse_definition(
    {
        **ganzhou_raw(),
        "premium": {
            "default_fen": 8900,
            "rules": [
                {"premium_fen": 5900, "max_age": 17},  # children 59 yuan
                {"premium_fen": 9900, "min_age": 80},  # 80+ 99 yuan
                {
                    "premium_fen": 6900,
                    "insurance_type": "resident",
                    "min_age": 60,
                },  # resident 60-79
            ],
        },
    },
    TERMS,
)

PREMIUMS = [
    # insurance type, age, expected fen, why
    ("employee", 0, 5900, "newborn: first rule"),
    ("resident", 17, 5900, "max_age is inclusive"),
    ("employee", 18, 8900, "adult employee: default"),
    ("resident", 59, 8900, "resident below 60: default"),
    ("resident", 60, 6900, "resident 60: third rule (min_age inclusive)"),
    ("employee", 60, 8900, "employee 60: the resident rule does not match"),
    ("resident", 80, 9900, "80: second rule wins before the resident rule"),
    (None, 85, 9900, "unknown type still matches age-only rules"),
    (None, 65, 8900, "unknown type does not match a typed rule"),
]


@pytest.mark.parametrize(
    "itype, age, expected", [p[:3] for p in PREMIUMS], ids=[p[3] for p in PREMIUMS]
)
def test_premium_for_first_matching_rule(itype, age, expected):
    assert RULED.premium_for(insurance_type=itype, age=age) == expected


def test_rules_parse_to_dataclasses():
    assert RULED.premium_rules[0] == PremiumRule(premium_fen=5900, max_age=17)
    assert isinstance(RULED, ProductDefinition)


def test_a_bucket_may_state_no_cap_and_tiers_above_the_deductible():
    raw = ganzhou_raw()
    del raw["buckets"][2]["cap_fen"]
    raw["buckets"][2]["no_cap"] = True
    del raw["buckets"][2]["sub_caps"]
    raw["buckets"][0]["tiers_from"] = "above_deductible"
    raw["amount_kinds"] = {"car_t": "CAR-T 细胞治疗费用"}
    raw["buckets"][3]["counts"] = ["proton_heavy_ion", "car_t"]
    d = parse_definition(raw, "# 条款")
    assert d.buckets[2].cap_fen is None and d.buckets[0].tiers_from == "above_deductible"
    assert d.buckets[1].tiers_from == "first_yuan"
    assert d.amount_kind_name("car_t") == "CAR-T 细胞治疗费用"
    assert definition_from_json(definition_to_json(d)) == d
