"""Read and validate product definitions (pure: no Flask, no database).

This module is the entry point (`parse_definition`, `load_file`, the stored form); the checks
live in checker.py (the collecting checker, DefinitionError), parse_sections.py (every section
but the buckets) and parse_buckets.py ([[buckets]] with their tiers and sub-caps).

A definition is a TOML file in app/products/definitions/ with a Markdown terms file beside it.
`parse_definition` checks everything it can and reports every problem at once, each as
(path, Chinese message), e.g. ("buckets[1].sub_caps[0].cap_fen", "分项限额不能高于所属责任的年度封顶线").

TOML layout (money in integer fen, ratios in basis points, 7000 = 70%):

    code, name, plan_year, region_prefix, insured_relations, payment_methods,
    family_pool_relations, late_enrollment_waiting_days?, auto_approve_max_fen?,
    [[insurers]]? code, name, share_bp, lead? (the 共保体, printed on the policy as 承保机构)
    [window]   opens, closes               [coverage] starts, ends
    [premium]  default_fen, rules? = [{premium_fen, insurance_type?, min_age?, max_age?}]
    [refund]   within_days, requires_no_claim?
    [terms]    version, title, file (the Markdown file beside the TOML)
    [bounds]?  premium_max_fen?, deductible_max_fen?, cap_min_fen?, loss_ratio_floor_bp?
    [disclosure]?  region_basic_insured_population?, loss_ratio_floor_bp?,
                   participation_target_bp?
    [disclosure.areas]?  "<area code>" = "<区县名称>"
    [disclosure.corridor]?  full_premium_from_bp, cost_allowance_bp, renegotiate_below_bp,
                            renegotiate_above_bp
    [required_documents]?  <care kind> = [<document type>, ...]
    [[class_one_chronic_conditions]]? code (ICD-10 prefix, e.g. "N18.5"), name: the 一类门诊慢特病
                whose chronic out-patient visits are covered; required (`= []` for none) when
                [required_documents] names chronic_outpatient
    [amount_kinds]?  <code> = "<中文名称>" (kinds a bucket may count beyond the built-in four)
    [settlement_providers]?  "<fixmedins_code>" = "<amount kind>" (that provider's
                             out-of-policy self-pay is the kind, e.g. a proton centre)
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
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

from app.products.checker import (
    MAX_BP,
    MAX_FEN,
    MISSING,
    Checker,
    DefinitionError,
    Get,
    checked,
    getter,
)
from app.products.definition import (
    COUNTABLE_AMOUNTS,
    COVER_START_RULES,
    INSURED_RELATIONS,
    PAYMENT_METHODS,
    Bounds,
    Bucket,
    ChronicCondition,
    Corridor,
    Disclosure,
    Insurer,
    PremiumRule,
    ProductDefinition,
    RefundRule,
    SubCap,
    Terms,
    Tier,
)
from app.products.parse_buckets import (
    BUCKET_CODE_PATTERN,
    BUCKET_OPTIONAL,
    BUCKET_REQUIRED,
    SUB_CAP_PERIODS,
    parse_amount_kinds,
    parse_buckets,
    parse_settlement_providers,
)
from app.products.parse_insurers import parse_insurers
from app.products.parse_sections import (
    INSURANCE_TYPES,
    TERMS_FILE_PATTERN,
    parse_bounds,
    parse_class_one_chronic,
    parse_disclosure,
    parse_premium,
    parse_refund,
    parse_required_documents,
    parse_terms,
)

DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"

CODE_PATTERN = re.compile(r"^[a-z0-9-]{1,40}$")
REGION_PREFIX_PATTERN = re.compile(r"^[0-9]{2,6}$")
RESERVED_CODES = ("current",)  # would be shadowed by GET /products/current

__all__ = [  # this module's API, including the names that moved to the parser modules
    "BUCKET_CODE_PATTERN",
    "BUCKET_OPTIONAL",
    "BUCKET_REQUIRED",
    "CODE_PATTERN",
    "DEFINITIONS_DIR",
    "INSURANCE_TYPES",
    "MAX_BP",
    "MAX_FEN",
    "REGION_PREFIX_PATTERN",
    "RESERVED_CODES",
    "SUB_CAP_PERIODS",
    "TERMS_FILE_PATTERN",
    "TOP_OPTIONAL",
    "TOP_REQUIRED",
    "DefinitionError",
    "definition_from_json",
    "definition_to_json",
    "load_file",
    "parse_definition",
    "read_terms",
    "shipped_definition_paths",
]


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
    "insurers",
    "amount_kinds",
    "settlement_providers",
    "renews",
    "class_one_chronic_conditions",
)


def parse_definition(raw: dict[str, Any], terms_text: str) -> ProductDefinition:
    """Validate a raw definition (as read from TOML) and build the dataclasses.
    Raises DefinitionError listing every problem found."""
    c = Checker()
    top = c.table(raw, "", TOP_REQUIRED, TOP_OPTIONAL)
    if top is None:
        raise DefinitionError(c.errors)
    g = getter(top)

    code, name, plan_year, region_prefix = _identity(c, g)
    window_opens, window_closes, coverage_starts, coverage_ends = _dates(c, top, plan_year)
    cover_rule = _cover_start_rule(c, top, window_closes, coverage_starts)
    renews = None
    if g("renews", None) is not None:
        renews = c.string(g("renews"), "renews", max_length=40, pattern=CODE_PATTERN)
    insured, methods, pool = _relations(c, g)

    bounds = parse_bounds(c, g("bounds"))
    premium_default, premium_rules = parse_premium(c, g("premium"), bounds)
    refund = parse_refund(c, g("refund"))
    terms = parse_terms(c, g("terms"), terms_text)
    amount_kinds = parse_amount_kinds(c, g("amount_kinds"))
    buckets = parse_buckets(c, g("buckets"), bounds, (*COUNTABLE_AMOUNTS, *amount_kinds))
    providers = parse_settlement_providers(
        c, g("settlement_providers"), tuple(k for b in buckets for k in b.counts)
    )
    waiting = c.integer(
        g("late_enrollment_waiting_days", 0),
        "late_enrollment_waiting_days",
        minimum=0,
        maximum=365,
        message="等待期应在 0 到 365 天之间",
    )
    documents = parse_required_documents(c, g("required_documents", {}))
    chronic = parse_class_one_chronic(c, g("class_one_chronic_conditions"), documents)
    auto_approve = None
    if g("auto_approve_max_fen", None) is not None:
        auto_approve = c.fen(g("auto_approve_max_fen"), "auto_approve_max_fen")
    disclosure = parse_disclosure(c, g("disclosure"), bounds)
    insurers = parse_insurers(c, g("insurers"))

    if c.errors:
        raise DefinitionError(c.errors)
    return ProductDefinition(
        code=checked(code),
        name=checked(name),
        plan_year=checked(plan_year),
        region_prefix=checked(region_prefix),
        window_opens=checked(window_opens),
        window_closes=checked(window_closes),
        coverage_starts=checked(coverage_starts),
        coverage_ends=checked(coverage_ends),
        premium_default_fen=checked(premium_default),
        premium_rules=premium_rules,
        insured_relations=checked(insured),
        payment_methods=checked(methods),
        family_pool_relations=checked(pool),
        refund=checked(refund),
        terms=checked(terms),
        buckets=buckets,
        bounds=bounds,
        late_enrollment_waiting_days=checked(waiting),
        cover_start_rule=cover_rule,
        renews=renews,
        required_documents=documents,
        auto_approve_max_fen=auto_approve,
        disclosure=disclosure,
        amount_kinds=amount_kinds,
        settlement_providers=providers,
        insurers=insurers,
        class_one_chronic_conditions=chronic,
    )


def _identity(c: Checker, g: Get) -> tuple[str | None, str | None, int | None, str | None]:
    """code, name, plan_year, region_prefix."""
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
    return code, name, plan_year, region_prefix


def _dates(c: Checker, top: dict[str, Any], plan_year: int | None) -> tuple[date | None, ...]:
    """[window] opens/closes and [coverage] starts/ends, in that order, and the plan year inside
    the coverage."""
    window_opens = window_closes = coverage_starts = coverage_ends = None
    window = c.table(top["window"], "window", ("opens", "closes")) if "window" in top else None
    if window is not None:
        window_opens = c.day(window.get("opens", MISSING), "window.opens")
        window_closes = c.day(window.get("closes", MISSING), "window.closes")
    coverage = (
        c.table(top["coverage"], "coverage", ("starts", "ends"), ("cover_starts",))
        if "coverage" in top
        else None
    )
    if coverage is not None:
        coverage_starts = c.day(coverage.get("starts", MISSING), "coverage.starts")
        coverage_ends = c.day(coverage.get("ends", MISSING), "coverage.ends")
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
    return window_opens, window_closes, coverage_starts, coverage_ends


def _cover_start_rule(
    c: Checker, top: dict[str, Any], window_closes: date | None, coverage_starts: date | None
) -> str:
    """[coverage] cover_starts: fixed | payment_day | day_after_payment (the default). A fixed
    start is sold only before cover begins, so its window must close by then."""
    coverage = top.get("coverage")
    raw = coverage.get("cover_starts", "day_after_payment") if isinstance(coverage, dict) else None
    if raw is None:
        return "day_after_payment"
    if raw not in COVER_START_RULES:
        c.add(
            "coverage.cover_starts", f"“{raw}”不是允许的取值，可选：{'、'.join(COVER_START_RULES)}"
        )
        return "day_after_payment"
    if raw == "fixed" and window_closes and coverage_starts and window_closes > coverage_starts:
        c.add("coverage.cover_starts", "固定起保日的产品，投保窗口须在保障开始日当天或之前结束")
    return str(raw)


def _relations(c: Checker, g: Get) -> tuple[tuple[str, ...] | None, ...]:
    """insured_relations, payment_methods and family_pool_relations (a subset of the insured
    relations, and only with personal-account payment)."""
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
    return insured, methods, pool


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


def definition_to_json(defn: ProductDefinition) -> dict[str, Any]:
    """The stored form: the dataclass fields, dates as ISO strings, tuples as lists."""
    data = asdict(defn)
    for key in ("window_opens", "window_closes", "coverage_starts", "coverage_ends"):
        data[key] = data[key].isoformat()
    stored: dict[str, Any] = _lists(data)
    return stored


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    return value


def definition_from_json(data: dict[str, Any]) -> ProductDefinition:
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
        cover_start_rule=data.get("cover_start_rule", "day_after_payment"),
        renews=data.get("renews"),
        required_documents={k: tuple(v) for k, v in data.get("required_documents", {}).items()},
        auto_approve_max_fen=data.get("auto_approve_max_fen"),
        disclosure=_disclosure_from_json(data.get("disclosure") or {}),
        amount_kinds=dict(data.get("amount_kinds") or {}),
        settlement_providers=dict(data.get("settlement_providers") or {}),
        insurers=tuple(Insurer(**i) for i in data.get("insurers") or ()),
        class_one_chronic_conditions=_chronic_from_json(data.get("class_one_chronic_conditions")),
    )


def _chronic_from_json(data: list[dict[str, Any]] | None) -> tuple[ChronicCondition, ...] | None:
    """None for a definition stored before the list existed: not stated (not "none covered")."""
    return None if data is None else tuple(ChronicCondition(**c) for c in data)


def _disclosure_from_json(data: dict[str, Any]) -> Disclosure:
    fields = dict(data)
    if fields.get("corridor") is not None:
        fields["corridor"] = Corridor(**fields["corridor"])
    return Disclosure(**fields)


def _bucket_from_json(data: dict[str, Any]) -> Bucket:
    fields = dict(data)
    fields["counts"] = tuple(fields["counts"])
    fields["tiers"] = tuple(Tier(**t) for t in fields.get("tiers", ()))
    fields["sub_caps"] = tuple(SubCap(**s) for s in fields.get("sub_caps", ()))
    return Bucket(**fields)
