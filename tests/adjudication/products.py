"""Products and builders for the adjudication tests.

Test products are written as raw definitions (the TOML shape) and pass through the real loader
(`parse_definition`), so every product the engine is tested against is one the loader accepts.
Money: Y = 100 fen, so `15_000 * Y` is 15,000 yuan; odd fen are written as plain fen.
"""

from __future__ import annotations

from datetime import date

from app.adjudication import (
    Accumulators,
    BasicInsurance,
    Claim,
    ClaimLine,
    Insured,
    PolicyCover,
    SubCapKey,
)
from app.products.definition import ProductDefinition
from app.products.loader import DEFINITIONS_DIR, load_file, parse_definition

Y = 100  # fen per yuan

HUHUIBAO = load_file(DEFINITIONS_DIR / "huhuibao-2021.toml")
GANZHOU = load_file(DEFINITIONS_DIR / "ganzhou-demo-2026.toml")

Y2026 = (date(2026, 1, 1), date(2026, 12, 31))


def bucket(
    code: str, counts: list[str], *, deductible: int, healthy: int, pre: int, cap: int, **extra
) -> dict:
    """A raw bucket; money in fen, ratios in basis points; extra keys as in the TOML."""
    raw = {
        "code": code,
        "name": extra.pop("name", code),
        "counts": counts,
        "deductible_fen": deductible,
        "ratio_healthy_bp": healthy,
        "ratio_pre_existing_bp": pre,
        "cap_fen": cap,
    }
    raw.update(extra)
    return raw


def make_product(
    *buckets: dict, code: str = "test-product", coverage: tuple[date, date] = Y2026, **top
) -> ProductDefinition:
    """A product through the real loader; `top` adds top-level keys (amount_kinds ...)."""
    starts, ends = coverage
    raw = {
        "code": code,
        "name": code,
        "plan_year": starts.year,
        "region_prefix": "3607",
        "insured_relations": ["self"],
        "payment_methods": ["wechat"],
        "family_pool_relations": [],
        "window": {"opens": date(starts.year - 1, 10, 1), "closes": ends},
        "coverage": {"starts": starts, "ends": ends},
        "premium": {"default_fen": 8900},
        "refund": {"within_days": 15},
        "terms": {"version": "1", "title": code},
        "buckets": list(buckets),
        **top,
    }
    return parse_definition(raw, "# 条款\n\n测试产品。\n")


# 惠州 2013 大病保险二次补偿: in-policy in-patient self-pay (incl. the basic deductible) above
# 10,000 yuan a year is paid at 95%. The seed names no cap: 10,000,000 yuan so it never binds.
HUIZHOU_2013 = make_product(
    bucket(
        "in_policy",
        ["in_policy_self_pay"],
        deductible=10_000 * Y,
        healthy=9500,
        pre=9500,
        cap=10_000_000 * Y,
        name="政策范围内住院个人自付（含起付标准）",
    ),
    code="huizhou-2013",
)

# 北京普惠健康保 (DOMAIN.md table). Deductible of the in-policy bucket: the table says "the city's
# 大病 threshold"; these tests pick 10,000 yuan. Each bucket has its own deductible (no groups).
# Special drugs: the table's cap is "500,000 + 500,000"; modelled as one 500,000-yuan bucket.
BEIJING = make_product(
    bucket(
        "in_policy",
        ["in_policy_self_pay"],
        deductible=10_000 * Y,
        healthy=8000,
        pre=4000,
        cap=1_000_000 * Y,
    ),
    bucket(
        "out_of_policy",
        ["out_of_policy_self_pay"],
        deductible=20_000 * Y,
        deductible_pre_existing_fen=40_000 * Y,
        healthy=7000,
        pre=3500,
        cap=1_000_000 * Y,
    ),
    bucket(
        "special_drugs",
        ["special_drugs"],
        deductible=20_000 * Y,
        deductible_pre_existing_fen=40_000 * Y,
        healthy=6000,
        pre=3000,
        cap=500_000 * Y,
        commercial_list_required=True,
    ),
    code="beijing-puhui",
)

# Shaanxi-style marginal tiers (the seed fixes no figures, only "higher spend -> higher ratio"):
# deductible 10,000; 50% up to 50,000 of the year's eligible spend, 60% above 50,000, 70% above
# 100,000 (pre-existing 50% / 55% / 60%).
SHAANXI = make_product(
    bucket(
        "in_policy",
        ["in_policy_self_pay"],
        deductible=10_000 * Y,
        healthy=5000,
        pre=5000,
        cap=1_000_000 * Y,
        tiers=[
            {"above_fen": 50_000 * Y, "ratio_healthy_bp": 6000, "ratio_pre_existing_bp": 5500},
            {"above_fen": 100_000 * Y, "ratio_healthy_bp": 7000, "ratio_pre_existing_bp": 6000},
        ],
    ),
    code="shaanxi-style",
)

# Sub-caps: an implant/drug bucket, no deductible, 80%, per item 10,000, per admission 30,000,
# per year 50,000, annual cap 100,000 yuan, commercial list required.
SUBCAPS = make_product(
    bucket(
        "implants",
        ["out_of_policy_self_pay"],
        deductible=0,
        healthy=8000,
        pre=8000,
        cap=100_000 * Y,
        commercial_list_required=True,
        sub_caps=[
            {"code": "per_item", "name": "单项限额", "cap_fen": 10_000 * Y, "per": "item"},
            {
                "code": "per_admission",
                "name": "单次住院限额",
                "cap_fen": 30_000 * Y,
                "per": "admission",
            },
            {"code": "per_year", "name": "年度分项限额", "cap_fen": 50_000 * Y, "per": "year"},
        ],
    ),
    code="subcaps",
)

