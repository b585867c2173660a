"""Eligibility matching and priority: which programmes offer what, and in which order.

Each row: the programmes, the person, the premium; the offers expected from `match_offers`
(programme id, amount), then what `quote._apply_subsidies` makes of them (each pays up to what is
still due) and what is left for the member to pay. Money in fen.

Setting: the enrollment window for plan year 2027 is open on 2026-11-23; programmes for 2027 run
2026-10-01 .. 2027-03-31 unless a row says otherwise.
Priority: relief_fund, paired_assistance, employer, charity; then earliest start; then lowest id.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.enrollment.quote import Candidate, Payer, _apply_subsidies, quote
from app.products.definition import Bucket, ProductDefinition, RefundRule, Terms
from app.sponsors.rules import (
    BUDGET_EXHAUSTED,
    ENDED,
    FUNDER_KIND_PRIORITY,
    INSURANCE_TYPE,
    KNOWN_CATEGORIES,
    NOT_ACTIVE,
    NOT_ELIGIBLE,
    NOT_STARTED,
    NOTHING_DUE,
    OFFERED,
    OFFERED_BUDGET_SHORT,
    OTHER_PLAN_YEAR,
    OUTSIDE_REGION,
    QUOTA_EXHAUSTED,
    Eligibility,
    FundingRule,
    PersonFacts,
    Programme,
    RuleError,
    decide,
    match_offers,
    priority_key,
)

TODAY = date(2026, 11, 23)
YEAR = 2027
FULL = FundingRule.full()
ROSTER = Eligibility.roster_only()


def prog(pid, kind="charity", rule=FULL, eligibility=ROSTER, **kw):
    values = dict(
        id=pid,
        funder_name=f"{kind}-{pid}",
        funder_kind=kind,
        eligibility=eligibility,
        plan_year=YEAR,
        status="active",
        starts_on=date(2026, 10, 1),
        ends_on=date(2027, 3, 31),
        budget_remaining_fen=1_000_000,
        rule=rule,
    )
    values.update(kw)
    return Programme(**values)


def cats(*names):
    return Eligibility.by_categories(*names)


def person(flags=(), roster=(), itype="resident", region="360702", pid=1):
    return PersonFacts(pid, frozenset(flags), frozenset(roster), itype, region)


CASES = [
    # id, programmes, person, premium, offers [(programme, amount)], applied [(programme, amount)], pay
    (
        "relief fund pays the whole premium for a 低保 person: 8900 -> pay 0",
        [prog(1, "relief_fund", eligibility=cats("dibao", "tekun"))],
        person(["dibao"]),
        8900,
        [(1, 8900)],
        [(1, 8900)],
        0,
    ),
    (
        "relief 50% (4450) + charity full on roster: charity pays the rest 8900-4450 = 4450",
        [
            prog(2, "charity"),
            prog(1, "relief_fund", FundingRule.percentage(5000), cats("disabled")),
        ],
        person(["disabled"], roster=[2]),
        8900,
        [(1, 4450), (2, 8900)],
        [(1, 4450), (2, 4450)],
        0,
    ),
    (
        "odd premium 9999: relief 50% = 4999.5 -> 5000; charity 50% = 5000 offered, 4999 applied",
        [
            prog(1, "relief_fund", FundingRule.percentage(5000), cats("tekun")),
            prog(2, "charity", FundingRule.percentage(5000)),
        ],
        person(["tekun"], roster=[2]),
        9999,
        [(1, 5000), (2, 5000)],
        [(1, 5000), (2, 4999)],
        0,
    ),
    (
        "partial subsidy: employer pays a fixed 30 yuan of 89 -> member pays 8900-3000 = 5900",
        [prog(3, "employer", FundingRule.fixed(3000))],
        person(roster=[3], itype="employee"),
        8900,
        [(3, 3000)],
        [(3, 3000)],
        5900,
    ),
    (
        "two partial subsidies leave a remainder: relief 30% = 2670, charity 20 yuan; "
        "8900-2670-2000 = 4230",
        [
            prog(1, "relief_fund", FundingRule.percentage(3000), cats("low_income")),
            prog(2, "charity", FundingRule.fixed(2000)),
        ],
        person(["low_income"], roster=[2]),
        8900,
        [(1, 2670), (2, 2000)],
        [(1, 2670), (2, 2000)],
        4230,
    ),
    (
        "priority by kind whatever the input order: relief 2000, paired 30% = 2670, employer 5000 "
        "gets 8900-2000-2670 = 4230, charity gets nothing",
        [
            prog(1, "charity"),
            prog(2, "employer", FundingRule.fixed(5000)),
            prog(3, "paired_assistance", FundingRule.percentage(3000)),
            prog(4, "relief_fund", FundingRule.fixed(2000)),
        ],
        person(roster=[1, 2, 3, 4]),
        8900,
        [(4, 2000), (3, 2670), (2, 5000), (1, 8900)],
        [(4, 2000), (3, 2670), (2, 4230)],
        0,
    ),
    (
        "within a kind: earliest start first (id 7 from 2026-09-01), then lowest id (5 before 6); "
        "1000 each: 8900-3000 = 5900",
        [
            prog(6, rule=FundingRule.fixed(1000)),
            prog(5, rule=FundingRule.fixed(1000)),
            prog(7, rule=FundingRule.fixed(1000), starts_on=date(2026, 9, 1)),
        ],
        person(roster=[5, 6, 7]),
        8900,
        [(7, 1000), (5, 1000), (6, 1000)],
        [(7, 1000), (5, 1000), (6, 1000)],
        5900,
    ),
    (
        "budget shortfall: the relief fund has 3000 left, offers 3000; the charity pays 8900-3000 = 5900",
        [prog(1, "relief_fund", eligibility=cats("dibao"), budget_remaining_fen=3000), prog(2)],
        person(["dibao"], roster=[2]),
        8900,
        [(1, 3000), (2, 8900)],
        [(1, 3000), (2, 5900)],
        0,
    ),
    (
        "budget exactly the premium: offers all 8900",
        [prog(1, budget_remaining_fen=8900)],
        person(roster=[1]),
        8900,
        [(1, 8900)],
        [(1, 8900)],
        0,
    ),
    (
        "budget spent (0 left): nothing; the member pays 8900",
        [prog(1, budget_remaining_fen=0)],
        person(roster=[1]),
        8900,
        [],
        [],
        8900,
    ),
    (
        "quota exhausted (0 places left): nothing, though budget remains",
        [prog(1, quota_remaining=0)],
        person(roster=[1]),
        8900,
        [],
        [],
        8900,
    ),
    (
        "one place left: offers 8900",
        [prog(1, quota_remaining=1)],
        person(roster=[1]),
        8900,
        [(1, 8900)],
        [(1, 8900)],
        0,
    ),
    (
        "paused relief fund offers nothing; the charity behind it pays all 8900",
        [prog(1, "relief_fund", eligibility=cats("dibao"), status="paused"), prog(2)],
        person(["dibao"], roster=[2]),
        8900,
        [(2, 8900)],
        [(2, 8900)],
        0,
    ),
    (
        "closed programme offers nothing",
        [prog(1, status="closed")],
        person(roster=[1]),
        8900,
        [],
        [],
        8900,
    ),
    (
        "starts tomorrow: nothing",
        [prog(1, starts_on=date(2026, 11, 24))],
        person(roster=[1]),
        8900,
        [],
        [],
        8900,
    ),
    (
        "ended yesterday: nothing",
        [prog(1, ends_on=date(2026, 11, 22))],
        person(roster=[1]),
        8900,
        [],
        [],
        8900,
    ),
    (
        "starts and ends today: dates are inclusive, offers 8900",
        [prog(1, starts_on=TODAY, ends_on=TODAY)],
        person(roster=[1]),
        8900,
        [(1, 8900)],
        [(1, 8900)],
        0,
    ),
    (
        "a 2026 programme still in its dates offers nothing for a 2027 policy",
        [prog(1, plan_year=2026)],
        person(roster=[1]),
        8900,
        [],
        [],
        8900,
    ),
    (
        "roster only: a 低保 person not on the roster gets nothing",
        [prog(1, "relief_fund")],
        person(["dibao"]),
        8900,
        [],
        [],
        8900,
    ),
    (
        "on the roster of programme 9 does not count for programme 1",
        [prog(1)],
        person(roster=[9]),
        8900,
        [],
        [],
        8900,
    ),
    (
        "categories: 特困 matches {dibao, tekun}; 低收入 does not",
        [
            prog(1, "relief_fund", eligibility=cats("dibao", "tekun")),
            prog(2, "relief_fund", eligibility=cats("low_income"), rule=FundingRule.fixed(1000)),
        ],
        person(["tekun"]),
        8900,
        [(1, 8900)],
        [(1, 8900)],
        0,
    ),
    (
        "categories only: being listed on its roster does not qualify without the category",
        [prog(1, "relief_fund", eligibility=cats("dibao"))],
        person(["disabled"], roster=[1]),
        8900,
        [],
        [],
        8900,
    ),
    (
        "roster or categories: on the roster without a category qualifies",
        [
            prog(
                1,
                "relief_fund",
                eligibility=Eligibility(roster=True, categories=frozenset({"dibao"})),
            )
        ],
        person(roster=[1]),
        8900,
        [(1, 8900)],
        [(1, 8900)],
        0,
    ),
    (
        "roster or categories: in a category without the roster qualifies",
        [
            prog(
                1,
                "relief_fund",
                eligibility=Eligibility(roster=True, categories=frozenset({"dibao"})),
            )
        ],
        person(["dibao"]),
        8900,
        [(1, 8900)],
        [(1, 8900)],
        0,
    ),
    (
        "require_both: on the roster but not disabled -> nothing",
        [prog(1, eligibility=Eligibility(True, frozenset({"disabled"}), require_both=True))],
        person(roster=[1]),
        8900,
        [],
        [],
        8900,
    ),
    (
        "require_both: on the roster and disabled -> 8900",
        [prog(1, eligibility=Eligibility(True, frozenset({"disabled"}), require_both=True))],
        person(["disabled"], roster=[1]),
        8900,
        [(1, 8900)],
        [(1, 8900)],
        0,
    ),
    (
        "a 章贡区 (360702) fund does not pay for someone insured in 360703",
        [prog(1, "relief_fund", eligibility=cats("dibao"), region_prefix="360702")],
        person(["dibao"], region="360703"),
        8900,
        [],
        [],
        8900,
    ),
    (
        "an employer's employee-only programme does not pay for a resident-insured relative",
        [prog(3, "employer", insurance_types=frozenset({"employee"}))],
        person(roster=[3], itype="resident"),
        8900,
        [],
        [],
        8900,
    ),
    ("a premium of 0 draws no offers", [prog(1)], person(roster=[1]), 0, [], [], 0),
]


@pytest.mark.parametrize(
    "programmes, facts, premium, offers, applied, pay",
    [pytest.param(*row[1:], id=row[0]) for row in CASES],
)
def test_match_offers(programmes, facts, premium, offers, applied, pay):
    got = match_offers(programmes, facts, premium, TODAY, plan_year=YEAR)
    assert [(o.programme_id, o.amount_fen) for o in got] == offers
    assert all(o.person_id == facts.person_id for o in got)
    by_id = {p.id: p for p in programmes}
    assert all(
        o.funder_kind == by_id[o.programme_id].funder_kind
        and o.funder_name == by_id[o.programme_id].funder_name
        for o in got
    )
    subsidies = _apply_subsidies(premium, got)
    assert [(s.programme_id, s.amount_fen) for s in subsidies] == applied
    assert premium - sum(s.amount_fen for s in subsidies) == pay


REASONS = [
    # id, programme, person, premium, (amount, reason)
    ("offered", prog(1), person(roster=[1]), 8900, (8900, OFFERED)),
    (
        "budget short: 3000 of 8900",
        prog(1, budget_remaining_fen=3000),
        person(roster=[1]),
        8900,
        (3000, OFFERED_BUDGET_SHORT),
    ),
    ("paused", prog(1, status="paused"), person(roster=[1]), 8900, (0, NOT_ACTIVE)),
    ("closed", prog(1, status="closed"), person(roster=[1]), 8900, (0, NOT_ACTIVE)),
    ("other plan year", prog(1, plan_year=2026), person(roster=[1]), 8900, (0, OTHER_PLAN_YEAR)),
    (
        "not started",
        prog(1, starts_on=date(2026, 12, 1)),
        person(roster=[1]),
        8900,
        (0, NOT_STARTED),
    ),
    ("ended", prog(1, ends_on=date(2026, 11, 1)), person(roster=[1]), 8900, (0, ENDED)),
    ("quota", prog(1, quota_remaining=0), person(roster=[1]), 8900, (0, QUOTA_EXHAUSTED)),
    ("budget", prog(1, budget_remaining_fen=0), person(roster=[1]), 8900, (0, BUDGET_EXHAUSTED)),
    ("not eligible", prog(1), person(), 8900, (0, NOT_ELIGIBLE)),
    (
        "region",
        prog(1, region_prefix="3607"),
        person(roster=[1], region=None),
        8900,
        (0, OUTSIDE_REGION),
    ),
    (
        "insurance type",
        prog(1, insurance_types={"employee"}),
        person(roster=[1], itype=None),
        8900,
        (0, INSURANCE_TYPE),
    ),
    ("nothing due", prog(1), person(roster=[1]), 0, (0, NOTHING_DUE)),
    (
        "0.01% of 4999 rounds to 0",
        prog(1, rule=FundingRule.percentage(1)),
        person(roster=[1]),
        4999,
        (0, NOTHING_DUE),
    ),
]


@pytest.mark.parametrize(
    "programme, facts, premium, expected", [pytest.param(*row[1:], id=row[0]) for row in REASONS]
)
def test_decide_says_why(programme, facts, premium, expected):
    decision = decide(programme, facts, premium, TODAY, plan_year=YEAR)
    assert (decision.amount_fen, decision.reason) == expected
    assert decision.programme_id == programme.id


BAD_PROGRAMMES = [
    pytest.param(dict(funder_kind="church"), "programme_funder_kind", id="unknown kind"),
    pytest.param(dict(status="draft"), "programme_status", id="unknown status"),
    pytest.param(
        dict(starts_on=date(2027, 1, 1), ends_on=date(2026, 1, 1)),
        "programme_dates",
        id="ends first",
    ),
    pytest.param(dict(budget_remaining_fen=-1), "programme_budget", id="negative budget"),
    pytest.param(dict(quota_remaining=-1), "programme_quota", id="negative quota"),
    pytest.param(dict(region_prefix="36a7"), "programme_region", id="region letters"),
    pytest.param(
        dict(insurance_types={"commercial"}), "programme_insurance_type", id="insurance type"
    ),
]


@pytest.mark.parametrize("changes, code", BAD_PROGRAMMES)
def test_bad_programmes_are_refused(changes, code):
    with pytest.raises(RuleError) as caught:
        replace(prog(1), **changes)
    assert caught.value.code == code


@pytest.mark.parametrize(
    "make, code",
    [
        (lambda: Eligibility(), "eligibility_empty"),
        (lambda: Eligibility.by_categories("poor"), "eligibility_category"),
        (lambda: Eligibility(roster=True, require_both=True), "eligibility_require_both"),
    ],
)
def test_bad_eligibility_is_refused(make, code):
    with pytest.raises(RuleError) as caught:
        make()
    assert caught.value.code == code


def test_negative_premium_is_refused():
    with pytest.raises(RuleError):
        match_offers([prog(1)], person(roster=[1]), -1, TODAY, plan_year=YEAR)


def test_categories_are_the_bureau_ones():
    assert KNOWN_CATEGORIES == {
        "dibao",
        "tekun",
        "low_income",
        "poverty_watch",
        "entitled_group",
        "disabled",
    }


def test_offers_flow_through_a_quote():
    """match_offers -> quote(): relief 50% of 99 yuan = 4950, charity the other 4950, pay 0."""
    product = ProductDefinition(
        code="gz-2027",
        name="赣州惠民保",
        plan_year=YEAR,
        region_prefix="3607",
        window_opens=date(2026, 10, 1),
        window_closes=date(2026, 12, 31),
        coverage_starts=date(2027, 1, 1),
        coverage_ends=date(2027, 12, 31),
        premium_default_fen=9900,
        premium_rules=(),
        insured_relations=("self",),
        payment_methods=("personal_account", "wechat", "sponsor"),
        family_pool_relations=("self",),
        refund=RefundRule(within_days=15),
        terms=Terms("2027.1", "条款", "..."),
        buckets=(
            Bucket(
                code="in",
                name="医保内",
                counts=("in_policy_self_pay",),
                deductible_fen=1500000,
                ratio_healthy_bp=7500,
                ratio_pre_existing_bp=5000,
                cap_fen=150000000,
            ),
        ),
    )
    programmes = [
        prog(2, "charity"),
        prog(1, "relief_fund", FundingRule.percentage(5000), cats("dibao")),
    ]
    offers = match_offers(programmes, person(["dibao"], roster=[2]), 9900, TODAY, plan_year=YEAR)
    q = quote(
        product,
        TODAY,
        Payer("resident", "active", False),
        [Candidate(1, "self", date(1960, 5, 1), "resident", "active", "360702", False)],
        offers,
    )
    line = q.lines[0]
    assert [(s.programme_id, s.funder_kind, s.amount_fen) for s in line.subsidies] == [
        (1, "relief_fund", 4950),
        (2, "charity", 4950),
    ]
    assert (q.total_subsidy_fen, q.total_pay_fen, q.payment_methods) == (9900, 0, ())


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------
rules = st.one_of(
    st.just(FULL),
    st.integers(1, 20000).map(FundingRule.fixed),
    st.integers(1, 10000).map(FundingRule.percentage),
)
eligibilities = st.one_of(
    st.just(ROSTER),
    st.sets(st.sampled_from(sorted(KNOWN_CATEGORIES)), min_size=1).map(frozenset).map(Eligibility),
    st.sets(st.sampled_from(sorted(KNOWN_CATEGORIES)), min_size=1).flatmap(
        lambda c: st.booleans().map(lambda both: Eligibility(True, frozenset(c), both))
    ),
)


@st.composite
def programmes(draw):
    pid = draw(st.integers(1, 50))
    start = draw(st.dates(date(2026, 9, 1), date(2026, 12, 31)))
    return Programme(
        id=pid,
        funder_name=f"f{pid}",
        funder_kind=draw(st.sampled_from(FUNDER_KIND_PRIORITY)),
        eligibility=draw(eligibilities),
        plan_year=draw(st.sampled_from([YEAR, YEAR, YEAR - 1])),
        status=draw(st.sampled_from(["active", "active", "active", "paused", "closed"])),
        starts_on=start,
        ends_on=draw(st.dates(start, date(2027, 6, 30))),
        budget_remaining_fen=draw(st.integers(0, 30000)),
        rule=draw(rules),
        quota_remaining=draw(st.one_of(st.none(), st.integers(0, 3))),
        region_prefix=draw(st.sampled_from(["", "3607", "360702", "360703"])),
        insurance_types=draw(
            st.sampled_from([frozenset(), frozenset({"employee"}), frozenset({"resident"})])
        ),
    )


people = st.builds(
    PersonFacts,
    person_id=st.integers(1, 5),
    identity_flags=st.sets(st.sampled_from(sorted(KNOWN_CATEGORIES))).map(frozenset),
    on_roster_of=st.sets(st.integers(1, 50)).map(frozenset),
    insurance_type=st.sampled_from([None, "employee", "resident"]),
    region_code=st.sampled_from([None, "360702", "360703", "360102"]),
)


@settings(max_examples=300)
@given(st.lists(programmes(), max_size=8), people, st.integers(0, 30000))
def test_applied_offers_never_exceed_the_premium(progs, facts, premium):
    offers = match_offers(progs, facts, premium, TODAY, plan_year=YEAR)
    applied = _apply_subsidies(premium, offers)
    total = sum(s.amount_fen for s in applied)
    assert 0 <= total <= premium
    assert all(s.amount_fen > 0 for s in applied)
    budgets = {}
    for p in progs:  # duplicate ids may be drawn; each offer is bounded by its own programme
        budgets.setdefault(p.id, []).append(p.budget_remaining_fen)
    for offer in offers:
        assert offer.person_id == facts.person_id
        assert 0 < offer.amount_fen <= premium
        assert offer.amount_fen <= max(budgets[offer.programme_id])
    kinds = [FUNDER_KIND_PRIORITY.index(o.funder_kind) for o in offers]
    assert kinds == sorted(kinds)


@given(st.lists(programmes(), max_size=8), people, st.integers(0, 30000))
def test_input_order_does_not_matter(progs, facts, premium):
    forward = match_offers(progs, facts, premium, TODAY, plan_year=YEAR)
    backward = match_offers(list(reversed(progs)), facts, premium, TODAY, plan_year=YEAR)
    if len({priority_key(p) for p in progs}) == len(progs):  # a total order when keys differ
        assert forward == backward
    assert sorted(forward, key=repr) == sorted(backward, key=repr)
