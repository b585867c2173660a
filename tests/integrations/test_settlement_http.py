"""The real bureau adapter's settlement queries (5203 detail, 9605 list) against a local fake
bureau over real HTTP.

The fake checks every request's envelope and HMAC signature with its own code (the canonical
JSON and HMAC from test_bureau_http, not the adapter's), keeps settlements in fen, writes them
on the wire as yuan (strings, or JSON numbers where a test says so) and signs its replies."""

from __future__ import annotations

import hmac
import json
import re
import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from werkzeug import Request, Response

from app.integrations.bureau.http_adapter import (
    INFNO_SETTLEMENT_DETAIL,
    INFNO_SETTLEMENT_LIST,
    BureauRejected,
    HttpBureau,
    mask_id_number,
)
from app.integrations.bureau.port import BureauUnavailable
from app.integrations.bureau.settlements import settlement_inconsistencies
from tests.integrations.test_bureau_http import (
    APP_ID,
    EMPLOYEE_ID,
    FIXED_UTC,
    REGION,
    SECRET,
    assert_clean,
    fake_sign,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
PSN = "36070000000000000001"
OTHER_PSN = "36070000000000000002"


def yuan(fen: int) -> str:
    """The fake's own formatter: integer arithmetic, not the adapter's Decimal code."""
    return f"{fen // 100}.{fen % 100:02d}"


def setl(setl_id: str, setl_time: str, **overrides) -> dict:
    """A consistent settlement row as the bureau sends it (amounts in fen here, yuan on the wire):
    medfee 1,234,567 = fulamt 100,000 + overlmt 4,567 + pre 30,000 + inscp 1,100,000
                     = hifp 700,000 + hifmi 20,000 + maf 50,000 + cvlserv 10,000 + psn 454,567
    psn_part 454,567 = acct 54,567 + cash 400,000."""
    row = {
        "setl_id": setl_id,
        "mdtrt_id": f"M{setl_id}",
        "psn_no": PSN,
        "psn_name": "张伟",
        "psn_cert_type": "01",
        "certno": EMPLOYEE_ID,
        "gend": "1",
        "insutype": "310",
        "fixmedins_code": "H36070200001",
        "fixmedins_name": "赣南医科大学第一附属医院",
        "med_type": "21",
        "begndate": "2026-03-01",
        "enddate": "2026-03-11",
        "setl_time": setl_time,
        "dise_codg": "I63.900",
        "dise_name": "脑梗死",
        "refd_setl_flag": "0",
        "medfee_sumamt": 1_234_567,
        "fulamt_ownpay_amt": 100_000,
        "overlmt_selfpay": 4_567,
        "preselfpay_amt": 30_000,
        "inscp_scp_amt": 1_100_000,
        "act_pay_dedc": 80_000,
        "hifp_pay": 700_000,
        "hifmi_pay": 20_000,
        "hifob_pay": 0,
        "maf_pay": 50_000,
        "cvlserv_pay": 10_000,
        "hifes_pay": 0,
        "oth_pay": 0,
        "hosp_part_amt": 0,
        "fund_pay_sumamt": 780_000,
        "psn_part_amt": 454_567,
        "acct_pay": 54_567,
        "psn_cash_pay": 400_000,
        "balc": 100_000,
    }
    row.update(overrides)
    return row


AMOUNT_KEYS = {
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
    "hifmi_pay",
    "hifob_pay",
    "maf_pay",
    "cvlserv_pay",
    "hifes_pay",
    "oth_pay",
    "hosp_part_amt",
    "fund_pay_sumamt",
    "psn_part_amt",
    "acct_pay",
    "psn_cash_pay",
    "balc",
}


def on_the_wire(row: dict) -> dict:
    """Fen (int) -> yuan strings; anything else (a test's raw wire value) goes as it is."""
    return {k: yuan(v) if k in AMOUNT_KEYS and type(v) is int else v for k, v in row.items()}


class FakeSettlementBureau:
    """5203 and 9605 as the city gateway would answer them, with envelope and signature checks."""

    def __init__(self) -> None:
        self.rows: list[dict] = [
            setl(
                "S0003",
                "2026-05-21 10:02:00",
                med_type="2114",
                begndate="2026-05-21",
                enddate="2026-05-21",
            ),
            setl("S0001", "2026-03-11 10:00:00"),
            setl("S0002", "2026-04-02 09:00:00", refd_setl_flag="1"),
            setl("S0009", "2026-04-05 09:00:00", psn_no=OTHER_PSN, psn_name="李娜"),
        ]
        self.received: list[dict] = []
        self.rejections: list[str] = []
        # Test hooks: replace the output, or change the reply after it was signed.
        self.output_override: Callable[[dict, dict], dict] | None = None
        self.after_sign: Callable[[dict], None] | None = None

    def reply(self, infcode: int, err_msg: str = "", output: dict | None = None) -> Response:
        body = {"infcode": infcode, "inf_refmsgid": "R1", "err_msg": err_msg, "output": output}
        body["signature"] = fake_sign(body)
        if self.after_sign:
            self.after_sign(body)
        return Response(json.dumps(body, ensure_ascii=False), content_type="application/json")

    def refuse(self, why: str) -> Response:
        self.rejections.append(why)
        return self.reply(-1, why)

    def handle(self, request: Request) -> Response:
        env = json.loads(request.get_data())
        self.received.append(env)
        if not isinstance(env.get("signature"), str) or not hmac.compare_digest(
            env["signature"], fake_sign(env)
        ):
            return self.refuse("签名验证失败")
        infno = env.get("infno")
        if (
            request.path != f"/fsi/api/{infno}"
            or env.get("recer_sys_code") != APP_ID
            or env.get("insuplc_admdvs") != REGION
            or env.get("signtype") != "HMAC-SHA256"
        ):
            return self.refuse("报文头错误")
        data = (env.get("input") or {}).get("data") or {}
        if infno == INFNO_SETTLEMENT_LIST:
            if set(data) != {"psn_no", "begndate", "enddate"}:
                return self.refuse("9605入参错误")
            begin, end = date.fromisoformat(data["begndate"]), date.fromisoformat(data["enddate"])
            rows = [
                on_the_wire(r)
                for r in self.rows
                if r["psn_no"] == data["psn_no"]
                and begin <= date.fromisoformat(str(r["setl_time"])[:10]) <= end
            ]
            output = {"setlinfo": rows}
        elif infno == INFNO_SETTLEMENT_DETAIL:
            if set(data) != {"psn_no", "setl_id"}:
                return self.refuse("5203入参错误")
            found = [
                r
                for r in self.rows
                if r["setl_id"] == data["setl_id"] and r["psn_no"] == data["psn_no"]
            ]
            output = {"setlinfo": on_the_wire(found[0]) if found else None, "setldetail": []}
        else:
            return self.refuse(f"不支持的交易{infno}")
        if self.output_override:
            output = self.output_override(output, data)
        return self.reply(0, "", output)


ENDPOINT = re.compile(r"^/fsi/api/[0-9A-Za-z]+$")
YEAR = (date(2026, 1, 1), date(2026, 12, 31))


@pytest.fixture
def fake(httpserver) -> FakeSettlementBureau:
    fb = FakeSettlementBureau()
    httpserver.expect_request(ENDPOINT, method="POST").respond_with_handler(fb.handle)
    return fb


@pytest.fixture
def make_bureau(httpserver):
    made: list[HttpBureau] = []

    def _make(**overrides) -> HttpBureau:
        kwargs = dict(
            base_url=httpserver.url_for("/").rstrip("/"),
            app_id=APP_ID,
            secret=SECRET,
            region=REGION,
            timeout=2.0,
            clock=lambda: FIXED_UTC,
        )
        kwargs.update(overrides)
        made.append(HttpBureau(**kwargs))
        return made[-1]

    yield _make
    for b in made:
        b.close()


@pytest.fixture
def bureau(make_bureau) -> HttpBureau:
    return make_bureau()


# --- 9605 list --------------------------------------------------------------------------------------


def test_list_returns_exact_fen_records_oldest_first(bureau, fake):
    records = bureau.settlement_records(PSN, *YEAR)

    assert [r.setl_id for r in records] == ["S0001", "S0002", "S0003"]  # not S0009 (other person)
    first = records[0]
    assert first.psn_no == PSN and first.psn_name == "张伟" and first.mdtrt_id == "MS0001"
    assert (
        first.fixmedins_name == "赣南医科大学第一附属医院"
        and first.fixmedins_code == "H36070200001"
    )
    assert (first.med_type, first.care_kind) == ("21", "in_patient")
    assert (first.begndate, first.enddate) == (date(2026, 3, 1), date(2026, 3, 11))
    assert first.setl_time == datetime(2026, 3, 11, 10, 0, tzinfo=SHANGHAI)
    assert (first.dise_codg, first.dise_name) == ("I63.900", "脑梗死")
    assert first.medfee_sumamt_fen == 1_234_567 and type(first.medfee_sumamt_fen) is int
    assert (
        first.fulamt_ownpay_amt_fen,
        first.overlmt_selfpay_fen,
        first.preselfpay_amt_fen,
        first.inscp_scp_amt_fen,
    ) == (100_000, 4_567, 30_000, 1_100_000)
    assert (first.hifp_pay_fen, first.hifmi_pay_fen, first.hifob_pay_fen, first.maf_pay_fen) == (
        700_000,
        20_000,
        0,
        50_000,
    )
    assert first.oth_pay_fen == 10_000  # cvlserv_pay 100.00 + hifes 0 + oth 0 + hosp_part 0
    assert (first.psn_part_amt_fen, first.acct_pay_fen, first.psn_cash_pay_fen) == (
        454_567,
        54_567,
        400_000,
    )
    assert settlement_inconsistencies(first) == []
    assert records[1].cancelled and not records[1].claimable
    assert records[2].care_kind == "day_surgery"


def test_list_request_is_a_signed_9605_envelope(bureau, fake):
    bureau.settlement_records(PSN, date(2026, 1, 1), date(2026, 10, 31))

    env = fake.received[0]
    assert fake.rejections == []
    assert hmac.compare_digest(env["signature"], fake_sign(env))
    assert env["infno"] == "9605"
    assert env["input"] == {
        "data": {"psn_no": PSN, "begndate": "2026-01-01", "enddate": "2026-10-31"}
    }


def test_list_range_is_by_settlement_date_both_ends_inclusive(bureau, fake):
    assert [
        r.setl_id for r in bureau.settlement_records(PSN, date(2026, 3, 11), date(2026, 4, 2))
    ] == ["S0001", "S0002"]
    assert bureau.settlement_records(PSN, date(2026, 3, 12), date(2026, 4, 1)) == []


def test_rows_outside_the_range_are_dropped_even_if_sent(bureau, fake):
    fake.output_override = lambda output, data: {
        "setlinfo": [on_the_wire(r) for r in fake.rows[:3]]
    }

    records = bureau.settlement_records(PSN, date(2026, 3, 1), date(2026, 3, 31))
    assert [r.setl_id for r in records] == ["S0001"]


def test_no_settlements_is_an_empty_list(bureau, fake):
    fake.output_override = lambda output, data: {"setlinfo": None}
    assert bureau.settlement_records(PSN, *YEAR) == []


def test_json_number_amounts_are_exact(bureau, fake):
    # 19.99 as a float is 19.989999...; 0.1 + 0.2 style errors must not reach the fen.
    fake.rows = [
        setl(
            "S0001",
            "2026-03-11 10:00:00",
            medfee_sumamt=19.99,
            fulamt_ownpay_amt=0.0,
            overlmt_selfpay=0,
            preselfpay_amt=0.1,
            inscp_scp_amt=19.89,
            hifp_pay=10.0,
            hifmi_pay=0,
            maf_pay=0,
            cvlserv_pay=None,
            hifes_pay="",
            oth_pay=0,
            hosp_part_amt=0,
            psn_part_amt=9.99,
            acct_pay=0,
            psn_cash_pay=9.99,
        )
    ]
    (record,) = bureau.settlement_records(PSN, *YEAR)
    assert (record.medfee_sumamt_fen, record.preselfpay_amt_fen, record.inscp_scp_amt_fen) == (
        1999,
        10,
        1989,
    )
    assert record.oth_pay_fen == 0 and record.psn_cash_pay_fen == 999
    assert settlement_inconsistencies(record) == []


def test_inconsistent_amounts_are_returned_for_the_fraud_check_to_flag(bureau, fake):
    fake.rows = [setl("S0001", "2026-03-11 10:00:00", hifp_pay=800_000)]  # 1,000.00 yuan too much
    (record,) = bureau.settlement_records(PSN, *YEAR)
    assert settlement_inconsistencies(record) == ["total_payers_mismatch"]


def test_the_id_number_in_the_reply_is_not_kept(bureau, fake):
    (record, *_) = bureau.settlement_records(PSN, *YEAR)
    assert EMPLOYEE_ID not in repr(record)
    assert not hasattr(record, "certno")


# --- 5203 detail ------------------------------------------------------------------------------------


def test_detail_found(bureau, fake):
    record = bureau.settlement_record(PSN, "S0002")

    assert record is not None and record.setl_id == "S0002" and record.cancelled
    assert fake.received[0]["infno"] == "5203"
    assert fake.received[0]["input"] == {"data": {"psn_no": PSN, "setl_id": "S0002"}}


def test_detail_unknown_or_someone_elses_is_none(bureau, fake):
    assert bureau.settlement_record(PSN, "S0404") is None
    assert bureau.settlement_record(PSN, "S0009") is None  # the fake keys on psn_no too


def test_detail_for_another_settlement_is_malformed(bureau, fake):
    fake.output_override = lambda output, data: {"setlinfo": on_the_wire(fake.rows[1])}
    with pytest.raises(BureauUnavailable, match="another settlement"):
        bureau.settlement_record(PSN, "S0003")


# --- malformed output: BureauUnavailable, never a half-read record ------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"medfee_sumamt": "1234.567"},
        {"hifp_pay": 7000.005},
        {"maf_pay": "-1.00"},
        {"acct_pay": "about 500"},
        {"psn_cash_pay": True},
        {"hifmi_pay": None},
        {"cvlserv_pay": "0.001"},
        {"setl_time": "2026-03-11T10:00:00+08:00"},
        {"begndate": "2026-02-30"},
        {"refd_setl_flag": "2"},
        {"med_type": None},
        {"dise_name": 42},
    ],
    ids=[
        "fraction-of-a-fen-string",
        "fraction-of-a-fen-number",
        "negative",
        "not-a-number",
        "bool",
        "missing-required-amount",
        "other-payer-fraction",
        "iso-time",
        "impossible-date",
        "unknown-flag",
        "no-med-type",
        "diagnosis-not-text",
    ],
)
def test_malformed_row_is_unavailable(bureau, fake, changes):
    fake.rows = [{**setl("S0001", "2026-03-11 10:00:00"), **changes}]

    with pytest.raises(BureauUnavailable, match="malformed") as info:
        bureau.settlement_records(PSN, *YEAR)
    assert_clean(info.value)
    with pytest.raises(BureauUnavailable, match="malformed"):
        bureau.settlement_record(PSN, "S0001")


