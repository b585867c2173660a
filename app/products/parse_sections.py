"""Parsers of a product definition's sections other than its buckets: [bounds], [premium],
[refund], [terms], [required_documents], [[class_one_chronic_conditions]] and [disclosure]
(pure: no Flask, no database).
Each takes the collecting Checker and the raw section, and returns what it could build."""

from __future__ import annotations

import re
from typing import Any

from app.common.money import yuan_short
from app.products.checker import MAX_BP, MISSING, Checker, join_path
from app.products.definition import (
    CARE_KINDS,
    DOCUMENT_TYPES,
    Bounds,
    ChronicCondition,
    Corridor,
    Disclosure,
    PremiumRule,
    RefundRule,
    Terms,
)

TERMS_FILE_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,80}\.md$")
# An ICD-10 code prefix: a chapter letter, then up to two digits, then a dot and up to four
# characters ("C", "Z94", "N18.5", "I10.x").
ICD10_PREFIX_PATTERN = re.compile(r"^[A-Za-z]([0-9]{1,2}(\.[0-9A-Za-z]{1,4})?)?$")
MAX_CHRONIC_CONDITIONS = 200
INSURANCE_TYPES = ("employee", "resident")


def parse_disclosure(c: Checker, raw: Any, bounds: Bounds) -> Disclosure:
    """Public statistics and the yearly settlement (app/disclosure/corridor.py)."""
    if raw is MISSING:
        return Disclosure()
    table = c.table(
        raw,
        "disclosure",
        (),
        (
            "region_basic_insured_population",
            "loss_ratio_floor_bp",
            "corridor",
            "participation_target_bp",
            "areas",
        ),
    )
    if table is None:
        return Disclosure()
    if not table:
        c.add("disclosure", "披露表不能为空；不需要时请删除 [disclosure]")
    population = c.integer(
        table.get("region_basic_insured_population", MISSING),
        "disclosure.region_basic_insured_population",
        minimum=1,
        maximum=2_000_000_000,
        message="基本医保参保人数应为 1 到 20 亿之间的整数",
    )
    floor = c.ratio(table.get("loss_ratio_floor_bp", MISSING), "disclosure.loss_ratio_floor_bp")
    city_floor = bounds.loss_ratio_floor_bp
    if floor is not None and city_floor is not None and floor < city_floor:
        c.add(
            "disclosure.loss_ratio_floor_bp",
            f"赔付率下限不能低于城市规定的 {city_floor} 个基点（bounds.loss_ratio_floor_bp）",
        )
    corridor = None
    if "corridor" in table:
        corridor = _corridor(c, table["corridor"])
    target = c.integer(
        table.get("participation_target_bp", MISSING),
        "disclosure.participation_target_bp",
        minimum=1,
        maximum=MAX_BP,
        message="参保率目标应在 1 到 10000 个基点之间",
    )
    return Disclosure(
        region_basic_insured_population=population,
        loss_ratio_floor_bp=floor,
        corridor=corridor,
        participation_target_bp=target,
        areas=_areas(c, table.get("areas", MISSING)),
    )


AREA_CODE = re.compile(r"\d{6}")


def _areas(c: Checker, raw: Any) -> dict[str, str]:
    """{area code: name}: six-digit admdvs codes, each with a name."""
    if raw is MISSING:
        return {}
    if not isinstance(raw, dict):
        c.add("disclosure.areas", "应为表（区划代码 = 名称）")
        return {}
    areas = {}
    for code, name in raw.items():
        path = f"disclosure.areas.{code}"
        if not AREA_CODE.fullmatch(code):
            c.add(path, "区划代码应为 6 位数字")
        elif (text := c.string(name, path, max_length=40)) is not None:
            areas[code] = text
    return areas


