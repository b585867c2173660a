"""The special-drug rules, table by table (pure: no app)."""

from __future__ import annotations

from datetime import date

import pytest

from app.catalogues.demo_data import (
    DEMO_SPECIAL_DRUG_CATALOGUE,
    DTP_PHARMACY,
    GANZHOU_PEOPLES_HOSPITAL,
    PEMBROLIZUMAB,
    TRASTUZUMAB_EMTANSINE,
)
from app.catalogues.matching import FeeLine, SpecialDrugApproval, match_lines
from app.special_drugs import rules


@pytest.mark.parametrize(
    "approved_on, days, cover_ends, expected",
    [
        (date(2026, 3, 1), 90, date(2026, 12, 31), (date(2026, 3, 1), date(2026, 5, 29))),
        (date(2026, 11, 23), 90, date(2026, 12, 31), (date(2026, 11, 23), date(2026, 12, 31))),
        (date(2026, 12, 31), 1, date(2026, 12, 31), (date(2026, 12, 31), date(2026, 12, 31))),
        (date(2026, 1, 1), 1, date(2026, 12, 31), (date(2026, 1, 1), date(2026, 1, 1))),
    ],
)
def test_approval_period(approved_on, days, cover_ends, expected):
    assert rules.approval_period(approved_on, days, cover_ends) == expected


@pytest.mark.parametrize("approved_on, days", [(date(2026, 1, 1), 0), (date(2027, 1, 1), 90)])
def test_approval_period_refuses(approved_on, days):
    with pytest.raises(ValueError):
        rules.approval_period(approved_on, days, date(2026, 12, 31))


LISTED = ("HER2阳性早期乳腺癌辅助治疗", "HER2阳性晚期乳腺癌")


@pytest.mark.parametrize(
    "chosen, expected",
    [
        ("HER2阳性晚期乳腺癌", "HER2阳性晚期乳腺癌"),
        (" HER2 阳性晚期乳腺癌 ", "HER2阳性晚期乳腺癌"),
        ("ＨＥＲ２阳性晚期乳腺癌", "HER2阳性晚期乳腺癌"),  # full-width: NFKC
        ("乳腺癌", None),
        ("", None),
    ],
)
def test_listed_indication(chosen, expected):
    assert rules.listed_indication(chosen, LISTED) == expected


@pytest.mark.parametrize(
    "docs, missing",
    [
        ([], ["prescription", "pathology"]),
        (["prescription"], ["pathology"]),
        (["pathology"], ["prescription"]),
        (["prescription", "pathology"], []),
        (["prescription", "gene_test"], []),
        (["gene_test", "gene_test"], ["prescription"]),
    ],
)
def test_missing_proofs(docs, missing):
    assert rules.missing_proofs(docs) == missing


@pytest.mark.parametrize(
    "cap, used, room", [(None, 0, None), (100, 0, 100), (100, 60, 40), (100, 100, 0), (100, 130, 0)]
)
def test_cap_room(cap, used, room):
    assert rules.cap_room(cap, used) == room


APPROVAL = SpecialDrugApproval(
    TRASTUZUMAB_EMTANSINE, "HER2阳性晚期乳腺癌", date(2026, 11, 1), date(2026, 12, 31)
)


def _match(day: date, place: str, approvals=(APPROVAL,), amount: int = 1_000_000):
    line = FeeLine(
        feedetl_sn="1",
        med_list_codg=TRASTUZUMAB_EMTANSINE,
        chrgitm_lv="03",
        det_item_fee_sumamt_fen=amount,
        fulamt_ownpay_amt_fen=amount,
        fee_ocur_date=day,
    )
    return match_lines(
        [line],
        care_date=day,
        commercial=None,
        special_drugs=DEMO_SPECIAL_DRUG_CATALOGUE,
        approvals=approvals,
        dispensed_at=(place,),
        expect_commercial=False,
    )