def test_another_persons_row_is_malformed(bureau, fake):
    """A gateway that ignores psn_no must not hand us someone else's settlement."""
    fake.output_override = lambda output, data: {"setlinfo": [on_the_wire(r) for r in fake.rows]}
    with pytest.raises(BureauUnavailable, match="another person"):
        bureau.settlement_records(PSN, *YEAR)
    fake.output_override = lambda output, data: {"setlinfo": on_the_wire(fake.rows[3])}
    with pytest.raises(BureauUnavailable, match="another person"):
        bureau.settlement_record(PSN, "S0009")


@pytest.mark.parametrize(
    "output",
    [
        {"setlinfo": {"setl_id": "S0001"}},
        {"setlinfo": ["S0001"]},
    ],
    ids=["object-not-list", "row-not-object"],
)
def test_malformed_list_shape_is_unavailable(bureau, fake, output):
    fake.output_override = lambda _output, data: output
    with pytest.raises(BureauUnavailable, match="malformed"):
        bureau.settlement_records(PSN, *YEAR)


def test_repeated_setl_id_is_malformed(bureau, fake):
    fake.output_override = lambda output, data: {
        "setlinfo": output["setlinfo"] + output["setlinfo"][:1]
    }
    with pytest.raises(BureauUnavailable, match="repeats"):
        bureau.settlement_records(PSN, *YEAR)


