"""The shape of a product definition, as plain frozen dataclasses (no Flask, no database).

Definitions are written as TOML files under app/products/definitions/, validated and loaded by
`flask products load` (app/products/loader.py), stored whole as JSON on the product row, and
turned back into these dataclasses wherever a rule needs them (quotes, refunds, adjudication).
Money is integer fen; ratios are basis points (7000 = 70%).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date

from app.common.money import percent

# What a bucket may count (the member's own money, in the bureau's settlement terms).
COUNTABLE_AMOUNTS = (
    "in_policy_self_pay",  # 医保政策范围内个人自付 (incl. basic deductible and co-pay)
    "out_of_policy_self_pay",  # 医保范围外自费 (on the commercial list where required)
    "special_drugs",  # 特药
    "proton_heavy_ion",  # 质子重离子
)
# The built-in amounts that have a column on the claim row; any other kind a product declares
# (proton, CAR-T, overseas drugs ...) travels in the claim's `amounts` object.
AMOUNT_KIND_NAMES = {
    "in_policy_self_pay": "医保政策范围内个人自付（医疗救助前）",
    "out_of_policy_self_pay": "医保政策范围外个人自费",
    "special_drugs": "特定高额药品个人负担",
    "proton_heavy_ion": "质子重离子治疗个人负担",
}
INSURED_RELATIONS = ("self", "spouse", "child", "parent", "grandparent", "grandchild", "sibling")
PAYMENT_METHODS = ("personal_account", "wechat", "sponsor")
# When cover starts for a payment (app/products/plan_years.py): on the coverage start for a
# payment before it, and for a payment on or after it as the rule says: "fixed" (sold only until
# the coverage starts: 同期参保, cover from 1 January), "payment_day" (自缴费成功之日起) or
# "day_after_payment" (次日零时生效), plus any waiting period.
COVER_START_RULES = ("fixed", "payment_day", "day_after_payment")
CARE_KINDS = ("in_patient", "emergency", "day_surgery", "chronic_outpatient", "special_drug")
# 门诊慢特病: covered only for the product's class-one conditions (class_one_chronic_conditions).
CHRONIC_OUTPATIENT = "chronic_outpatient"
DOCUMENT_TYPES = (
    "invoice",
    "settlement_sheet",
    "discharge_summary",
    "itemised_bill",
    "prescription",
    "pathology",
)


def normalise_icd10(code: str) -> str:
    """An ICD-10 code as the class-one rule compares it: full-width characters folded (NFKC),
    upper case, no whitespace, no dots ("n18.500 " -> "N18500", "I10.x00" -> "I10X00")."""
    folded = unicodedata.normalize("NFKC", code).upper()
    return "".join(ch for ch in folded if not ch.isspace() and ch != ".")


@dataclass(frozen=True)
class ChronicCondition:
    """One class-one chronic condition (一类门诊慢特病) a product covers as in-patient care:
    an ICD-10 code prefix ("N18.5" covers N18.500, N18.501 ...) and its Chinese name."""

    code: str
    name: str


def class_one_condition(
    conditions: tuple[ChronicCondition, ...], diagnosis_code: str
) -> ChronicCondition | None:
    """The first of `conditions` whose prefix the diagnosis code starts with (both normalised,
    normalise_icd10), or None when the diagnosis is not on the list (or the code is blank)."""
    code = normalise_icd10(diagnosis_code)
    if not code:
        return None
    for condition in conditions:
        if code.startswith(normalise_icd10(condition.code)):
            return condition
    return None


@dataclass(frozen=True)
class PremiumRule:
    """First matching rule wins; unset conditions match anything."""

    premium_fen: int
    insurance_type: str | None = None  # employee | resident
    min_age: int | None = None  # inclusive, age on the coverage start date
    max_age: int | None = None  # inclusive


@dataclass(frozen=True)
class Tier:
    """Above `above_fen` of the year's eligible spend in this bucket, these ratios apply."""

    above_fen: int  # counted as the bucket's tiers_from says
    ratio_healthy_bp: int
    ratio_pre_existing_bp: int


@dataclass(frozen=True)
class SubCap:
    code: str
    name: str
    cap_fen: int
    per: str  # year | admission | item


@dataclass(frozen=True)
class Bucket:
    code: str
    name: str
    counts: tuple[str, ...]
    deductible_fen: int
    ratio_healthy_bp: int
    ratio_pre_existing_bp: int
    cap_fen: int | None  # None: no annual cap (`no_cap = true` in the TOML)
    deductible_pre_existing_fen: int | None = None
    # Buckets with the same group share one annual deductible (年度累计起付线).
    deductible_group: str | None = None
    # Each continuous healthy renewal lowers the deductible by this much, to a floor.
    renewal_deductible_step_fen: int = 0
    renewal_deductible_floor_fen: int = 0
    tiers: tuple[Tier, ...] = ()
    # Where tier thresholds are counted from: "first_yuan" (the year's eligible spend from its
    # first yuan, deductible included) or "above_deductible" (terms saying "the first 50,000
    # above the deductible").
    tiers_from: str = "first_yuan"
    sub_caps: tuple[SubCap, ...] = ()
    commercial_list_required: bool = False


@dataclass(frozen=True)
class RefundRule:
    within_days: int  # days after payment (Asia/Shanghai dates), inclusive
    requires_no_claim: bool = True


@dataclass(frozen=True)
class Terms:
    version: str
    title: str
    text: str


@dataclass(frozen=True)
class Bounds:
    """Policy bounds the city set (e.g. Ganzhou first year); checked when loading."""

    premium_max_fen: int | None = None
    deductible_max_fen: int | None = None
    cap_min_fen: int | None = None
    loss_ratio_floor_bp: int | None = None


