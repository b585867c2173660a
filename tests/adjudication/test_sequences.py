"""A year of claims through the accumulators, where the order of claims matters (and why),
input validation, and the engine's own hygiene (reason codes documented, no floats)."""

from __future__ import annotations

import ast
import re
from datetime import date, datetime
from pathlib import Path

import pytest

from app.adjudication import (
    Accumulators,
    BasicInsurance,
    Claim,
    ClaimLine,
    Insured,
    PolicyCover,
    SubCapKey,
    adjudicate,
    estimate,
    round_half_up_fen,
)
from app.adjudication.reasons import REASONS
from tests.adjudication.products import (
    GANZHOU,
    HEALTHY,
    HUHUIBAO,
    ROUNDING,
    Y,
    bucket,
    claim,
    line,
    make_product,
    policy_for,
)

ROOT = Path(__file__).resolve().parents[2]
HHB_DAY = date(2021, 7, 1)
DAY = date(2026, 3, 1)


def run(product, claims, insured=HEALTHY, acc=None):
    acc = acc or Accumulators()
    results = []
    for c in claims:
        result = adjudicate(product, c, policy_for(product), insured, acc)
        acc = acc.apply(result.deltas)
        results.append(result)
    return results, acc


# --- the example, end to end --------------------------------------------------------------


def test_huhuibao_pair_through_the_accumulators():
    # claim 1: 15,000 -> 0 paid, 15,000 of the 20,000 deductible used
    # claim 2: 30,000 -> 5,000 more deductible, 25,000 x 70% = 17,500
    (r1, r2), acc = run(HUHUIBAO, [claim(HHB_DAY, in_=15_000 * Y), claim(HHB_DAY, in_=30_000 * Y)])
    assert (r1.payable_fen, r2.payable_fen) == (0, 17_500 * Y)
    assert r1.decision == "payable"  # a zero payment still settles: its deltas must be applied
    assert dict(acc.deductible_used_fen) == {"in_patient": 20_000 * Y}
    assert dict(acc.eligible_fen) == {"in_patient": 45_000 * Y}
    assert dict(acc.paid_fen) == {"in_patient": 17_500 * Y}
    # pre-existing: 25,000 x 50% = 12,500
    (_, r2p), _ = run(
        HUHUIBAO,
        [claim(HHB_DAY, in_=15_000 * Y), claim(HHB_DAY, in_=30_000 * Y)],
        Insured(health="pre_existing"),
    )
    assert r2p.payable_fen == 12_500 * Y


def test_estimate_is_the_engine_against_current_accumulators():
    (r1,), acc = run(HUHUIBAO, [claim(HHB_DAY, in_=15_000 * Y)])
    second = claim(HHB_DAY, in_=30_000 * Y)
    quote = estimate(HUHUIBAO, second, policy_for(HUHUIBAO), HEALTHY, acc)
    assert quote.payable_fen == 17_500 * Y
    # estimating applied nothing: settling now gives the same result
    assert adjudicate(HUHUIBAO, second, policy_for(HUHUIBAO), HEALTHY, acc) == quote


# --- caps across claims ---------------------------------------------------------------------------


def test_cap_reached_exactly_then_exhausted():
    # ROUNDING product: 50%, no deductible, cap 1,000,000.
    # 1,000,000 x 50% = 500,000; again 500,000 -> exactly 1,000,000; then 10 x 50% = 5 -> 0
    results, acc = run(
        ROUNDING,
        [claim(DAY, in_=1_000_000 * Y), claim(DAY, in_=1_000_000 * Y), claim(DAY, in_=10 * Y)],
    )
    assert [r.payable_fen for r in results] == [500_000 * Y, 500_000 * Y, 0]
    assert "cap_applied" not in results[1].reason_codes
    assert "cap_applied" in results[2].reason_codes
    assert acc.paid_fen["in_policy"] == 1_000_000 * Y


