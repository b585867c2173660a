"""The campaign rules, table-driven: each row a case to check by hand."""

from __future__ import annotations

from datetime import date

import pytest

from app.campaigns import rules
from app.campaigns.rules import CampaignEligibility, LinkState, PersonFacts

TODAY = date(2026, 11, 23)


def link(
    status="active",
    expires_on=date(2026, 12, 31),
    quota=10,
    claimed=3,
    programme_status="active",
    budget_places=None,
) -> LinkState:
    return LinkState(status, expires_on, quota, claimed, programme_status, budget_places)


@pytest.mark.parametrize(
    "state, expected, word",
    [
        # an open link: active, expires after today, 3 of 10 taken, programme active
        (link(), None, "active"),
        # expires today: still good on its last day (inclusive)
        (link(expires_on=TODAY), None, "active"),
        # 9 of 10 taken: one place left
        (link(claimed=9), None, "active"),
        # 10 of 10 taken
        (link(claimed=10), "campaign_exhausted", "exhausted"),
        # expired yesterday
        (link(expires_on=date(2026, 11, 22)), "campaign_expired", "expired"),
        (link(status="revoked"), "campaign_revoked", "revoked"),
        # revoked AND expired AND full: the final state the admin chose is what people are told
        (
            link(status="revoked", expires_on=date(2026, 1, 1), claimed=10),
            "campaign_revoked",
            "revoked",
        ),
        # expired and full: expired (final) before full (a state that can look temporary)
        (link(expires_on=date(2026, 1, 1), claimed=10), "campaign_expired", "expired"),
        (link(programme_status="paused"), "campaign_programme_paused", "paused"),
        # full and the programme paused: full (waiting for the programme would not help)
        (link(claimed=10, programme_status="paused"), "campaign_exhausted", "exhausted"),
        (link(programme_status="closed"), "campaign_programme_closed", "ended"),
        (link(programme_status="closed", claimed=10), "campaign_programme_closed", "ended"),
        # the programme can still pay for one more person: open
        (link(budget_places=1), None, "active"),
        # its budget (shared with other campaigns and rosters) pays for nobody more
        (link(budget_places=0), "campaign_budget_exhausted", "budget_exhausted"),
        # full and no budget: full (the campaign's own limit is named first)
        (link(claimed=10, budget_places=0), "campaign_exhausted", "exhausted"),
        # paused and no budget: paused (a paused programme may be topped up before it resumes)
        (link(programme_status="paused", budget_places=0), "campaign_programme_paused", "paused"),
        (link(status="revoked", budget_places=0), "campaign_revoked", "revoked"),
    ],
)
def test_link_refusal(state, expected, word):
    refusal = rules.link_refusal(state, TODAY)
    assert (refusal.code if refusal else None) == expected
    assert rules.effective_status(state, TODAY) == word


@pytest.mark.parametrize(
    "state, left",
    [
        (link(), 7),  # 10 places, 3 taken, nothing else limits
        (link(budget_places=100), 7),
        (link(budget_places=2), 2),  # the budget pays for two more only
        (link(budget_places=0), 0),
        (link(claimed=10, budget_places=5), 0),
        (link(claimed=12), 0),  # never negative (a quota lowered below what was taken)
    ],
)
def test_places_left(state, left):
    assert rules.places_left(state) == left


@pytest.mark.parametrize(
    "code, status",
    [
        ("campaign_revoked", 410),
        ("campaign_expired", 410),
        ("campaign_programme_closed", 410),
        ("campaign_exhausted", 409),
        ("campaign_programme_paused", 409),
    ],
)
def test_final_states_are_gone_and_temporary_ones_conflicts(code, status):
    refusal = next(
        r
        for r in (
            rules.REVOKED,
            rules.EXPIRED,
            rules.PROGRAMME_CLOSED,
            rules.EXHAUSTED,
            rules.PROGRAMME_PAUSED,
        )
        if r.code == code
    )
    assert refusal.status == status and refusal.message


def person(flags=(), age=40, region="360702") -> PersonFacts:
    return PersonFacts(frozenset(flags), age, region)


