"""The sandbox bureau's fee lines (5204 shape): seeded with every demo settlement and with each
added one, adding up exactly to the settlement, the same on every run, the showcase bills on
the demo catalogues; and `SandboxBureau.fee_details` netting and checking them."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy import func, select, update

from app.catalogues import demo_data
from app.catalogues.line_totals import SettlementTotals, check_line_totals
from app.catalogues.matching import FeeLine, match_lines
from app.database import get_session
from app.demo.residents import generate
from app.integrations.bureau.fee_details import FeeDetailsInconsistent, net_reversals
from app.integrations.bureau.port import BureauUnavailable
from app.integrations.bureau.sandbox import SandboxBureau
from app.integrations.bureau.sandbox_demo_plan import demo_plan
from app.integrations.bureau.sandbox_models import SandboxFeeLine, SandboxSettlement
from app.integrations.bureau.sandbox_settlements import (
    add_settlement,
    demo_settlements,
    plan_fee_lines,
    query_fee_lines,
)

YEAR = (date(2026, 1, 1), date(2026, 12, 31))
LISTED = {i.med_list_codg for i in demo_data.DEMO_COMMERCIAL_ITEMS}
SPECIAL = {d.drug_code for d in demo_data.DEMO_SPECIAL_DRUGS}


@pytest.fixture
def ctx(seeded):
    with seeded.app_context():
        yield seeded


def showcase_lines(residents, name):
    sandbox = SandboxBureau()
    psn = residents[name].psn_no
    return {
        r.setl_id: sandbox.fee_details(psn, r.setl_id)
        for r in sandbox.settlement_records(psn, *YEAR)
    }


# --- pure: the plan ---------------------------------------------------------------------------------


def test_every_demo_settlement_is_itemised_into_lines_that_add_up():
    plan = demo_plan(generate())
    assert len(plan) == 218  # 黄秀英 (reinstated) adds two hand-set stays
    for record, visit in plan:
        raw = plan_fee_lines(record, visit.featured, visit.fee_reversal)
        lines = [FeeLine(**l.fee_line_fields()) for l in raw if not l.reversal]
        reversals = [l for l in raw if l.reversal]
        # the adjudication side's own check, on the lines a port hands on (reversals netted)
        netted = [FeeLine(**l.fee_line_fields()) for l in net_reversals(raw)]
        assert check_line_totals(netted, SettlementTotals.of(record)) == (), record.setl_id
        assert all(l.cnt * l.pric_fen == l.det_item_fee_sumamt_fen for l in lines)
        assert all(record.begndate <= l.fee_ocur_date <= record.enddate for l in lines)
        assert len(reversals) <= 1


def test_the_plan_is_the_same_on_every_run_and_varied():
    first = [(r, plan_fee_lines(r, v.featured, v.fee_reversal)) for r, v in demo_plan(generate())]
    again = [(r, plan_fee_lines(r, v.featured, v.fee_reversal)) for r, v in demo_plan(generate())]
    assert first == again
    lines = [l for _, ls in first for l in ls]
    assert len({l.feedetl_sn for l in lines}) == len(lines)
    assert Counter(l.chrgitm_lv for l in lines).keys() == {"01", "02", "03"}
    codes = {l.med_list_codg for l in lines if l.chrgitm_lv == "03"}
    assert codes & LISTED and codes - LISTED - SPECIAL  # some on the catalogue, some not
    assert sum(l.reversal for l in lines) >= 10  # returned items, for the netting to work on


def test_featured_lines_beyond_the_self_paid_part_are_refused():
    record, visit = demo_plan(generate())[0]
    with pytest.raises(ValueError, match="exceed"):
        plan_fee_lines(record, visit.featured * 2)


# --- seeded: what the port hands on -------------------------------------------------------------------


def test_every_seeded_settlement_has_lines_that_add_up_through_the_port(ctx):
    sandbox = SandboxBureau()
    records = demo_settlements(generate())
    assert len(records) == 218
    for record in records:
        lines = sandbox.fee_details(record.psn_no, record.setl_id)
        assert lines, record.setl_id
        assert all(not l.reversal for l in lines)
        converted = [FeeLine(**l.fee_line_fields()) for l in lines]
        assert check_line_totals(converted, SettlementTotals.of(record)) == (), record.setl_id
    stored = get_session().scalar(select(func.count()).select_from(SandboxFeeLine))
    planned = [
        l for r, v in demo_plan(generate()) for l in plan_fee_lines(r, v.featured, v.fee_reversal)
    ]
    assert stored == len(planned)


def test_stored_lines_are_the_plan_and_seeding_again_rewrites_them_unchanged(ctx):
    record, visit = next((r, v) for r, v in demo_plan(generate()) if v.fee_reversal)
    planned = plan_fee_lines(record, visit.featured, visit.fee_reversal)
    session = get_session()
    assert query_fee_lines(session, record.setl_id) == planned
    session.rollback()
    from app.demo.seed import seed_demo

    seed_demo()
    session = get_session()
    assert query_fee_lines(session, record.setl_id) == planned
    assert session.scalar(select(func.count()).select_from(SandboxFeeLine)) == sum(
        len(plan_fee_lines(r, v.featured, v.fee_reversal)) for r, v in demo_plan(generate())
    )


def test_zhang_wei_family_bills_carry_items_on_the_demo_catalogue(ctx, residents):
    family = ("张伟", "李娜", "张小宝", "张建国")
    featured = [
        (r, v)
        for r, v in demo_plan(list(residents.values()))
        if r.psn_name in family and v.featured
    ]
    assert {r.psn_name for r, _ in featured} == set(family)
    sandbox = SandboxBureau()
    for record, visit in featured:
        lines = sandbox.fee_details(record.psn_no, record.setl_id)
        billed = {l.med_list_codg: l for l in lines}
        for f in visit.featured:
            assert f.code in LISTED | SPECIAL
            assert (billed[f.code].cnt, billed[f.code].pric_fen) == (f.cnt, f.pric_fen)
            assert billed[f.code].fulamt_ownpay_amt_fen == f.amount_fen
        # and something off the catalogues too, unless the featured lines are the whole part
        if sum(f.amount_fen for f in visit.featured) < record.fulamt_ownpay_amt_fen:
            assert any(
                l.chrgitm_lv == "03" and l.med_list_codg not in LISTED | SPECIAL for l in lines
            )
    small = {
        l.med_list_codg: l
        for l in sandbox.fee_details(residents["张伟"].psn_no, "SBS20269000000001")
    }
    clip = small[demo_data.ABSORBABLE_CLIP]
    assert (clip.cnt, clip.pric_fen, clip.fulamt_ownpay_amt_fen) == (3, 32_000, 96_000)


def test_the_special_drug_settlement_has_a_special_drug_line(ctx, residents):
    jianguo = SandboxBureau().settlement_records(residents["张建国"].psn_no, *YEAR)
    special = next(r for r in jianguo if r.care_kind == "special_drug")
    lines = SandboxBureau().fee_details(special.psn_no, special.setl_id, settlement=special)
    drug = next(l for l in lines if l.med_list_codg == demo_data.OSIMERTINIB)
    assert (drug.chrgitm_lv, drug.cnt, drug.fulamt_ownpay_amt_fen) == ("03", 2, 3_200_000)
    # The adjudication side counts it as a special drug: listed, no approval needed, dispensed
    # at a designated place (the settlement's hospital).
    result = match_lines(
        [FeeLine(**l.fee_line_fields()) for l in lines],
        care_date=special.care_date,
        commercial=demo_data.DEMO_COMMERCIAL_CATALOGUE,
        special_drugs=demo_data.DEMO_SPECIAL_DRUG_CATALOGUE,
        dispensed_at=(special.fixmedins_code, special.fixmedins_name),
    )
    assert result.special_drugs_fen == 3_200_000
    assert result.out_of_policy_self_pay_fen == 0


def test_the_stroke_resettlement_nets_out_its_returned_item(ctx, residents):
    psn = residents["张伟"].psn_no
    raw = query_fee_lines(get_session(), "SBS20269000000003")
    (reversal,) = [l for l in raw if l.reversal]
    original = next(l for l in raw if l.feedetl_sn == reversal.init_feedetl_sn)
    lines = SandboxBureau().fee_details(psn, "SBS20269000000003")
    netted = next(l for l in lines if l.feedetl_sn == original.feedetl_sn)
    assert netted.cnt == original.cnt - 1
    assert netted.det_item_fee_sumamt_fen == original.det_item_fee_sumamt_fen - original.pric_fen
    assert reversal.feedetl_sn not in {l.feedetl_sn for l in lines}
    # 30 vials where the list allows 28, and albumin above its price limit
    result = match_lines(
        [FeeLine(**l.fee_line_fields()) for l in lines],
        care_date=date(2026, 5, 6),
        commercial=demo_data.DEMO_COMMERCIAL_CATALOGUE,
        special_drugs=demo_data.DEMO_SPECIAL_DRUG_CATALOGUE,
    )
    codes = set(result.reason_codes)
    assert {"commercial_quantity_limit", "commercial_price_limit", "commercial_not_listed"} <= codes


# --- the port's other answers --------------------------------------------------------------------------


def test_added_settlements_get_lines_that_add_up(ctx, residents):
    psn = residents["李娜"].psn_no
    record = add_settlement(psn, 2_368_050, care_kind="day_surgery", overlmt_fen=12_345)
    lines = SandboxBureau().fee_details(psn, record.setl_id)
    converted = [FeeLine(**l.fee_line_fields()) for l in lines]
    assert check_line_totals(converted, SettlementTotals.of(record)) == ()
    assert sum(l.overlmt_amt_fen for l in lines) == 12_345


def test_unknown_or_someone_elses_settlement_is_none(ctx, residents):
    sandbox = SandboxBureau()
    assert sandbox.fee_details(residents["李娜"].psn_no, "SBS20269000000001") is None
    assert sandbox.fee_details(residents["张伟"].psn_no, "SBS-NO-SUCH") is None


def test_a_settlement_given_must_be_the_one_asked_about(ctx, residents):
    sandbox = SandboxBureau()
    record = sandbox.settlement_record(residents["张伟"].psn_no, "SBS20269000000001")
    with pytest.raises(ValueError):
        sandbox.fee_details(residents["张伟"].psn_no, "SBS20269000000003", settlement=record)
    with pytest.raises(ValueError):
        sandbox.fee_details("", "SBS20269000000001")


def test_lines_that_no_longer_add_up_are_refused(ctx, residents):
    session = get_session()
    session.execute(
        update(SandboxSettlement)
        .where(SandboxSettlement.setl_id == "SBS20269000000001")
        .values(medfee_sumamt_fen=SandboxSettlement.medfee_sumamt_fen + 100)
    )
    session.commit()
    with pytest.raises(FeeDetailsInconsistent) as info:
        SandboxBureau().fee_details(residents["张伟"].psn_no, "SBS20269000000001")
    assert [(d.code, d.field, d.difference_fen) for d in info.value.discrepancies] == [
        ("lines_total_mismatch", "medfee_sumamt_fen", -100)
    ]


def test_fault_makes_fee_details_unavailable(ctx, residents):
    sandbox = SandboxBureau(faults={"settlements_unavailable"})
    with pytest.raises(BureauUnavailable):
        sandbox.fee_details(residents["张伟"].psn_no, "SBS20269000000001")