def _corridor(c: Checker, raw: Any) -> Corridor | None:
    keys = (
        "full_premium_from_bp",
        "cost_allowance_bp",
        "renegotiate_below_bp",
        "renegotiate_above_bp",
    )
    table = c.table(raw, "disclosure.corridor", keys)
    if table is None:
        return None
    path = "disclosure.corridor."
    full = c.integer(
        table.get("full_premium_from_bp", MISSING),
        path + "full_premium_from_bp",
        minimum=1,
        maximum=MAX_BP,
        message="阈值应在 1 到 10000 个基点之间",
    )
    allowance = c.ratio(table.get("cost_allowance_bp", MISSING), path + "cost_allowance_bp")
    # Renegotiation bounds are payout / premium and may pass 100% (Huizhou: 105%).
    below = c.integer(
        table.get("renegotiate_below_bp", MISSING),
        path + "renegotiate_below_bp",
        minimum=0,
        maximum=10 * MAX_BP,
        message="应在 0 到 100000 个基点之间",
    )
    above = c.integer(
        table.get("renegotiate_above_bp", MISSING),
        path + "renegotiate_above_bp",
        minimum=0,
        maximum=10 * MAX_BP,
        message="应在 0 到 100000 个基点之间",
    )
    if below is not None and above is not None and below > above:
        c.add(path + "renegotiate_above_bp", "重新议价区间的上限不能低于下限")
    # Just below the threshold the insurer keeps payout x (1 + allowance); that must stay within
    # the premium, or the "returned" surplus would be negative.
    if full is not None and allowance is not None and full * (MAX_BP + allowance) > MAX_BP * MAX_BP:
        c.add(
            path + "cost_allowance_bp",
            "阈值以下保险公司留存（赔款加费用补偿）会超过保费，请降低阈值或费用比例",
        )
    if full is None or allowance is None or below is None or above is None:
        return None
    return Corridor(
        full_premium_from_bp=full,
        cost_allowance_bp=allowance,
        renegotiate_below_bp=below,
        renegotiate_above_bp=above,
    )


def parse_bounds(c: Checker, raw: Any) -> Bounds:
    if raw is MISSING:
        return Bounds()
    keys = ("premium_max_fen", "deductible_max_fen", "cap_min_fen", "loss_ratio_floor_bp")
    table = c.table(raw, "bounds", (), keys)
    if table is None:
        return Bounds()
    if not table:
        c.add("bounds", "边界表不能为空；没有边界时请删除 [bounds]")
    values = {}
    for key in keys:
        if key in table:
            check = c.ratio if key.endswith("_bp") else c.fen
            values[key] = check(table[key], f"bounds.{key}")
    return Bounds(**values)


def parse_premium(
    c: Checker, raw: Any, bounds: Bounds
) -> tuple[int | None, tuple[PremiumRule, ...]]:
    if raw is MISSING:
        return None, ()
    table = c.table(raw, "premium", ("default_fen",), ("rules",))
    if table is None:
        return None, ()
    default = c.fen(table.get("default_fen", MISSING), "premium.default_fen", positive=True)
    limit = bounds.premium_max_fen
    if default is not None and limit is not None and default > limit:
        c.add(
            "premium.default_fen", f"保费 {yuan_short(default)} 元 超过上限 {yuan_short(limit)} 元"
        )
    rules: list[PremiumRule] = []
    unconditional_at: int | None = None
    for i, item in enumerate(c.list_of_tables(table.get("rules", MISSING), "premium.rules")):
        path = f"premium.rules[{i}]"
        rule = c.table(item, path, ("premium_fen",), ("insurance_type", "min_age", "max_age"))
        if rule is None:
            continue
        fen = c.fen(rule.get("premium_fen", MISSING), f"{path}.premium_fen", positive=True)
        if fen is not None and limit is not None and fen > limit:
            c.add(
                f"{path}.premium_fen", f"保费 {yuan_short(fen)} 元 超过上限 {yuan_short(limit)} 元"
            )
        itype = rule.get("insurance_type")
        if itype is not None and itype not in INSURANCE_TYPES:
            c.add(f"{path}.insurance_type", "险种只能是 employee（职工）或 resident（城乡居民）")
            itype = None
        min_age = c.integer(rule.get("min_age", MISSING), f"{path}.min_age", minimum=0, maximum=150)
        max_age = c.integer(rule.get("max_age", MISSING), f"{path}.max_age", minimum=0, maximum=150)
        if min_age is not None and max_age is not None and min_age > max_age:
            c.add(f"{path}.max_age", "最大年龄不能小于最小年龄")
        if unconditional_at is not None:
            c.add(path, f"第 {unconditional_at + 1} 条规则没有任何条件，此规则永远不会生效")
        if "insurance_type" not in rule and "min_age" not in rule and "max_age" not in rule:
            unconditional_at = i if unconditional_at is None else unconditional_at
        if fen is not None:
            rules.append(
                PremiumRule(premium_fen=fen, insurance_type=itype, min_age=min_age, max_age=max_age)
            )
    return default, tuple(rules)