# Rounding: no deductible, 50% healthy / 49% pre-existing.
ROUNDING = make_product(
    bucket(
        "in_policy", ["in_policy_self_pay"], deductible=0, healthy=5000, pre=4900, cap=1_000_000 * Y
    ),
    code="rounding",
)

# A healthy-renewal deductible: 10,000 yuan, 1,000 less per continuous healthy renewal, floor
# 7,000; pre-existing 20,000.
RENEWAL = make_product(
    bucket(
        "in_policy",
        ["in_policy_self_pay"],
        deductible=10_000 * Y,
        deductible_pre_existing_fen=20_000 * Y,
        renewal_deductible_step_fen=1_000 * Y,
        renewal_deductible_floor_fen=7_000 * Y,
        healthy=7000,
        pre=5000,
        cap=1_000_000 * Y,
    ),
    code="renewal",
)


# A product's own amount kind: CAR-T therapy (declared in [amount_kinds]), no deductible, 60% /
# 30%, cap 500,000 yuan; and an in-policy bucket with no annual cap at all.
CAR_T = make_product(
    bucket("car_t", ["car_t"], deductible=0, healthy=6000, pre=3000, cap=500_000 * Y),
    code="car-t",
    amount_kinds={"car_t": "CAR-T 细胞治疗费用"},
)


# Tiers counted from the deductible ("the first 50,000 above the deductible at 50%, beyond it
# 60%"): deductible 10,000; the same figures as SHAANXI's first tier, tiers_from above it.
TIERS_ABOVE = make_product(
    bucket(
        "in_policy",
        ["in_policy_self_pay"],
        deductible=10_000 * Y,
        healthy=5000,
        pre=5000,
        cap=1_000_000 * Y,
        tiers_from="above_deductible",
        tiers=[{"above_fen": 50_000 * Y, "ratio_healthy_bp": 6000, "ratio_pre_existing_bp": 5500}],
    ),
    code="tiers-above",
)

# No annual cap (`no_cap = true`): no deductible, 90%.
NO_CAP = make_product(
    {
        "code": "in_policy",
        "name": "in_policy",
        "counts": ["in_policy_self_pay"],
        "deductible_fen": 0,
        "ratio_healthy_bp": 9000,
        "ratio_pre_existing_bp": 9000,
        "no_cap": True,
    },
    code="no-cap",
)


HEALTHY = Insured()
PRE = Insured(health="pre_existing")


def policy_for(product: ProductDefinition, status: str = "active") -> PolicyCover:
    return PolicyCover(product.coverage_starts, product.coverage_ends, status)


def claim(
    on: date,
    *,
    in_: int = 0,
    out: int = 0,
    sp: int = 0,
    proton: int = 0,
    hifp: int = 0,
    hifmi: int = 0,
    hifob: int = 0,
    maf: int = 0,
    total: int | None = None,
    lines: tuple[ClaimLine, ...] = (),
    admission: str | None = None,
    kind: str = "in_patient",
    other: dict[str, int] | None = None,
) -> Claim:
    """A claim; the total cost defaults to exactly the sum of its parts (consistent).
    `in_` is the in-policy self-pay BEFORE medical assistance."""
    if total is None:
        total = hifp + hifmi + hifob + in_ + out + sp + proton + sum((other or {}).values())
    return Claim(
        care_kind=kind,
        care_date=on,
        medfee_sumamt_fen=total,
        hifp_pay_fen=hifp,
        hifmi_pay_fen=hifmi,
        hifob_pay_fen=hifob,
        maf_pay_fen=maf,
        in_policy_self_pay_fen=in_,
        out_of_policy_self_pay_fen=out,
        special_drugs_fen=sp,
        proton_heavy_ion_fen=proton,
        other_amounts_fen=other or {},
        lines=lines,
        admission_id=admission,
    )


def line(
    item: str, amount: int, listed: bool = True, kind: str = "out_of_policy_self_pay"
) -> ClaimLine:
    return ClaimLine(item_code=item, amount_fen=amount, on_commercial_list=listed, amount_kind=kind)


def drug(item: str, amount: int, listed: bool = True) -> ClaimLine:
    return line(item, amount, listed, "special_drugs")


def acc(*, paid=None, eligible=None, deductible=None, sub_caps=None, above=None) -> Accumulators:
    return Accumulators(
        paid_fen=paid or {},
        eligible_fen=eligible or {},
        deductible_used_fen=deductible or {},
        sub_cap_used_fen=sub_caps or {},
        above_deductible_fen=above or {},
    )


__all__ = [
    "Y",
    "HUHUIBAO",
    "GANZHOU",
    "HUIZHOU_2013",
    "BEIJING",
    "CAR_T",
    "NO_CAP",
    "TIERS_ABOVE",
    "SHAANXI",
    "SUBCAPS",
    "ROUNDING",
    "RENEWAL",
    "HEALTHY",
    "PRE",
    "BasicInsurance",
    "Insured",
    "SubCapKey",
    "acc",
    "bucket",
    "claim",
    "drug",
    "line",
    "make_product",
    "policy_for",
]
