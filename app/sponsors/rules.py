"""Sponsorship rules: pure functions over plain data (no Flask, no database).

Three things a sponsorship needs before any money moves:

1. who the sponsor is: its 统一社会信用代码 (GB 32100-2015), checked here in full, including the
   A/N/Y-prefixed codes that python-stdnum's `cn.uscc.validate` rejects;
2. how much one programme pays for one premium (`FundingRule`, `subsidy_for`);
3. which programmes a person may draw on, and in which order (`match_offers`), producing the
   `SubsidyOffer`s that `app.enrollment.quote` applies, each paying up to what is still due.

docs/sponsorship.md explains the rules with worked examples. Money is integer fen; ratios are
basis points (10000 = 100%); the one rounding step is `round_half_up_div`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TypeGuard

from stdnum.cn import uscc as stdnum_uscc

from app.common import money
from app.integrations.bureau.port import IDENTITY_CATEGORIES

# ORGANISATION_KINDS lives with the statuses (shared vocabulary); still importable from here.
from app.sponsors.statuses import ORGANISATION_KINDS as ORGANISATION_KINDS
from app.sponsors.statuses import ProgrammeStatus


@dataclass(frozen=True)
class SubsidyOffer:
    """What one programme would pay for one person's premium: the input app.enrollment.quote
    applies in priority order. Sponsors' type, since sponsors sit below enrollment."""

    person_id: int
    programme_id: int
    funder_name: str
    funder_kind: str  # relief_fund | charity | employer | paired_assistance
    amount_fen: int  # what the programme would pay at most for this person


# =============================================================================================
# 1. 统一社会信用代码 (GB 32100-2015)
# =============================================================================================