def parse_refund(c: Checker, raw: Any) -> RefundRule | None:
    if raw is MISSING:
        return None
    table = c.table(raw, "refund", ("within_days",), ("requires_no_claim",))
    if table is None:
        return None
    days = c.integer(
        table.get("within_days", MISSING),
        "refund.within_days",
        minimum=0,
        maximum=365,
        message="退保期限应在 0 到 365 天之间",
    )
    no_claim = c.boolean(table.get("requires_no_claim", True), "refund.requires_no_claim")
    if days is None or no_claim is None:
        return None
    return RefundRule(within_days=days, requires_no_claim=no_claim)


def parse_terms(c: Checker, raw: Any, text: str) -> Terms | None:
    if raw is MISSING:
        return None
    table = c.table(raw, "terms", ("version", "title"), ("file",))
    if table is None:
        return None
    version = c.string(
        table.get("version", MISSING),
        "terms.version",
        max_length=32,
        pattern=re.compile(r"^[A-Za-z0-9._-]+$"),
        pattern_hint="只能用字母、数字、点、下划线和连字符",
    )
    title = c.string(table.get("title", MISSING), "terms.title", max_length=200)
    if "file" in table:
        c.string(
            table["file"],
            "terms.file",
            max_length=84,
            pattern=TERMS_FILE_PATTERN,
            pattern_hint="应为与定义文件同目录的 .md 文件名",
        )
    if not isinstance(text, str) or not text.strip():
        c.add("terms.text", "条款正文不能为空")
        return None
    if version is None or title is None:
        return None
    return Terms(version=version, title=title, text=text)


def parse_required_documents(c: Checker, raw: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict):
        c.add("required_documents", "应为表（护理类型 = [材料, ...]）")
        return {}
    documents: dict[str, tuple[str, ...]] = {}
    for kind, docs in raw.items():
        path = f"required_documents.{kind}"
        if kind not in CARE_KINDS:
            c.add(path, f"“{kind}”不是允许的就医类型，可选：{'、'.join(CARE_KINDS)}")
            continue
        checked = c.choices(docs, path, DOCUMENT_TYPES)
        if checked is not None:
            documents[kind] = checked
    return documents


def parse_class_one_chronic(
    c: Checker, raw: Any, documents: dict[str, tuple[str, ...]]
) -> tuple[ChronicCondition, ...]:
    """[[class_one_chronic_conditions]] code (an ICD-10 prefix), name: the 一类门诊慢特病 whose
    out-patient visits the product covers. A product that takes chronic out-patient claims
    (chronic_outpatient in [required_documents]) must state it; `= []` covers none."""
    key = "class_one_chronic_conditions"
    if raw is MISSING:
        if "chronic_outpatient" in documents:
            c.add(
                key,
                "产品受理门诊慢特病（required_documents 含 chronic_outpatient），须列明所保障的"
                "一类门诊慢特病（ICD-10 编码前缀及名称）；不保障门诊慢特病时写空列表 []",
            )
        return ()
    items = c.list_of_tables(raw, key)
    if len(items) > MAX_CHRONIC_CONDITIONS:
        c.add(key, f"一类门诊慢特病最多 {MAX_CHRONIC_CONDITIONS} 项")
        return ()
    found: list[ChronicCondition] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        path = join_path(key, i)
        table = c.table(item, path, ("code", "name"))
        if table is None:
            continue
        code, name = c.code_and_name(
            table, path, (10, ICD10_PREFIX_PATTERN, "应为 ICD-10 编码前缀，如 C、Z94、N18.5")
        )
        if code is None or name is None:
            continue
        normal = code.upper()
        if normal in seen:
            c.add(join_path(path, "code"), f"“{code}”与第 {seen[normal] + 1} 项重复")
            continue
        seen[normal] = i
        found.append(ChronicCondition(code=normal, name=name))
    return tuple(found)
