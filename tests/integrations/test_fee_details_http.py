"""The real bureau adapter's 5204 fee details against a local fake bureau over real HTTP.

The fake (FakeSettlementBureau of test_settlement_http, plus 5204) checks every request's
envelope and HMAC signature with its own code, keeps lines in fen, writes them on the wire as
yuan strings (or JSON numbers where a test says so), pages them as the city gateway does and
signs its replies. The settlement S0001 there is medfee 12,345.67 = fulamt 1,000.00 + overlmt
45.67 + pre 300.00 + inscp 11,000.00 yuan; `lines_of_s0001` itemises it."""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from werkzeug import Request, Response

from app.catalogues import demo_data
from app.catalogues.line_totals import SettlementTotals, check_line_totals
from app.catalogues.matching import FeeLine
from app.integrations.bureau.fee_details import FeeDetailsInconsistent
from app.integrations.bureau.http_adapter import INFNO_FEE_DETAILS, HttpBureau
from app.integrations.bureau.port import BureauUnavailable
from tests.integrations.test_bureau_http import (
    APP_ID,
    FIXED_UTC,
    REGION,
    SECRET,
    assert_clean,
    fake_sign,
)
from tests.integrations.test_settlement_http import (
    ENDPOINT,
    OTHER_PSN,
    PSN,
    FakeSettlementBureau,
    yuan,
)

LINE_AMOUNTS = (
    "det_item_fee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_amt",
    "preselfpay_amt",
    "inscp_scp_amt",
)


def fee_line(sn: str, code: str, level: str, cnt: str, pric: int, **parts: int) -> dict:
    """A 5204 row in fen (yuan on the wire); the total is the sum of the parts."""
    amounts = {k: parts.get(k, 0) for k in LINE_AMOUNTS[1:]}
    return {
        "feedetl_sn": sn,
        "setl_id": "S0001",
        "mdtrt_id": "MS0001",
        "psn_no": PSN,
        "med_type": "21",
        "fee_ocur_time": "2026-03-02 09:15:00",
        "med_list_codg": code,
        "medins_list_codg": f"YY{sn}",
        "med_list_name": f"项目{sn}",
        "med_chrgitm_type": "09",
        "chrgitm_lv": level,
        "cnt": cnt,
        "pric": pric,
        "det_item_fee_sumamt": sum(amounts.values()),
        **amounts,
    }


def lines_of_s0001() -> list[dict]:
    """1,000.00 self-paid: 3 clips at 320.00 (on the commercial list) + 40.00 vitamins (not);
    45.67 over the limit on a 5,045.67 stapler; 300.00 first self-paid on a 3,000.00 drug line;
    in policy: 5,000.00 of the stapler, 2,700.00 of the drug line and two 甲类 lines (1,500.00
    beds, 1,800.00 nursing), 11,000.00 in all."""
    return [
        fee_line("F001", "001102000010000", "01", "10", 15_000, inscp_scp_amt=150_000),
        fee_line("F002", "001103000010000", "01", "12", 15_000, inscp_scp_amt=180_000),
        fee_line(
            "F003",
            "C03131201000000201900000142",
            "02",
            "1",
            504_567,
            overlmt_amt=4_567,
            inscp_scp_amt=500_000,
        ),
        fee_line(
            "F004",
            "XJ01DCT050B001010103012",
            "02",
            "100",
            3_000,
            preselfpay_amt=30_000,
            inscp_scp_amt=270_000,
        ),
        fee_line("F005", demo_data.ABSORBABLE_CLIP, "03", "3", 32_000, fulamt_ownpay_amt=96_000),
        fee_line("F006", "XA11JBF012B002010103318", "3", "2", 2_000, fulamt_ownpay_amt=4_000),
    ]


def on_the_wire(row: dict) -> dict:
    return {
        k: yuan(v) if (k in LINE_AMOUNTS or k == "pric") and type(v) is int else v
        for k, v in row.items()
    }


def signed_yuan(fen: int) -> str:
    return f"-{yuan(-fen)}" if fen < 0 else yuan(fen)