@pytest.mark.parametrize(
    "eligibility, facts, expected",
    [
        # no rules: everyone the product admits
        (CampaignEligibility(), person(), None),
        # 低保 only; a 低保 person
        (CampaignEligibility(categories={"dibao"}), person({"dibao"}), None),
        # 低保 or 特困; a 特困 person who is also disabled
        (CampaignEligibility(categories={"dibao", "tekun"}), person({"tekun", "disabled"}), None),
        # 低保 only; a disabled person
        (
            CampaignEligibility(categories={"dibao"}),
            person({"disabled"}),
            "campaign_not_eligible_category",
        ),
        # 低保 only; no flags at all
        (CampaignEligibility(categories={"dibao"}), person(), "campaign_not_eligible_category"),
        # 60 and over; 60 exactly (inclusive)
        (CampaignEligibility(min_age=60), person(age=60), None),
        # 60 and over; 59
        (CampaignEligibility(min_age=60), person(age=59), "campaign_not_eligible_age"),
        # 17 and under; 17 / 18
        (CampaignEligibility(max_age=17), person(age=17), None),
        (CampaignEligibility(max_age=17), person(age=18), "campaign_not_eligible_age"),
        # 18 to 65; 0 and 66 outside, 18 and 65 inside
        (CampaignEligibility(min_age=18, max_age=65), person(age=0), "campaign_not_eligible_age"),
        (CampaignEligibility(min_age=18, max_age=65), person(age=66), "campaign_not_eligible_age"),
        (CampaignEligibility(min_age=18, max_age=65), person(age=18), None),
        (CampaignEligibility(min_age=18, max_age=65), person(age=65), None),
        # 章贡区 (360702) only; insured in 360702 / 360703 / nowhere known
        (CampaignEligibility(region_prefix="360702"), person(region="360702"), None),
        (
            CampaignEligibility(region_prefix="360702"),
            person(region="360703"),
            "campaign_not_eligible_region",
        ),
        (
            CampaignEligibility(region_prefix="360702"),
            person(region=None),
            "campaign_not_eligible_region",
        ),
        # the city (3607); a county of it
        (CampaignEligibility(region_prefix="3607"), person(region="360781"), None),
        # a programme for 低保 or 特困 and a campaign with no category of its own: its rules do
        # not open the programme's money to everyone
        (
            CampaignEligibility(region_prefix="3607", programme_categories={"dibao", "tekun"}),
            person(),
            "campaign_not_eligible_category",
        ),
        (
            CampaignEligibility(region_prefix="3607", programme_categories={"dibao", "tekun"}),
            person({"tekun"}),
            None,
        ),
        # both: the campaign's 特困 and the programme's 低保 or 特困
        (
            CampaignEligibility(categories={"tekun"}, programme_categories={"dibao", "tekun"}),
            person({"dibao"}),
            "campaign_not_eligible_category",
        ),
        # several rules fail: the first (category) is named
        (
            CampaignEligibility(categories={"dibao"}, min_age=60, region_prefix="3601"),
            person(age=30, region="360702"),
            "campaign_not_eligible_category",
        ),
        # category passes, age fails
        (
            CampaignEligibility(categories={"dibao"}, min_age=60),
            person({"dibao"}, age=30),
            "campaign_not_eligible_age",
        ),
    ],
)
def test_eligibility_refusal(eligibility, facts, expected):
    refusal = rules.eligibility_refusal(eligibility, facts)
    assert (refusal.code if refusal else None) == expected
    if refusal:
        assert refusal.status == 422 and "仅限" in refusal.message


def test_refusal_messages_name_the_rule():
    refusal = rules.eligibility_refusal(
        CampaignEligibility(categories={"dibao", "disabled"}), person()
    )
    assert refusal.message == "该邀请仅限低保对象、残疾人参加"
    assert (
        rules.eligibility_refusal(
            CampaignEligibility(min_age=18, max_age=65), person(age=70)
        ).message
        == "该邀请仅限18至65岁人员参加"
    )
    assert (
        rules.eligibility_refusal(CampaignEligibility(min_age=60), person(age=5)).message
        == "该邀请仅限60岁及以上人员参加"
    )
    assert (
        rules.eligibility_refusal(CampaignEligibility(max_age=17), person(age=40)).message
        == "该邀请仅限17岁及以下人员参加"
    )


@pytest.mark.parametrize(
    "eligibility, expected",
    [
        (CampaignEligibility(), None),
        (
            CampaignEligibility(categories={"dibao"}, min_age=0, max_age=150, region_prefix="36"),
            None,
        ),
        (CampaignEligibility(categories={"rich"}), "campaign_category"),
        (CampaignEligibility(min_age=-1), "campaign_age_range"),
        (CampaignEligibility(max_age=151), "campaign_age_range"),
        (CampaignEligibility(min_age=66, max_age=65), "campaign_age_range"),
        (CampaignEligibility(region_prefix="3"), "campaign_region"),  # too short to mean a place
        (
            CampaignEligibility(region_prefix="3607021"),
            "campaign_region",
        ),  # longer than a region code
        (CampaignEligibility(region_prefix="36O7"), "campaign_region"),  # letter O
        (CampaignEligibility(region_prefix="３６０７"), "campaign_region"),  # full-width digits
        # a category the programme does not pay for: nobody could use the campaign
        (
            CampaignEligibility(categories={"disabled"}, programme_categories={"dibao"}),
            "campaign_category",
        ),
        (CampaignEligibility(categories={"dibao"}, programme_categories={"dibao", "tekun"}), None),
    ],
)
def test_eligibility_problem(eligibility, expected):
    problem = rules.eligibility_problem(eligibility)
    assert (problem.code if problem else None) == expected


@pytest.mark.parametrize(
    "eligibility, expected",
    [
        (CampaignEligibility(), ["本市基本医疗保险参保人员均可参加"]),
        # the programme's categories are said when the campaign's own do not already narrow them
        (
            CampaignEligibility(region_prefix="3607", programme_categories={"dibao", "tekun"}),
            ["限低保对象、特困人员（资助项目的资助对象）", "参保地行政区划代码以 3607 开头"],
        ),
        (
            CampaignEligibility(categories={"tekun"}, programme_categories={"dibao", "tekun"}),
            ["限特困人员"],
        ),
    ],
)
def test_eligibility_lines(eligibility, expected):
    assert rules.eligibility_lines(eligibility) == expected