# 18 characters from 0-9 and A-Z without I, O, Z, S, V (easily confused). The position of a
# character in this string is its value in the mod-31 check.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# 登记管理部门代码 (1st character) -> (部门, {机构类别代码 (2nd character): 类别}).
# The table published with GB 32100-2015 and kept by the national code centre (CODS). Data, not
# code: a combination added by a later notice is one line here.
REGISTRATION_AUTHORITIES: dict[str, tuple[str, dict[str, str]]] = {
    "1": (
        "机构编制",
        {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"},
    ),
    "2": ("外交", {"1": "外国常驻新闻机构", "9": "其他"}),
    "3": (
        "司法行政",
        {
            "1": "律师执业机构",
            "2": "公证处",
            "3": "基层法律服务所",
            "4": "司法鉴定机构",
            "5": "仲裁委员会",
            "9": "其他",
        },
    ),
    "4": ("文化", {"1": "外国在华文化中心", "9": "其他"}),
    "5": ("民政", {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"}),
    "6": (
        "旅游",
        {
            "1": "外国旅游部门常驻代表机构",
            "2": "港澳台地区旅游部门常驻内地（大陆）代表机构",
            "9": "其他",
        },
    ),
    "7": ("宗教", {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"}),
    "8": ("工会", {"1": "基层工会", "9": "其他"}),
    "9": ("工商", {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}),
    "A": ("中央军委改革和编制办公室", {"1": "军队事业单位", "9": "其他"}),
    "N": (
        "农业",
        {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"},
    ),
    "Y": ("其他", {"1": "其他"}),  # not divided further: always 1
}


class UsccError(ValueError):
    """A code that cannot be right. `code` is stable, `message` is for the person (Chinese)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Uscc:
    value: str  # the normalised 18 characters

    @property
    def authority_code(self) -> str:
        return self.value[0]

    @property
    def category_code(self) -> str:
        return self.value[1]

    @property
    def region_code(self) -> str:
        """登记管理机关行政区划码 (GB/T 2260): where it registered, not where it operates."""
        return self.value[2:8]

    @property
    def organisation_code(self) -> str:
        """主体标识码 (the old 组织机构代码, GB 11714), characters 9-17."""
        return self.value[8:17]

    @property
    def check_char(self) -> str:
        return self.value[17]

    @property
    def authority_name(self) -> str:
        return REGISTRATION_AUTHORITIES[self.authority_code][0]

    @property
    def category_name(self) -> str:
        return REGISTRATION_AUTHORITIES[self.authority_code][1][self.category_code]

    @property
    def is_charity_like(self) -> bool:
        """Registered with 民政 (5x: 社会团体 such as a 慈善总会, 民办非企业单位, 基金会).
        A hint for forms and review, not proof of charity status (慈善组织认定 is separate, and
        the 红十字会 is registered by 机构编制, 13)."""
        return self.authority_code == "5"

    @property
    def is_enterprise(self) -> bool:
        """Registered with 工商 / market regulation as an enterprise (91)."""
        return self.value.startswith("91")


def normalise_uscc(raw: str) -> str:
    """NFKC folds full-width letters and digits to ASCII; all white space goes; upper case."""
    return "".join(unicodedata.normalize("NFKC", raw).split()).upper()


def uscc_check_char(first17: str) -> str:
    """The 18th character: 31 - (sum of value x weight mod 31), where 31 becomes 0.

    python-stdnum's `calc_check_digit` computes exactly this over the same alphabet (its
    `validate` is not used: it rejects the A/N/Y prefixes). Raises UsccError for anything but
    17 characters of the alphabet.
    """
    if len(first17) != 17 or any(c not in USCC_ALPHABET for c in first17):
        raise UsccError(
            "uscc_format", "统一社会信用代码前17位应为数字或大写字母（不含I、O、Z、S、V）"
        )
    return stdnum_uscc.calc_check_digit(first17)


def parse_uscc(raw: object) -> Uscc:
    """Validate and normalise; raise UsccError with a Chinese message for each failure.

    Checks, in this order: length, alphabet, 登记管理部门代码, 机构类别代码 for that 部门,
    the 6-digit region code, the check character. The region code is checked for shape only
    (a code registered before a district was renamed stays valid for life).
    """
    if not isinstance(raw, str):
        raise UsccError("uscc_format", "统一社会信用代码应为18位数字或大写字母")
    value = normalise_uscc(raw)
    if len(value) != 18:
        raise UsccError("uscc_length", f"统一社会信用代码应为18位，当前为{len(value)}位")
    bad = sorted({c for c in value if c not in USCC_ALPHABET})
    if bad:
        raise UsccError(
            "uscc_character",
            "统一社会信用代码只能包含数字和大写字母（不含I、O、Z、S、V），"
            f"不能包含：{'、'.join(bad)}",
        )
    authority = REGISTRATION_AUTHORITIES.get(value[0])
    if authority is None:
        raise UsccError(
            "uscc_authority", f"统一社会信用代码第1位（登记管理部门代码）“{value[0]}”不存在"
        )
    if value[1] not in authority[1]:
        raise UsccError(
            "uscc_category",
            f"统一社会信用代码第2位（机构类别代码）“{value[1]}”不属于{authority[0]}部门",
        )
    if not value[2:8].isdigit():
        raise UsccError("uscc_region", "统一社会信用代码第3至8位（登记管理机关行政区划码）应为数字")
    if uscc_check_char(value[:17]) != value[17]:
        raise UsccError("uscc_checksum", "统一社会信用代码校验位不正确，请核对后重新输入")
    return Uscc(value)


# =============================================================================================
# 2. Funding rules: how much one programme pays for one premium
# =============================================================================================

FUNDING_KINDS = ("full", "fixed", "percentage")
FULL_BASIS_POINTS = 10000


class RuleError(ValueError):
    """A programme or rule that cannot be right (a configuration error, not a person's input)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def round_half_up_div(numerator: int, denominator: int) -> int:
    """app/common/money.round_half_up_div (halves up, 四舍五入), with its domain errors as this
    module's RuleError so a funding rule fails one way."""
    try:
        return money.round_half_up_div(numerator, denominator)
    except (TypeError, ValueError):
        raise RuleError(
            "rounding_domain", "round_half_up_div needs numerator >= 0 and denominator > 0"
        ) from None


@dataclass(frozen=True)
class FundingRule:
    """full: the whole premium; fixed: up to amount_fen; percentage: basis_points of it."""

    kind: str
    amount_fen: int | None = None  # fixed only
    basis_points: int | None = None  # percentage only, 1..10000

    def __post_init__(self) -> None:
        if self.kind not in FUNDING_KINDS:
            raise RuleError("funding_kind", f"unknown funding kind {self.kind!r}")
        if self.kind == "fixed":
            if not _is_int(self.amount_fen) or self.amount_fen <= 0:
                raise RuleError("funding_amount", "a fixed rule needs amount_fen > 0")
        elif self.amount_fen is not None:
            raise RuleError("funding_amount", f"a {self.kind} rule takes no amount_fen")
        if self.kind == "percentage":
            if not _is_int(self.basis_points) or not 0 < self.basis_points <= FULL_BASIS_POINTS:
                raise RuleError(
                    "funding_basis_points", "a percentage rule needs 1..10000 basis points"
                )
        elif self.basis_points is not None:
            raise RuleError("funding_basis_points", f"a {self.kind} rule takes no basis_points")

    @classmethod
    def full(cls) -> FundingRule:
        return cls("full")

    @classmethod
    def fixed(cls, amount_fen: int) -> FundingRule:
        return cls("fixed", amount_fen=amount_fen)

    @classmethod
    def percentage(cls, basis_points: int) -> FundingRule:
        return cls("percentage", basis_points=basis_points)


def subsidy_for(rule: FundingRule, premium_fen: int) -> int:
    """What the rule pays towards this premium, in fen: never negative, never above it.

    percentage: round_half_up_div(premium_fen x basis_points, 10000), so 50% of 9999 fen is
    4999.5 -> 5000 fen.
    """
    if not _is_int(premium_fen) or premium_fen < 0:
        raise RuleError("premium_negative", "premium_fen must be an integer >= 0")
    if rule.kind == "full":
        amount = premium_fen
    elif rule.kind == "fixed":
        assert rule.amount_fen is not None  # FundingRule requires it of a fixed rule
        amount = rule.amount_fen
    else:
        assert rule.basis_points is not None  # and of a percentage rule
        amount = round_half_up_div(premium_fen * rule.basis_points, FULL_BASIS_POINTS)
    return min(amount, premium_fen)


# =============================================================================================
# 3. Programmes, eligibility and priority
# =============================================================================================

# Priority of funder kinds, first pays first. Statutory assistance (relief funds, 救助资金) pays
# before voluntary money, mirroring the order of payment basic -> critical illness -> assistance
# -> 惠民保: public duty first, so that donors' budgets reach people no public scheme covers.
# Paired assistance (结对帮扶, a public-sector duty of care) comes next, then employers (welfare
# funds for their own staff), then charities, the most flexible and scarcest money, last.
FUNDER_KIND_PRIORITY = ("relief_fund", "paired_assistance", "employer", "charity")
FUNDER_KINDS = frozenset(FUNDER_KIND_PRIORITY)
PROGRAMME_STATUSES = tuple(s.value for s in ProgrammeStatus)
KNOWN_CATEGORIES = frozenset(IDENTITY_CATEGORIES.values())
INSURANCE_TYPES = frozenset({"employee", "resident"})


@dataclass(frozen=True)
class Eligibility:
    """Who a programme is for.

    roster: people on the programme's uploaded roster qualify.
    categories: people with at least one of these bureau identity flags qualify.
    With both, either qualifies (union: a relief fund pays for 低保 people the bureau flags and
    for the people it adds by roster), unless require_both, when a person must be on the roster
    *and* in a category (a charity targeting the disabled people of its paired villages).
    """

    roster: bool = False
    categories: frozenset[str] = frozenset()
    require_both: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "categories", frozenset(self.categories))
        if not self.roster and not self.categories:
            raise RuleError("eligibility_empty", "eligibility needs a roster, categories, or both")
        unknown = self.categories - KNOWN_CATEGORIES
        if unknown:
            raise RuleError(
                "eligibility_category", f"unknown identity categories {sorted(unknown)}"
            )
        if self.require_both and not (self.roster and self.categories):
            raise RuleError(
                "eligibility_require_both", "require_both needs a roster and categories"
            )

    @classmethod
    def roster_only(cls) -> Eligibility:
        return cls(roster=True)

    @classmethod
    def by_categories(cls, *categories: str) -> Eligibility:
        return cls(categories=frozenset(categories))

    def admits(self, on_roster: bool, flags: frozenset[str]) -> bool:
        in_category = bool(self.categories & flags)
        if self.require_both:
            return on_roster and in_category
        return (self.roster and on_roster) or in_category


@dataclass(frozen=True)
class Programme:
    id: int
    funder_name: str
    funder_kind: str  # relief_fund | charity | employer | paired_assistance
    eligibility: Eligibility
    plan_year: int
    status: str  # active | paused | closed
    starts_on: date  # inclusive (Asia/Shanghai dates)
    ends_on: date  # inclusive
    budget_remaining_fen: int  # what is left to spend; a programme always has a budget
    rule: FundingRule
    quota_remaining: int | None = None  # people it may still fund; None = only the budget limits
    region_prefix: str = ""  # e.g. "360702" for a 章贡区 fund; "" = anywhere
    insurance_types: frozenset[str] = frozenset()  # e.g. {"employee"}; empty = any

    def __post_init__(self) -> None:
        object.__setattr__(self, "insurance_types", frozenset(self.insurance_types))
        if self.funder_kind not in FUNDER_KINDS:
            raise RuleError("programme_funder_kind", f"unknown funder kind {self.funder_kind!r}")
        if self.status not in PROGRAMME_STATUSES:
            raise RuleError("programme_status", f"unknown status {self.status!r}")
        if self.starts_on > self.ends_on:
            raise RuleError("programme_dates", "a programme cannot end before it starts")
        if not _is_int(self.budget_remaining_fen) or self.budget_remaining_fen < 0:
            raise RuleError("programme_budget", "budget_remaining_fen must be an integer >= 0")
        if self.quota_remaining is not None and (
            not _is_int(self.quota_remaining) or self.quota_remaining < 0
        ):
            raise RuleError("programme_quota", "quota_remaining must be None or an integer >= 0")
        if self.region_prefix and not self.region_prefix.isdigit():
            raise RuleError("programme_region", "region_prefix must be digits")
        if not self.insurance_types <= INSURANCE_TYPES:
            raise RuleError("programme_insurance_type", "insurance_types: employee and/or resident")


@dataclass(frozen=True)
class PersonFacts:
    person_id: int
    identity_flags: frozenset[str]  # bureau categories (BureauPerson.identity_flags)
    on_roster_of: frozenset[int]  # programme ids whose roster lists this person
    insurance_type: str | None  # employee | resident
    region_code: str | None  # insuplc_admdvs

    def __post_init__(self) -> None:
        object.__setattr__(self, "identity_flags", frozenset(self.identity_flags))
        object.__setattr__(self, "on_roster_of", frozenset(self.on_roster_of))


# Why a programme offers what it offers (for a reviewer, a sponsor's report, a test).
OFFERED = "offered"
OFFERED_BUDGET_SHORT = "offered_budget_short"  # pays what is left of the budget
NOT_ACTIVE = "programme_not_active"  # paused or closed
OTHER_PLAN_YEAR = "other_plan_year"
NOT_STARTED = "not_started"
ENDED = "ended"
QUOTA_EXHAUSTED = "quota_exhausted"
BUDGET_EXHAUSTED = "budget_exhausted"
NOT_ELIGIBLE = "not_eligible"
OUTSIDE_REGION = "outside_region"
INSURANCE_TYPE = "insurance_type_not_covered"
NOTHING_DUE = "nothing_due"


@dataclass(frozen=True)
class Decision:
    programme_id: int
    amount_fen: int
    reason: str


def decide(
    programme: Programme, person: PersonFacts, premium_fen: int, today: date, *, plan_year: int
) -> Decision:
    """What this programme would pay at most for this person's premium, and why."""
    if not _is_int(premium_fen) or premium_fen < 0:
        raise RuleError("premium_negative", "premium_fen must be an integer >= 0")

    def no(reason: str) -> Decision:
        return Decision(programme.id, 0, reason)

    if programme.status != ProgrammeStatus.ACTIVE:
        return no(NOT_ACTIVE)
    if programme.plan_year != plan_year:
        return no(OTHER_PLAN_YEAR)
    if today < programme.starts_on:
        return no(NOT_STARTED)
    if today > programme.ends_on:
        return no(ENDED)
    if programme.quota_remaining is not None and programme.quota_remaining <= 0:
        return no(QUOTA_EXHAUSTED)
    if programme.budget_remaining_fen <= 0:
        return no(BUDGET_EXHAUSTED)
    if not programme.eligibility.admits(programme.id in person.on_roster_of, person.identity_flags):
        return no(NOT_ELIGIBLE)
    if programme.region_prefix and not (person.region_code or "").startswith(
        programme.region_prefix
    ):
        return no(OUTSIDE_REGION)
    if programme.insurance_types and person.insurance_type not in programme.insurance_types:
        return no(INSURANCE_TYPE)
    amount = subsidy_for(programme.rule, premium_fen)
    if amount <= 0:
        return no(NOTHING_DUE)
    if programme.budget_remaining_fen < amount:
        return Decision(programme.id, programme.budget_remaining_fen, OFFERED_BUDGET_SHORT)
    return Decision(programme.id, amount, OFFERED)


def priority_key(programme: Programme) -> tuple[int, date, int]:
    """Funder kind (FUNDER_KIND_PRIORITY), then the earliest start, then the lowest id."""
    return (FUNDER_KIND_PRIORITY.index(programme.funder_kind), programme.starts_on, programme.id)


def match_offers(
    programmes: Iterable[Programme],
    person: PersonFacts,
    premium_fen: int,
    today: date,
    *,
    plan_year: int,
) -> list[SubsidyOffer]:
    """The offers this person may draw on, in priority order, each at most what its programme
    would pay for the whole premium (capped by its remaining budget).

    Offers are not reduced by the ones before them: `quote._apply_subsidies` does that, each
    paying up to what is still due, so a later offer may end up paying less or nothing.
    `plan_year` is the product's: a programme for another plan year offers nothing, even while its
    dates are open (the window for next year runs while this year's programmes are live).
    """
    offers = []
    for programme in sorted(programmes, key=priority_key):
        decision = decide(programme, person, premium_fen, today, plan_year=plan_year)
        if decision.amount_fen > 0:
            offers.append(
                SubsidyOffer(
                    person.person_id,
                    programme.id,
                    programme.funder_name,
                    programme.funder_kind,
                    decision.amount_fen,
                )
            )
    return offers


# =============================================================================================
# 5. Capacity: how many more people a programme can still pay for
# =============================================================================================


@dataclass(frozen=True)
class Capacity:
    """What is left of a programme, in people: its budget at the most it pays for one person
    (its rule on the product's highest premium) and its quota of people, whichever is smaller.
    `people` is None when neither limits it (a rule that pays nothing and no quota)."""

    people: int | None
    per_person_fen: int
    budget_left_fen: int
    quota_left: int | None

    def covers(self, wanted: int) -> bool:
        return self.people is None or wanted <= self.people

    def shortfall_text(self, wanted: int) -> str:
        """Why `wanted` people cannot all be paid for, with the numbers (Chinese)."""
        parts = [f"剩余预算 {money.yuan_plain(self.budget_left_fen)} 元"]
        if self.per_person_fen > 0:
            parts.append(f"每人最高资助 {money.yuan_plain(self.per_person_fen)} 元")
        if self.quota_left is not None:
            parts.append(f"剩余资助人数名额 {self.quota_left} 人")
        return f"需资助 {wanted} 人，但{'，'.join(parts)}，只够资助 {self.people} 人"


def capacity(programme: Programme, premium_max_fen: int) -> Capacity:
    per_person = subsidy_for(programme.rule, premium_max_fen)
    limits = []
    if per_person > 0:
        limits.append(programme.budget_remaining_fen // per_person)
    if programme.quota_remaining is not None:
        limits.append(programme.quota_remaining)
    return Capacity(
        people=min(limits) if limits else None,
        per_person_fen=per_person,
        budget_left_fen=programme.budget_remaining_fen,
        quota_left=programme.quota_remaining,
    )