class FakeFeeDetailBureau(FakeSettlementBureau):
    """5203 and 9605 as in test_settlement_http, and 5204 with the city gateway's paging."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[str, list[dict]] = {"S0001": lines_of_s0001()}
        self.page_size: int | None = None  # None: the page size asked for
        # Test hook: replace a 5204 output (output_override is the 5203/9605 one).
        self.fee_override: Callable[[dict, dict], dict] | None = None

    def handle(self, request: Request) -> Response:
        env = json.loads(request.get_data())
        if env.get("infno") != INFNO_FEE_DETAILS:
            return super().handle(request)
        self.received.append(env)
        if not isinstance(env.get("signature"), str) or not hmac.compare_digest(
            env["signature"], fake_sign(env)
        ):
            return self.refuse("签名验证失败")
        if request.path != "/fsi/api/5204" or env.get("recer_sys_code") != APP_ID:
            return self.refuse("报文头错误")
        data = (env.get("input") or {}).get("data") or {}
        if set(data) != {"psn_no", "setl_id", "mdtrt_id", "page_num", "page_size"}:
            return self.refuse("5204入参错误")
        known = {r["setl_id"]: r for r in self.rows if r["psn_no"] == data["psn_no"]}
        setl = known.get(data["setl_id"])
        rows = (
            self.lines.get(data["setl_id"], [])
            if setl is not None and setl["mdtrt_id"] == data["mdtrt_id"]
            else []
        )
        size = self.page_size or data["page_size"]
        page = data["page_num"]
        total_page = max(1, -(-len(rows) // size))
        chunk = rows[(page - 1) * size : page * size]
        output = {
            "feedetail": [
                {
                    k: signed_yuan(v)
                    if (k in LINE_AMOUNTS or k == "pric") and type(v) is int
                    else v
                    for k, v in row.items()
                }
                for row in chunk
            ],
            "page_num": page,
            "page_size": size,
            "total_page": total_page,
            "record_counts": len(rows),
        }
        if self.fee_override:
            output = self.fee_override(output, data)
        return self.reply(0, "", output)


@pytest.fixture
def fake(httpserver) -> FakeFeeDetailBureau:
    fb = FakeFeeDetailBureau()
    httpserver.expect_request(ENDPOINT, method="POST").respond_with_handler(fb.handle)
    return fb


@pytest.fixture
def bureau(httpserver):
    b = HttpBureau(
        base_url=httpserver.url_for("/").rstrip("/"),
        app_id=APP_ID,
        secret=SECRET,
        region=REGION,
        timeout=2.0,
        clock=lambda: FIXED_UTC,
    )
    yield b
    b.close()


def infnos(fake) -> list[str]:
    return [env["infno"] for env in fake.received]


# --- answers --------------------------------------------------------------------------------------


def test_lines_come_back_in_exact_fen_and_add_up_to_the_settlement(bureau, fake):
    lines = bureau.fee_details(PSN, "S0001")

    assert [l.feedetl_sn for l in lines] == ["F001", "F002", "F003", "F004", "F005", "F006"]
    stapler = lines[2]
    assert (stapler.det_item_fee_sumamt_fen, stapler.overlmt_amt_fen, stapler.pric_fen) == (
        504_567,
        4_567,
        504_567,
    )
    assert type(stapler.det_item_fee_sumamt_fen) is int
    clip = lines[4]
    assert (clip.med_list_codg, clip.chrgitm_lv, clip.cnt, clip.pric_fen) == (
        demo_data.ABSORBABLE_CLIP,
        "03",
        Decimal(3),
        32_000,
    )
    assert lines[5].chrgitm_lv == "03"  # "3" on the wire
    assert (clip.medins_list_codg, clip.name, clip.med_chrgitm_type) == ("YYF005", "项目F005", "09")
    assert clip.fee_ocur_date == date(2026, 3, 2)
    settlement = bureau.settlement_record(PSN, "S0001")
    converted = [FeeLine(**l.fee_line_fields()) for l in lines]
    assert check_line_totals(converted, SettlementTotals.of(settlement)) == ()


def test_the_request_is_a_signed_5204_envelope_after_the_5203_for_the_totals(bureau, fake):
    bureau.fee_details(PSN, "S0001")

    assert infnos(fake) == ["5203", "5204"]
    env = fake.received[1]
    assert hmac.compare_digest(env["signature"], fake_sign(env))
    assert env["input"] == {
        "data": {
            "psn_no": PSN,
            "setl_id": "S0001",
            "mdtrt_id": "MS0001",
            "page_num": 1,
            "page_size": 200,
        }
    }
    assert fake.rejections == []


def test_a_settlement_in_hand_saves_the_5203(bureau, fake):
    settlement = bureau.settlement_record(PSN, "S0001")
    fake.received.clear()

    assert len(bureau.fee_details(PSN, "S0001", settlement=settlement)) == 6
    assert infnos(fake) == ["5204"]
    with pytest.raises(ValueError):
        bureau.fee_details(PSN, "S0003", settlement=settlement)


def test_unknown_settlement_is_none_without_asking_for_lines(bureau, fake):
    assert bureau.fee_details(PSN, "S0404") is None
    assert bureau.fee_details(PSN, "S0009") is None  # someone else's
    assert infnos(fake) == ["5203", "5203"]


def test_a_paged_answer_is_read_to_the_last_page(bureau, fake):
    fake.page_size = 4  # 6 lines: pages of 4 and 2

    lines = bureau.fee_details(PSN, "S0001")

    assert [l.feedetl_sn for l in lines] == ["F001", "F002", "F003", "F004", "F005", "F006"]
    pages = [env["input"]["data"]["page_num"] for env in fake.received if env["infno"] == "5204"]
    assert pages == [1, 2]


def test_json_number_amounts_are_exact(bureau, fake):
    wire = [on_the_wire(r) for r in lines_of_s0001()]
    wire[2] = {**wire[2], "det_item_fee_sumamt": 5045.67, "overlmt_amt": 45.67, "pric": 5045.67}
    fake.fee_override = lambda output, data: {**output, "feedetail": wire}

    lines = bureau.fee_details(PSN, "S0001")
    assert (lines[2].det_item_fee_sumamt_fen, lines[2].overlmt_amt_fen) == (504_567, 4_567)


def test_a_unit_price_finer_than_the_fen_is_rounded_half_up(bureau, fake):
    wire = [on_the_wire(r) for r in lines_of_s0001()]
    wire[3] = {**wire[3], "cnt": "3600", "pric": "0.8333"}  # 3,000.00 / 3,600 tablets
    fake.fee_override = lambda output, data: {**output, "feedetail": wire}

    lines = bureau.fee_details(PSN, "S0001")
    assert (lines[3].cnt, lines[3].pric_fen, lines[3].det_item_fee_sumamt_fen) == (
        Decimal(3600),
        83,
        300_000,
    )


def test_reversal_lines_are_netted_out(bureau, fake):
    # one more vitamin billed (3 x 20.00) and then returned (-1 x 20.00)
    fake.lines["S0001"][5] = fee_line(
        "F006", "XA11JBF012B002010103318", "03", "3", 2_000, fulamt_ownpay_amt=6_000
    )
    returned = fee_line(
        "F007", "XA11JBF012B002010103318", "03", "-1", 2_000, fulamt_ownpay_amt=-2_000
    )
    fake.lines["S0001"].append({**returned, "init_feedetl_sn": "F006"})

    lines = bureau.fee_details(PSN, "S0001")

    assert [l.feedetl_sn for l in lines][-1] == "F006"
    assert (lines[-1].cnt, lines[-1].fulamt_ownpay_amt_fen) == (Decimal(2), 4_000)


# --- refusals -------------------------------------------------------------------------------------


def test_lines_that_do_not_add_up_are_a_clear_refusal(bureau, fake):
    # 10 beds at 151.00 instead of 150.00: 10.00 yuan more than the settlement
    fake.lines["S0001"][0] = fee_line(
        "F001", "001102000010000", "01", "10", 15_100, inscp_scp_amt=151_000
    )

    with pytest.raises(FeeDetailsInconsistent) as info:
        bureau.fee_details(PSN, "S0001")
    assert isinstance(info.value, BureauUnavailable)
    assert [(d.code, d.field, d.difference_fen) for d in info.value.discrepancies] == [
        ("lines_total_mismatch", "medfee_sumamt_fen", 1_000),
        ("lines_total_mismatch", "inscp_scp_amt_fen", 1_000),
    ]
    assert "bureau 5204 fee details of settlement S0001 do not add up" in str(info.value)
    assert_clean(info.value)


def test_no_lines_for_a_settlement_with_a_bill_is_a_refusal(bureau, fake):
    fake.lines["S0001"] = []

    with pytest.raises(FeeDetailsInconsistent) as info:
        bureau.fee_details(PSN, "S0001")
    assert {d.field for d in info.value.discrepancies} == {
        "medfee_sumamt_fen",
        "fulamt_ownpay_amt_fen",
        "overlmt_selfpay_fen",
        "preselfpay_amt_fen",
        "inscp_scp_amt_fen",
    }
    fake.fee_override = lambda output, data: {"feedetail": None}
    with pytest.raises(FeeDetailsInconsistent):
        bureau.fee_details(PSN, "S0001")


def test_a_line_of_another_settlement_or_person_is_refused(bureau, fake):
    fake.lines["S0001"][0] = {**fake.lines["S0001"][0], "setl_id": "S0003"}
    with pytest.raises(FeeDetailsInconsistent, match="foreign_line"):
        bureau.fee_details(PSN, "S0001")
    fake.lines["S0001"][0] = {**fake.lines["S0001"][0], "setl_id": "S0001", "psn_no": OTHER_PSN}
    with pytest.raises(BureauUnavailable, match="another person"):
        bureau.fee_details(PSN, "S0001")


@pytest.mark.parametrize(
    "changes",
    [
        {"det_item_fee_sumamt": "3000.001"},
        {"inscp_scp_amt": "about 3000"},
        {"cnt": "0"},
        {"cnt": None},
        {"pric": "-1.00"},
        {"chrgitm_lv": "04"},
        {"fee_ocur_time": "2026-03-02T09:15:00+08:00"},
        {"med_list_codg": None},
        {"inscp_scp_amt": "-3000.00"},  # a negative amount on a line with a positive count
    ],
    ids=[
        "fraction-of-a-fen",
        "not-a-number",
        "zero-count",
        "no-count",
        "negative-price",
        "unknown-level",
        "iso-time",
        "no-code",
        "sign-disagrees",
    ],
)
def test_malformed_line_is_unavailable(bureau, fake, changes):
    fake.lines["S0001"][0] = {**on_the_wire(fake.lines["S0001"][0]), **changes}

    with pytest.raises(BureauUnavailable, match="5204 output malformed") as info:
        bureau.fee_details(PSN, "S0001")
    assert not isinstance(info.value, FeeDetailsInconsistent)
    assert_clean(info.value)


@pytest.mark.parametrize(
    "override",
    [
        lambda output, data: {**output, "page_num": data["page_num"] + 1},
        lambda output, data: {**output, "record_counts": 7},
        lambda output, data: {**output, "total_page": data["page_num"] + 1},
        lambda output, data: {**output, "total_page": 10_000},
        lambda output, data: {**output, "page_size": 2},
        lambda output, data: {**output, "feedetail": {"feedetl_sn": "F001"}},
        lambda output, data: {**output, "feedetail": ["F001"]},
    ],
    ids=[
        "wrong-page",
        "count-differs",
        "total-page-changes",
        "too-many-pages",
        "page-overfull",
        "object-not-list",
        "row-not-object",
    ],
)
def test_malformed_paging_is_unavailable(bureau, fake, override):
    fake.fee_override = override

    with pytest.raises(BureauUnavailable, match="5204 output malformed"):
        bureau.fee_details(PSN, "S0001")


def test_tampered_reply_is_unavailable(bureau, fake):
    def raise_a_line(body):
        feedetail = (body.get("output") or {}).get("feedetail")
        if feedetail:
            feedetail[0]["det_item_fee_sumamt"] = "99999.99"  # after signing

    fake.after_sign = raise_a_line

    with pytest.raises(BureauUnavailable, match="signature") as info:
        bureau.fee_details(PSN, "S0001")
    assert not isinstance(info.value, FeeDetailsInconsistent)


def test_bad_arguments_never_reach_the_bureau(bureau, fake):
    with pytest.raises(ValueError):
        bureau.fee_details("", "S0001")
    with pytest.raises(ValueError):
        bureau.fee_details(PSN, " ")
    assert fake.received == []
