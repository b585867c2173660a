"""Hand-computed adjudication cases, one row per case; each row's comment is the arithmetic in
yuan. Products: the shipped 沪惠保 2021 and 赣州 demo TOMLs, and products built in
tests/adjudication/products.py (惠州 2013, 北京普惠健康保, Shaanxi-style tiers, sub-caps, rounding,
renewal)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pytest

from app.adjudication import (
    Accumulators,
    Claim,
    Insured,
    PolicyCover,
    SubCapKey,
    adjudicate,
    estimate,
)
from app.adjudication.reasons import REASONS
from app.catalogues import demo_data
from app.catalogues.matching import FeeLine, match_lines
from app.products.definition import ProductDefinition
from tests.adjudication.products import (
    BEIJING,
    CAR_T,
    GANZHOU,
    HEALTHY,
    HUHUIBAO,
    HUIZHOU_2013,
    NO_CAP,
    PRE,
    RENEWAL,
    ROUNDING,
    SHAANXI,
    SUBCAPS,
    TIERS_ABOVE,
    BasicInsurance,
    Y,
    acc,
    claim,
    drug,
    line,
    policy_for,
)


def _matched(*fee_lines: FeeLine):
    """Fee lines -> the engine's ClaimLines through the matcher, on the demo catalogues."""
    return match_lines(
        fee_lines,
        care_date=date(2026, 3, 1),
        commercial=demo_data.DEMO_COMMERCIAL_CATALOGUE,
        special_drugs=demo_data.DEMO_SPECIAL_DRUG_CATALOGUE,
        dispensed_at=(demo_data.GANNAN_FIRST_HOSPITAL,),
    ).claim_lines


def _self_paid(sn: str, code: str, cnt: int, price_yuan: int) -> FeeLine:
    fen = cnt * price_yuan * 100
    return FeeLine(
        feedetl_sn=sn,
        med_list_codg=code,
        chrgitm_lv="03",
        cnt=cnt,
        pric_fen=price_yuan * 100,
        det_item_fee_sumamt_fen=fen,
        fulamt_ownpay_amt_fen=fen,
    )


HHB_DAY = date(2021, 7, 1)  # inside 沪惠保 2021 cover (2021-06-01 .. 2022-05-31)
DAY = date(2026, 3, 1)  # inside the 2026 products' cover


@dataclass
class Case:
    product: ProductDefinition
    claim: Claim
    payable: int  # expected payable, fen
    insured: Insured = HEALTHY
    accum: Accumulators = field(default_factory=Accumulators)
    policy_status: str = "active"
    decision: str = "payable"
    codes: tuple[str, ...] = ()  # must be among the reason codes
    absent: tuple[str, ...] = ()  # must not be
    buckets: dict[str, int] | None = None  # bucket -> payable fen (exactly these buckets)
    paid: dict | None = None  # expected deltas (each compared exactly if given)
    eligible: dict | None = None
    deductible: dict | None = None
    sub_caps: dict | None = None
    above: dict | None = None  # expected above-deductible deltas


def K(bucket: str, sub_cap: str, scope: str) -> SubCapKey:
    return SubCapKey(bucket, sub_cap, scope)


