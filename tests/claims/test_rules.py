"""Claim rules as tables: settlement mapping, documents, payee, fraud flags, workflow."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.claims import rules
from app.claims.workflow import TRANSITIONS, next_status
from app.common.clock import SHANGHAI
from app.errors import Conflict
from app.integrations.bureau.settlements import SettlementRecord


def rec(
    *,
    med_type="21",
    fulamt=0,
    overlmt=0,
    preself=0,
    inscp=0,
    hifp=0,
    hifmi=0,
    hifob=0,
    maf=0,
    oth=0,
):
    """A consistent settlement: the total is split by scope (I1) and by payer (I2)."""
    total = fulamt + overlmt + preself + inscp
    part = total - hifp - hifmi - hifob - maf - oth
    return SettlementRecord(
        setl_id="S1",
        mdtrt_id="M1",
        psn_no="P1",
        psn_name="张伟",
        fixmedins_code="H1",
        fixmedins_name="赣州市人民医院",
        med_type=med_type,
        begndate=date(2026, 3, 10),
        enddate=date(2026, 3, 18),
        setl_time=datetime(2026, 3, 18, 10, tzinfo=SHANGHAI),
        dise_codg="K35",
        dise_name="阑尾炎",
        medfee_sumamt_fen=total,
        fulamt_ownpay_amt_fen=fulamt,
        overlmt_selfpay_fen=overlmt,
        preselfpay_amt_fen=preself,
        inscp_scp_amt_fen=inscp,
        hifp_pay_fen=hifp,
        hifmi_pay_fen=hifmi,
        hifob_pay_fen=hifob,
        maf_pay_fen=maf,
        oth_pay_fen=oth,
        psn_part_amt_fen=part,
        acct_pay_fen=0,
        psn_cash_pay_fen=part,
    )


SETTLEMENTS = [
    # total 50,000.00 = 7,000 全自费 + 1,000 超限价 + 42,000 in scope; basic 30,000, critical 2,000
    # in-policy self-pay = 42,000 - 32,000 = 10,000.00; out-of-policy = 8,000.00
    (
        rec(fulamt=700_000, overlmt=100_000, inscp=4_200_000, hifp=3_000_000, hifmi=200_000),
        {
            "hifp_pay_fen": 3_000_000,
            "in_policy_self_pay_fen": 1_000_000,
            "out_of_policy_self_pay_fen": 800_000,
            "special_drugs_fen": 0,
        },
    ),
    # 先行自付 500 is in-policy money: in-policy = 9,000 + 500 - 6,000 - 2,000 (large amount) = 1,500
    (
        rec(fulamt=1_000, preself=500, inscp=9_000, hifp=6_000, hifob=2_000),
        {
            "hifp_pay_fen": 6_000,
            "in_policy_self_pay_fen": 1_500,
            "out_of_policy_self_pay_fen": 1_000,
            "special_drugs_fen": 0,
        },
    ),
    # medical assistance is NOT deducted here (the engine does it): in-policy stays 3,000
    (
        rec(inscp=10_000, hifp=7_000, maf=2_000),
        {
            "hifp_pay_fen": 7_000,
            "in_policy_self_pay_fen": 3_000,
            "out_of_policy_self_pay_fen": 0,
            "special_drugs_fen": 0,
        },
    ),
    # other public payers (oth 1,000) count with basic insurance: 7,000 + 1,000 = 8,000; in-policy 2,000
    (
        rec(inscp=10_000, hifp=7_000, oth=1_000),
        {
            "hifp_pay_fen": 8_000,
            "in_policy_self_pay_fen": 2_000,
            "out_of_policy_self_pay_fen": 0,
            "special_drugs_fen": 0,
        },
    ),
    # special drugs (9910): the out-of-policy 15,000 is the special-drug amount
    (
        rec(med_type="9910", fulamt=15_000, inscp=5_000, hifp=4_000),
        {
            "in_policy_self_pay_fen": 1_000,
            "out_of_policy_self_pay_fen": 0,
            "special_drugs_fen": 15_000,
        },
    ),
]


@pytest.mark.parametrize("record, expected", SETTLEMENTS)
def test_settlement_amounts(record, expected):
    amounts = rules.settlement_amounts(record)
    assert {k: amounts[k] for k in expected} == expected
    assert amounts["maf_pay_fen"] == record.maf_pay_fen
    assert rules.parts_mismatch(amounts) == 0  # a consistent record always adds up


@pytest.mark.parametrize(
    "required, uploaded, missing",
    [
        (
            ("invoice", "settlement_sheet", "discharge_summary"),
            [],
            ["invoice", "settlement_sheet", "discharge_summary"],
        ),
        (("invoice", "settlement_sheet"), ["settlement_sheet", "invoice", "invoice"], []),
        (("invoice", "prescription", "pathology"), ["invoice", "pathology"], ["prescription"]),
        ((), ["invoice"], []),
    ],
)
def test_missing_documents(required, uploaded, missing):
    assert rules.missing_documents(required, uploaded) == missing


TODAY = date(2026, 11, 23)
ADULT = date(1985, 3, 12)
CHILD = date(2019, 6, 1)


@pytest.mark.parametrize(
    "payee, account, birth, member, code",
    [
        ("张伟", "6222020200112233445", ADULT, "张伟", None),  # the insured adult
        ("李娜", "6222020200112233445", ADULT, "李娜", "payee_not_allowed"),  # spouse for an adult
        ("张伟", "6222020200112233445", CHILD, "张伟", None),  # guardian for a child (7)
        ("张小宝", "6222020200112233445", CHILD, "张伟", None),  # the child itself
        ("王五", "6222020200112233445", CHILD, "张伟", "payee_not_allowed"),  # a stranger
        ("张伟", "62220202", ADULT, "张伟", "payee_account_invalid"),  # 8 digits: too short
        ("张伟", "6222-0202-0011-2233", ADULT, "张伟", "payee_account_invalid"),  # not digits
        # 18 today (born 2008-11-23): an adult, the guardian may no longer receive
        ("张伟", "6222020200112233445", date(2008, 11, 23), "张伟", "payee_not_allowed"),
        # 17 years 364 days (born 2008-11-24): still a child
        ("张伟", "6222020200112233445", date(2008, 11, 24), "张伟", None),
    ],
)
def test_payee_refusal(payee, account, birth, member, code):
    insured = "张伟" if birth == ADULT else "张小宝"
    refusal = rules.payee_refusal(
        payee_name=payee,
        bank_account=account,
        insured_name=insured,
        insured_birth=birth,
        member_name=member,
        today=TODAY,
    )
    assert (refusal[0] if refusal else None) == code


BASE = dict(
    care_start=date(2026, 3, 10),
    care_end=date(2026, 3, 18),
    coverage_start=date(2026, 1, 1),
    coverage_end=date(2026, 12, 31),
    amounts={
        "medfee_sumamt_fen": 10_000,
        "hifp_pay_fen": 6_000,
        "hifmi_pay_fen": 0,
        "hifob_pay_fen": 0,
        "maf_pay_fen": 0,
        "in_policy_self_pay_fen": 3_000,
        "out_of_policy_self_pay_fen": 1_000,
        "special_drugs_fen": 0,
    },
    insured_name="张伟",
)


@pytest.mark.parametrize(
    "changes, codes",
    [
        ({}, []),  # clean: no flag
        ({"duplicate_invoices": ("赣州市人民医院/0001",)}, ["duplicate_invoice"]),
        ({"duplicate_settlement": True}, ["duplicate_settlement"]),
        ({"care_start": date(2025, 12, 30)}, ["care_outside_coverage"]),  # admitted before cover
        ({"care_end": date(2027, 1, 2)}, ["care_outside_coverage"]),  # discharged after it
        ({"patient_name": "张三"}, ["name_mismatch"]),
        ({"patient_name": "张伟"}, []),
        ({"record_psn_no": "X2", "insured_psn_no": "X1"}, ["person_mismatch"]),
        # 6,000 + 3,000 + 1,000 = 10,000 adds up; with total 12,000 it is 2,000 short
        ({"amounts": {**BASE["amounts"], "medfee_sumamt_fen": 12_000}}, ["amounts_do_not_add_up"]),
        (
            {"settlement_problems": ("psn_part_amt != acct_pay + psn_cash_pay",)},
            ["settlement_inconsistent"],
        ),
        ({"claims_in_window": 3}, []),  # 3 < limit 4
        ({"claims_in_window": 4}, ["unusual_frequency"]),  # 4 >= limit 4
        (
            {"duplicate_settlement": True, "patient_name": "李四"},
            ["duplicate_settlement", "name_mismatch"],
        ),
    ],
)
def test_fraud_flags(changes, codes):
    flags = rules.fraud_flags(rules.FraudFacts(**(BASE | changes)))
    assert [f.code for f in flags] == codes
    assert all(f.zh for f in flags)


@pytest.mark.parametrize(
    "status, action, outcome, expected",
    [
        ("draft", "submit", None, "submitted"),
        ("submitted", "adjudicate", "approved", "approved"),
        ("submitted", "adjudicate", "rejected", "rejected"),
        ("pending_review", "request_info", None, "more_info_requested"),
        ("more_info_requested", "answer", None, "pending_review"),
        ("rejected", "request_human_review", None, "pending_review"),
        ("approved", "pay", "closed", "closed"),
        ("approved", "payout_failed", None, "pending_review"),
    ],
)
def test_workflow_allows(status, action, outcome, expected):
    assert next_status(status, action, outcome) == expected


@pytest.mark.parametrize(
    "status, action",
    [
        ("draft", "approve"),
        ("paid", "approve"),
        ("approved", "reject"),
        ("paid", "submit"),
        ("rejected", "approve"),
        ("more_info_requested", "approve"),
        ("closed", "pay"),
    ],
)
def test_workflow_refuses(status, action):
    with pytest.raises(Conflict) as err:
        next_status(status, action)
    assert err.value.code == "claim_state_conflict"


def test_every_transition_lands_on_a_status():
    from app.claims.workflow import STATUSES

    for (src, _), targets in TRANSITIONS.items():
        assert src in STATUSES and set(targets) <= set(STATUSES)


@pytest.mark.parametrize(
    "bureau, typed, flagged",
    [
        ((1_700_500, 1_210_000), (1_700_500, 1_210_000), False),  # the same split
        ((1_700_500, 1_210_000), (1_700_500, 1_500_000), False),  # more out-of-policy: 60% anyway
        ((1_700_500, 1_210_000), (1_600_000, 1_310_500), False),  # less in-policy
        ((1_700_500, 1_210_000), (2_910_500, 0), True),  # all typed as in-policy
        ((1_700_500, 1_210_000), (1_700_501, 1_209_999), True),  # one fen moved
    ],
)
def test_a_supplement_typing_more_in_policy_than_the_bureau_says_is_flagged(bureau, typed, flagged):
    flag = rules.bureau_split_flag("CL2026001", bureau, typed)
    assert (flag is not None) == flagged
    if flag is not None:
        assert flag.code == "episode_amounts_differ"
        assert "CL2026001" in flag.zh and "17,005.00 元" in flag.zh


_DECIDED = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "status, last_action, decided_at, now, final",
    [
        # a reviewer's rejection: 复核 may be asked until 30 days after the decision
        ("rejected", "reject", _DECIDED, _DECIDED + timedelta(days=29), False),
        ("rejected", "reject", _DECIDED, _DECIDED + timedelta(days=30), False),  # the last moment
        ("rejected", "reject", _DECIDED, _DECIDED + timedelta(days=30, seconds=1), True),
        # the engine's: a human review has no window; its reservation goes after the same 30 days
        ("rejected", "adjudicate", _DECIDED, _DECIDED + timedelta(days=1), False),
        ("rejected", "adjudicate", _DECIDED, _DECIDED + timedelta(days=31), True),
        # a recheck upheld it: final at once (a claim is rechecked once)
        ("rejected", "uphold", _DECIDED, _DECIDED + timedelta(minutes=1), True),
        # not rejected (in 复核, in review again, approved): never
        ("recheck", "request_recheck", _DECIDED, _DECIDED + timedelta(days=90), False),
        ("pending_review", "request_human_review", _DECIDED, _DECIDED + timedelta(days=90), False),
        ("paid", "pay", _DECIDED, _DECIDED + timedelta(days=90), False),
        ("rejected", "reject", None, _DECIDED + timedelta(days=90), False),  # no decision time
    ],
)
def test_rejection_final(status, last_action, decided_at, now, final):
    assert rules.rejection_final(status, last_action, decided_at, now, 30) is final