# --- transport and trust failures -------------------------------------------------------------------


def test_tampered_reply_is_unavailable(bureau, fake):
    def raise_the_bill(body):
        body["output"]["setlinfo"][0]["medfee_sumamt"] = "99999.99"  # after signing

    fake.after_sign = raise_the_bill

    with pytest.raises(BureauUnavailable, match="signature") as info:
        bureau.settlement_records(PSN, *YEAR)
    assert_clean(info.value)


def test_request_signed_with_the_wrong_secret_is_refused(make_bureau, fake):
    with pytest.raises(BureauUnavailable):
        make_bureau(secret="not-the-shared-secret").settlement_record(PSN, "S0001")
    assert fake.rejections == ["签名验证失败"]


def test_infcode_error_is_rejected_with_the_echoed_id_masked(bureau, fake, httpserver):
    httpserver.expect_oneshot_request("/fsi/api/5203", method="POST").respond_with_handler(
        lambda request: fake.reply(-1, f"人员{EMPLOYEE_ID}结算信息查询失败")
    )

    with pytest.raises(BureauRejected) as info:
        bureau.settlement_record(PSN, "S0001")
    assert info.value.infcode == -1
    assert mask_id_number(EMPLOYEE_ID) in str(info.value)
    assert_clean(info.value)


def test_timeout_is_unavailable(make_bureau, fake, httpserver):
    # The bureau answers only when released (or after 30 s): a client that waited for it
    # instead of giving up at its 0.2 s timeout would take far longer than the bound below,
    # however loaded the machine is.
    release = threading.Event()

    def slow(request):
        release.wait(30)
        return fake.handle(request)

    httpserver.expect_oneshot_request("/fsi/api/9605", method="POST").respond_with_handler(slow)

    started = time.monotonic()
    try:
        with pytest.raises(BureauUnavailable, match="timed out"):
            make_bureau(timeout=0.2).settlement_records(PSN, *YEAR)
        assert time.monotonic() - started < 15
    finally:
        release.set()


def test_bad_arguments_never_reach_the_bureau(bureau, fake):
    with pytest.raises(ValueError):
        bureau.settlement_records(PSN, date(2026, 5, 1), date(2026, 4, 1))
    with pytest.raises(ValueError):
        bureau.settlement_records("", *YEAR)
    with pytest.raises(ValueError):
        bureau.settlement_record(PSN, " ")
    assert fake.received == []
