"""Settlement records as plain data: the consistency identities (table-driven, each row checkable
by hand), the medical-type map, the derived amounts, and the sandbox bureau's split rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from app.integrations.bureau.sandbox_settlements import bureau_split
from app.integrations.bureau.settlements import (
    INCONSISTENCIES,
    MED_TYPE_CARE_KINDS,
    SHANGHAI,
    SettlementRecord,
    care_kind_of,
    settlement_inconsistencies,
)
from app.products.definition import CARE_KINDS

# A consistent in-patient settlement (fen), the base of every row below:
#   I1 medfee 1,000,000 = fulamt 100,000 + overlmt 20,000 + pre 30,000 + inscp 850,000
#   I2 medfee 1,000,000 = hifp 500,000 + hifmi 50,000 + hifob 0 + maf 100,000 + oth 0
#                         + psn_part 350,000
#   I3 psn_part 350,000 = acct 50,000 + cash 300,000
#   I4 funds 550,000 <= inscp 850,000
#   I5 maf 100,000 <= inscp 850,000 + pre 30,000 - funds 550,000 = 330,000
BASE = SettlementRecord(
    setl_id="S1",
    mdtrt_id="M1",
    psn_no="P1",
    psn_name="张伟",
    fixmedins_code="H36070200001",
    fixmedins_name="赣南医科大学第一附属医院",
    med_type="21",
    begndate=date(2026, 3, 1),
    enddate=date(2026, 3, 11),
    setl_time=datetime(2026, 3, 11, 10, 0, tzinfo=SHANGHAI),
    dise_codg="I63.900",
    dise_name="脑梗死",
    medfee_sumamt_fen=1_000_000,
    fulamt_ownpay_amt_fen=100_000,
    overlmt_selfpay_fen=20_000,
    preselfpay_amt_fen=30_000,
    inscp_scp_amt_fen=850_000,
    hifp_pay_fen=500_000,
    hifmi_pay_fen=50_000,
    hifob_pay_fen=0,
    maf_pay_fen=100_000,
    oth_pay_fen=0,
    psn_part_amt_fen=350_000,
    acct_pay_fen=50_000,
    psn_cash_pay_fen=300_000,
)

CASES = [
    # (id, changes, expected codes)
    ("consistent", {}, []),
    # medfee 1,000,001: I1 sum is 1,000,000 and I2 sum is 1,000,000, both one fen short
    (
        "total-one-fen-more",
        {"medfee_sumamt_fen": 1_000_001},
        ["total_split_mismatch", "total_payers_mismatch"],
    ),
    # inscp 849,999: I1 sum 999,999 != 1,000,000; I4 550,000 <= 849,999; I5 100,000 <= 329,999
    ("in-scope-one-fen-less", {"inscp_scp_amt_fen": 849_999}, ["total_split_mismatch"]),
    # psn_part 350,001 with cash 300,001: I2 sum 1,000,001; I3 50,000 + 300,001 = 350,001 holds
    (
        "personal-part-too-big",
        {"psn_part_amt_fen": 350_001, "psn_cash_pay_fen": 300_001},
        ["total_payers_mismatch"],
    ),
    # cash 299,999: I3 50,000 + 299,999 = 349,999 != 350,000
    ("cash-one-fen-short", {"psn_cash_pay_fen": 299_999}, ["personal_part_mismatch"]),
    # hifp 900,000, hifmi 0, maf 0, psn_part 100,000 (acct 0 + cash 100,000): I2 holds
    # (900,000 + 100,000); I4 900,000 > inscp 850,000. I5: maf 0 <= max(880,000 - 900,000, 0)
    (
        "funds-beyond-policy-scope",
        {
            "hifp_pay_fen": 900_000,
            "hifmi_pay_fen": 0,
            "maf_pay_fen": 0,
            "psn_part_amt_fen": 100_000,
            "acct_pay_fen": 0,
            "psn_cash_pay_fen": 100_000,
        },
        ["funds_exceed_policy_scope"],
    ),
    # maf 340,000, psn_part 110,000 (acct 10,000 + cash 100,000): I2 550,000 + 340,000 + 110,000
    # = 1,000,000 holds; I5 340,000 > 850,000 + 30,000 - 550,000 = 330,000
    (
        "assistance-beyond-self-pay",
        {
            "maf_pay_fen": 340_000,
            "psn_part_amt_fen": 110_000,
            "acct_pay_fen": 10_000,
            "psn_cash_pay_fen": 100_000,
        },
        ["assistance_exceeds_self_pay"],
    ),
    # maf 330,000 exactly (the whole in-policy self-pay left), psn_part 120,000 (= the
    # out-of-policy 100,000 + 20,000): I2 550,000 + 330,000 + 120,000 = 1,000,000; I5 equal: ok
    (
        "assistance-exactly-all-self-pay",
        {
            "maf_pay_fen": 330_000,
            "psn_part_amt_fen": 120_000,
            "acct_pay_fen": 20_000,
            "psn_cash_pay_fen": 100_000,
        },
        [],
    ),
    # oth 10,000 is a payer: I2 550,000 + 10,000 + 100,000 + 340,000 = 1,000,000;
    # I3 50,000 + 290,000 = 340,000; I4 560,000 <= 850,000; I5 100,000 <= 320,000
    (
        "other-payer-counts",
        {"oth_pay_fen": 10_000, "psn_part_amt_fen": 340_000, "psn_cash_pay_fen": 290_000},
        [],
    ),
    # oth 10,000 without taking it off the member: I2 1,010,000
    ("other-payer-double-counted", {"oth_pay_fen": 10_000}, ["total_payers_mismatch"]),
    # admitted 03-12, discharged 03-11
    ("admitted-after-discharge", {"begndate": date(2026, 3, 12)}, ["dates_out_of_order"]),
    # settled 2026-03-10 23:30 Shanghai (15:30 UTC), the day before the 03-11 discharge
    (
        "settled-before-discharge",
        {"setl_time": datetime(2026, 3, 10, 15, 30, tzinfo=UTC)},
        ["dates_out_of_order"],
    ),
    # settled 2026-03-10 16:30 UTC = 2026-03-11 00:30 Shanghai: the discharge day, fine
    (
        "settled-on-discharge-day-in-shanghai",
        {"setl_time": datetime(2026, 3, 10, 16, 30, tzinfo=UTC)},
        [],
    ),
    # same-day care (day surgery): begndate = enddate = settlement day
    ("same-day-care", {"begndate": date(2026, 3, 11), "med_type": "2114"}, []),
    # everything at once, reported in I1, I2, I3, D1 order: medfee 999,000 (I1 1,000,000,
    # I2 1,000,000 both differ), cash 1 (I3 50,001 != 350,000), begndate after enddate
    (
        "several",
        {"medfee_sumamt_fen": 999_000, "psn_cash_pay_fen": 1, "begndate": date(2026, 4, 1)},
        [
            "total_split_mismatch",
            "total_payers_mismatch",
            "personal_part_mismatch",
            "dates_out_of_order",
        ],
    ),
]


@pytest.mark.parametrize(("changes", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_settlement_inconsistencies(changes, expected):
    assert settlement_inconsistencies(replace(BASE, **changes)) == expected


def test_every_code_has_a_chinese_reading():
    codes = {code for _, _, expected in CASES for code in expected}
    assert codes == set(INCONSISTENCIES)
    assert all(INCONSISTENCIES[c] for c in codes)


def test_derived_amounts_of_the_base_record():
    # insurance funds 500,000 + 50,000 + 0 + 0; all funds + maf 100,000
    assert BASE.insurance_funds_fen == 550_000
    assert BASE.fund_pay_sumamt_fen == 650_000
    # in-policy self-pay before assistance: 850,000 + 30,000 - 550,000
    assert BASE.in_policy_self_pay_fen == 330_000
    # out-of-policy: 100,000 + 20,000
    assert BASE.out_of_policy_self_pay_fen == 120_000
    # in + out = psn_part + maf (follows from I1 and I2): 450,000 = 350,000 + 100,000
    assert (
        BASE.in_policy_self_pay_fen + BASE.out_of_policy_self_pay_fen
        == BASE.psn_part_amt_fen + BASE.maf_pay_fen
    )
    assert BASE.care_date == date(2026, 3, 1)
    assert BASE.settled_on == date(2026, 3, 11)


def test_in_policy_self_pay_never_negative():
    broken = replace(BASE, hifp_pay_fen=2_000_000)  # funds 2,050,000 > inscp + pre 880,000
    assert broken.in_policy_self_pay_fen == 0


@pytest.mark.parametrize(
    ("med_type", "kind"),
    [
        ("21", "in_patient"),
        ("22", "in_patient"),
        ("23", "in_patient"),
        ("24", "in_patient"),
        ("2114", "day_surgery"),
        ("13", "emergency"),
        ("9909", "emergency"),
        ("14", "chronic_outpatient"),
        ("9910", "special_drug"),
        ("11", None),
        ("12", None),
        ("41", None),
        ("52", None),
        ("", None),
    ],
)
def test_med_type_to_care_kind(med_type, kind):
    assert care_kind_of(med_type) == kind


def test_the_map_only_speaks_huimins_kinds_and_covers_each():
    assert set(MED_TYPE_CARE_KINDS.values()) == set(CARE_KINDS)


def test_claimable_only_when_covered_and_not_reversed():
    assert BASE.claimable and not BASE.cancelled
    reversed_ = replace(BASE, refd_setl_flag="1")
    assert reversed_.cancelled and not reversed_.claimable
    outpatient = replace(BASE, med_type="11")
    assert outpatient.care_kind is None and not outpatient.claimable and not outpatient.cancelled


@pytest.mark.parametrize(
    "changes",
    [
        {"hifp_pay_fen": -1},
        {"medfee_sumamt_fen": 1000.0},
        {"acct_pay_fen": True},
        {"setl_time": datetime(2026, 3, 11, 10, 0)},  # naive
        {"begndate": datetime(2026, 3, 1, 8, 0, tzinfo=SHANGHAI)},  # a datetime is not a date
        {"refd_setl_flag": "2"},
        {"setl_id": ""},
        {"psn_no": "  "},
        {"dise_name": None},
    ],
    ids=[
        "negative",
        "float",
        "bool",
        "naive-time",
        "datetime-as-date",
        "unknown-flag",
        "no-setl-id",
        "blank-psn-no",
        "no-diagnosis-text",
    ],
)
def test_record_refuses_what_is_not_a_settlement(changes):
    with pytest.raises(ValueError):
        replace(BASE, **changes)


# --- the sandbox bureau's split (sandbox_settlements.bureau_split) ----------------------------

SPLITS = [
    # resident in-patient: inscp = 5,000,000 - 500,000 - 200,000 = 4,300,000;
    # hifp = (4,300,000 - 60,000) x 70% = 2,968,000; left 1,332,000;
    # hifmi = (1,332,000 - 1,000,000) x 60% = 199,200; psn_part = 5,000,000 - 2,968,000 - 199,200
    (
        "resident-in-patient-with-critical-illness",
        dict(
            medfee_fen=5_000_000,
            fulamt_fen=500_000,
            overlmt_fen=0,
            preselfpay_fen=200_000,
            insutype="390",
            care_kind="in_patient",
            assisted=False,
        ),
        dict(
            inscp_scp_amt_fen=4_300_000,
            hifp_pay_fen=2_968_000,
            hifmi_pay_fen=199_200,
            hifob_pay_fen=0,
            maf_pay_fen=0,
            psn_part_amt_fen=1_832_800,
            acct_pay_fen=0,
            psn_cash_pay_fen=1_832_800,
        ),
    ),
    # employee, balance 100,000: inscp 850,000; hifp = (850,000 - 80,000) x 85% = 654,500;
    # left 195,500 < 2,000,000 so no hifob; psn_part 345,500;
    # acct = min(345,500 // 3 = 115,166, 200,000, balance 100,000) = 100,000; cash 245,500
    (
        "employee-account-capped-by-balance",
        dict(
            medfee_fen=1_000_000,
            fulamt_fen=100_000,
            overlmt_fen=0,
            preselfpay_fen=50_000,
            insutype="310",
            care_kind="in_patient",
            assisted=False,
            account_balance_fen=100_000,
        ),
        dict(
            inscp_scp_amt_fen=850_000,
            hifp_pay_fen=654_500,
            hifob_pay_fen=0,
            maf_pay_fen=0,
            psn_part_amt_fen=345_500,
            acct_pay_fen=100_000,
            psn_cash_pay_fen=245_500,
        ),
    ),
    # employee large amount: inscp 20,000,000; hifp = 19,920,000 x 85% = 16,932,000;
    # left 3,068,000; hifob = (3,068,000 - 2,000,000) x 80% = 854,400; psn 2,213,600; no account
    (
        "employee-large-amount",
        dict(
            medfee_fen=20_000_000,
            fulamt_fen=0,
            overlmt_fen=0,
            preselfpay_fen=0,
            insutype="310",
            care_kind="in_patient",
            assisted=False,
        ),
        dict(
            hifp_pay_fen=16_932_000,
            hifob_pay_fen=854_400,
            psn_part_amt_fen=2_213_600,
            acct_pay_fen=0,
        ),
    ),
    # assisted resident, chronic out-patient (no deductible): inscp 85,000; hifp 85,000 x 70%
    # = 59,500; maf = (85,000 + 5,000 - 59,500) x 50% = 15,250; psn = 100,000 - 59,500 - 15,250
    (
        "assisted-chronic-no-deductible",
        dict(
            medfee_fen=100_000,
            fulamt_fen=10_000,
            overlmt_fen=0,
            preselfpay_fen=5_000,
            insutype="390",
            care_kind="chronic_outpatient",
            assisted=True,
        ),
        dict(
            inscp_scp_amt_fen=85_000,
            hifp_pay_fen=59_500,
            maf_pay_fen=15_250,
            psn_part_amt_fen=25_250,
        ),
    ),
    # basic insurance suspended: no fund pays; the member carries all 1,000,000
    (
        "suspended-no-fund-pays",
        dict(
            medfee_fen=1_000_000,
            fulamt_fen=100_000,
            overlmt_fen=0,
            preselfpay_fen=50_000,
            insutype="390",
            care_kind="in_patient",
            assisted=False,
            basic_paid=False,
        ),
        dict(hifp_pay_fen=0, hifmi_pay_fen=0, maf_pay_fen=0, psn_part_amt_fen=1_000_000),
    ),
    # flooring: (100,001 - 60,000) x 70% = 28,000.7 -> 28,000; psn 100,001 - 28,000 = 72,001
    (
        "floored-to-the-fen",
        dict(
            medfee_fen=100_001,
            fulamt_fen=0,
            overlmt_fen=0,
            preselfpay_fen=0,
            insutype="390",
            care_kind="in_patient",
            assisted=False,
        ),
        dict(hifp_pay_fen=28_000, psn_part_amt_fen=72_001),
    ),
]


@pytest.mark.parametrize(
    ("inputs", "expected"), [s[1:] for s in SPLITS], ids=[s[0] for s in SPLITS]
)
def test_bureau_split(inputs, expected):
    amounts = bureau_split(**inputs)
    assert {k: amounts[k] for k in expected} == expected
    record = replace(BASE, **amounts)
    assert settlement_inconsistencies(record) == []


def test_bureau_split_refuses_parts_larger_than_the_total():
    with pytest.raises(ValueError):
        bureau_split(
            medfee_fen=100,
            fulamt_fen=80,
            overlmt_fen=0,
            preselfpay_fen=30,
            insutype="390",
            care_kind="in_patient",
            assisted=False,
        )
