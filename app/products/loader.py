"""Read and validate product definitions (pure: no Flask, no database).

A definition is a TOML file in app/products/definitions/ with a Markdown terms file beside it.
`parse_definition` checks everything it can and reports every problem at once, each as
(path, Chinese message), e.g. ("buckets[1].sub_caps[0].cap_fen", "分项限额不能高于所属责任的年度封顶线").

TOML layout (money in integer fen, ratios in basis points, 7000 = 70%):

    code, name, plan_year, region_prefix, insured_relations, payment_methods,
    family_pool_relations, late_enrollment_waiting_days?, auto_approve_max_fen?
    [window]   opens, closes               [coverage] starts, ends
    [premium]  default_fen, rules? = [{premium_fen, insurance_type?, min_age?, max_age?}]
    [refund]   within_days, requires_no_claim?
    [terms]    version, title, file (the Markdown file beside the TOML)
    [bounds]?  premium_max_fen?, deductible_max_fen?, cap_min_fen?, loss_ratio_floor_bp?
    [disclosure]?  region_basic_insured_population?, loss_ratio_floor_bp?
    [disclosure.corridor]?  full_premium_from_bp, cost_allowance_bp, renegotiate_below_bp,
                            renegotiate_above_bp
    [required_documents]?  <care kind> = [<document type>, ...]
    [[buckets]] code, name, counts, deductible_fen, ratio_healthy_bp, ratio_pre_existing_bp,
                cap_fen, deductible_pre_existing_fen?, deductible_group?,
                renewal_deductible_step_fen?, renewal_deductible_floor_fen?,
                commercial_list_required?, tiers? = [...], sub_caps? = [...]

`definition_to_json` / `definition_from_json` are the stored form (the dataclass fields, dates as
ISO strings); the JSON is not re-validated when read back, it was validated when loaded.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

from app.products.definition import (
    CARE_KINDS,
    COUNTABLE_AMOUNTS,
    DOCUMENT_TYPES,
    INSURED_RELATIONS,
    PAYMENT_METHODS,
    Bounds,
    Bucket,
    Corridor,
    Disclosure,
    PremiumRule,
    ProductDefinition,
    RefundRule,
    SubCap,
    Terms,
    Tier,
)

DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"

CODE_PATTERN = re.compile(r"^[a-z0-9-]{1,40}$")
BUCKET_CODE_PATTERN = re.compile(r"^[a-z0-9_]{1,40}$")
REGION_PREFIX_PATTERN = re.compile(r"^[0-9]{2,6}$")
TERMS_FILE_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,80}\.md$")
RESERVED_CODES = ("current",)  # would be shadowed by GET /products/current
INSURANCE_TYPES = ("employee", "resident")
SUB_CAP_PERIODS = ("year", "admission", "item")
MAX_BP = 10000
MAX_FEN = 10**12  # 100 亿元: anything above is a typo


class DefinitionError(ValueError):
    """Every problem found in one definition (or one batch of files), as (path, message)."""

    def __init__(self, errors: Iterable[tuple[str, str]], source: str | None = None) -> None:
        self.errors: list[tuple[str, str]] = list(errors)
        self.source = source
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.source}：" if self.source else ""
        lines = [f"{where}产品定义有 {len(self.errors)} 处错误"]
        lines += [f"  - {path}: {message}" for path, message in self.errors]
        return "\n".join(lines)


# --- a small collecting checker -----------------------------------------------------------------

_MISSING = object()


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class _Checker:
    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []

    def add(self, path: str, message: str) -> None:
        self.errors.append((path or "(根)", message))

    def table(
        self, value: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
    ) -> dict | None:
        if not isinstance(value, dict):
            self.add(path, "应为表（键值对）")
            return None
        for key in required:
            if key not in value:
                self.add(_join(path, key), "缺少必填项")
        allowed = set(required) | set(optional)
        for key in value:
            if key not in allowed:
                self.add(_join(path, key), "未知字段（请检查拼写）")
        return value

    def integer(
        self,
        value: Any,
        path: str,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
        message: str | None = None,
    ) -> int | None:
        if value is _MISSING:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path, "应为整数")
            return None
        if minimum is not None and value < minimum:
            self.add(path, message or ("不能为负数" if minimum == 0 else f"不能小于 {minimum}"))
            return None
        if maximum is not None and value > maximum:
            self.add(path, message or f"不能大于 {maximum}")
            return None
        return value

    def fen(self, value: Any, path: str, *, positive: bool = False) -> int | None:
        """Money: integer fen, never negative (and > 0 when `positive`)."""
        if value is _MISSING:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path, "金额应为整数（单位：分）")
            return None
        if positive and value <= 0:
            self.add(path, "金额必须大于 0（单位：分）")
            return None
        if value < 0:
            self.add(path, "金额不能为负数（单位：分）")
            return None
        if value > MAX_FEN:
            self.add(path, "金额过大，请检查单位（应为分）")
            return None
        return value

    def ratio(self, value: Any, path: str) -> int | None:
        return self.integer(
            value,
            path,
            minimum=0,
            maximum=MAX_BP,
            message="比例应在 0 到 10000 个基点之间（10000 = 100%）",
        )

    def boolean(self, value: Any, path: str) -> bool | None:
        if value is _MISSING:
            return None
        if not isinstance(value, bool):
            self.add(path, "应为 true 或 false")
            return None
        return value

    def string(
        self,
        value: Any,
        path: str,
        *,
        max_length: int = 200,
        pattern: re.Pattern | None = None,
        pattern_hint: str = "",
    ) -> str | None:
        if value is _MISSING:
            return None
        if not isinstance(value, str):
            self.add(path, "应为字符串")
            return None
        if not value.strip():
            self.add(path, "不能为空")
            return None
        if len(value) > max_length:
            self.add(path, f"长度不能超过 {max_length} 个字符")
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.add(path, f"格式不正确{('：' + pattern_hint) if pattern_hint else ''}")
            return None
        return value

    def day(self, value: Any, path: str) -> date | None:
        if value is _MISSING:
            return None
        if isinstance(value, datetime):
            self.add(path, "应为日期（YYYY-MM-DD），不要带时间")
            return None
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        self.add(path, "应为有效日期（YYYY-MM-DD）")
        return None

    def choices(
        self, value: Any, path: str, allowed: tuple[str, ...], *, non_empty: bool = True
    ) -> tuple[str, ...] | None:
        if value is _MISSING:
            return None
        if not isinstance(value, list):
            self.add(path, "应为列表")
            return None
        if non_empty and not value:
            self.add(path, "不能为空列表")
            return None
        ok = True
        seen: set[str] = set()
        for i, item in enumerate(value):
            if not isinstance(item, str) or item not in allowed:
                self.add(_join(path, i), f"“{item}”不是允许的取值，可选：{'、'.join(allowed)}")
                ok = False
            elif item in seen:
                self.add(_join(path, i), f"“{item}”重复")
                ok = False
            else:
                seen.add(item)
        return tuple(value) if ok else None

    def list_of_tables(self, value: Any, path: str, *, non_empty: bool = False) -> list:
        if value is _MISSING:
            return []
        if not isinstance(value, list):
            self.add(path, "应为列表（TOML 中写作 [[...]]）")
            return []
        if non_empty and not value:
            self.add(path, "至少需要一项")
        return value


# --- the definition -----------------------------------------------------------------------------

TOP_REQUIRED = (
    "code",
    "name",
    "plan_year",
    "region_prefix",
    "window",
    "coverage",
    "premium",
    "insured_relations",
    "payment_methods",
    "family_pool_relations",
    "refund",
    "terms",
    "buckets",
)
TOP_OPTIONAL = (
    "bounds",
    "late_enrollment_waiting_days",
    "required_documents",
    "auto_approve_max_fen",
    "disclosure",
)
BUCKET_REQUIRED = (
    "code",
    "name",
    "counts",
    "deductible_fen",
    "ratio_healthy_bp",
    "ratio_pre_existing_bp",
    "cap_fen",
)
BUCKET_OPTIONAL = (
    "deductible_pre_existing_fen",
    "deductible_group",
    "renewal_deductible_step_fen",
    "renewal_deductible_floor_fen",
    "tiers",
    "sub_caps",
    "commercial_list_required",
)


def parse_definition(raw: dict, terms_text: str) -> ProductDefinition:
    """Validate a raw definition (as read from TOML) and build the dataclasses.
    Raises DefinitionError listing every problem found."""
    c = _Checker()
    top = c.table(raw, "", TOP_REQUIRED, TOP_OPTIONAL)
    if top is None:
        raise DefinitionError(c.errors)
    g = lambda key, default=_MISSING: top.get(key, default)  # noqa: E731

    code = c.string(
        g("code"),
        "code",
        max_length=40,
        pattern=CODE_PATTERN,
        pattern_hint="只能用小写字母、数字和连字符，1-40 个字符",
    )
    if code in RESERVED_CODES:
        c.add("code", f"“{code}”是保留字，不能用作产品代码")
    name = c.string(g("name"), "name", max_length=100)
    plan_year = c.integer(
        g("plan_year"),
        "plan_year",
        minimum=2000,
        maximum=2100,
        message="年度应在 2000 到 2100 之间",
    )
    region_prefix = c.string(
        g("region_prefix"),
        "region_prefix",
        max_length=6,
        pattern=REGION_PREFIX_PATTERN,
        pattern_hint="应为 2-6 位数字的医保区划代码前缀，如 3607",
    )

    window_opens = window_closes = coverage_starts = coverage_ends = None
    window = c.table(g("window"), "window", ("opens", "closes")) if "window" in top else None
    if window is not None:
        window_opens = c.day(window.get("opens", _MISSING), "window.opens")
        window_closes = c.day(window.get("closes", _MISSING), "window.closes")
    coverage = c.table(g("coverage"), "coverage", ("starts", "ends")) if "coverage" in top else None
    if coverage is not None:
        coverage_starts = c.day(coverage.get("starts", _MISSING), "coverage.starts")
        coverage_ends = c.day(coverage.get("ends", _MISSING), "coverage.ends")
    if window_opens and window_closes and window_opens > window_closes:
        c.add("window.closes", "投保窗口结束日期不能早于开始日期")
    if coverage_starts and coverage_ends and coverage_starts > coverage_ends:
        c.add("coverage.ends", "保障结束日期不能早于开始日期")
    if window_closes and coverage_ends and window_closes > coverage_ends:
        c.add(
            "window.closes", f"投保窗口结束日期不能晚于保障结束日期（{coverage_ends.isoformat()}）"
        )
    if (
        plan_year
        and coverage_starts
        and coverage_ends
        and not (coverage_starts.year <= plan_year <= coverage_ends.year)
    ):
        c.add("plan_year", "保障年度应落在保障期间内")

    insured = c.choices(g("insured_relations"), "insured_relations", INSURED_RELATIONS)
    methods = c.choices(g("payment_methods"), "payment_methods", PAYMENT_METHODS)
    pool = c.choices(
        g("family_pool_relations"), "family_pool_relations", INSURED_RELATIONS, non_empty=False
    )
    if insured is not None and pool is not None:
        for i, relation in enumerate(pool):
            if relation not in insured:
                c.add(
                    f"family_pool_relations[{i}]",
                    f"“{relation}”不在可投保关系（insured_relations）中",
                )
    if pool and methods is not None and "personal_account" not in methods:
        c.add(
            "family_pool_relations",
            "未开放医保个人账户缴费（personal_account）时不能设置家庭共济关系",
        )

    bounds = _bounds(c, g("bounds"))
    premium_default, premium_rules = _premium(c, g("premium"), bounds)
    refund = _refund(c, g("refund"))
    terms = _terms(c, g("terms"), terms_text)
    buckets = _buckets(c, g("buckets"), bounds)
    waiting = c.integer(
        g("late_enrollment_waiting_days", 0),
        "late_enrollment_waiting_days",
        minimum=0,
        maximum=365,
        message="等待期应在 0 到 365 天之间",
    )
    documents = _required_documents(c, g("required_documents", {}))
    auto_approve = None
    if g("auto_approve_max_fen", None) is not None:
        auto_approve = c.fen(g("auto_approve_max_fen"), "auto_approve_max_fen")
    disclosure = _disclosure(c, g("disclosure"), bounds)

    if c.errors:
        raise DefinitionError(c.errors)
    return ProductDefinition(
        code=code,
        name=name,
        plan_year=plan_year,
        region_prefix=region_prefix,
        window_opens=window_opens,
        window_closes=window_closes,
        coverage_starts=coverage_starts,
        coverage_ends=coverage_ends,
        premium_default_fen=premium_default,
        premium_rules=premium_rules,
        insured_relations=insured,
        payment_methods=methods,
        family_pool_relations=pool,
        refund=refund,
        terms=terms,
        buckets=buckets,
        bounds=bounds,
        late_enrollment_waiting_days=waiting,
        required_documents=documents,
        auto_approve_max_fen=auto_approve,
        disclosure=disclosure,
    )


def _disclosure(c: _Checker, raw: Any, bounds: Bounds) -> Disclosure:
    """Public statistics and the yearly settlement (app/disclosure/corridor.py)."""
    if raw is _MISSING:
        return Disclosure()
    table = c.table(
        raw,
        "disclosure",
        (),
        ("region_basic_insured_population", "loss_ratio_floor_bp", "corridor"),
    )
    if table is None:
        return Disclosure()
    if not table:
        c.add("disclosure", "披露表不能为空；不需要时请删除 [disclosure]")
    population = c.integer(
        table.get("region_basic_insured_population", _MISSING),
        "disclosure.region_basic_insured_population",
        minimum=1,
        maximum=2_000_000_000,
        message="基本医保参保人数应为 1 到 20 亿之间的整数",
    )
    floor = c.ratio(table.get("loss_ratio_floor_bp", _MISSING), "disclosure.loss_ratio_floor_bp")
    city_floor = bounds.loss_ratio_floor_bp
    if floor is not None and city_floor is not None and floor < city_floor:
        c.add(
            "disclosure.loss_ratio_floor_bp",
            f"赔付率下限不能低于城市规定的 {city_floor} 个基点（bounds.loss_ratio_floor_bp）",
        )
    corridor = None
    if "corridor" in table:
        corridor = _corridor(c, table["corridor"])
    return Disclosure(
        region_basic_insured_population=population, loss_ratio_floor_bp=floor, corridor=corridor
    )


def _corridor(c: _Checker, raw: Any) -> Corridor | None:
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
        table.get("full_premium_from_bp", _MISSING),
        path + "full_premium_from_bp",
        minimum=1,
        maximum=MAX_BP,
        message="阈值应在 1 到 10000 个基点之间",
    )
    allowance = c.ratio(table.get("cost_allowance_bp", _MISSING), path + "cost_allowance_bp")
    # Renegotiation bounds are payout / premium and may pass 100% (Huizhou: 105%).
    below = c.integer(
        table.get("renegotiate_below_bp", _MISSING),
        path + "renegotiate_below_bp",
        minimum=0,
        maximum=10 * MAX_BP,
        message="应在 0 到 100000 个基点之间",
    )
    above = c.integer(
        table.get("renegotiate_above_bp", _MISSING),
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
    if None in (full, allowance, below, above):
        return None
    return Corridor(
        full_premium_from_bp=full,
        cost_allowance_bp=allowance,
        renegotiate_below_bp=below,
        renegotiate_above_bp=above,
    )


def _bounds(c: _Checker, raw: Any) -> Bounds:
    if raw is _MISSING:
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


def _premium(c: _Checker, raw: Any, bounds: Bounds) -> tuple[int | None, tuple[PremiumRule, ...]]:
    if raw is _MISSING:
        return None, ()
    table = c.table(raw, "premium", ("default_fen",), ("rules",))
    if table is None:
        return None, ()
    default = c.fen(table.get("default_fen", _MISSING), "premium.default_fen", positive=True)
    limit = bounds.premium_max_fen
    if default is not None and limit is not None and default > limit:
        c.add("premium.default_fen", f"保费 {_yuan(default)} 超过上限 {_yuan(limit)}")
    rules: list[PremiumRule] = []
    unconditional_at: int | None = None
    for i, item in enumerate(c.list_of_tables(table.get("rules", _MISSING), "premium.rules")):
        path = f"premium.rules[{i}]"
        rule = c.table(item, path, ("premium_fen",), ("insurance_type", "min_age", "max_age"))
        if rule is None:
            continue
        fen = c.fen(rule.get("premium_fen", _MISSING), f"{path}.premium_fen", positive=True)
        if fen is not None and limit is not None and fen > limit:
            c.add(f"{path}.premium_fen", f"保费 {_yuan(fen)} 超过上限 {_yuan(limit)}")
        itype = rule.get("insurance_type")
        if itype is not None and itype not in INSURANCE_TYPES:
            c.add(f"{path}.insurance_type", "险种只能是 employee（职工）或 resident（城乡居民）")
            itype = None
        min_age = c.integer(
            rule.get("min_age", _MISSING), f"{path}.min_age", minimum=0, maximum=150
        )
        max_age = c.integer(
            rule.get("max_age", _MISSING), f"{path}.max_age", minimum=0, maximum=150
        )
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


def _refund(c: _Checker, raw: Any) -> RefundRule | None:
    if raw is _MISSING:
        return None
    table = c.table(raw, "refund", ("within_days",), ("requires_no_claim",))
    if table is None:
        return None
    days = c.integer(
        table.get("within_days", _MISSING),
        "refund.within_days",
        minimum=0,
        maximum=365,
        message="退保期限应在 0 到 365 天之间",
    )
    no_claim = c.boolean(table.get("requires_no_claim", True), "refund.requires_no_claim")
    if days is None or no_claim is None:
        return None
    return RefundRule(within_days=days, requires_no_claim=no_claim)


def _terms(c: _Checker, raw: Any, text: str) -> Terms | None:
    if raw is _MISSING:
        return None
    table = c.table(raw, "terms", ("version", "title"), ("file",))
    if table is None:
        return None
    version = c.string(
        table.get("version", _MISSING),
        "terms.version",
        max_length=32,
        pattern=re.compile(r"^[A-Za-z0-9._-]+$"),
        pattern_hint="只能用字母、数字、点、下划线和连字符",
    )
    title = c.string(table.get("title", _MISSING), "terms.title", max_length=200)
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


def _buckets(c: _Checker, raw: Any, bounds: Bounds) -> tuple[Bucket, ...]:
    items = c.list_of_tables(raw, "buckets", non_empty=True)
    buckets: list[Bucket] = []
    codes: dict[str, int] = {}
    counted_by: dict[str, int] = {}
    for i, item in enumerate(items):
        path = f"buckets[{i}]"
        table = c.table(item, path, BUCKET_REQUIRED, BUCKET_OPTIONAL)
        if table is None:
            continue
        get = lambda key, default=_MISSING, t=table: t.get(key, default)  # noqa: E731
        code = c.string(
            get("code"),
            f"{path}.code",
            max_length=40,
            pattern=BUCKET_CODE_PATTERN,
            pattern_hint="只能用小写字母、数字和下划线",
        )
        if code is not None:
            if code in codes:
                c.add(f"{path}.code", f"责任代码“{code}”与 buckets[{codes[code]}] 重复")
            codes.setdefault(code, i)
        name = c.string(get("name"), f"{path}.name", max_length=100)
        counts = c.choices(get("counts"), f"{path}.counts", COUNTABLE_AMOUNTS)
        # One yuan of the member's money is paid by one bucket at most: a bucket may count
        # several amounts (沪惠保's in-patient bucket counts in- and out-of-policy self-pay), but
        # two buckets may not count the same amount.
        for j, amount in enumerate(counts or ()):
            if amount in counted_by:
                c.add(
                    f"{path}.counts[{j}]",
                    f"“{amount}”已由 buckets[{counted_by[amount]}] 计入，同一费用不能重复赔付",
                )
            else:
                counted_by[amount] = i
        deductible = c.fen(get("deductible_fen"), f"{path}.deductible_fen")
        deductible_pre = None
        if get("deductible_pre_existing_fen", None) is not None:
            deductible_pre = c.fen(
                get("deductible_pre_existing_fen"), f"{path}.deductible_pre_existing_fen"
            )
        limit = bounds.deductible_max_fen
        for key, value in (
            ("deductible_fen", deductible),
            ("deductible_pre_existing_fen", deductible_pre),
        ):
            if value is not None and limit is not None and value > limit:
                c.add(f"{path}.{key}", f"起付线 {_yuan(value)} 超过上限 {_yuan(limit)}")
        healthy = c.ratio(get("ratio_healthy_bp"), f"{path}.ratio_healthy_bp")
        pre = c.ratio(get("ratio_pre_existing_bp"), f"{path}.ratio_pre_existing_bp")
        if healthy is not None and pre is not None and pre > healthy:
            c.add(f"{path}.ratio_pre_existing_bp", "既往症人群的赔付比例不能高于健康人群")
        cap = c.fen(get("cap_fen"), f"{path}.cap_fen", positive=True)
        if cap is not None and bounds.cap_min_fen is not None and cap < bounds.cap_min_fen:
            c.add(f"{path}.cap_fen", f"封顶线 {_yuan(cap)} 低于下限 {_yuan(bounds.cap_min_fen)}")
        group = None
        if get("deductible_group", None) is not None:
            group = c.string(
                get("deductible_group"),
                f"{path}.deductible_group",
                max_length=40,
                pattern=BUCKET_CODE_PATTERN,
                pattern_hint="只能用小写字母、数字和下划线",
            )
        step = c.fen(get("renewal_deductible_step_fen", 0), f"{path}.renewal_deductible_step_fen")
        floor = c.fen(
            get("renewal_deductible_floor_fen", 0), f"{path}.renewal_deductible_floor_fen"
        )
        if floor and deductible is not None and floor > deductible:
            c.add(f"{path}.renewal_deductible_floor_fen", "续保起付线下限不能高于起付线")
        if floor and not step:
            c.add(f"{path}.renewal_deductible_floor_fen", "没有设置续保递减额时不应设置下限")
        commercial = c.boolean(
            get("commercial_list_required", False), f"{path}.commercial_list_required"
        )
        tiers = _tiers(c, get("tiers"), path, healthy, pre)
        sub_caps = _sub_caps(c, get("sub_caps"), path, cap)
        if None in (code, name, counts, deductible, healthy, pre, cap, step, floor, commercial):
            continue
        buckets.append(
            Bucket(
                code=code,
                name=name,
                counts=counts,
                deductible_fen=deductible,
                ratio_healthy_bp=healthy,
                ratio_pre_existing_bp=pre,
                cap_fen=cap,
                deductible_pre_existing_fen=deductible_pre,
                deductible_group=group,
                renewal_deductible_step_fen=step,
                renewal_deductible_floor_fen=floor,
                tiers=tiers,
                sub_caps=sub_caps,
                commercial_list_required=commercial,
            )
        )
    _check_groups(c, buckets, items)
    return tuple(buckets)


def _check_groups(c: _Checker, buckets: list[Bucket], items: list) -> None:
    """Buckets sharing a deductible group share one deductible: the figures must agree."""
    if len(buckets) != len(items):
        return  # already reported; indexes would not line up
    first: dict[str, int] = {}
    for i, bucket in enumerate(buckets):
        if bucket.deductible_group is None:
            continue
        j = first.setdefault(bucket.deductible_group, i)
        other = buckets[j]
        if j != i and (
            (
                bucket.deductible_fen,
                bucket.deductible_pre_existing_fen,
                bucket.renewal_deductible_step_fen,
                bucket.renewal_deductible_floor_fen,
            )
            != (
                other.deductible_fen,
                other.deductible_pre_existing_fen,
                other.renewal_deductible_step_fen,
                other.renewal_deductible_floor_fen,
            )
        ):
            c.add(
                f"buckets[{i}].deductible_group",
                f"与 buckets[{j}] 共用起付线组“{bucket.deductible_group}”，起付线设置必须一致",
            )


def _tiers(
    c: _Checker, raw: Any, bucket_path: str, healthy: int | None, pre: int | None
) -> tuple[Tier, ...]:
    tiers: list[Tier] = []
    previous = (0, healthy, pre)
    for i, item in enumerate(c.list_of_tables(raw, f"{bucket_path}.tiers")):
        path = f"{bucket_path}.tiers[{i}]"
        table = c.table(item, path, ("above_fen", "ratio_healthy_bp", "ratio_pre_existing_bp"))
        if table is None:
            continue
        above = c.fen(table.get("above_fen", _MISSING), f"{path}.above_fen", positive=True)
        t_healthy = c.ratio(table.get("ratio_healthy_bp", _MISSING), f"{path}.ratio_healthy_bp")
        t_pre = c.ratio(
            table.get("ratio_pre_existing_bp", _MISSING), f"{path}.ratio_pre_existing_bp"
        )
        if above is not None and above <= previous[0]:
            c.add(f"{path}.above_fen", "分段起点必须严格递增")
        # Shaanxi: higher spend -> higher ratio; a tier never pays less than the one below.
        if t_healthy is not None and previous[1] is not None and t_healthy < previous[1]:
            c.add(f"{path}.ratio_healthy_bp", "分段赔付比例不能低于前一段")
        if t_pre is not None and previous[2] is not None and t_pre < previous[2]:
            c.add(f"{path}.ratio_pre_existing_bp", "分段赔付比例不能低于前一段")
        if t_healthy is not None and t_pre is not None and t_pre > t_healthy:
            c.add(f"{path}.ratio_pre_existing_bp", "既往症人群的赔付比例不能高于健康人群")
        if None not in (above, t_healthy, t_pre):
            tiers.append(
                Tier(above_fen=above, ratio_healthy_bp=t_healthy, ratio_pre_existing_bp=t_pre)
            )
        previous = (above if above is not None else previous[0], t_healthy, t_pre)
    return tuple(tiers)


def _sub_caps(c: _Checker, raw: Any, bucket_path: str, cap: int | None) -> tuple[SubCap, ...]:
    subs: list[SubCap] = []
    seen: set[str] = set()
    for i, item in enumerate(c.list_of_tables(raw, f"{bucket_path}.sub_caps")):
        path = f"{bucket_path}.sub_caps[{i}]"
        table = c.table(item, path, ("code", "name", "cap_fen", "per"))
        if table is None:
            continue
        code = c.string(
            table.get("code", _MISSING),
            f"{path}.code",
            max_length=40,
            pattern=BUCKET_CODE_PATTERN,
            pattern_hint="只能用小写字母、数字和下划线",
        )
        if code is not None and code in seen:
            c.add(f"{path}.code", f"分项限额代码“{code}”重复")
        if code is not None:
            seen.add(code)
        name = c.string(table.get("name", _MISSING), f"{path}.name", max_length=100)
        sub_cap = c.fen(table.get("cap_fen", _MISSING), f"{path}.cap_fen", positive=True)
        if sub_cap is not None and cap is not None and sub_cap > cap:
            c.add(f"{path}.cap_fen", "分项限额不能高于所属责任的年度封顶线")
        per = table.get("per", _MISSING)
        if per is not _MISSING and per not in SUB_CAP_PERIODS:
            c.add(f"{path}.per", f"“{per}”不是允许的取值，可选：{'、'.join(SUB_CAP_PERIODS)}")
            per = None
        if None not in (code, name, sub_cap, per) and per is not _MISSING:
            subs.append(SubCap(code=code, name=name, cap_fen=sub_cap, per=per))
    return tuple(subs)


def _required_documents(c: _Checker, raw: Any) -> dict[str, tuple[str, ...]]:
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


def _yuan(fen: int) -> str:
    yuan, rest = divmod(fen, 100)
    return f"{yuan:,} 元" if rest == 0 else f"{yuan:,}.{rest:02d} 元"


# --- files --------------------------------------------------------------------------------------


def read_terms(path: Path) -> str:
    """The terms text, UTF-8, with line endings normalised (so its digest is the same on every
    checkout)."""
    text = path.read_text(encoding="utf-8-sig")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def load_file(path: str | Path) -> ProductDefinition:
    """Read a TOML definition and the terms file it names, and validate both."""
    path = Path(path)
    source = path.name
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DefinitionError([("(文件)", f"找不到定义文件 {path}")], source) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DefinitionError([("(文件)", f"TOML 语法错误：{exc}")], source) from None
    terms_text = ""
    terms = raw.get("terms")
    file_name = terms.get("file") if isinstance(terms, dict) else None
    if isinstance(terms, dict):
        if file_name is None:
            raise DefinitionError(
                [("terms.file", "缺少条款文件名（与定义文件同目录的 .md 文件）")], source
            )
        if isinstance(file_name, str) and TERMS_FILE_PATTERN.fullmatch(file_name):
            terms_path = path.parent / file_name
            if not terms_path.is_file():
                raise DefinitionError([("terms.file", f"找不到条款文件 {file_name}")], source)
            terms_text = read_terms(terms_path)
    try:
        return parse_definition(raw, terms_text)
    except DefinitionError as exc:
        raise DefinitionError(exc.errors, source) from None


def shipped_definition_paths() -> list[Path]:
    """The definitions that ship with the code, in name order."""
    return sorted(DEFINITIONS_DIR.glob("*.toml"))


# --- stored form --------------------------------------------------------------------------------


def definition_to_json(defn: ProductDefinition) -> dict:
    """The stored form: the dataclass fields, dates as ISO strings, tuples as lists."""
    data = asdict(defn)
    for key in ("window_opens", "window_closes", "coverage_starts", "coverage_ends"):
        data[key] = data[key].isoformat()
    return _lists(data)


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    return value


def definition_from_json(data: dict) -> ProductDefinition:
    """Inverse of definition_to_json (optional fields default, for definitions stored earlier)."""
    return ProductDefinition(
        code=data["code"],
        name=data["name"],
        plan_year=data["plan_year"],
        region_prefix=data["region_prefix"],
        window_opens=date.fromisoformat(data["window_opens"]),
        window_closes=date.fromisoformat(data["window_closes"]),
        coverage_starts=date.fromisoformat(data["coverage_starts"]),
        coverage_ends=date.fromisoformat(data["coverage_ends"]),
        premium_default_fen=data["premium_default_fen"],
        premium_rules=tuple(PremiumRule(**r) for r in data.get("premium_rules", ())),
        insured_relations=tuple(data["insured_relations"]),
        payment_methods=tuple(data["payment_methods"]),
        family_pool_relations=tuple(data.get("family_pool_relations", ())),
        refund=RefundRule(**data["refund"]),
        terms=Terms(**data["terms"]),
        buckets=tuple(_bucket_from_json(b) for b in data["buckets"]),
        bounds=Bounds(**data.get("bounds", {})),
        late_enrollment_waiting_days=data.get("late_enrollment_waiting_days", 0),
        required_documents={k: tuple(v) for k, v in data.get("required_documents", {}).items()},
        auto_approve_max_fen=data.get("auto_approve_max_fen"),
        disclosure=_disclosure_from_json(data.get("disclosure") or {}),
    )


def _disclosure_from_json(data: dict) -> Disclosure:
    fields = dict(data)
    if fields.get("corridor") is not None:
        fields["corridor"] = Corridor(**fields["corridor"])
    return Disclosure(**fields)


def _bucket_from_json(data: dict) -> Bucket:
    fields = dict(data)
    fields["counts"] = tuple(fields["counts"])
    fields["tiers"] = tuple(Tier(**t) for t in fields.get("tiers", ()))
    fields["sub_caps"] = tuple(SubCap(**s) for s in fields.get("sub_caps", ()))
    return Bucket(**fields)
