"""The sandbox bureau's settlement records: what `flask demo seed` loads, the two queries of the
port, the sandbox-only helper and `flask demo settlement`."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from app.common.clock import SHANGHAI, today_shanghai
from app.database import get_session
from app.demo.residents import generate
from app.demo.seed import seed_demo
from app.integrations.bureau.port import BureauUnavailable
from app.integrations.bureau.sandbox import SandboxBureau
from app.integrations.bureau.sandbox_models import SandboxSettlement
from app.integrations.bureau.sandbox_settlements import (
    SEED_CUTOFF,
    UnknownResident,
    add_settlement,
    demo_settlements,
)
from app.integrations.bureau.settlements import settlement_inconsistencies
from app.integrations.registry import bureau

YEAR = (date(2026, 1, 1), date(2026, 12, 31))
HUIMIN_DEDUCTIBLE_FEN = 1_500_000  # ganzhou-demo-2026: 15,000 yuan over in- and out-of-policy


@pytest.fixture
def ctx(seeded):
    with seeded.app_context():
        yield seeded


def all_rows():
    return (
        get_session().scalars(select(SandboxSettlement).order_by(SandboxSettlement.setl_id)).all()
    )


# --- what the seed loads --------------------------------------------------------------------------


def test_seed_gives_a_good_share_of_residents_consistent_2026_settlements(ctx):
    registry = generate()
    records = [
        r
        for p in {x.psn_no for x in registry}
        for r in SandboxBureau().settlement_records(p, *YEAR)
    ]
    people = {r.psn_no for r in records}

    assert len(people) >= 0.4 * len(registry)  # 129 of 240 with the shipped registry
    assert len(records) == len(all_rows()) >= 150
    assert all(r.setl_time.year == 2026 and r.begndate.year == 2026 for r in records)
    assert all(r.settled_on < SEED_CUTOFF == date(2026, 11, 1) for r in records)
    assert [r.setl_id for r in records if settlement_inconsistencies(r)] == []
    kinds = Counter(r.care_kind for r in records)
    assert set(kinds) == {
        "in_patient",
        "emergency",
        "day_surgery",
        "chronic_outpatient",
        "special_drug",
        None,
    }
    claimable = [r for r in records if r.claimable]
    self_pay = [r.in_policy_self_pay_fen + r.out_of_policy_self_pay_fen for r in claimable]
    assert sum(s > HUIMIN_DEDUCTIBLE_FEN for s in self_pay) >= 10  # above the deductible
    assert sum(s < HUIMIN_DEDUCTIBLE_FEN for s in self_pay) >= 50  # small ones
    assert [r.setl_id for r in records if r.cancelled] == ["SBS20269000000002"]
    assert any(r.maf_pay_fen > 0 for r in records)  # medical assistance
    assert any(r.hifmi_pay_fen > 0 for r in records)  # resident critical illness
    assert any(r.acct_pay_fen > 0 for r in records)  # personal account


def test_seed_matches_the_pure_plan_and_is_deterministic(ctx):
    planned = demo_settlements(generate())
    assert planned == demo_settlements(generate())
    stored = {r.setl_id: r for r in all_rows()}
    assert set(stored) == {r.setl_id for r in planned}
    some = planned[17]
    assert SandboxBureau().settlement_record(some.psn_no, some.setl_id) == some


def test_seeding_again_changes_nothing(ctx):
    before = [(r.id, r.setl_id, r.medfee_sumamt_fen, r.setl_time) for r in all_rows()]
    get_session().rollback()
    second = seed_demo()
    after = [(r.id, r.setl_id, r.medfee_sumamt_fen, r.setl_time) for r in all_rows()]
    assert second["settlements_created"] == 0
    assert second["settlements_updated"] == len(before)
    assert after == before


def test_seeding_restores_a_tampered_demo_settlement_and_keeps_added_ones(ctx, residents):
    added = add_settlement(residents["张伟"].psn_no, 500_000)
    session = get_session()
    session.execute(
        update(SandboxSettlement)
        .where(SandboxSettlement.setl_id == "SBS20269000000001")
        .values(medfee_sumamt_fen=1)
    )
    session.commit()
    seed_demo()
    zhang = SandboxBureau().settlement_records(residents["张伟"].psn_no, *YEAR)
    assert [r.setl_id for r in zhang][:1] == ["SBS20269000000001"]
    assert zhang[0].medfee_sumamt_fen == 2_368_050
    assert added.setl_id in {r.setl_id for r in zhang}


# --- the showcase people ----------------------------------------------------------------------------


def test_zhang_wei_has_a_small_stay_a_reversed_one_and_its_resettlement(ctx, residents):
    records = bureau().settlement_records(residents["张伟"].psn_no, *YEAR)

    assert [(r.setl_id, r.cancelled) for r in records] == [
        ("SBS20269000000001", False),
        ("SBS20269000000002", True),
        ("SBS20269000000003", False),
    ]
    small, reversed_, resettled = records
    assert small.care_kind == "in_patient" and small.claimable
    # 4,847.50 + 1,280.50 yuan of his own money: below the 15,000-yuan deductible
    assert small.in_policy_self_pay_fen + small.out_of_policy_self_pay_fen == 612_800
    assert not reversed_.claimable
    assert resettled.mdtrt_id == reversed_.mdtrt_id  # the same admission, settled again
    assert resettled.settled_on == date(2026, 5, 21)
    # 17,005.00 + 12,100.00 yuan: above the deductible
    assert resettled.in_policy_self_pay_fen + resettled.out_of_policy_self_pay_fen == 2_910_500
    assert resettled.acct_pay_fen == 200_000  # an employee paying from the account
    assert all(r.psn_name == "张伟" for r in records)


def test_li_na_zhang_jianguo_and_wang_fang_have_records(ctx, residents):
    li_na = bureau().settlement_records(residents["李娜"].psn_no, *YEAR)
    assert [r.care_kind for r in li_na] == ["day_surgery", "chronic_outpatient"]

    jianguo = bureau().settlement_records(residents["张建国"].psn_no, *YEAR)
    assert [r.care_kind for r in jianguo] == ["in_patient", "special_drug", "chronic_outpatient"]
    assert all(r.maf_pay_fen > 0 for r in jianguo)  # low-income: medical assistance
    assert jianguo[0].hifmi_pay_fen > 0  # resident critical illness

    wang = bureau().settlement_records(residents["王芳"].psn_no, *YEAR)
    suspended_since = residents["王芳"].paus_insu_date
    before, during = wang
    assert before.care_date < suspended_since <= during.care_date
    assert before.hifp_pay_fen > 0
    assert during.fund_pay_sumamt_fen == 0 and during.psn_part_amt_fen == during.medfee_sumamt_fen


# --- the two queries ----------------------------------------------------------------------------------


def test_list_is_filtered_by_shanghai_settlement_date(ctx, residents):
    psn = residents["李娜"].psn_no
    record = add_settlement(psn, 300_000, care_kind="emergency", enddate=date(2026, 9, 30))
    # Move it to 2026-10-01 07:30 in Shanghai, which is still 2026-09-30 in UTC.
    session = get_session()
    session.execute(
        update(SandboxSettlement)
        .where(SandboxSettlement.setl_id == record.setl_id)
        .values(setl_time=datetime(2026, 10, 1, 7, 30, tzinfo=SHANGHAI))
    )
    session.commit()
    sandbox = SandboxBureau()

    def ids(begin, end):
        return [r.setl_id for r in sandbox.settlement_records(psn, begin, end)]

    assert record.setl_id in ids(date(2026, 10, 1), date(2026, 10, 1))
    assert record.setl_id not in ids(date(2026, 9, 30), date(2026, 9, 30))
    assert record.setl_id not in ids(date(2026, 10, 2), date(2026, 12, 31))
    # the day-surgery (04-08) and chronic (07-15) records: each end inclusive
    assert ids(date(2026, 4, 8), date(2026, 7, 15)) == ["SBS20269000000101", "SBS20269000000102"]
    assert ids(date(2026, 4, 9), date(2026, 7, 14)) == []


def test_detail_only_for_its_own_person(ctx, residents):
    zhang, li = residents["张伟"].psn_no, residents["李娜"].psn_no
    sandbox = SandboxBureau()

    found = sandbox.settlement_record(zhang, "SBS20269000000003")
    assert found is not None and found.psn_no == zhang and found.medfee_sumamt_fen == 9_736_000
    assert sandbox.settlement_record(li, "SBS20269000000003") is None  # someone else's
    assert sandbox.settlement_record(zhang, "SBS-NO-SUCH") is None
    assert sandbox.settlement_records("3607-nobody", *YEAR) == []


def test_bad_arguments_are_refused(ctx):
    sandbox = SandboxBureau()
    with pytest.raises(ValueError):
        sandbox.settlement_records("P1", date(2026, 2, 1), date(2026, 1, 1))
    with pytest.raises(ValueError):
        sandbox.settlement_records("P1", datetime(2026, 1, 1), date(2026, 2, 1))
    with pytest.raises(ValueError):
        sandbox.settlement_record("", "S1")


def test_fault_makes_the_bureau_unavailable(ctx, residents):
    sandbox = SandboxBureau(faults={"settlements_unavailable"})
    with pytest.raises(BureauUnavailable):
        sandbox.settlement_records(residents["张伟"].psn_no, *YEAR)
    with pytest.raises(BureauUnavailable):
        sandbox.settlement_record(residents["张伟"].psn_no, "SBS20269000000001")
    sandbox.faults.clear()
    assert len(sandbox.settlement_records(residents["张伟"].psn_no, *YEAR)) == 3


# --- the sandbox-only helper and its CLI ---------------------------------------------------------------


def test_add_settlement_defaults_and_split(ctx, residents):
    psn = residents["张建国"].psn_no
    record = add_settlement(psn, 2_000_000)
    yesterday = today_shanghai() - timedelta(days=1)

    assert record.setl_id.startswith("SBX") and record.care_kind == "in_patient"
    assert (record.begndate, record.enddate) == (yesterday - timedelta(days=5), yesterday)
    # 10% wholly self-paid and 5% first self-paid by default: 200,000 and 100,000 of 2,000,000
    assert (record.fulamt_ownpay_amt_fen, record.preselfpay_amt_fen) == (200_000, 100_000)
    assert settlement_inconsistencies(record) == []
    assert record.maf_pay_fen > 0  # 张建国 is low-income
    assert SandboxBureau().settlement_record(psn, record.setl_id) == record
    assert (
        get_session().scalar(
            select(func.count())
            .select_from(SandboxSettlement)
            .where(SandboxSettlement.psn_no == psn)
        )
        == 4
    )


def test_add_settlement_refusals(ctx, residents):
    with pytest.raises(UnknownResident):
        add_settlement("3607-nobody", 100_000)
    with pytest.raises(ValueError):
        add_settlement(residents["张伟"].psn_no, 0)
    with pytest.raises(ValueError):
        add_settlement(residents["张伟"].psn_no, 100_000, care_kind="dental")
    with pytest.raises(ValueError):
        add_settlement(
            residents["张伟"].psn_no, 100_000, begndate=date(2026, 5, 2), enddate=date(2026, 5, 1)
        )


def test_cli_adds_a_settlement(seeded, residents):
    runner = seeded.test_cli_runner()
    psn = residents["李娜"].psn_no
    result = runner.invoke(
        args=[
            "demo",
            "settlement",
            "--psn-no",
            psn,
            "--amount",
            "23680.50",
            "--care-kind",
            "day_surgery",
            "--date",
            "2026-10-20",
        ]
    )

    assert result.exit_code == 0, result.output
    assert "medfee_sumamt_fen: 2368050" in result.output
    setl_id = result.output.split("setl_id: ")[1].split()[0]
    with seeded.app_context():
        record = SandboxBureau().settlement_record(psn, setl_id)
    assert record is not None and record.care_kind == "day_surgery"
    assert record.begndate == record.enddate == date(2026, 10, 20)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--amount", "12.345"], "at most two decimals"),
        (["--amount", "-5"], "positive"),
        (["--amount", "lots"], "number of yuan"),
    ],
    ids=["fraction-of-a-fen", "negative", "not-a-number"],
)
def test_cli_refuses_bad_amounts(seeded, residents, args, message):
    result = seeded.test_cli_runner().invoke(
        args=["demo", "settlement", "--psn-no", residents["李娜"].psn_no, *args]
    )
    assert result.exit_code != 0 and message in result.output


def test_cli_refuses_unknown_people_and_non_sandbox_bureaus(seeded):
    runner = seeded.test_cli_runner()
    result = runner.invoke(args=["demo", "settlement", "--psn-no", "3607-nobody", "--amount", "10"])
    assert result.exit_code != 0 and "psn_no" in result.output
    seeded.config["BUREAU_ADAPTER"] = "real"
    result = runner.invoke(args=["demo", "settlement", "--psn-no", "x", "--amount", "10"])
    assert result.exit_code != 0 and "only added to the sandbox" in result.output