def test_cap_exceeded_across_claims():
    # 1,200,000 x 50% = 600,000; 1,000,000 x 50% = 500,000 -> 400,000 left -> 400,000
    results, acc = run(ROUNDING, [claim(DAY, in_=1_200_000 * Y), claim(DAY, in_=1_000_000 * Y)])
    assert [r.payable_fen for r in results] == [600_000 * Y, 400_000 * Y]
    assert acc.paid_fen["in_policy"] == 1_000_000 * Y


def test_annual_cap_binding_does_not_make_order_matter():
    # one bucket, own deductible: the year total is min(cap, uncapped total) in any order
    a, b = claim(DAY, in_=1_500_000 * Y), claim(DAY, in_=700_000 * Y)
    first, _ = run(ROUNDING, [a, b])
    second, _ = run(ROUNDING, [b, a])
    assert sum(r.payable_fen for r in first) == sum(r.payable_fen for r in second) == 1_000_000 * Y


# --- where the order of claims matters ------------------------------------------------------------


def test_order_matters_when_a_shared_deductible_spans_different_ratios():
    # 赣州: in-policy 75% and out-of-policy 60% share the 15,000 deductible.
    # in 15,000 first: it takes the deductible, then out 15,000 x 60% = 9,000
    # out 15,000 first: it takes the deductible, then in 15,000 x 75% = 11,250
    a = claim(DAY, in_=15_000 * Y)
    b = claim(DAY, out=15_000 * Y, lines=(line("A", 15_000 * Y),))
    first, _ = run(GANZHOU, [a, b])
    second, _ = run(GANZHOU, [b, a])
    assert sum(r.payable_fen for r in first) == 9_000 * Y
    assert sum(r.payable_fen for r in second) == 11_250 * Y


def test_order_matters_when_a_per_admission_sub_cap_binds():
    # deductible 20,000, 100%, 10,000 per admission.
    # A1 100,000 first: 80,000 -> 10,000; A2 20,000 -> 10,000; year 20,000
    # A2 20,000 first: all deductible -> 0; A1 100,000 -> 10,000; year 10,000
    product = make_product(
        bucket(
            "in_policy",
            ["in_policy_self_pay"],
            deductible=20_000 * Y,
            healthy=10000,
            pre=10000,
            cap=1_000_000 * Y,
            sub_caps=[
                {"code": "adm", "name": "单次住院限额", "cap_fen": 10_000 * Y, "per": "admission"}
            ],
        )
    )
    a = claim(DAY, in_=100_000 * Y, admission="A1")
    b = claim(DAY, in_=20_000 * Y, admission="A2")
    first, acc = run(product, [a, b])
    second, _ = run(product, [b, a])
    assert sum(r.payable_fen for r in first) == 20_000 * Y
    assert sum(r.payable_fen for r in second) == 10_000 * Y
    assert acc.sub_cap_used_fen[SubCapKey("in_policy", "adm", "A1")] == 10_000 * Y


def test_order_matters_by_rounding_only_otherwise():
    # 50%: 0.01 then 0.01 -> 1 + 1 = 2 fen; the same money in one claim 0.02 -> 1 fen
    split, _ = run(ROUNDING, [claim(DAY, in_=1), claim(DAY, in_=1)])
    whole, _ = run(ROUNDING, [claim(DAY, in_=2)])
    assert [r.payable_fen for r in split] == [1, 1]
    assert whole[0].payable_fen == 1


# --- money ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "numerator,denominator,expected",
    [
        (5, 10, 1),  # 0.5 -> 1
        (49, 100, 0),  # 0.49 -> 0
        (15, 10, 2),  # 1.5 -> 2
        (25, 10, 3),  # 2.5 -> 3 (banker's would say 2)
        (0, 10_000, 0),
        (17_500_007_000, 10_000, 1_750_001),  # 17,500.007 yuan -> 17,500.01
        (12_500_005_000, 10_000, 1_250_001),  # 12,500.005 yuan -> 12,500.01
        (9_999, 10_000, 1),
        (4_999, 10_000, 0),
    ],
)
def test_round_half_up_fen(numerator, denominator, expected):
    assert round_half_up_fen(numerator, denominator) == expected


