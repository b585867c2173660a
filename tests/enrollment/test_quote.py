"""Table-driven premium quotes (pure rules, no database). Each row is a case a person can check
by hand; the arithmetic is in the row's comment. Money in fen."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from app.enrollment.quote import Candidate, Payer, SubsidyOffer, quote
from app.products.definition import Bucket, PremiumRule, ProductDefinition, RefundRule, Terms

TODAY = date(2026, 11, 23)

PRODUCT = ProductDefinition(
    code="t-2026",
    name="测试惠民保",
    plan_year=2026,
    region_prefix="3607",
    window_opens=date(2025, 10, 1),
    window_closes=date(2026, 12, 31),
    coverage_starts=date(2026, 1, 1),
    coverage_ends=date(2026, 12, 31),
    premium_default_fen=8900,
    premium_rules=(
        PremiumRule(premium_fen=5900, max_age=17),  # children 59 yuan
        PremiumRule(premium_fen=12900, min_age=80),  # 80+ 129 yuan
        PremiumRule(premium_fen=9900, insurance_type="resident"),  # resident adults 99 yuan
    ),
    insured_relations=("self", "spouse", "child", "parent"),
    payment_methods=("personal_account", "wechat", "sponsor"),
    family_pool_relations=("self", "spouse", "child", "parent"),
    refund=RefundRule(within_days=15),
    terms=Terms("2026.1", "条款", "..."),
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
EMPLOYEE = Payer("employee", "active", True)
RESIDENT = Payer("resident", "active", False)


def person(
    pid=1,
    relation="self",
    born=date(1985, 3, 12),
    itype="employee",
    status="active",
    region="360702",
    insured=False,
):
    return Candidate(pid, relation, born, itype, status, region, insured)


CASES = [
    # id, payer, candidates, offers, expected (eligible list, premiums, subsidies, pays), totals (premium, subsidy, pay), methods
    (
        "employee self: default 89 yuan",
        EMPLOYEE,
        [person()],
        [],
        [(True, 8900, 0, 8900)],
        (8900, 0, 8900),
        ("personal_account", "wechat"),
    ),
    (
        "resident adult pays the resident rule: 99 yuan",
        RESIDENT,
        [person(itype="resident")],
        [],
        [(True, 9900, 0, 9900)],
        (9900, 0, 9900),
        ("wechat",),
    ),
    (
        "child aged 7 on 2026-01-01: 59 yuan; family 8900 + 5900 = 14800",
        EMPLOYEE,
        [person(), person(2, "child", date(2019, 6, 1), "resident")],
        [],
        [(True, 8900, 0, 8900), (True, 5900, 0, 5900)],
        (14800, 0, 14800),
        ("personal_account", "wechat"),
    ),
    (
        "aged 80 on 1 Jan (born 1945-12-31 -> 80): 129 yuan",
        EMPLOYEE,
        [person(2, "parent", date(1945, 12, 31), "resident")],
        [],
        [(True, 12900, 0, 12900)],
        (12900, 0, 12900),
        ("personal_account", "wechat"),
    ),
    (
        "aged 79 on 1 Jan (born 1946-01-02 -> 79): resident rule 99 yuan",
        EMPLOYEE,
        [person(2, "parent", date(1946, 1, 2), "resident")],
        [],
        [(True, 9900, 0, 9900)],
        (9900, 0, 9900),
        ("personal_account", "wechat"),
    ),
    (
        "suspended basic insurance is not eligible; total 0",
        EMPLOYEE,
        [person(status="suspended")],
        [],
        [(False, 8900, 0, 0)],
        (0, 0, 0),
        (),
    ),
    (
        "insured outside the city (Nanchang 360102) is not eligible",
        EMPLOYEE,
        [person(region="360102")],
        [],
        [(False, 8900, 0, 0)],
        (0, 0, 0),
        (),
    ),
    (
        "already insured this year; the other person still quoted: 8900",
        EMPLOYEE,
        [person(insured=True), person(2, "spouse", date(1987, 8, 21))],
        [],
        [(False, 8900, 0, 0), (True, 8900, 0, 8900)],
        (8900, 0, 8900),
        ("personal_account", "wechat"),
    ),
    (
        "sibling not in the product's relations",
        EMPLOYEE,
        [person(2, "sibling")],
        [],
        [(False, 8900, 0, 0)],
        (0, 0, 0),
        (),
    ),
    (
        "full subsidy 8900 of 8900: nothing to pay, the sponsor pays",
        RESIDENT,
        [person(itype="resident")],
        [SubsidyOffer(1, 7, "市民政局", "relief_fund", 9900)],
        [(True, 9900, 9900, 0)],
        (9900, 9900, 0),
        (),  # nothing to pay: no method (the subsidies are on the lines)
    ),
    (
        "partial subsidy 5000 of 9900: remainder 4900 by WeChat",
        RESIDENT,
        [person(itype="resident")],
        [SubsidyOffer(1, 7, "慈善总会", "charity", 5000)],
        [(True, 9900, 5000, 4900)],
        (9900, 5000, 4900),
        ("wechat",),
    ),
    (
        "two funders in priority order: 6000 then 5000 capped to the 3900 left",
        EMPLOYEE,
        [person(itype="resident")],
        [SubsidyOffer(1, 7, "A", "relief_fund", 6000), SubsidyOffer(1, 8, "B", "charity", 5000)],
        [(True, 9900, 9900, 0)],
        (9900, 9900, 0),
        (),  # nothing to pay: no method (the subsidies are on the lines)
    ),
    (
        "an offer for an ineligible person is not applied",
        EMPLOYEE,
        [person(status="suspended")],
        [SubsidyOffer(1, 7, "A", "relief_fund", 8900)],
        [(False, 8900, 0, 0)],
        (0, 0, 0),
        (),
    ),
]


@pytest.mark.parametrize(
    "payer,candidates,offers,lines,totals,methods",
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_quote_table(payer, candidates, offers, lines, totals, methods):
    q = quote(PRODUCT, TODAY, payer, candidates, offers)
    got = [(l.eligible, l.premium_fen, l.subsidy_fen, l.pay_fen) for l in q.lines]
    assert got == lines
    assert (q.total_premium_fen, q.total_subsidy_fen, q.total_pay_fen) == totals
    assert q.payment_methods == methods


REASON_CASES = [
    ("window closed", dict(), date(2027, 1, 1), "window_closed"),
    ("suspended", dict(status="suspended"), TODAY, "basic_insurance_suspended"),
    ("not insured", dict(itype=None, status=None), TODAY, "basic_insurance_missing"),
    ("outside region", dict(region="440305"), TODAY, "region_not_covered"),
    ("already insured", dict(insured=True), TODAY, "already_insured"),
    ("relation", dict(relation="grandchild", pid=2), TODAY, "relation_not_allowed"),
]


@pytest.mark.parametrize(
    "overrides,today,code", [c[1:] for c in REASON_CASES], ids=[c[0] for c in REASON_CASES]
)
def test_ineligibility_reasons_are_named(overrides, today, code):
    q = quote(PRODUCT, today, EMPLOYEE, [person(**overrides)])
    (line,) = q.lines
    assert not line.eligible
    assert code in [r.code for r in line.reasons]
    assert all(r.message for r in line.reasons)


def test_personal_account_only_for_employee_with_account():
    q = quote(PRODUCT, TODAY, Payer("employee", "active", False), [person()])
    assert q.payment_methods == ("wechat",)
    assert q.unavailable_methods["personal_account"].code == "personal_account_unavailable"


def test_personal_account_refused_while_payer_suspended():
    q = quote(
        PRODUCT,
        TODAY,
        Payer("employee", "suspended", True),
        [person(2, "spouse", date(1987, 8, 21))],
    )
    assert "personal_account" not in q.payment_methods
    assert q.unavailable_methods["personal_account"].code == "personal_account_suspended"


def test_family_pool_limited_to_its_relations():
    product = replace(PRODUCT, insured_relations=PRODUCT.insured_relations + ("grandparent",))
    q = quote(
        product, TODAY, EMPLOYEE, [person(), person(2, "grandparent", date(1940, 1, 1), "resident")]
    )
    assert q.total_pay_fen == 8900 + 12900  # both eligible: 89 + 129 yuan
    assert q.payment_methods == ("wechat",)
    assert q.unavailable_methods["personal_account"].code == "family_pool_relation"


# 杨洋 (born 1989-07-15, employee with an account), the member of the relatives hand walk: the
# family rule of the personal account (app/members/relation_rules.py) judges each person it
# would pay for by the two birth dates; WeChat Pay is not judged.
YANG = Payer("employee", "active", True, birth_date=date(1989, 7, 15), gender="2")
FAMILY_CASES = [
    # id, payer, candidate (relation, born), methods offered, the account's refusal
    ("a parent 29 years older: paid", YANG, ("parent", date(1960, 1, 1)), True, None),
    (
        "an 11-year-old 'parent' (born 2015): 26 years younger",
        YANG,
        ("parent", date(2015, 3, 2)),
        False,
        "family_pool_relation_implausible",
    ),
    (
        "an 88-year-old 'child' (born 1938)",
        YANG,
        ("child", date(1938, 4, 1)),
        False,
        "family_pool_relation_implausible",
    ),
    (
        "one spouse of 39 listed: paid",
        replace(YANG, spouses_listed=1),
        ("spouse", date(1987, 1, 1)),
        True,
        None,
    ),
    (
        "two spouses listed: neither is paid for from the account",
        replace(YANG, spouses_listed=2),
        ("spouse", date(1987, 1, 1)),
        False,
        "family_pool_relation_implausible",
    ),
]


@pytest.mark.parametrize(
    "payer,candidate,account,refusal",
    [c[1:] for c in FAMILY_CASES],
    ids=[c[0] for c in FAMILY_CASES],
)
def test_family_rule_of_the_personal_account(payer, candidate, account, refusal):
    relation, born = candidate
    q = quote(PRODUCT, TODAY, payer, [person(2, relation, born, "resident")])
    (line,) = q.lines
    assert line.eligible  # the person may be insured; only the account's paying is judged
    assert q.payment_methods == (("personal_account", "wechat") if account else ("wechat",))
    found = q.unavailable_methods.get("personal_account")
    assert (found.code if found else None) == refusal
