"""Invite-campaign rules as pure functions over plain data (no Flask, no database).

Two questions, each answered with a stable code and a Chinese message:

1. Is the link still good? (`link_refusal`): revoked and expired links are gone for good (410);
   a campaign whose places are all taken, or whose programme is paused, is a conflict (409).
2. Does this person fit the campaign's own eligibility rules? (`eligibility_refusal`): any of
   the listed bureau identity categories, an age range, a region-code prefix. Each rule is
   optional; an empty rule set admits everyone the product itself admits.

Age is counted on the product's coverage start, the same day the premium's age band uses
(`app.enrollment.quote.age_on`), so "60 and over" means 60 or more when cover begins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.campaigns.statuses import CampaignStatus
from app.integrations.bureau.port import CATEGORY_NAMES, IDENTITY_CATEGORIES
from app.sponsors.statuses import ProgrammeStatus

KNOWN_CATEGORIES = frozenset(IDENTITY_CATEGORIES.values())
CATEGORY_LABELS = CATEGORY_NAMES  # one name per category, shared with rosters and reports
MAX_AGE = 150


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str
    status: int  # the HTTP status the refusal deserves (410, 409 or 422)


# --- 1. the link ---------------------------------------------------------------------------

REVOKED = Refusal("campaign_revoked", "该邀请已被发起机构撤销，二维码已失效", 410)
EXPIRED = Refusal("campaign_expired", "该邀请已过期，二维码已失效", 410)
PROGRAMME_CLOSED = Refusal("campaign_programme_closed", "该邀请所属的资助项目已结束", 410)
EXHAUSTED = Refusal("campaign_exhausted", "该邀请的名额已领完", 409)
PROGRAMME_PAUSED = Refusal(
    "campaign_programme_paused", "该邀请所属的资助项目暂停中，请稍后再试", 409
)
BUDGET_SPENT = Refusal("campaign_budget_exhausted", "资助预算已用完，该邀请暂时无法领取", 409)


@dataclass(frozen=True)
class LinkState:
    status: str  # campaign: active | revoked
    expires_on: date  # inclusive, Asia/Shanghai
    quota: int
    claimed: int
    programme_status: str  # active | paused | closed
    # People the programme's budget and quota can still pay for (shared by every campaign and
    # roster of the programme); None when nothing limits it or no product is on sale yet.
    budget_places: int | None = None


def places_left(link: LinkState) -> int:
    """What a resident is told is left: the campaign's own places, but never more than the
    programme can still pay for."""
    left = max(link.quota - link.claimed, 0)
    return left if link.budget_places is None else min(left, max(link.budget_places, 0))


def link_refusal(link: LinkState, today: date) -> Refusal | None:
    """Why the link cannot be used today, or None. Final states (revoked, expired, programme
    closed) come before temporary ones, so a person is never told to wait for a dead link."""
    if link.status == CampaignStatus.REVOKED:
        return REVOKED
    if today > link.expires_on:
        return EXPIRED
    if link.programme_status == ProgrammeStatus.CLOSED:
        return PROGRAMME_CLOSED
    if link.claimed >= link.quota:
        return EXHAUSTED
    if link.programme_status != ProgrammeStatus.ACTIVE:
        return PROGRAMME_PAUSED
    if link.budget_places is not None and link.budget_places <= 0:
        return BUDGET_SPENT
    return None


_EFFECTIVE = {
    None: "active",
    REVOKED: "revoked",
    EXPIRED: "expired",
    PROGRAMME_CLOSED: "ended",
    EXHAUSTED: "exhausted",
    PROGRAMME_PAUSED: "paused",
    BUDGET_SPENT: "budget_exhausted",
}
# Every word effective_status gives (the sponsor console labels each).
EFFECTIVE_STATUSES = tuple(_EFFECTIVE.values())


def effective_status(link: LinkState, today: date) -> str:
    """One word for a staff list: one of EFFECTIVE_STATUSES (active | revoked | expired | ended
    | exhausted | paused | budget_exhausted)."""
    return _EFFECTIVE[link_refusal(link, today)]


# --- 2. the person -------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignEligibility:
    categories: frozenset[str] = frozenset()  # any one of these bureau flags; empty = no rule
    min_age: int | None = None  # inclusive
    max_age: int | None = None  # inclusive
    region_prefix: str = ""  # e.g. "360702"; "" = anywhere the product covers
    # The programme's bureau categories, when it pays by category (not by roster): an invitation
    # stands in for a roster, never for the flags a relief fund or charity may pay for.
    programme_categories: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "categories", frozenset(self.categories))
        object.__setattr__(self, "programme_categories", frozenset(self.programme_categories))


@dataclass(frozen=True)
class PersonFacts:
    identity_flags: frozenset[str]
    age: int  # on the product's coverage start
    region_code: str | None  # insuplc_admdvs of the person's basic insurance


def eligibility_problem(rules: CampaignEligibility) -> Refusal | None:
    """A rule set that cannot be right (told to the admin creating the campaign; a campaign is
    stored only when this is None)."""
    unknown = rules.categories - KNOWN_CATEGORIES
    if unknown:
        return Refusal("campaign_category", "资助对象类别不正确", 422)
    if (
        rules.programme_categories
        and rules.categories
        and not (rules.categories & rules.programme_categories)
    ):  # nobody could ever use it
        labels = _labels(rules.programme_categories)
        return Refusal("campaign_category", f"资助对象类别须在该资助项目的范围内（{labels}）", 422)
    for age in (rules.min_age, rules.max_age):
        if age is not None and not (isinstance(age, int) and 0 <= age <= MAX_AGE):
            return Refusal("campaign_age_range", f"年龄应为0至{MAX_AGE}岁", 422)
    if rules.min_age is not None and rules.max_age is not None and rules.min_age > rules.max_age:
        return Refusal("campaign_age_range", "最小年龄不能大于最大年龄", 422)
    if rules.region_prefix and not (
        rules.region_prefix.isascii()
        and rules.region_prefix.isdigit()
        and 2 <= len(rules.region_prefix) <= 6
    ):
        return Refusal("campaign_region", "地区代码应为2至6位数字（行政区划代码的前几位）", 422)
    return None


def _labels(categories: frozenset[str]) -> str:
    return "、".join(CATEGORY_LABELS[c] for c in sorted(categories))


def _age_text(rules: CampaignEligibility) -> str:
    if rules.min_age is not None and rules.max_age is not None:
        return f"{rules.min_age}至{rules.max_age}岁"
    if rules.min_age is not None:
        return f"{rules.min_age}岁及以上"
    return f"{rules.max_age}岁及以下"


def eligibility_lines(rules: CampaignEligibility) -> list[str]:
    """Who may use the campaign, in words for a poster or a page: one line per rule, or one
    line saying anyone the product covers may."""
    lines = []
    if rules.categories:
        lines.append(f"限{_labels(rules.categories)}")
    if rules.programme_categories and not (
        rules.categories and rules.categories <= rules.programme_categories
    ):
        lines.append(f"限{_labels(rules.programme_categories)}（资助项目的资助对象）")
    if rules.min_age is not None or rules.max_age is not None:
        lines.append(f"年龄{_age_text(rules)}（按保障起始日计算）")
    if rules.region_prefix:
        lines.append(f"参保地行政区划代码以 {rules.region_prefix} 开头")
    return lines or ["本市基本医疗保险参保人员均可参加"]


def eligibility_refusal(rules: CampaignEligibility, person: PersonFacts) -> Refusal | None:
    """Why this person may not use the campaign, or None. The first failing rule is named."""
    for wanted in (rules.categories, rules.programme_categories):
        if wanted and not (wanted & person.identity_flags):
            return Refusal(
                "campaign_not_eligible_category", f"该邀请仅限{_labels(wanted)}参加", 422
            )
    too_young = rules.min_age is not None and person.age < rules.min_age
    too_old = rules.max_age is not None and person.age > rules.max_age
    if too_young or too_old:
        return Refusal("campaign_not_eligible_age", f"该邀请仅限{_age_text(rules)}人员参加", 422)
    if rules.region_prefix and not (person.region_code or "").startswith(rules.region_prefix):
        return Refusal(
            "campaign_not_eligible_region",
            f"该邀请仅限参保地为{rules.region_prefix}开头地区的人员参加",
            422,
        )
    return None