@dataclass(frozen=True)
class Corridor:
    """Insurer settlement corridor (Huizhou 2013), on payout / premium: at or above
    `full_premium_from_bp` the insurer keeps the whole premium; below it, the payout plus
    `cost_allowance_bp` of the payout (the rest carries forward); outside
    [renegotiate_below_bp, renegotiate_above_bp] next year's premium is renegotiated."""

    full_premium_from_bp: int = 9500
    cost_allowance_bp: int = 400
    renegotiate_below_bp: int = 9500
    renegotiate_above_bp: int = 10500


@dataclass(frozen=True)
class Disclosure:
    """Public statistics and the yearly settlement (app/disclosure)."""

    region_basic_insured_population: int | None = None  # people in the city's basic insurance
    loss_ratio_floor_bp: int | None = None  # at least the city's bound (bounds.loss_ratio_floor_bp)
    corridor: Corridor | None = None
    # The share of the basic-insured population the city aims to cover (Ganzhou's first year:
    # 20%), in basis points; the operator dashboard measures participation against it.
    participation_target_bp: int | None = None
    # Names of the region's areas (县/区) by area code (admdvs), for the dashboard's breakdown.
    areas: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Insurer:
    """One insurer of the co-insurance group (共保体) that underwrites the product.

    `share_bp` is its agreed share of premiums, claims and the settlement (basis points; a
    product's shares sum to 10000). The lead insurer (主承保) comes first and answers for the group:
    it issues the policy, handles claims and takes the fen that rounding leaves over."""

    code: str
    name: str
    share_bp: int
    lead: bool = False


@dataclass(frozen=True)
class ProductDefinition:
    code: str
    name: str
    plan_year: int
    region_prefix: str  # admdvs prefix of the city, e.g. "3607"
    window_opens: date
    window_closes: date  # inclusive; the city may extend it
    coverage_starts: date
    coverage_ends: date  # inclusive
    premium_default_fen: int
    premium_rules: tuple[PremiumRule, ...]
    insured_relations: tuple[str, ...]  # who a member may enroll ("self", "spouse", ...)
    payment_methods: tuple[str, ...]
    family_pool_relations: tuple[str, ...]  # whom a personal account may pay for (家庭共济)
    refund: RefundRule
    terms: Terms
    buckets: tuple[Bucket, ...]
    bounds: Bounds = field(default_factory=Bounds)
    # Days after payment before cover starts when enrolling after coverage_starts.
    late_enrollment_waiting_days: int = 0
    # How cover starts for a payment on or after coverage_starts (COVER_START_RULES).
    cover_start_rule: str = "day_after_payment"
    # The code of the previous plan year's product this one renews (续保), if any.
    renews: str | None = None
    # Claims: which documents each kind of care requires (used by the claims issue).
    required_documents: dict[str, tuple[str, ...]] = field(default_factory=dict)
    auto_approve_max_fen: int | None = None
    disclosure: Disclosure = field(default_factory=Disclosure)
    # Amount kinds the product adds to COUNTABLE_AMOUNTS (code -> Chinese name), e.g. CAR-T.
    amount_kinds: dict[str, str] = field(default_factory=dict)
    # A settlement record from one of these providers (fixmedins_code) carries its out-of-policy
    # self-pay as the named kind (e.g. a proton centre's bill is proton_heavy_ion).
    settlement_providers: dict[str, str] = field(default_factory=dict)
    # The co-insurance group, lead first; empty for a product with a single unnamed underwriter.
    insurers: tuple[Insurer, ...] = ()
    # The class-one chronic conditions (一类门诊慢特病) whose out-patient visits (care kind
    # chronic_outpatient) the product covers as in-patient care; empty: no chronic out-patient
    # visit is covered. None: not stated (only a definition stored before the list existed; the
    # engine holds such a visit for a reviewer, see docs/adjudication.md).
    class_one_chronic_conditions: tuple[ChronicCondition, ...] | None = None

    def lead_insurer(self) -> Insurer | None:
        return self.insurers[0] if self.insurers else None

    def insurers_line(self) -> str:
        """Who underwrites it, as a certificate or a policy prints it (empty when unnamed):
        "主承保：甲 60%；共保：乙 40%"."""
        lead = self.lead_insurer()
        if lead is None:
            return ""
        parts = [f"主承保：{lead.name} {percent(lead.share_bp)}"]
        others = [f"{i.name} {percent(i.share_bp)}" for i in self.insurers[1:]]
        if others:
            parts.append("共保：" + "、".join(others))
        return "；".join(parts)

    def claim_amount_kinds(self) -> tuple[str, ...]:
        """The member amounts a claim on this product may carry: what its buckets count."""
        return tuple(kind for bucket in self.buckets for kind in bucket.counts)

    def amount_kind_name(self, kind: str) -> str:
        return self.amount_kinds.get(kind) or AMOUNT_KIND_NAMES.get(kind, kind)

    def premium_for(self, *, insurance_type: str | None, age: int) -> int:
        for rule in self.premium_rules:
            if rule.insurance_type is not None and rule.insurance_type != insurance_type:
                continue
            if rule.min_age is not None and age < rule.min_age:
                continue
            if rule.max_age is not None and age > rule.max_age:
                continue
            return rule.premium_fen
        return self.premium_default_fen

    def window_open_on(self, day: date) -> bool:
        """On sale on `day` (app/products/plan_years.py)."""
        from app.products.plan_years import on_sale_on

        return on_sale_on(self, day)
