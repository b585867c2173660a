"""Fee lines (5204 shape) -> engine ClaimLines (app/catalogues/matching.py), table-driven.

Money in fen (100 fen = 1 yuan). Each row's comment is the hand arithmetic. The catalogues:
  commercial list  DRUG_A   price limit 100.00 yuan, quantity limit 3 per settlement
                   SERVICE  no limits
                   THIRDS   quantity limit 2 (to show the single half-up rounding)
                   (OFF is not listed)
  special drugs    SP_D     needs approval, indication 肺癌, only at 国大药房 / code P001
                   SP_E     listed by approval number 国药准字H20183113, no approval needed
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pytest

from app.adjudication import Accumulators, Claim, ClaimLine, Insured, PolicyCover, adjudicate
from app.catalogues.line_totals import SettlementTotals, check_line_totals
from app.catalogues.matching import (
    LINE_REASONS,
    CapUse,
    FeeLine,
    SpecialDrugApproval,
    match_lines,
    within_caps,
)
from app.catalogues.rules import (
    CommercialCatalogue,
    CommercialItem,
    SpecialDrug,
    SpecialDrugCatalogue,
)
from app.products.loader import DEFINITIONS_DIR, load_file

DAY = date(2026, 3, 10)
DRUG_A = "XA01AAA001A001010100001"
SERVICE = "001201000010000"
THIRDS = "002201000010000"
OFF = "ZA01AAL0010010100405"
SP_D = "XL01XET001A001010100001"
SP_E_CODE = "XL01XCT177B002010101445"  # the line's list code; the catalogue knows the approval

COMMERCIAL = CommercialCatalogue(
    "2026-01",
    date(2026, 1, 1),
    None,
    items=(
        CommercialItem(DRUG_A, "甲药", "西药", price_limit_fen=10000, quantity_limit=Decimal(3)),
        CommercialItem(SERVICE, "质子放疗", "医疗服务"),
        CommercialItem(THIRDS, "某项目", "医疗服务", quantity_limit=Decimal(2)),
    ),
)
SPECIAL = SpecialDrugCatalogue(
    "2026-01",
    date(2026, 1, 1),
    None,
    drugs=(
        SpecialDrug("丁药", SP_D, ("肺癌",), 20_000_000, ("国大药房", "P001"), True),
        SpecialDrug("戊药", "国药准字H20183113", ("乳腺癌",), None, (), False),
    ),
)
APPROVED = SpecialDrugApproval(SP_D, "肺癌", date(2026, 1, 1), date(2026, 6, 30), "A-1")


def fee(sn, code, *, lv="03", cnt=1, pric=0, total, full=None, over=0, pre=0, inscp=0, **kw):
    """A line; a 丙类 line is wholly self-paid unless `full` says otherwise."""
    if full is None:
        full = total if lv == "03" else 0
    return FeeLine(
        feedetl_sn=sn,
        med_list_codg=code,
        chrgitm_lv=lv,
        cnt=cnt,
        pric_fen=pric,
        det_item_fee_sumamt_fen=total,
        fulamt_ownpay_amt_fen=full,
        overlmt_amt_fen=over,
        preselfpay_amt_fen=pre,
        inscp_scp_amt_fen=inscp,
        **kw,
    )


OOP = "out_of_policy_self_pay"
SD = "special_drugs"


@dataclass
class Case:
    lines: list[FeeLine]
    # expected ClaimLines as (code, fen, on_list, kind)
    claim_lines: list[tuple[str, int, bool, str]]
    # expected reason codes per fee line
    reasons: list[tuple[str, ...]]
    approvals: tuple = (APPROVED,)
    dispensed_at: tuple = ("国大药房",)
    commercial: object = COMMERCIAL
    special: object = SPECIAL
    notes: tuple[str, ...] = ()
    kwargs: dict = field(default_factory=dict)


CASES = {
    # 甲类 line wholly in policy: own-pay 0 + 0 -> nothing itemised
    "in_policy_only": Case(
        [fee("1", DRUG_A, lv="01", cnt=1, pric=5000, total=5000, inscp=5000)],
        [],
        [("no_own_pay",)],
    ),
    # 丙类 listed service, no limits: 200.00 yuan all on the list
    "listed_service": Case(
        [fee("1", SERVICE, total=20000)],
        [(SERVICE, 20000, True, OOP)],
        [("commercial_listed",)],
    ),
    # not on the list: 80.00 yuan off the list
    "not_listed": Case(
        [fee("1", OFF, total=8000)],
        [(OFF, 8000, False, OOP)],
        [("commercial_not_listed",)],
    ),
    # 2 x 120.00 = 240.00; limit 100.00 -> (120 - 100) x 2 = 40.00 off; 200.00 on
    "price_limit": Case(
        [fee("1", DRUG_A, cnt=2, pric=12000, total=24000)],
        [(DRUG_A, 20000, True, OOP), (DRUG_A, 4000, False, OOP)],
        [("commercial_price_limit", "commercial_listed")],
    ),
    # limit 3 units: line 1 uses 2 (160.00 on); line 2 has 2 units, 1 left:
    # 160.00 x 1/2 = 80.00 on, 80.00 off
    "quantity_limit_across_lines": Case(
        [
            fee("1", DRUG_A, cnt=2, pric=8000, total=16000),
            fee("2", DRUG_A, cnt=2, pric=8000, total=16000),
        ],
        [(DRUG_A, 16000, True, OOP), (DRUG_A, 8000, True, OOP), (DRUG_A, 8000, False, OOP)],
        [("commercial_listed",), ("commercial_quantity_limit", "commercial_listed")],
    ),
    # 4 x 120.00 = 480.00; 3 units allowed -> 480 x 3/4 = 360.00 (120.00 off for quantity);
    # of those, (120 - 100) x 3 = 60.00 over the price -> 300.00 on, 180.00 off
    "quantity_and_price": Case(
        [fee("1", DRUG_A, cnt=4, pric=12000, total=48000)],
        [(DRUG_A, 30000, True, OOP), (DRUG_A, 18000, False, OOP)],
        [("commercial_quantity_limit", "commercial_price_limit", "commercial_listed")],
    ),
    # fractional quantity: 1.5 units allowed of 3 after a first line of 1.5
    # line 2: 150.00 x 1.5/3 = 75.00 on, 75.00 off
    "decimal_counts": Case(
        [
            fee("1", DRUG_A, cnt="1.5", pric=5000, total=7500),
            fee("2", DRUG_A, cnt=Decimal("3.0000"), pric=5000, total=15000),
        ],
        [(DRUG_A, 7500, True, OOP), (DRUG_A, 7500, True, OOP), (DRUG_A, 7500, False, OOP)],
        [("commercial_listed",), ("commercial_quantity_limit", "commercial_listed")],
    ),
    # 3 units for 100.00, limit 2: 100 x 2/3 = 66.666... yuan -> one half-up rounding -> 66.67 on;
    # off = 100.00 - 66.67 = 33.33 (the two parts add up to the line)
    "rounding_once": Case(
        [fee("1", THIRDS, cnt=3, pric=3333, total=10000)],
        [(THIRDS, 6667, True, OOP), (THIRDS, 3333, False, OOP)],
        [("commercial_quantity_limit", "commercial_listed")],
    ),
    # 乙类 at 150.00 with a basic limit of 110.00: overlmt 40.00 is the own-pay (pre 11.00 and
    # inscp 99.00 are in policy). Commercial limit 100.00: (150 - 100) x 1 = 50.00 over the
    # price, more than the 40.00 own-pay -> 0 on, 40.00 off
    "class_b_over_basic_limit": Case(
        [fee("1", DRUG_A, lv="02", pric=15000, total=15000, over=4000, pre=1100, inscp=9900)],
        [(DRUG_A, 4000, False, OOP)],
        [("commercial_price_limit",)],
    ),
    # special drug with an approval for 肺癌 valid on the day, at 国大药房: 5,000.00 special
    "special_drug_approved": Case(
        [fee("1", SP_D, pric=500000, total=500000)],
        [(SP_D, 500000, True, SD)],
        [("special_drug_listed",)],
    ),
    # same drug, matched at a pharmacy given by code (P001) and a fee date inside the approval
    "special_drug_pharmacy_by_code": Case(
        [fee("1", SP_D, pric=500000, total=500000, fee_ocur_date=date(2026, 6, 30))],
        [(SP_D, 500000, True, SD)],
        [("special_drug_listed",)],
        dispensed_at=("P001", "某医院"),
    ),
    # no approval: falls through to the commercial list, where it is not listed -> off
    "special_drug_no_approval": Case(
        [fee("1", SP_D, pric=500000, total=500000)],
        [(SP_D, 500000, False, OOP)],
        [("special_drug_not_approved", "commercial_not_listed")],
        approvals=(),
    ),
    # the approval ended 2026-06-30; the fee arose 2026-07-01
    "special_drug_approval_expired": Case(
        [fee("1", SP_D, pric=500000, total=500000, fee_ocur_date=date(2026, 7, 1))],
        [(SP_D, 500000, False, OOP)],
        [("special_drug_not_approved", "commercial_not_listed")],
    ),
    # approved for an indication the catalogue does not list (肝癌)
    "special_drug_other_indication": Case(
        [fee("1", SP_D, pric=500000, total=500000)],
        [(SP_D, 500000, False, OOP)],
        [("special_drug_not_approved", "commercial_not_listed")],
        approvals=(SpecialDrugApproval(SP_D, "肝癌", date(2026, 1, 1), date(2026, 12, 31)),),
    ),
    "special_drug_wrong_pharmacy": Case(
        [fee("1", SP_D, pric=500000, total=500000)],
        [(SP_D, 500000, False, OOP)],
        [("special_drug_pharmacy_not_designated", "commercial_not_listed")],
        dispensed_at=("另一家药房",),
    ),
    "special_drug_pharmacy_unknown": Case(
        [fee("1", SP_D, pric=500000, total=500000)],
        [(SP_D, 500000, False, OOP)],
        [("special_drug_pharmacy_unknown", "commercial_not_listed")],
        dispensed_at=(),
    ),
    # listed by approval number; the line carries it without the prefix; no approval needed
    "special_drug_by_approval_number": Case(
        [fee("1", SP_E_CODE, pric=300000, total=300000, approval_no="h20183113")],
        [(SP_E_CODE, 300000, True, SD)],
        [("special_drug_listed",)],
        approvals=(),
    ),
    # no commercial list in force: off the list, and the claim needs a person
    "no_commercial_list": Case(
        [fee("1", SERVICE, total=20000)],
        [(SERVICE, 20000, False, OOP)],
        [()],
        commercial=None,
        notes=("commercial_list_not_in_force",),
    ),
    # a product without a special-drug list: no note, nothing held
    "no_special_list_expected": Case(
        [fee("1", SP_D, pric=500000, total=500000)],
        [(SP_D, 500000, False, OOP)],
        [("commercial_not_listed",)],
        special=None,
        kwargs={"expect_special_drugs": False},
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_match_lines(name):
    case = CASES[name]
    result = match_lines(
        case.lines,
        care_date=DAY,
        commercial=case.commercial,
        special_drugs=case.special,
        approvals=case.approvals,
        dispensed_at=case.dispensed_at,
        **case.kwargs,
    )
    got = [
        (l.item_code, l.amount_fen, l.on_commercial_list, l.amount_kind) for l in result.claim_lines
    ]
    assert got == case.claim_lines
    assert [e.reason_codes for e in result.explanations] == case.reasons
    assert tuple(n.code for n in result.notes) == case.notes
    assert result.needs_review == bool(case.notes)
    # every fen of own-pay is in exactly one ClaimLine, and the explanations agree
    own = sum(l.own_pay_fen for l in case.lines)
    assert result.out_of_policy_self_pay_fen + result.special_drugs_fen == own
    for explanation, line in zip(result.explanations, case.lines):
        assert explanation.feedetl_sn == line.feedetl_sn
        assert explanation.on_list_fen + explanation.off_list_fen == line.own_pay_fen
    for explanation in result.explanations:
        for reason in explanation.reasons:
            assert reason.zh.startswith(LINE_REASONS[reason.code][1])
            assert reason.en.startswith(LINE_REASONS[reason.code][2])


def test_a_counted_special_drug_names_the_approval_it_counted_under():
    result = match_lines(
        [
            fee("1", SP_D, pric=500000, total=500000),
            fee("2", SP_E_CODE, pric=300000, total=300000, approval_no="H20183113"),
        ],
        care_date=DAY,
        commercial=COMMERCIAL,
        special_drugs=SPECIAL,
        approvals=(
            # not valid on the day (ended before it), then the one that is
            SpecialDrugApproval(SP_D, "肺癌", date(2025, 1, 1), date(2025, 12, 31), "A-0"),
            APPROVED,
        ),
        dispensed_at=("国大药房",),
    )
    approved, unneeded = result.explanations
    assert (approved.drug_code, approved.approval_id) == (SP_D, "A-1")
    assert approved.reasons[0].zh == "特药目录内药品，计入特药费用：丁药，事前审核 A-1"
    assert approved.reasons[0].en.endswith(f"{SP_D}, approval A-1")
    # a drug that needs no approval counts under none, and says none
    assert (unneeded.drug_code, unneeded.approval_id) == ("国药准字H20183113", None)
    assert "事前审核" not in unneeded.reasons[0].zh
    assert result.special_drugs_by_drug == {SP_D: 500000, "国药准字H20183113": 300000}


SP_E = "国药准字H20183113"  # 戊药's code in the catalogue: no annual cap


@dataclass
class CapCase:
    lines: list[FeeLine]
    uses: dict
    # per line: (on the list = special-drug money, off the list)
    split: list[tuple[int, int]]
    cap_reason: list[bool]
    # the cap use each drug was limited by (None: `uses`, as given)
    cap_uses: dict | None = None


def sp_d(fen: int, sn: str = "1") -> FeeLine:
    return fee(sn, SP_D, pric=fen, total=fen)


CAP_D = 20_000_000  # SP_D's annual cap in the catalogue: 200,000.00 yuan

CAP_CASES = {
    # 5,000.00 of a 200,000.00 cap, none used: all counted
    "within_room": CapCase([sp_d(500_000)], {}, [(500_000, 0)], [False], {SP_D: CapUse(CAP_D)}),
    # 250,000.00 with nothing used: 200,000.00 counted, 50,000.00 over the cap (off the list)
    "catalogue_cap_nothing_used": CapCase(
        [sp_d(25_000_000)], {}, [(CAP_D, 5_000_000)], [True], {SP_D: CapUse(CAP_D)}
    ),
    # 198,000.00 used by purchases and other claims: room 2,000.00 of the 5,000.00 line
    "used_by_others": CapCase(
        [sp_d(500_000)], {SP_D: CapUse(CAP_D, 19_800_000)}, [(200_000, 300_000)], [True]
    ),
    # room 10,000.00: line 1 takes 6,000.00, line 2 the 4,000.00 left of its 6,000.00
    "lines_share_the_room_in_bill_order": CapCase(
        [sp_d(600_000), sp_d(600_000, "2")],
        {SP_D: CapUse(CAP_D, 19_000_000)},
        [(600_000, 0), (400_000, 200_000)],
        [False, True],
    ),
    # the cap used up: nothing of the line is special-drug money
    "cap_used_up": CapCase([sp_d(500_000)], {SP_D: CapUse(CAP_D, CAP_D)}, [(0, 500_000)], [True]),
    # the person's use row keeps the cap it was opened with (100,000.00), not the catalogue's
    "use_row_cap_wins": CapCase(
        [sp_d(15_000_000)], {SP_D: CapUse(10_000_000)}, [(10_000_000, 5_000_000)], [True]
    ),
    # 戊药 has no per-drug cap: 3,000,000.00 all counted; the commercial line is untouched
    # (2 x 120.00 against a 100.00 price limit: 200.00 on the list, 40.00 off)
    "no_cap_and_other_lines": CapCase(
        [
            fee("1", SP_E_CODE, pric=300_000_000, total=300_000_000, approval_no="H20183113"),
            fee("2", DRUG_A, cnt=2, pric=12000, total=24000),
        ],
        {},
        [(300_000_000, 0), (20000, 4000)],
        [False, False],
        {SP_E: CapUse(None)},
    ),
}


def _approved_match(lines):
    return match_lines(
        lines,
        care_date=DAY,
        commercial=COMMERCIAL,
        special_drugs=SPECIAL,
        approvals=(APPROVED,),
        dispensed_at=("国大药房",),
    )


@pytest.mark.parametrize("name", list(CAP_CASES))
def test_within_caps(name):
    case = CAP_CASES[name]
    result = within_caps(_approved_match(case.lines), SPECIAL, case.uses)
    assert [(e.on_list_fen, e.off_list_fen) for e in result.explanations] == case.split
    assert [("special_drug_annual_cap" in e.reason_codes) for e in result.explanations] == (
        case.cap_reason
    )
    assert dict(result.cap_uses) == (case.uses if case.cap_uses is None else case.cap_uses)
    # nothing lost: the own-pay is split, never dropped; what is over a cap is off any list
    own = sum(l.own_pay_fen for l in case.lines)
    assert result.out_of_policy_self_pay_fen + result.special_drugs_fen == own
    special = sum(on for (on, _), e in zip(case.split, result.explanations) if e.drug_code)
    assert result.special_drugs_fen == special
    assert all(l.on_commercial_list for l in result.claim_lines if l.amount_kind == SD)


def test_the_cap_reason_says_what_was_left_and_what_is_over():
    matched = _approved_match([sp_d(500_000)])
    (e,) = within_caps(matched, SPECIAL, {SP_D: CapUse(CAP_D, 19_800_000)}).explanations
    assert e.reasons[-1].zh == (
        "超过该特药年度限额的部分不计入特药费用：年度剩余额度 2,000.00 元，3,000.00 元不计入"
    )
    assert e.approval_id == "A-1"  # the approval is still named


def test_explanation_texts_carry_the_figures():
    result = match_lines(
        [fee("7", DRUG_A, cnt=2, pric=12000, total=24000, name="甲药 10mg")],
        care_date=DAY,
        commercial=COMMERCIAL,
        special_drugs=SPECIAL,
    )
    (explanation,) = result.explanations
    assert (explanation.feedetl_sn, explanation.name, explanation.amount_kind) == (
        "7",
        "甲药 10mg",
        OOP,
    )
    assert (explanation.own_pay_fen, explanation.on_list_fen, explanation.off_list_fen) == (
        24000,
        20000,
        4000,
    )
    price = explanation.reasons[0]
    assert price.zh.endswith("单价 120.00 元，限价 100.00 元，40.00 元目录外")
    assert price.en.endswith("price 120.00 yuan, limit 100.00 yuan, 40.00 yuan off the list")


def test_matched_lines_feed_the_engine():
    """The shipped 赣州 demo product: out_of_policy (60%, commercial list required, deductible
    group "main" already met) and special_drugs (70%, no deductible).
    Lines: SERVICE 200.00 listed, OFF 80.00 not listed, SP_D 5,000.00 approved special drug.
    out_of_policy: 200.00 counted x 60% = 120.00; 80.00 excluded.
    special_drugs: 5,000.00 x 70% = 3,500.00. Total 3,620.00."""
    product = load_file(DEFINITIONS_DIR / "ganzhou-demo-2026.toml")
    lines = [
        fee("1", SERVICE, total=20000),
        fee("2", OFF, total=8000),
        fee("3", SP_D, pric=500000, total=500000),
    ]
    matched = _approved_match(lines)
    claim = Claim(
        care_kind="in_patient",
        care_date=DAY,
        medfee_sumamt_fen=528000,
        out_of_policy_self_pay_fen=matched.out_of_policy_self_pay_fen,  # 280.00
        special_drugs_fen=matched.special_drugs_fen,  # 5,000.00
        lines=matched.claim_lines,
    )
    result = adjudicate(
        product,
        claim,
        PolicyCover(product.coverage_starts, product.coverage_ends),
        Insured(),
        Accumulators(deductible_used_fen={"main": 1_500_000}),
    )
    by_bucket = {b.bucket: b for b in result.buckets}
    assert (by_bucket["out_of_policy"].counted_fen, by_bucket["out_of_policy"].excluded_fen) == (
        20000,
        8000,
    )
    assert by_bucket["out_of_policy"].payable_fen == 12000
    assert by_bucket["special_drugs"].payable_fen == 350000
    assert result.payable_fen == 362000


# --- totals -------------------------------------------------------------------------------------

GOOD = [
    fee("1", DRUG_A, lv="01", pric=5000, total=5000, inscp=5000),
    fee("2", DRUG_A, lv="02", pric=15000, total=15000, over=4000, pre=1100, inscp=9900),
    fee("3", SERVICE, total=20000),
]
# medfee 50 + 150 + 200 = 400.00; fulamt 200.00; overlmt 40.00; pre 11.00; inscp 50 + 99 = 149.00
TOTALS = SettlementTotals(40000, 20000, 4000, 1100, 14900)


@pytest.mark.parametrize(
    ("lines", "totals", "found"),
    [
        (GOOD, TOTALS, []),
        # the settlement says 401.00: lines are 1.00 short of medfee_sumamt
        (
            GOOD,
            SettlementTotals(40100, 20000, 4000, 1100, 14900),
            [("lines_total_mismatch", "medfee_sumamt_fen", None, -100)],
        ),
        # a line's parts 150.00 != its total 151.00 -> the line, and medfee is then 1.00 over
        (
            [
                *GOOD[:1],
                fee("2", DRUG_A, lv="02", total=15100, over=4000, pre=1100, inscp=9900),
                GOOD[2],
            ],
            TOTALS,
            [
                ("line_split_mismatch", "det_item_fee_sumamt_fen", "2", -100),
                ("lines_total_mismatch", "medfee_sumamt_fen", None, 100),
            ],
        ),
        # a 丙类 line with 50.00 in policy: not wholly self-paid (its own split adds up)
        (
            [*GOOD[:2], fee("3", SERVICE, total=20000, full=15000, inscp=5000)],
            TOTALS,
            [
                ("class_c_not_self_paid", "fulamt_ownpay_amt_fen", "3", -5000),
                ("lines_total_mismatch", "fulamt_ownpay_amt_fen", None, -5000),
                ("lines_total_mismatch", "inscp_scp_amt_fen", None, 5000),
            ],
        ),
        # serial 1 twice (and the totals then count it twice: +50.00 medfee, +50.00 inscp)
        (
            [*GOOD, GOOD[0]],
            TOTALS,
            [
                ("duplicate_line_sn", "feedetl_sn", "1", 0),
                ("lines_total_mismatch", "medfee_sumamt_fen", None, 5000),
                ("lines_total_mismatch", "inscp_scp_amt_fen", None, 5000),
            ],
        ),
    ],
)
def test_check_line_totals(lines, totals, found):
    got = check_line_totals(lines, totals)
    assert [(d.code, d.field, d.feedetl_sn, d.difference_fen) for d in got] == found
    assert all(d.zh and d.en for d in got)


def test_totals_from_a_record_and_messages():
    class Record:  # any object with the setlinfo attributes
        medfee_sumamt_fen = 40100
        fulamt_ownpay_amt_fen = 20000
        overlmt_selfpay_fen = 4000
        preselfpay_amt_fen = 1100
        inscp_scp_amt_fen = 14900

    (d,) = check_line_totals(GOOD, SettlementTotals.of(Record()))
    assert d.zh == "明细合计 400.00 元与结算医疗费总额 401.00 元不一致"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"chrgitm_lv": "04"},
        {"cnt": 0},
        {"cnt": "-1"},
        {"det_item_fee_sumamt_fen": -1},
        {"det_item_fee_sumamt_fen": 1.5},
        {"feedetl_sn": " "},
        {"med_list_codg": ""},
    ],
)
def test_fee_line_refuses_bad_input(kwargs):
    base = {
        "feedetl_sn": "1",
        "med_list_codg": SERVICE,
        "chrgitm_lv": "03",
        "det_item_fee_sumamt_fen": 100,
    }
    with pytest.raises(ValueError):
        FeeLine(**{**base, **kwargs})


def test_fee_line_normalises_level_and_count():
    line = FeeLine(
        feedetl_sn="1",
        med_list_codg=SERVICE.lower(),
        chrgitm_lv="3",
        cnt=2.5,
        det_item_fee_sumamt_fen=1,
    )
    assert (line.chrgitm_lv, line.cnt, line.code) == ("03", Decimal("2.5"), SERVICE)
    assert ClaimLine(line.code, 1, True).item_code == SERVICE