@pytest.mark.parametrize(
    "args,error",
    [
        ((1.5, 1), TypeError),
        ((1, 2.0), TypeError),
        ((True, 1), TypeError),
        ((-1, 10), ValueError),
        ((1, 0), ValueError),
    ],
)
def test_round_half_up_fen_rejects(args, error):
    with pytest.raises(error):
        round_half_up_fen(*args)


# --- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"in_policy_self_pay_fen": -1},
        {"in_policy_self_pay_fen": 1.0},
        {"hifp_pay_fen": True},
        {"care_kind": "outpatient"},
        {"care_date": datetime(2026, 3, 1, 8, 0)},
        {"admission_id": ""},
    ],
)
def test_claim_validation(change):
    fields = dict(care_kind="in_patient", care_date=DAY, medfee_sumamt_fen=0)
    fields.update(change)
    with pytest.raises(ValueError):
        Claim(**fields)


def test_other_validation():
    with pytest.raises(ValueError):
        ClaimLine("X", 100, on_commercial_list=1)
    with pytest.raises(ValueError):
        ClaimLine("*", 100, on_commercial_list=True)
    with pytest.raises(ValueError):
        ClaimLine("X", 100, True, amount_kind="Dental care")  # not a kind code
    with pytest.raises(ValueError):  # a kind code the product does not declare
        adjudicate(
            GANZHOU,
            Claim(
                care_kind="in_patient",
                care_date=DAY,
                medfee_sumamt_fen=100,
                lines=(ClaimLine("X", 100, True, amount_kind="dental"),),
            ),
            PolicyCover(DAY, DAY),
            Insured(),
        )
    with pytest.raises(ValueError):
        adjudicate(
            GANZHOU,
            Claim(
                care_kind="in_patient",
                care_date=DAY,
                medfee_sumamt_fen=100,
                other_amounts_fen={"dental": 100},
            ),
            PolicyCover(DAY, DAY),
            Insured(),
        )
    with pytest.raises(ValueError):
        PolicyCover(DAY, DAY, status="lapsed")
    with pytest.raises(ValueError):
        BasicInsurance(suspended_until=DAY)
    with pytest.raises(ValueError):
        Insured(health="sick")
    with pytest.raises(ValueError):
        Accumulators(paid_fen={"in_policy": -1})
    with pytest.raises(ValueError):
        Accumulators(sub_cap_used_fen={("a", "b"): 1})
    acc = Accumulators(paid_fen={"x": 1})
    with pytest.raises(TypeError):
        acc.paid_fen["x"] = 2  # read-only


def test_colliding_deductible_keys_are_refused():
    product = make_product(
        bucket("main", ["in_policy_self_pay"], deductible=100, healthy=5000, pre=5000, cap=10**6),
        bucket(
            "other",
            ["out_of_policy_self_pay"],
            deductible=100,
            healthy=5000,
            pre=5000,
            cap=10**6,
            deductible_group="main",
        ),
    )
    with pytest.raises(ValueError):
        adjudicate(product, claim(DAY, in_=100), policy_for(product), HEALTHY)


# --- hygiene --------------------------------------------------------------------------------------


def test_every_reason_code_is_documented():
    doc = (ROOT / "docs" / "adjudication.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", doc, flags=re.M))
    assert documented == set(REASONS)
    for effect, zh, en in REASONS.values():
        assert effect in ("info", "deny", "review") and zh and en


def test_no_float_in_the_engine():
    for path in (ROOT / "app" / "adjudication").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            assert not (isinstance(node, ast.Constant) and isinstance(node.value, float)), path
            assert not isinstance(node, ast.Div), f"true division in {path.name}:{node.lineno}"
            assert not (isinstance(node, ast.Name) and node.id in ("float", "Decimal", "round")), (
                f"{node.id} in {path.name}:{node.lineno}"
            )