CASES = [
    # ---- 沪惠保 2021: in-patient bucket counts in- and out-of-policy, deductible 20,000, 70%/50% --
    # claim 1: in-policy self-pay 15,000 < deductible 20,000 -> all 15,000 absorbed, pays 0
    pytest.param(
        Case(
            HUHUIBAO,
            claim(HHB_DAY, in_=15_000 * Y, hifp=50_000 * Y),
            0,
            codes=("deductible_applied",),
            paid={},
            eligible={"in_patient": 15_000 * Y},
            deductible={"in_patient": 15_000 * Y},
        ),
        id="hhb-claim1-under-deductible",
    ),
    # claim 2: 30,000; deductible left 20,000 - 15,000 = 5,000 -> 25,000 x 70% = 17,500
    pytest.param(
        Case(
            HUHUIBAO,
            claim(HHB_DAY, in_=30_000 * Y),
            17_500 * Y,
            accum=acc(deductible={"in_patient": 15_000 * Y}, eligible={"in_patient": 15_000 * Y}),
            paid={"in_patient": 17_500 * Y},
            eligible={"in_patient": 30_000 * Y},
            deductible={"in_patient": 5_000 * Y},
        ),
        id="hhb-claim2-crosses-deductible",
    ),
    # the same claim 2, pre-existing: 25,000 x 50% = 12,500
    pytest.param(
        Case(
            HUHUIBAO,
            claim(HHB_DAY, in_=30_000 * Y),
            12_500 * Y,
            insured=PRE,
            accum=acc(deductible={"in_patient": 15_000 * Y}, eligible={"in_patient": 15_000 * Y}),
            deductible={"in_patient": 5_000 * Y},
        ),
        id="hhb-claim2-pre-existing",
    ),
    # in 10,000 + out 15,000 in one bucket (no list needed) = 25,000; - 20,000 = 5,000 x 70% = 3,500
    pytest.param(
        Case(
            HUHUIBAO,
            claim(HHB_DAY, in_=10_000 * Y, out=15_000 * Y),
            3_500 * Y,
            codes=("commercial_list_not_required",),
            buckets={"in_patient": 3_500 * Y},
        ),
        id="hhb-in-and-out-of-policy-one-bucket",
    ),
    # special drugs 50,000 without itemised lines, list required -> 0, nothing accumulates
    pytest.param(
        Case(
            HUHUIBAO,
            claim(HHB_DAY, sp=50_000 * Y),
            0,
            codes=("commercial_list_unverifiable",),
            paid={},
            eligible={},
            deductible={},
            buckets={"special_drugs": 0},
        ),
        id="hhb-special-drugs-not-itemised",
    ),
    # drug A 30,000 on the list, drug B 20,000 not: 30,000 x 70% = 21,000 (no deductible)
    pytest.param(
        Case(
            HUHUIBAO,
            claim(
                HHB_DAY, sp=50_000 * Y, lines=(drug("A", 30_000 * Y), drug("B", 20_000 * Y, False))
            ),
            21_000 * Y,
            codes=("commercial_list_itemised", "deductible_none"),
            eligible={"special_drugs": 30_000 * Y},
        ),
        id="hhb-special-drugs-itemised",
    ),
    # the same, pre-existing: 30,000 x 30% = 9,000
    pytest.param(
        Case(
            HUHUIBAO,
            claim(
                HHB_DAY, sp=50_000 * Y, lines=(drug("A", 30_000 * Y), drug("B", 20_000 * Y, False))
            ),
            9_000 * Y,
            insured=PRE,
        ),
        id="hhb-special-drugs-pre-existing",
    ),
    # proton cap 300,000, 280,000 paid: 50,000 x 70% = 35,000 -> 20,000 left -> 20,000
    pytest.param(
        Case(
            HUHUIBAO,
            claim(HHB_DAY, proton=50_000 * Y),
            20_000 * Y,
            accum=acc(paid={"proton_heavy_ion": 280_000 * Y}),
            codes=("cap_applied",),
            paid={"proton_heavy_ion": 20_000 * Y},
        ),
        id="hhb-proton-cap-exceeded",
    ),
    # 265,000 paid: 35,000 fits exactly (265,000 + 35,000 = 300,000), no cut
    pytest.param(
        Case(
            HUHUIBAO,
            claim(HHB_DAY, proton=50_000 * Y),
            35_000 * Y,
            accum=acc(paid={"proton_heavy_ion": 265_000 * Y}),
            absent=("cap_applied",),
        ),
        id="hhb-proton-cap-reached-exactly",
    ),
    # 300,000 paid: nothing left -> 0, but the spend still counts as eligible spend
    pytest.param(
        Case(
            HUHUIBAO,
            claim(HHB_DAY, proton=50_000 * Y),
            0,
            accum=acc(paid={"proton_heavy_ion": 300_000 * Y}),
            codes=("cap_applied",),
            paid={},
            eligible={"proton_heavy_ion": 50_000 * Y},
        ),
        id="hhb-proton-cap-exhausted",
    ),
    # ---- coverage dates (沪惠保 cover 2021-06-01 .. 2022-05-31, inclusive) ----------------------
    # 2021-05-31 is one day before cover: not payable, nothing accumulates
    pytest.param(
        Case(
            HUHUIBAO,
            claim(date(2021, 5, 31), in_=30_000 * Y),
            0,
            decision="not_payable",
            codes=("care_outside_coverage",),
            paid={},
            eligible={},
            deductible={},
        ),
        id="date-day-before-coverage",
    ),
    # first day: 30,000 - 20,000 = 10,000 x 70% = 7,000
    pytest.param(
        Case(
            HUHUIBAO,
            claim(date(2021, 6, 1), in_=30_000 * Y),
            7_000 * Y,
            codes=("care_within_coverage",),
        ),
        id="date-first-day-of-coverage",
    ),
    # last day: the same 7,000
    pytest.param(
        Case(HUHUIBAO, claim(date(2022, 5, 31), in_=30_000 * Y), 7_000 * Y),
        id="date-last-day-of-coverage",
    ),
    # 2022-06-01 is one day after cover: not payable
    pytest.param(
        Case(
            HUHUIBAO,
            claim(date(2022, 6, 1), in_=30_000 * Y),
            0,
            decision="not_payable",
            codes=("care_outside_coverage",),
        ),
        id="date-day-after-coverage",
    ),
    # ---- basic insurance on the date of care, policy status --------------------------------------
    # suspended since 2021-06-20 (open-ended), care 2021-07-01: not payable
    pytest.param(
        Case(
            HUHUIBAO,
            claim(HHB_DAY, in_=30_000 * Y),
            0,
            decision="not_payable",
            insured=Insured(BasicInsurance("suspended", date(2021, 6, 20))),
            codes=("basic_insurance_suspended",),
            eligible={},
        ),
        id="basic-suspended-on-care-date",
    ),
    # suspended 06-10 .. 06-20 and restored; care 07-01: payable, 10,000 x 70% = 7,000
    pytest.param(
        Case(
            HUHUIBAO,
            claim(HHB_DAY, in_=30_000 * Y),
            7_000 * Y,
            insured=Insured(BasicInsurance("active", date(2021, 6, 10), date(2021, 6, 20))),
            codes=("basic_insurance_active",),
        ),
        id="basic-restored-before-care",
    ),
    # restored now, but care 07-01 fell inside the suspension 06-10 .. 07-10: not payable
    pytest.param(
        Case(
            HUHUIBAO,
            claim(HHB_DAY, in_=30_000 * Y),
            0,
            decision="not_payable",
            insured=Insured(BasicInsurance("active", date(2021, 6, 10), date(2021, 7, 10))),
            codes=("basic_insurance_suspended",),
        ),
        id="basic-care-inside-past-suspension",
    ),
    # suspended from 2021-08-01, care 07-01 was before it: payable 7,000
    pytest.param(
        Case(
            HUHUIBAO,
            claim(HHB_DAY, in_=30_000 * Y),
            7_000 * Y,
            insured=Insured(BasicInsurance("suspended", date(2021, 8, 1))),
        ),
        id="basic-suspended-after-care",
    ),
    # surrendered policy: not payable
    pytest.param(
        Case(
            HUHUIBAO,
            claim(HHB_DAY, in_=30_000 * Y),
            0,
            policy_status="surrendered",
            decision="not_payable",
            codes=("policy_not_active",),
        ),
        id="policy-surrendered",
    ),
    # every failing check is reported, not only the first
    pytest.param(
        Case(
            HUHUIBAO,
            claim(date(2022, 6, 1), in_=30_000 * Y),
            0,
            policy_status="void",
            insured=Insured(BasicInsurance("suspended")),
            decision="not_payable",
            codes=("care_outside_coverage", "basic_insurance_suspended", "policy_not_active"),
        ),
        id="all-eligibility-failures-reported",
    ),
    # ---- 惠州 2013: in-policy self-pay above 10,000 a year at 95% --------------------------------
    # 25,000 - 10,000 = 15,000 x 95% = 14,250
    pytest.param(
        Case(HUIZHOU_2013, claim(DAY, in_=25_000 * Y, hifp=75_000 * Y), 14_250 * Y),
        id="huizhou-above-10000",
    ),
    # 8,000 counted earlier: 6,000 now -> 2,000 to the deductible, 4,000 x 95% = 3,800
    pytest.param(
        Case(
            HUIZHOU_2013,
            claim(DAY, in_=6_000 * Y),
            3_800 * Y,
            accum=acc(deductible={"in_policy": 8_000 * Y}, eligible={"in_policy": 8_000 * Y}),
            deductible={"in_policy": 2_000 * Y},
        ),
        id="huizhou-second-claim",
    ),
    # 9,999.99 < 10,000: pays 0
    pytest.param(
        Case(HUIZHOU_2013, claim(DAY, in_=999_999), 0, deductible={"in_policy": 999_999}),
        id="huizhou-just-below",
    ),
    # ---- 北京普惠健康保 (in-policy deductible picked: 10,000) -------------------------------------
    # in-policy 50,000 - 10,000 = 40,000 x 80% = 32,000
    pytest.param(Case(BEIJING, claim(DAY, in_=50_000 * Y), 32_000 * Y), id="beijing-in-healthy"),
    # pre-existing: 40,000 x 40% = 16,000
    pytest.param(
        Case(BEIJING, claim(DAY, in_=50_000 * Y), 16_000 * Y, insured=PRE),
        id="beijing-in-pre-existing",
    ),
    # out-of-policy 50,000 - 20,000 = 30,000 x 70% = 21,000
    pytest.param(Case(BEIJING, claim(DAY, out=50_000 * Y), 21_000 * Y), id="beijing-out-healthy"),
    # pre-existing deductible 40,000: 50,000 - 40,000 = 10,000 x 35% = 3,500
    pytest.param(
        Case(
            BEIJING,
            claim(DAY, out=50_000 * Y),
            3_500 * Y,
            insured=PRE,
            codes=("deductible_pre_existing",),
            deductible={"out_of_policy": 40_000 * Y},
        ),
        id="beijing-out-pre-existing",
    ),
    # special drugs 1,000,000 listed: (1,000,000 - 20,000) x 60% = 588,000 -> cap 500,000
    pytest.param(
        Case(
            BEIJING,
            claim(DAY, sp=1_000_000 * Y, lines=(drug("PD1", 1_000_000 * Y),)),
            500_000 * Y,
            codes=("cap_applied",),
        ),
        id="beijing-special-drugs-cap",
    ),
    # pre-existing: (100,000 - 40,000) x 30% = 18,000
    pytest.param(
        Case(
            BEIJING,
            claim(DAY, sp=100_000 * Y, lines=(drug("PD1", 100_000 * Y),)),
            18_000 * Y,
            insured=PRE,
        ),
        id="beijing-special-drugs-pre-existing",
    ),
    # three own deductibles: in (30,000-10,000) x 80% = 16,000; out (30,000-20,000) x 70% = 7,000;
    # drugs (30,000-20,000) x 60% = 6,000; total 29,000
    pytest.param(
        Case(
            BEIJING,
            claim(
                DAY, in_=30_000 * Y, out=30_000 * Y, sp=30_000 * Y, lines=(drug("PD1", 30_000 * Y),)
            ),
            29_000 * Y,
            buckets={
                "in_policy": 16_000 * Y,
                "out_of_policy": 7_000 * Y,
                "special_drugs": 6_000 * Y,
            },
            deductible={
                "in_policy": 10_000 * Y,
                "out_of_policy": 20_000 * Y,
                "special_drugs": 20_000 * Y,
            },
        ),
        id="beijing-three-buckets",
    ),
    # ---- 赣州 demo: shared deductible group "main" 15,000; in 75%/50% (85%/60% above 100,000);
    #      out 60%/30% on the commercial list; special drugs 70%/30%, 200,000 per drug ------------
    # in 10,000 absorbed (bucket order), out 20,000: 5,000 absorbed, 15,000 x 60% = 9,000
    pytest.param(
        Case(
            GANZHOU,
            claim(DAY, in_=10_000 * Y, out=20_000 * Y, lines=(line("OUT1", 20_000 * Y),)),
            9_000 * Y,
            buckets={"in_policy": 0, "out_of_policy": 9_000 * Y},
            deductible={"main": 15_000 * Y},
        ),
        id="ganzhou-shared-deductible-group",
    ),
    # group met earlier by out-of-policy spend: in 20,000 x 75% = 15,000
    pytest.param(
        Case(
            GANZHOU,
            claim(DAY, in_=20_000 * Y),
            15_000 * Y,
            accum=acc(deductible={"main": 15_000 * Y}, eligible={"out_of_policy": 15_000 * Y}),
            codes=("deductible_already_met",),
            deductible={},
        ),
        id="ganzhou-group-met-by-other-bucket",
    ),
    # in 120,000: 15,000 deductible; (100,000-15,000) x 75% = 63,750; 20,000 x 85% = 17,000;
    # 80,750
    pytest.param(
        Case(
            GANZHOU,
            claim(DAY, in_=120_000 * Y),
            80_750 * Y,
            codes=("ratio_applied", "tier_applied"),
        ),
        id="ganzhou-tier-crossing",
    ),
    # docs/adjudication.md example 2: in 120,000 + out 20,000 (A 12,000 listed, B 8,000 not);
    # in: 15,000 deductible, 85,000 x 75% = 63,750, 20,000 x 85% = 17,000 -> 80,750;
    # out: deductible already met by in-policy, 12,000 x 60% = 7,200; total 87,950
    pytest.param(
        Case(
            GANZHOU,
            claim(
                DAY,
                in_=120_000 * Y,
                out=20_000 * Y,
                hifp=180_000 * Y,
                lines=(line("A", 12_000 * Y), line("B", 8_000 * Y, False)),
            ),
            87_950 * Y,
            buckets={"in_policy": 80_750 * Y, "out_of_policy": 7_200 * Y},
            codes=("deductible_already_met", "tier_applied"),
            deductible={"main": 15_000 * Y},
            eligible={"in_policy": 120_000 * Y, "out_of_policy": 12_000 * Y},
        ),
        id="doc-example-ganzhou",
    ),
    # pre-existing: 85,000 x 50% = 42,500; 20,000 x 60% = 12,000; 54,500
    pytest.param(
        Case(GANZHOU, claim(DAY, in_=120_000 * Y), 54_500 * Y, insured=PRE),
        id="ganzhou-tier-crossing-pre-existing",
    ),
    # 150,000 already counted: 10,000 all above 100,000 -> 10,000 x 85% = 8,500
    pytest.param(
        Case(
            GANZHOU,
            claim(DAY, in_=10_000 * Y),
            8_500 * Y,
            accum=acc(deductible={"main": 15_000 * Y}, eligible={"in_policy": 150_000 * Y}),
            codes=("tier_applied",),
            absent=("ratio_applied",),
        ),
        id="ganzhou-tier-already-above",
    ),
    # out 30,000 without lines: unverifiable -> 0, the deductible is not consumed
    pytest.param(
        Case(
            GANZHOU,
            claim(DAY, out=30_000 * Y),
            0,
            codes=("commercial_list_unverifiable",),
            deductible={},
            eligible={},
        ),
        id="ganzhou-out-not-itemised",
    ),
    # out 30,000: A 12,000 listed, B 8,000 not, 10,000 unitemised -> 12,000 x 60% = 7,200
    pytest.param(
        Case(
            GANZHOU,
            claim(DAY, out=30_000 * Y, lines=(line("A", 12_000 * Y), line("B", 8_000 * Y, False))),
            7_200 * Y,
            accum=acc(deductible={"main": 15_000 * Y}),
            eligible={"out_of_policy": 12_000 * Y},
        ),
        id="ganzhou-out-partly-listed",
    ),
    # drug X 400,000 x 70% = 280,000 -> per-drug 200,000; drug Y 10,000 x 70% = 7,000; 207,000
    pytest.param(
        Case(
            GANZHOU,
            claim(DAY, sp=410_000 * Y, lines=(drug("X", 400_000 * Y), drug("Y", 10_000 * Y))),
            207_000 * Y,
            codes=("sub_cap_applied",),
            sub_caps={
                K("special_drugs", "per_drug", "X"): 200_000 * Y,
                K("special_drugs", "per_drug", "Y"): 7_000 * Y,
            },
        ),
        id="ganzhou-per-drug-sub-cap",
    ),
    # drug X already 150,000 paid: 100,000 x 70% = 70,000 -> 50,000 left -> 50,000
    pytest.param(
        Case(
            GANZHOU,
            claim(DAY, sp=100_000 * Y, lines=(drug("X", 100_000 * Y),)),
            50_000 * Y,
            accum=acc(
                paid={"special_drugs": 150_000 * Y},
                sub_caps={K("special_drugs", "per_drug", "X"): 150_000 * Y},
            ),
            sub_caps={K("special_drugs", "per_drug", "X"): 50_000 * Y},
        ),
        id="ganzhou-per-drug-partly-used",
    ),
    # drug X twice in one claim: 140,000 + 140,000, the second has 60,000 left: 200,000
    pytest.param(
        Case(
            GANZHOU,
            claim(DAY, sp=400_000 * Y, lines=(drug("X", 200_000 * Y), drug("X", 200_000 * Y))),
            200_000 * Y,
            sub_caps={K("special_drugs", "per_drug", "X"): 200_000 * Y},
        ),
        id="ganzhou-same-drug-twice",
    ),
    # ---- Shaanxi-style marginal tiers: deductible 10,000; 50% / 60% above 50,000 / 70% above
    #      100,000 of the year's eligible spend -------------------------------------------------
    # 40,000 counted before; 80,000 now spans 40,000..120,000:
    # 10,000 x 50% + 50,000 x 60% + 20,000 x 70% = 5,000 + 30,000 + 14,000 = 49,000
    pytest.param(
        Case(
            SHAANXI,
            claim(DAY, in_=80_000 * Y),
            49_000 * Y,
            accum=acc(deductible={"in_policy": 10_000 * Y}, eligible={"in_policy": 40_000 * Y}),
        ),
        id="shaanxi-crossing-two-thresholds",
    ),
    # from zero: 60,000 - 10,000 deductible; 40,000 x 50% + 10,000 x 60% = 20,000 + 6,000 = 26,000
    pytest.param(Case(SHAANXI, claim(DAY, in_=60_000 * Y), 26_000 * Y), id="shaanxi-from-zero"),
    # pre-existing, as the first: 10,000 x 50% + 50,000 x 55% + 20,000 x 60% = 44,500
    pytest.param(
        Case(
            SHAANXI,
            claim(DAY, in_=80_000 * Y),
            44_500 * Y,
            insured=PRE,
            accum=acc(deductible={"in_policy": 10_000 * Y}, eligible={"in_policy": 40_000 * Y}),
        ),
        id="shaanxi-crossing-pre-existing",
    ),
    # ---- sub-caps: 80%, per item 10,000, per admission 30,000, per year 50,000, cap 100,000 ----
    # P 20,000 x 80% = 16,000 -> item cap 10,000; Q 5,000 x 80% = 4,000; 14,000
    pytest.param(
        Case(
            SUBCAPS,
            claim(
                DAY,
                out=25_000 * Y,
                admission="A1",
                lines=(line("P", 20_000 * Y), line("Q", 5_000 * Y)),
            ),
            14_000 * Y,
            sub_caps={
                K("implants", "per_item", "P"): 10_000 * Y,
                K("implants", "per_item", "Q"): 4_000 * Y,
                K("implants", "per_admission", "A1"): 14_000 * Y,
                K("implants", "per_year", ""): 14_000 * Y,
            },
        ),
        id="subcap-per-item",
    ),
    # admission A1 used 25,000: P 8,000 + Q 8,000 = 16,000 -> 5,000 left -> 5,000;
    # the 11,000 cut is taken from the last line first: Q 8,000 -> 0, P 8,000 -> 5,000
    pytest.param(
        Case(
            SUBCAPS,
            claim(
                DAY,
                out=20_000 * Y,
                admission="A1",
                lines=(line("P", 10_000 * Y), line("Q", 10_000 * Y)),
            ),
            5_000 * Y,
            accum=acc(
                paid={"implants": 25_000 * Y},
                sub_caps={
                    K("implants", "per_admission", "A1"): 25_000 * Y,
                    K("implants", "per_year", ""): 25_000 * Y,
                },
            ),
            sub_caps={
                K("implants", "per_item", "P"): 5_000 * Y,
                K("implants", "per_admission", "A1"): 5_000 * Y,
                K("implants", "per_year", ""): 5_000 * Y,
            },
        ),
        id="subcap-per-admission",
    ),
    # a new admission A2, but 45,000 of the year's 50,000 used: R 8,000 -> 5,000
    pytest.param(
        Case(
            SUBCAPS,
            claim(DAY, out=10_000 * Y, admission="A2", lines=(line("R", 10_000 * Y),)),
            5_000 * Y,
            accum=acc(
                paid={"implants": 45_000 * Y}, sub_caps={K("implants", "per_year", ""): 45_000 * Y}
            ),
            codes=("sub_cap_applied",),
        ),
        id="subcap-per-year",
    ),
    # no admission id: 4 x 8,000 = 32,000 -> this claim's own admission cap 30,000; review
    pytest.param(
        Case(
            SUBCAPS,
            claim(DAY, out=40_000 * Y, lines=tuple(line(c, 10_000 * Y) for c in "PQRS")),
            30_000 * Y,
            decision="review",
            codes=("admission_unidentified",),
            sub_caps={
                K("implants", "per_item", "P"): 8_000 * Y,
                K("implants", "per_item", "Q"): 8_000 * Y,
                K("implants", "per_item", "R"): 8_000 * Y,
                K("implants", "per_item", "S"): 6_000 * Y,
                K("implants", "per_year", ""): 30_000 * Y,
            },
        ),
        id="subcap-admission-unidentified",
    ),
    # ---- coordination of benefits ---------------------------------------------------------------
    # total 200,000 = basic 120,000 + critical illness 30,000 + assistance 10,000 + member 40,000;
    # in-policy 40,000 - assistance 10,000 = 30,000; + out 10,000 = 40,000 (deductible met)
    # x 70% = 28,000
    pytest.param(
        Case(
            HUHUIBAO,
            claim(
                HHB_DAY,
                total=200_000 * Y,
                hifp=120_000 * Y,
                hifmi=30_000 * Y,
                maf=10_000 * Y,
                in_=40_000 * Y,
                out=10_000 * Y,
            ),
            28_000 * Y,
            accum=acc(deductible={"in_patient": 20_000 * Y}),
            codes=("medical_assistance_deducted", "amounts_consistent"),
            eligible={"in_patient": 40_000 * Y},
        ),
        id="coordination-all-layers",
    ),
    # docs/adjudication.md example 3: the same claim with nothing used yet this year:
    # 30,000 + 10,000 = 40,000; deductible 20,000; 20,000 x 70% = 14,000
    pytest.param(
        Case(
            HUHUIBAO,
            claim(
                HHB_DAY,
                total=200_000 * Y,
                hifp=120_000 * Y,
                hifmi=30_000 * Y,
                maf=10_000 * Y,
                in_=40_000 * Y,
                out=10_000 * Y,
            ),
            14_000 * Y,
            deductible={"in_patient": 20_000 * Y},
        ),
        id="doc-example-assistance",
    ),
    # employee: basic 200,000 + large-amount 50,000, member in-policy 50,000; total 300,000;
    # (50,000 - 15,000) x 75% = 26,250
    pytest.param(
        Case(GANZHOU, claim(DAY, hifp=200_000 * Y, hifob=50_000 * Y, in_=50_000 * Y), 26_250 * Y),
        id="coordination-employee-large-amount",
    ),
    # 70,000 + 40,000 = 110,000 > total 100,000: review; figure as claimed 40,000 x 70% = 28,000
    pytest.param(
        Case(
            HUHUIBAO,
            claim(HHB_DAY, total=100_000 * Y, hifp=70_000 * Y, in_=40_000 * Y),
            28_000 * Y,
            decision="review",
            accum=acc(deductible={"in_patient": 20_000 * Y}),
            codes=("amounts_inconsistent",),
        ),
        id="coordination-inconsistent",
    ),
    # assistance 8,000 > in-policy 5,000: in 0, out 10,000 - 3,000 = 7,000 x 70% = 4,900; review
    pytest.param(
        Case(
            HUHUIBAO,
            claim(
                HHB_DAY,
                total=35_000 * Y,
                hifp=20_000 * Y,
                maf=8_000 * Y,
                in_=5_000 * Y,
                out=10_000 * Y,
            ),
            4_900 * Y,
            accum=acc(deductible={"in_patient": 20_000 * Y}),
            decision="review",
            codes=("medical_assistance_exceeds_in_policy", "amounts_consistent"),
        ),
        id="coordination-assistance-exceeds-in-policy",
    ),
    # lines 8,000 + 4,000 = 12,000 > out 10,000: review; last line trimmed to 2,000;
    # 10,000 x 60% = 6,000
    pytest.param(
        Case(
            GANZHOU,
            claim(DAY, out=10_000 * Y, lines=(line("A", 8_000 * Y), line("B", 4_000 * Y))),
            6_000 * Y,
            accum=acc(deductible={"main": 15_000 * Y}),
            decision="review",
            codes=("amounts_inconsistent",),
        ),
        id="coordination-lines-exceed-amount",
    ),
    # 北京 has no proton bucket: 10,000 not covered -> 0
    pytest.param(
        Case(BEIJING, claim(DAY, proton=10_000 * Y), 0, codes=("amount_not_covered",), buckets={}),
        id="coordination-amount-not-covered",
    ),
    # ---- tiers counted from the deductible (tiers_from = "above_deductible") -------------------
    # 70,000: deductible 10,000; above it 60,000: the first 50,000 x 50% = 25,000, the next
    # 10,000 x 60% = 6,000 -> 31,000 (counted from the first yuan it would be 40,000 x 50% +
    # 20,000 x 60% = 32,000, as SHAANXI-style shows)
    pytest.param(
        Case(
            TIERS_ABOVE,
            claim(DAY, in_=70_000 * Y),
            31_000 * Y,
            codes=("tier_applied",),
            eligible={"in_policy": 70_000 * Y},
            deductible={"in_policy": 10_000 * Y},
            above={"in_policy": 60_000 * Y},
        ),
        id="tiers-above-deductible-first-claim",
    ),
    # a later claim: 45,000 above the deductible already counted; 10,000 more: 5,000 x 50% =
    # 2,500 + 5,000 x 60% = 3,000 -> 5,500
    pytest.param(
        Case(
            TIERS_ABOVE,
            claim(DAY, in_=10_000 * Y),
            5_500 * Y,
            accum=acc(
                eligible={"in_policy": 55_000 * Y},
                deductible={"in_policy": 10_000 * Y},
                above={"in_policy": 45_000 * Y},
            ),
            above={"in_policy": 10_000 * Y},
        ),
        id="tiers-above-deductible-later-claim",
    ),
    # below the deductible nothing is counted above it: 8,000 all absorbed -> 0, no above delta
    pytest.param(
        Case(TIERS_ABOVE, claim(DAY, in_=8_000 * Y), 0, above={}),
        id="tiers-above-deductible-all-absorbed",
    ),
    # first-yuan products record no above-deductible spend
    pytest.param(
        Case(SHAANXI, claim(DAY, in_=70_000 * Y), 32_000 * Y, above={}),
        id="tiers-first-yuan-no-above-delta",
    ),
    # ---- no annual cap (no_cap = true) --------------------------------------------------------
    # 20,000,000 x 90% = 18,000,000 even after 50,000,000 paid this year
    pytest.param(
        Case(
            NO_CAP,
            claim(DAY, in_=20_000_000 * Y),
            18_000_000 * Y,
            accum=acc(paid={"in_policy": 50_000_000 * Y}),
            absent=("cap_applied",),
        ),
        id="no-cap",
    ),
    # ---- every bucket reachable: proton (赣州 demo) and a product's own kind (CAR-T) ----------
    # 赣州 proton bucket: no deductible, 70%: 10,000 x 70% = 7,000
    pytest.param(
        Case(
            GANZHOU,
            claim(DAY, proton=10_000 * Y, hifp=5_000 * Y),
            7_000 * Y,
            buckets={"proton_heavy_ion": 7_000 * Y},
            paid={"proton_heavy_ion": 7_000 * Y},
            eligible={"proton_heavy_ion": 10_000 * Y},
            deductible={},
        ),
        id="ganzhou-proton-healthy",
    ),
    # pre-existing 30%: 10,000 x 30% = 3,000
    pytest.param(
        Case(GANZHOU, claim(DAY, proton=10_000 * Y), 3_000 * Y, insured=PRE),
        id="ganzhou-proton-pre-existing",
    ),
    # proton's own bucket beside in-policy: in 20,000 - shared deductible 15,000 = 5,000 x 75%
    # = 3,750; proton 2,000 x 70% = 1,400 (no deductible, not the "main" group); total 5,150
    pytest.param(
        Case(
            GANZHOU,
            claim(DAY, in_=20_000 * Y, proton=2_000 * Y),
            5_150 * Y,
            buckets={"in_policy": 3_750 * Y, "proton_heavy_ion": 1_400 * Y},
            deductible={"main": 15_000 * Y},
        ),
        id="ganzhou-proton-beside-in-policy",
    ),
    # proton over the cap: 1,000,000 cap, 990,000 paid before -> 10,000 left; 100,000 x 70% =
    # 70,000 -> 10,000
    pytest.param(
        Case(
            GANZHOU,
            claim(DAY, proton=100_000 * Y),
            10_000 * Y,
            accum=acc(paid={"proton_heavy_ion": 990_000 * Y}),
            codes=("cap_applied",),
        ),
        id="ganzhou-proton-cap",
    ),
    # CAR-T, a kind the product declares: 120,000 x 60% = 72,000
    pytest.param(
        Case(
            CAR_T,
            claim(DAY, other={"car_t": 120_000 * Y}),
            72_000 * Y,
            buckets={"car_t": 72_000 * Y},
            eligible={"car_t": 120_000 * Y},
        ),
        id="car-t-declared-kind",
    ),
    # CAR-T product, in-policy money: no bucket counts it -> not covered, 0
    pytest.param(
        Case(CAR_T, claim(DAY, in_=5_000 * Y), 0, codes=("amount_not_covered",), buckets={}),
        id="car-t-in-policy-not-covered",
    ),
    # ---- rounding (ROUND_HALF_UP to the fen, once per bucket) -----------------------------------
    # 0.01 x 50% = 0.005 yuan = 0.5 fen -> 1 fen
    pytest.param(
        Case(ROUNDING, claim(DAY, in_=1), 1, codes=("rounding_applied",)), id="round-half-fen-up"
    ),
    # 0.01 x 49% = 0.49 fen -> 0 fen
    pytest.param(Case(ROUNDING, claim(DAY, in_=1), 0, insured=PRE), id="round-0.49-fen-down"),
    # 0.05 x 50% = 2.5 fen -> 3 fen (banker's rounding would give 2)
    pytest.param(Case(ROUNDING, claim(DAY, in_=5), 3), id="round-2.5-fen-to-3"),
    # 25,000.01 x 70% = 17,500.007 -> 17,500.01
    pytest.param(
        Case(
            HUHUIBAO,
            claim(HHB_DAY, in_=2_500_001),
            1_750_001,
            accum=acc(deductible={"in_patient": 20_000 * Y}),
        ),
        id="round-hhb-0.7-fen",
    ),
    # 25,000.01 x 50% = 12,500.005 -> 12,500.01
    pytest.param(
        Case(
            HUHUIBAO,
            claim(HHB_DAY, in_=2_500_001),
            1_250_001,
            insured=PRE,
            accum=acc(deductible={"in_patient": 20_000 * Y}),
        ),
        id="round-hhb-half-fen",
    ),
    # 99,999.99 counted; 0.02 spans the 100,000 threshold (pre-existing):
    # 0.01 x 50% + 0.01 x 60% = 0.5 + 0.6 = 1.1 fen -> 1 fen (rounded once, not 1 + 1)
    pytest.param(
        Case(
            GANZHOU,
            claim(DAY, in_=2),
            1,
            insured=PRE,
            accum=acc(deductible={"main": 15_000 * Y}, eligible={"in_policy": 9_999_999}),
        ),
        id="round-once-across-tiers",
    ),
    # per-item sub-cap bucket rounds per item: 0.01 x 70% = 0.7 -> 1 fen, twice = 2 fen
    pytest.param(
        Case(
            GANZHOU,
            claim(DAY, sp=2, lines=(drug("X", 1), drug("Y", 1))),
            2,
            sub_caps={
                K("special_drugs", "per_drug", "X"): 1,
                K("special_drugs", "per_drug", "Y"): 1,
            },
        ),
        id="round-per-item-with-item-sub-caps",
    ),
    # ---- itemised fee lines through the matcher, on the demo catalogues (demo_data.py) ---------
    # 依达拉奉右莰醇 30 x 360 (list: 28 at most, 380 a vial): 28 x 360 = 10,080 on the list, 720 off;
    # 人血白蛋白 1 x 500 (list: 450 a bottle): 450 on, 50 off. Deductible used up:
    # (10,080 + 450) x 60% = 10,530 x 60% = 6,318
    pytest.param(
        Case(
            GANZHOU,
            claim(
                DAY,
                out=11_300 * Y,
                lines=_matched(
                    _self_paid("1", demo_data.EDARAVONE_DEXBORNEOL, 30, 360),
                    _self_paid("2", demo_data.ALBUMIN, 1, 500),
                ),
            ),
            6_318 * Y,
            accum=acc(deductible={"main": 15_000 * Y}),
            codes=("commercial_list_itemised",),
            absent=("commercial_list_unverifiable",),
            buckets={"out_of_policy": 6_318 * Y},
        ),
        id="lines-commercial-quantity-and-price-limits",
    ),
    # 甲磺酸奥希替尼片 2 x 16,000, listed, no approval needed, at a designated hospital:
    # special drugs 32,000, no deductible, 70% = 22,400 (per-drug sub-cap 200,000 not reached)
    pytest.param(
        Case(
            GANZHOU,
            claim(
                DAY,
                sp=32_000 * Y,
                lines=_matched(_self_paid("1", demo_data.OSIMERTINIB, 2, 16_000)),
            ),
            22_400 * Y,
            buckets={"special_drugs": 22_400 * Y},
        ),
        id="lines-special-drug-listed",
    ),
    # 帕博利珠单抗 needs an approval; with none it falls through to out-of-policy self-pay, where
    # it is not on the 商保目录: 17,918 not counted, nothing paid
    pytest.param(
        Case(
            GANZHOU,
            claim(
                DAY,
                out=17_918 * Y,
                lines=_matched(_self_paid("1", demo_data.PEMBROLIZUMAB, 1, 17_918)),
            ),
            0,
            accum=acc(deductible={"main": 15_000 * Y}),
            codes=("commercial_list_itemised",),
        ),
        id="lines-special-drug-without-approval-off-the-list",
    ),
    # ---- healthy renewal: deductible 10,000, 1,000 less per year, floor 7,000 -------------------
    # 3 years: 10,000 - 3,000 = 7,000; (20,000 - 7,000) x 70% = 9,100
    pytest.param(
        Case(
            RENEWAL,
            claim(DAY, in_=20_000 * Y),
            9_100 * Y,
            insured=Insured(healthy_renewal_years=3),
            codes=("deductible_renewal_reduced",),
        ),
        id="renewal-three-years",
    ),
    # 5 years: 10,000 - 5,000 = 5,000 -> floor 7,000; 9,100
    pytest.param(
        Case(
            RENEWAL, claim(DAY, in_=20_000 * Y), 9_100 * Y, insured=Insured(healthy_renewal_years=5)
        ),
        id="renewal-floor",
    ),
    # pre-existing: 20,000 deductible, no renewal step: 20,000 - 20,000 = 0
    pytest.param(
        Case(
            RENEWAL,
            claim(DAY, in_=20_000 * Y),
            0,
            insured=Insured(health="pre_existing", healthy_renewal_years=3),
            absent=("deductible_renewal_reduced",),
        ),
        id="renewal-not-for-pre-existing",
    ),
]