@pytest.mark.parametrize(
    "day, place, approvals, room, counted, codes",
    [
        # inside the period, at a designated pharmacy, no cap reached: all of it counts
        (date(2026, 11, 23), DTP_PHARMACY, (APPROVAL,), None, 1_000_000, ["special_drug_listed"]),
        (
            date(2026, 11, 23),
            GANZHOU_PEOPLES_HOSPITAL,
            (APPROVAL,),
            5_000_000,
            1_000_000,
            ["special_drug_listed"],
        ),
        # the cap's room is smaller than the purchase: the rest is explained
        (
            date(2026, 11, 23),
            DTP_PHARMACY,
            (APPROVAL,),
            300_000,
            300_000,
            ["special_drug_listed", rules.CAP_REASON],
        ),
        (
            date(2026, 11, 23),
            DTP_PHARMACY,
            (APPROVAL,),
            0,
            0,
            ["special_drug_listed", rules.CAP_REASON],
        ),
        # outside the approval's period, or with no approval: not counted
        (date(2026, 10, 31), DTP_PHARMACY, (APPROVAL,), None, 0, ["special_drug_not_approved"]),
        (date(2026, 11, 23), DTP_PHARMACY, (), None, 0, ["special_drug_not_approved"]),
        # at a pharmacy the catalogue does not designate: not counted
        (
            date(2026, 11, 23),
            "某社区药店",
            (APPROVAL,),
            None,
            0,
            ["special_drug_pharmacy_not_designated"],
        ),
    ],
)
def test_purchase_outcome(day, place, approvals, room, counted, codes):
    outcome = rules.purchase_outcome(
        _match(day, place, approvals),
        drug_code=TRASTUZUMAB_EMTANSINE,
        drug_name="T-DM1",
        amount_fen=1_000_000,
        room_fen=room,
    )
    assert outcome.counted_fen == counted
    assert [r.code for r in outcome.reasons] == codes
    assert sum(l.amount_fen for l in outcome.lines) == 1_000_000
    special = [l for l in outcome.lines if l.amount_kind == "special_drugs"]
    assert sum(l.amount_fen for l in special) == counted
    assert all(l.on_commercial_list for l in special)
    assert outcome.amounts(1_000_000) == {
        "medfee_sumamt_fen": 1_000_000,
        "special_drugs_fen": counted,
        "out_of_policy_self_pay_fen": 1_000_000 - counted,
    }
    for line in outcome.lines:
        assert rules.line_from_json(rules.line_json(line)) == line


def test_a_drug_other_than_the_approval_is_not_approved():
    other = SpecialDrugApproval(PEMBROLIZUMAB, "黑色素瘤", date(2026, 1, 1), date(2026, 12, 31))
    match = _match(date(2026, 11, 23), DTP_PHARMACY, (other,))
    assert match.special_drugs_fen == 0


def test_purchase_outcome_refuses_a_zero_amount():
    with pytest.raises(ValueError):
        rules.purchase_outcome(
            _match(date(2026, 11, 23), DTP_PHARMACY),
            drug_code="X",
            drug_name="",
            amount_fen=0,
            room_fen=None,
        )


@pytest.mark.parametrize(
    "counted, earlier, held",
    [
        (1_500_000, 0, 1_500_000),  # a claim alone holds all it counts
        (2_000_000, 1_500_000, 500_000),  # the stay now 20,000; 15,000 held: 20,000 - 15,000
        (1_500_000, 1_500_000, 0),  # nothing new for the drug
        (1_000_000, 1_500_000, 0),  # counts less than held: the earlier claim keeps its 15,000
        (0, 0, 0),
    ],
)
def test_supplement_hold(counted, earlier, held):
    assert rules.supplement_hold(counted, earlier) == held


@pytest.mark.parametrize(
    "counted, room, taken, over",
    [
        (10_000_000, None, 10_000_000, None),  # no cap: all it counted
        (10_000_000, 15_000_000, 10_000_000, None),  # 150,000 left: the 100,000 again
        (10_000_000, 7_000_000, 7_000_000, 3_000_000),  # 70,000 left: 70,000; 30,000 over
        (10_000_000, 0, 0, 10_000_000),  # used up: nothing counts
        (0, 15_000_000, 0, None),  # it counted nothing when filed: nothing now
    ],
)
def test_retaken(counted, room, taken, over):
    # a purchase of 120,000 yuan that counted `counted` when it was filed
    outcome = rules.retaken(
        counted,
        drug_code=TRASTUZUMAB_EMTANSINE,
        drug_name="T-DM1",
        amount_fen=12_000_000,
        room_fen=room,
    )
    assert outcome.counted_fen == taken
    assert outcome.amounts(12_000_000)["out_of_policy_self_pay_fen"] == 12_000_000 - taken
    assert sum(l.amount_fen for l in outcome.lines) == 12_000_000
    assert [r.code for r in outcome.reasons] == (
        [] if over is None else ["special_drug_annual_cap"]
    )
    if over is not None:
        assert outcome.reasons[0].zh.endswith(f"{over // 100:,}.00 元不计入")


@pytest.mark.parametrize("counted", [-1, 12_000_001])
def test_retaken_refuses_what_the_purchase_never_counted(counted):
    with pytest.raises(ValueError):
        rules.retaken(counted, drug_code="X", drug_name="", amount_fen=12_000_000, room_fen=None)
