"""Fee details (5204 shape) as plain data: netting reversal lines, the adding-up check (kept in
step with app.catalogues.line_totals.check_line_totals), the FeeLine shape, and the demo catalogues
as data. No database, no HTTP."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from app.catalogues import demo_data
from app.catalogues.line_totals import SettlementTotals, check_line_totals
from app.catalogues.matching import FeeLine, match_lines
from app.catalogues.rules import code_problem, parse_commercial_rows, parse_special_drug_rows
from app.integrations.bureau.fee_details import (
    DISCREPANCIES,
    FeeDetailRecord,
    FeeDetailsInconsistent,
    FeeDetailsMalformed,
    fee_detail_discrepancies,
    net_reversals,
    settled_fee_details,
)
from app.integrations.bureau.port import BureauUnavailable
from app.integrations.bureau.settlements import SettlementRecord

SHANGHAI = ZoneInfo("Asia/Shanghai")
WHEN = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)


def settlement(**amounts) -> SettlementRecord:
    """medfee 10,000 = fulamt 3,000 + overlmt 500 + pre 1,500 + inscp 5,000 (fen)."""
    values = dict(
        medfee_sumamt_fen=10_000,
        fulamt_ownpay_amt_fen=3_000,
        overlmt_selfpay_fen=500,
        preselfpay_amt_fen=1_500,
        inscp_scp_amt_fen=5_000,
        hifp_pay_fen=3_000,
        hifmi_pay_fen=0,
        hifob_pay_fen=0,
        maf_pay_fen=0,
        psn_part_amt_fen=7_000,
        acct_pay_fen=0,
        psn_cash_pay_fen=7_000,
    )
    values.update(amounts)
    return SettlementRecord(
        setl_id="S1",
        mdtrt_id="M1",
        psn_no="P1",
        psn_name="张伟",
        fixmedins_code="H36070200001",
        fixmedins_name="赣南医科大学第一附属医院",
        med_type="21",
        begndate=date(2026, 3, 1),
        enddate=date(2026, 3, 5),
        setl_time=datetime(2026, 3, 5, 10, 0, tzinfo=SHANGHAI),
        dise_codg="K80.200",
        dise_name="胆囊结石伴慢性胆囊炎",
        **values,
    )


def line(sn: str, level: str = "01", cnt="1", **amounts) -> FeeDetailRecord:
    det = amounts.pop("det", None)
    parts = {f"{k}_fen": v for k, v in amounts.items()}
    total = sum(parts.values()) if det is None else det
    return FeeDetailRecord(
        feedetl_sn=sn,
        mdtrt_id="M1",
        setl_id="S1",
        psn_no="P1",
        med_list_codg=f"00110200001{sn[-4:]:0>4}",
        chrgitm_lv=level,
        cnt=Decimal(cnt),
        pric_fen=abs(total) // max(abs(int(Decimal(cnt))), 1),
        det_item_fee_sumamt_fen=total,
        fee_ocur_time=WHEN,
        **parts,
    )


def good_lines() -> list[FeeDetailRecord]:
    """The settlement above, itemised: 2,000 + 1,000 self-paid (丙), 500 over-limit + 500
    in-policy, 1,500 first self-paid + 1,500 in-policy (乙), 3,000 in-policy (甲)."""
    return [
        line("L001", "03", fulamt_ownpay_amt=2_000),
        line("L002", "03", fulamt_ownpay_amt=1_000),
        line("L003", "02", overlmt_amt=500, inscp_scp_amt=500),
        line("L004", "02", preselfpay_amt=1_500, inscp_scp_amt=1_500),
        line("L005", "01", "3", inscp_scp_amt=3_000),
    ]


# --- adding up ------------------------------------------------------------------------------------


def test_lines_that_add_up_come_back_as_they_are():
    lines = good_lines()
    assert fee_detail_discrepancies(lines, settlement()) == ()
    assert settled_fee_details(lines, settlement(), source="test") == lines


CASES = {
    # total 10,000 but the lines say 10,100: one line carries 100 fen more in-policy money
    "total-too-high": (
        lambda ls: [*ls[:4], line("L005", "01", "3", inscp_scp_amt=3_100)],
        ["lines_total_mismatch", "lines_total_mismatch"],
    ),
    # a line whose total (3,200) is not its parts (3,000); the bill's total moves with it
    "line-split": (
        lambda ls: [*ls[:4], line("L005", "01", "3", det=3_200, inscp_scp_amt=3_000)],
        ["line_split_mismatch", "lines_total_mismatch"],
    ),
    # a 丙类 line with in-policy money in it (and the totals move with it)
    "class-c-in-policy": (
        lambda ls: [line("L001", "03", fulamt_ownpay_amt=1_000, inscp_scp_amt=1_000), *ls[1:]],
        ["class_c_not_self_paid", "lines_total_mismatch", "lines_total_mismatch"],
    ),
    "duplicate-serial": (
        lambda ls: [*ls, replace(ls[0], det_item_fee_sumamt_fen=0, fulamt_ownpay_amt_fen=0)],
        ["duplicate_line_sn"],
    ),
    "no-lines": (lambda ls: [], ["lines_total_mismatch"] * 5),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_discrepancies_are_those_check_line_totals_finds(case):
    """The bureau's records and the same lines as FeeLines (the adjudication side's check) are
    found wanting alike, code by code and figure by figure, and every finding the adjudication
    side reports carries its Chinese sentence."""
    change, codes = CASES[case]
    lines = change(good_lines())
    ours = fee_detail_discrepancies(lines, settlement())
    theirs = check_line_totals(
        [FeeLine(**l.fee_line_fields()) for l in lines], SettlementTotals.of(settlement())
    )
    assert [d.code for d in ours] == codes
    assert [(d.code, d.field, d.expected_fen, d.actual_fen, d.feedetl_sn) for d in ours] == [
        (d.code, d.field, d.expected_fen, d.actual_fen, d.feedetl_sn) for d in theirs
    ]
    assert set(codes) <= set(DISCREPANCIES)
    assert all(d.zh and d.en and d.zh != d.en for d in theirs)


def test_lines_that_do_not_add_up_are_refused_with_the_difference():
    lines = [*good_lines()[:4], line("L005", "01", "3", inscp_scp_amt=3_100)]
    with pytest.raises(FeeDetailsInconsistent) as info:
        settled_fee_details(lines, settlement(), source="bureau 5204")
    assert isinstance(info.value, BureauUnavailable)
    assert [(d.field, d.expected_fen, d.actual_fen) for d in info.value.discrepancies] == [
        ("medfee_sumamt_fen", 10_000, 10_100),
        ("inscp_scp_amt_fen", 5_000, 5_100),
    ]
    assert "bureau 5204 fee details of settlement S1 do not add up" in str(info.value)


def test_a_line_of_another_settlement_or_person_is_refused():
    for other in (
        replace(good_lines()[0], setl_id="S2"),
        replace(good_lines()[0], psn_no="P2"),
        replace(good_lines()[0], mdtrt_id="M2"),
    ):
        with pytest.raises(FeeDetailsInconsistent, match="foreign_line"):
            settled_fee_details([other, *good_lines()[1:]], settlement(), source="test")


# --- netting reversals ----------------------------------------------------------------------------


def test_a_partial_reversal_is_subtracted_from_the_line_it_names():
    # 4 units of 1,000 billed, 1 returned: 3 units, 3,000 fen left
    billed = line("L005", "01", "4", inscp_scp_amt=4_000)
    returned = replace(
        billed,
        feedetl_sn="L009",
        cnt=Decimal(-1),
        det_item_fee_sumamt_fen=-1_000,
        inscp_scp_amt_fen=-1_000,
        init_feedetl_sn="L005",
    )
    lines = [*good_lines()[:4], billed, returned]
    netted = settled_fee_details(lines, settlement(), source="test")
    assert [l.feedetl_sn for l in netted] == ["L001", "L002", "L003", "L004", "L005"]
    assert (netted[-1].cnt, netted[-1].det_item_fee_sumamt_fen) == (Decimal(3), 3_000)
    assert all(not l.reversal for l in netted)


def test_a_full_reversal_without_a_reference_drops_the_matching_line():
    extra = line("L006", "03", "2", fulamt_ownpay_amt=800)
    returned = replace(
        extra,
        feedetl_sn="L007",
        cnt=Decimal(-2),
        det_item_fee_sumamt_fen=-800,
        fulamt_ownpay_amt_fen=-800,
    )
    netted = net_reversals([*good_lines(), extra, returned])
    assert [l.feedetl_sn for l in netted] == ["L001", "L002", "L003", "L004", "L005"]


@pytest.mark.parametrize(
    "reversal",
    [
        # more units than were billed
        lambda: replace(
            good_lines()[4],
            feedetl_sn="L009",
            cnt=Decimal(-4),
            det_item_fee_sumamt_fen=-3_000,
            inscp_scp_amt_fen=-3_000,
            init_feedetl_sn="L005",
        ),
        # names a line that does not exist
        lambda: replace(line("L009", "01", "-1", inscp_scp_amt=-1_000), init_feedetl_sn="L404"),
        # names a line of another item
        lambda: replace(
            line("L009", "03", "-1", fulamt_ownpay_amt=-100),
            init_feedetl_sn="L001",
            med_list_codg="XA11JBF012B002010103318",
        ),
        # no reference and no line of this code, level and price
        lambda: line("L009", "01", "-1", inscp_scp_amt=-7),
    ],
    ids=["too-many-units", "unknown-line", "other-item", "no-match"],
)
def test_a_reversal_that_cannot_be_netted_is_refused(reversal):
    with pytest.raises(FeeDetailsMalformed):
        net_reversals([*good_lines(), reversal()])
    with pytest.raises(FeeDetailsInconsistent, match="reversal_unmatched"):
        settled_fee_details([*good_lines(), reversal()], settlement(), source="test")


def test_signs_must_agree_with_the_count():
    with pytest.raises(ValueError, match="wrong sign"):
        line("L001", "01", "-1", inscp_scp_amt=100)
    with pytest.raises(ValueError, match="chrgitm_lv"):
        line("L001", "04", inscp_scp_amt=100)


# --- the FeeLine shape ----------------------------------------------------------------------------


def test_records_convert_to_fee_lines_and_match_like_them():
    record = replace(
        line("L001", "03", "3", fulamt_ownpay_amt=96_000),
        med_list_codg=demo_data.ABSORBABLE_CLIP,
        pric_fen=32_000,
        name="可吸收结扎夹",
    )
    converted = FeeLine(**record.fee_line_fields())
    assert (converted.code, converted.own_pay_fen, converted.fee_ocur_date) == (
        record.code,
        record.own_pay_fen,
        date(2026, 3, 2),
    )
    result = match_lines(
        [converted],
        care_date=date(2026, 3, 1),
        commercial=demo_data.DEMO_COMMERCIAL_CATALOGUE,
        special_drugs=demo_data.DEMO_SPECIAL_DRUG_CATALOGUE,
    )
    # 3 clips at 320 yuan, limit 300 yuan: 3 x 20 yuan = 60 yuan off the list
    assert result.explanations[0].on_list_fen == 90_000
    assert result.explanations[0].off_list_fen == 6_000
    assert (
        match_lines(
            [record],  # the record itself is FeeLine-shaped
            care_date=date(2026, 3, 1),
            commercial=demo_data.DEMO_COMMERCIAL_CATALOGUE,
            special_drugs=demo_data.DEMO_SPECIAL_DRUG_CATALOGUE,
        )
        == result
    )


# --- the demo catalogues as data ------------------------------------------------------------------


def test_demo_catalogues_have_well_formed_codes_and_round_trip_through_the_import():
    items, drugs = demo_data.DEMO_COMMERCIAL_ITEMS, demo_data.DEMO_SPECIAL_DRUGS
    assert [code_problem(i.med_list_codg) for i in items] == [None] * len(items)
    assert [code_problem(d.drug_code) for d in drugs] == [None] * len(drugs)
    assert parse_commercial_rows(demo_data.commercial_rows()).entries == items
    assert parse_special_drug_rows(demo_data.special_drug_rows()).entries == drugs
    assert all(d.indications and d.pharmacies and d.annual_cap_fen for d in drugs)
    catalogue = demo_data.DEMO_SPECIAL_DRUG_CATALOGUE
    assert catalogue.in_force_on(date(2026, 6, 18))
    assert catalogue.drug(demo_data.OSIMERTINIB).preauth_required is False