@pytest.mark.parametrize("case", CASES)
def test_hand_computed(case: Case):
    policy = PolicyCover(
        case.product.coverage_starts, case.product.coverage_ends, case.policy_status
    )
    result = adjudicate(case.product, case.claim, policy, case.insured, case.accum)
    assert result.payable_fen == case.payable
    assert result.decision == case.decision
    for code in case.codes:
        assert code in result.reason_codes, (code, result.reason_codes)
    for code in case.absent:
        assert code not in result.reason_codes, (code, result.reason_codes)
    assert result.payable_fen == sum(b.payable_fen for b in result.buckets)
    if case.buckets is not None:
        assert {b.bucket: b.payable_fen for b in result.buckets} == case.buckets
    if case.paid is not None:
        assert dict(result.deltas.paid_fen) == case.paid
    if case.eligible is not None:
        assert dict(result.deltas.eligible_fen) == case.eligible
    if case.deductible is not None:
        assert dict(result.deltas.deductible_used_fen) == case.deductible
    if case.sub_caps is not None:
        assert dict(result.deltas.sub_cap_used_fen) == case.sub_caps
    if case.above is not None:
        assert dict(result.deltas.above_deductible_fen) == case.above
    # paid deltas are the bucket payables; every line is explained in both languages
    assert dict(result.deltas.paid_fen) == {
        b.bucket: b.payable_fen for b in result.buckets if b.payable_fen
    }
    for explanation in result.lines:
        assert explanation.code in REASONS and explanation.zh and explanation.en
    assert result.reason_codes[-1] == "payable_total"
    if result.decision == "not_payable":
        assert result.deltas.is_empty and result.buckets == ()
    # the estimator is the engine against the same accumulators
    assert estimate(case.product, case.claim, policy, case.insured, case.accum) == result


def test_there_are_at_least_thirty_cases():
    assert len(CASES) >= 30
    assert len({p.id for p in CASES}) == len(CASES)


def test_policy_helper_matches_product_dates():
    policy = policy_for(GANZHOU)
    assert (policy.coverage_starts, policy.coverage_ends) == (date(2026, 1, 1), date(2026, 12, 31))


@pytest.mark.parametrize(
    ("status", "zh"),
    [("surrendered", "保单已退保，不予赔付"), ("void", "保单已作废（未生效），不予赔付")],
)
def test_an_inactive_policy_is_explained_in_chinese_words(status: str, zh: str):
    product = HUHUIBAO
    policy = PolicyCover(product.coverage_starts, product.coverage_ends, status)
    result = adjudicate(product, claim(HHB_DAY, in_=30_000 * Y), policy, Insured(), None)
    assert [line.zh for line in result.lines if line.code == "policy_not_active"] == [zh]
