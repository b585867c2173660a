"""The real bureau adapter's personal-account debit (9601 authorise, 9602 debit, 9603 query,
9604 refund: Huimin's modelled interface) against the local fake bureau over real HTTP.

The fake (`FakeBureau` from test_bureau_http, which checks every request's signature and
envelope with its own HMAC code) gets an account book here: balances in fen, authorisations and
transactions keyed by request id, amounts on the wire as yuan strings with two decimals."""

from __future__ import annotations

import json
import re
import time
from decimal import Decimal

import pytest
from werkzeug import Response

from app.integrations.bureau.http_adapter import (
    INFNO_ACCOUNT_AUTHORISE,
    INFNO_ACCOUNT_BALANCE,
    INFNO_ACCOUNT_DEBIT,
    INFNO_ACCOUNT_QUERY,
    INFNO_ACCOUNT_REFUND,
    BureauRejected,
    HttpBureau,
    fen_to_yuan,
)
from app.integrations.bureau.port import (
    DEBIT_FAILED,
    DEBIT_NOT_FOUND,
    DEBIT_PENDING,
    DEBIT_SUCCEEDED,
    AccountAuthorisation,
    AccountTransaction,
    BureauUnavailable,
)
from tests.integrations.test_bureau_http import (
    EMPLOYEE_ID,
    ENDPOINT,
    RESIDENTS,
    FakeBureau,
    assert_clean,
    bureau,
    fake_sign,
    make_bureau,
)

# Fixtures, named only as test parameters: the redundant `as` marks the import as deliberate, so
# ruff's unused-import fix does not drop it again (without them pytest cannot find the fixtures).
from tests.integrations.test_bureau_http import bureau as bureau
from tests.integrations.test_bureau_http import make_bureau as make_bureau

PSN = "36070000000000000001"  # 356,000 fen
EMPTY = "36070000000000000009"  # 0 fen
UNKNOWN = "36070000000000000404"
_AMT = re.compile(r"^\d+\.\d{2}$")


def yuan(fen: int) -> str:
    """The fake's own formatter (integer arithmetic, not the adapter's Decimal code)."""
    return f"{fen // 100}.{fen % 100:02d}"


def to_fen(amt: str) -> int:
    whole, frac = amt.split(".")
    return int(whole) * 100 + int(frac)


class AccountBook:
    """The bureau side of 96xx: strict about amounts on the wire, idempotent on req_id."""

    def __init__(self, fake: FakeBureau) -> None:
        self.fake = fake
        self.balances = {PSN: 356_000, EMPTY: 0}
        self.auths: dict[str, dict] = {}
        self.txns: dict[str, dict] = {}  # req_id -> {"request": ..., "info": txninfo}
        self.refunded: dict[str, int] = {}  # debit req_id -> fen refunded so far
        self.seq = 0
        # Test hook: rewrite a txninfo before it is signed.
        self.txninfo_override = None
        for infno, handler in (
            (INFNO_ACCOUNT_AUTHORISE, self.authorise),
            (INFNO_ACCOUNT_DEBIT, self.debit),
            (INFNO_ACCOUNT_QUERY, self.query),
            (INFNO_ACCOUNT_REFUND, self.refund),
            (INFNO_ACCOUNT_BALANCE, self.balance),
        ):
            fake.handlers[infno] = handler

    def _data(self, env: dict, *keys: str) -> dict | None:
        data = env["input"].get("data")
        if not isinstance(data, dict) or set(data) != set(keys):
            return None
        if any(not isinstance(data[k], str) or not data[k] for k in keys):
            return None
        if "amt" in data and not _AMT.fullmatch(data["amt"]):
            return None
        return data

    def _txn_reply(self, info: dict) -> Response:
        if self.txninfo_override:
            info = self.txninfo_override(dict(info))
        return self.fake.reply(0, "", {"txninfo": info})

    def _record(self, req_id: str, request: dict, stas: str, amt: str, **extra) -> dict:
        self.seq += 1
        info = {
            "req_id": req_id,
            "txn_stas": stas,
            "amt": amt,
            "bureau_txn_id": f"BT{self.seq:010d}" if stas == "1" else None,
            "balc": None,
            "fail_code": None,
            "fail_msg": None,
            **extra,
        }
        self.txns[req_id] = {"request": request, "info": info}
        return info

    def _replay_or_conflict(self, req_id: str, request: dict) -> Response | None:
        seen = self.txns.get(req_id)
        if seen is None:
            return None
        if seen["request"] == request:
            return self._txn_reply(seen["info"])
        return self._txn_reply(
            {
                "req_id": req_id,
                "txn_stas": "2",
                "amt": request["amt"],
                "bureau_txn_id": None,
                "balc": None,
                "fail_code": "request_id_conflict",
                "fail_msg": "流水号重复",
            }
        )

    def authorise(self, env: dict) -> Response:
        data = self._data(env, "psn_no", "order_no", "amt")
        if data is None:
            return self.fake.refuse("9601入参错误")
        if data["psn_no"] not in self.balances:
            return self.fake.reply(-1, "人员不存在")
        auth_id = f"AU{len(self.auths) + 1:08d}"
        self.auths[auth_id] = {**data, "used": False}
        return self.fake.reply(
            0,
            "",
            {
                "authinfo": {
                    "auth_id": auth_id,
                    "psn_no": data["psn_no"],
                    "amt": data["amt"],
                    "expy_time": "2026-11-04 04:45:00",
                }
            },
        )

    def debit(self, env: dict) -> Response:
        data = self._data(env, "req_id", "auth_id", "psn_no", "order_no", "amt")
        if data is None:
            return self.fake.refuse("9602入参错误")
        req_id = data["req_id"]
        replay = self._replay_or_conflict(req_id, {"kind": "debit", **data})
        if replay is not None:
            return replay
        fen = to_fen(data["amt"])
        auth = self.auths.get(data["auth_id"])
        request = {"kind": "debit", **data}
        if auth is None or (auth["psn_no"], auth["amt"], auth["order_no"]) != (
            data["psn_no"],
            data["amt"],
            data["order_no"],
        ):
            return self._txn_reply(
                self._record(
                    req_id,
                    request,
                    "2",
                    data["amt"],
                    fail_code="authorisation_mismatch",
                    fail_msg="授权不符",
                )
            )
        if auth["used"]:
            return self._txn_reply(
                self._record(
                    req_id,
                    request,
                    "2",
                    data["amt"],
                    fail_code="authorisation_used",
                    fail_msg="授权已使用",
                )
            )
        if self.balances[data["psn_no"]] < fen:
            return self._txn_reply(
                self._record(
                    req_id,
                    request,
                    "2",
                    data["amt"],
                    fail_code="insufficient_balance",
                    fail_msg="余额不足",
                )
            )
        auth["used"] = True
        self.balances[data["psn_no"]] -= fen
        self.refunded[req_id] = 0
        return self._txn_reply(
            self._record(
                req_id, request, "1", data["amt"], balc=yuan(self.balances[data["psn_no"]])
            )
        )

    def query(self, env: dict) -> Response:
        data = self._data(env, "req_id")
        if data is None:
            return self.fake.refuse("9603入参错误")
        seen = self.txns.get(data["req_id"])
        if seen is None:
            return self.fake.reply(0, "", {"txninfo": None})
        return self._txn_reply(seen["info"])

    def balance(self, env: dict) -> Response:
        data = self._data(env, "psn_no")
        if data is None:
            return self.fake.refuse("9605入参错误")
        psn = data["psn_no"]
        if psn not in self.balances and psn != UNKNOWN:
            return self.fake.reply(0, "", {"acctinfo": {"psn_no": psn, "balc": None}})
        if psn == UNKNOWN:
            return self.fake.reply(0, "", {"acctinfo": None})
        return self.fake.reply(
            0, "", {"acctinfo": {"psn_no": psn, "balc": yuan(self.balances[psn])}}
        )

    def refund(self, env: dict) -> Response:
        data = self._data(env, "req_id", "orig_req_id", "amt")
        if data is None:
            return self.fake.refuse("9604入参错误")
        req_id = data["req_id"]
        request = {"kind": "refund", **data}
        replay = self._replay_or_conflict(req_id, request)
        if replay is not None:
            return replay
        original = self.txns.get(data["orig_req_id"])
        if (
            original is None
            or original["request"]["kind"] != "debit"
            or original["info"]["txn_stas"] != "1"
        ):
            return self._txn_reply(
                self._record(
                    req_id,
                    request,
                    "2",
                    data["amt"],
                    fail_code="original_not_found",
                    fail_msg="原交易不存在",
                )
            )
        fen = to_fen(data["amt"])
        if self.refunded[data["orig_req_id"]] + fen > to_fen(original["info"]["amt"]):
            return self._txn_reply(
                self._record(
                    req_id,
                    request,
                    "2",
                    data["amt"],
                    fail_code="refund_exceeds_debit",
                    fail_msg="退款超过原交易金额",
                )
            )
        psn = original["request"]["psn_no"]
        self.refunded[data["orig_req_id"]] += fen
        self.balances[psn] += fen
        return self._txn_reply(
            self._record(req_id, request, "1", data["amt"], balc=yuan(self.balances[psn]))
        )


# --------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture
def fake(httpserver) -> FakeBureau:
    fb = FakeBureau(json.loads(json.dumps(RESIDENTS)))
    httpserver.expect_request(ENDPOINT, method="POST").respond_with_handler(fb.handle)
    return fb


@pytest.fixture
def book(fake) -> AccountBook:
    return AccountBook(fake)


def pay(
    bureau: HttpBureau, psn: str, fen: int, req_id: str, order_no: str = "ORD-1"
) -> AccountTransaction:
    auth = bureau.authorise_debit(psn, fen, order_no)
    return bureau.debit(req_id, auth.authorisation_id, psn, fen, order_no)


def sent(fake: FakeBureau, infno: str) -> list[dict]:
    return [env for env in fake.received if env["infno"] == infno]


# --------------------------------------------------------------------------------------------
# Amounts on the wire


@pytest.mark.parametrize(
    ("fen", "wire"),
    [
        (1, "0.01"),
        (10, "0.10"),
        (99, "0.99"),
        (100, "1.00"),
        (12_345, "123.45"),
        (356_000, "3560.00"),
        (123_456_789_012_345_678, "1234567890123456.78"),  # beyond float precision, still exact
    ],
)
def test_fen_to_yuan_is_exact_with_two_decimals(fen, wire):
    assert fen_to_yuan(fen) == wire


@pytest.mark.parametrize("bad", [0, -1, 1.0, 12.34, True, "100", None])
def test_bad_amounts_are_refused_before_anything_is_sent(bureau, fake, book, bad):
    with pytest.raises(ValueError):
        bureau.authorise_debit(PSN, bad, "ORD-1")
    with pytest.raises(ValueError):
        bureau.debit("REQ-1", "AU1", PSN, bad, "ORD-1")
    with pytest.raises(ValueError):
        bureau.refund("REF-1", "REQ-1", bad)
    assert fake.received == []


# --------------------------------------------------------------------------------------------
# Authorise


def test_authorise_sends_yuan_and_maps_the_authorisation(bureau, fake, book):
    auth = bureau.authorise_debit(PSN, 12_345, "ORD-2026-0001")

    assert isinstance(auth, AccountAuthorisation)
    assert auth.authorisation_id == "AU00000001"
    assert auth.psn_no == PSN and auth.amount_fen == 12_345
    assert (
        auth.expires_at_iso == "2026-11-04T04:45:00+08:00"
    )  # the bureau's Shanghai time, with offset
    env = sent(fake, "9601")[0]
    assert env["input"] == {"data": {"psn_no": PSN, "order_no": "ORD-2026-0001", "amt": "123.45"}}
    assert env["signature"] == fake_sign(env)
    assert fake.rejections == []


def test_authorise_refused_is_bureau_rejected(bureau, fake, book):
    with pytest.raises(BureauRejected) as info:
        bureau.authorise_debit(UNKNOWN, 100, "ORD-1")
    assert info.value.infno == "9601" and info.value.infcode == -1


# --------------------------------------------------------------------------------------------
# Debit


def test_debit_ok(bureau, fake, book):
    auth = bureau.authorise_debit(PSN, 12_345, "ORD-7")
    txn = bureau.debit("REQ-0001", auth.authorisation_id, PSN, 12_345, "ORD-7")

    assert txn == AccountTransaction(
        request_id="REQ-0001",
        status=DEBIT_SUCCEEDED,
        amount_fen=12_345,
        bureau_txn_id="BT0000000001",
        balance_after_fen=356_000 - 12_345,
    )
    assert book.balances[PSN] == 356_000 - 12_345
    env = sent(fake, "9602")[0]
    assert env["input"] == {
        "data": {
            "req_id": "REQ-0001",
            "auth_id": auth.authorisation_id,
            "psn_no": PSN,
            "order_no": "ORD-7",
            "amt": "123.45",
        }
    }
    assert fake.rejections == []


def test_debit_repeat_is_idempotent(bureau, fake, book):
    first = pay(bureau, PSN, 10_000, "REQ-R")
    auth_id = sent(fake, "9602")[0]["input"]["data"]["auth_id"]
    again = bureau.debit("REQ-R", auth_id, PSN, 10_000, "ORD-1")

    assert again == first
    assert book.balances[PSN] == 346_000
    envs = sent(fake, "9602")
    assert len(envs) == 2 and envs[0]["msgid"] != envs[1]["msgid"]  # new message, same request id
    assert {e["input"]["data"]["req_id"] for e in envs} == {"REQ-R"}


def test_debit_repeat_with_other_amount_is_a_conflict(bureau, fake, book):
    pay(bureau, PSN, 10_000, "REQ-C")
    auth_id = sent(fake, "9602")[0]["input"]["data"]["auth_id"]
    conflict = bureau.debit("REQ-C", auth_id, PSN, 20_000, "ORD-1")

    assert conflict.status == DEBIT_FAILED and conflict.failure_code == "request_id_conflict"
    assert book.balances[PSN] == 346_000


def test_insufficient_balance_is_a_failed_txn(bureau, fake, book):
    txn = pay(bureau, EMPTY, 1, "REQ-EMPTY")
    assert txn.status == DEBIT_FAILED
    assert txn.failure_code == "insufficient_balance"
    assert txn.failure_message == "余额不足"
    assert txn.bureau_txn_id is None and txn.amount_fen == 1
    too_much = pay(bureau, PSN, 356_001, "REQ-TOO-MUCH")
    assert too_much.failure_code == "insufficient_balance"
    assert book.balances == {PSN: 356_000, EMPTY: 0}


# --------------------------------------------------------------------------------------------
# Query


def test_query_found_and_not_found(bureau, fake, book):
    ok = pay(bureau, PSN, 2_000, "REQ-Q1")
    failed = pay(bureau, EMPTY, 2_000, "REQ-Q2")

    assert bureau.query("REQ-Q1") == ok
    assert bureau.query("REQ-Q2") == failed
    assert bureau.query("REQ-NEVER") == AccountTransaction(
        request_id="REQ-NEVER", status=DEBIT_NOT_FOUND, amount_fen=0
    )
    assert sent(fake, "9603")[0]["input"] == {"data": {"req_id": "REQ-Q1"}}


def test_query_maps_pending(bureau, fake, book):
    pay(bureau, PSN, 2_000, "REQ-P")
    book.txninfo_override = lambda info: {
        **info,
        "txn_stas": "0",
        "bureau_txn_id": None,
        "balc": None,
    }
    txn = bureau.query("REQ-P")
    assert txn.status == DEBIT_PENDING and txn.amount_fen == 2_000 and txn.bureau_txn_id is None


# --------------------------------------------------------------------------------------------
# Refund


def test_refund_partial_then_over_refund_refused_then_rest(bureau, fake, book):
    pay(bureau, PSN, 10_000, "REQ-D")

    part = bureau.refund("REF-1", "REQ-D", 3_050)
    assert part.status == DEBIT_SUCCEEDED and part.amount_fen == 3_050
    assert part.balance_after_fen == 356_000 - 10_000 + 3_050
    assert sent(fake, "9604")[0]["input"] == {
        "data": {"req_id": "REF-1", "orig_req_id": "REQ-D", "amt": "30.50"}
    }

    over = bureau.refund("REF-2", "REQ-D", 6_951)
    assert over.status == DEBIT_FAILED and over.failure_code == "refund_exceeds_debit"
    assert book.balances[PSN] == 356_000 - 6_950

    assert bureau.refund("REF-1", "REQ-D", 3_050) == part  # idempotent
    rest = bureau.refund("REF-3", "REQ-D", 6_950)
    assert rest.status == DEBIT_SUCCEEDED and rest.balance_after_fen == 356_000
    assert book.balances[PSN] == 356_000


# --------------------------------------------------------------------------------------------
# Signatures


def test_every_account_request_is_signed_and_verified_by_the_fake(bureau, fake, book):
    pay(bureau, PSN, 500, "REQ-S")
    bureau.query("REQ-S")
    bureau.refund("REF-S", "REQ-S", 500)

    assert [e["infno"] for e in fake.received] == ["9601", "9602", "9603", "9604"]
    assert all(e["signature"] == fake_sign(e) for e in fake.received)
    assert fake.rejections == []


def test_debit_signed_with_the_wrong_secret_is_refused_and_unavailable(make_bureau, fake, book):
    wrong = make_bureau(secret="not-the-shared-secret")
    with pytest.raises(BureauUnavailable) as info:
        wrong.debit("REQ-W", "AU1", PSN, 100, "ORD-1")
    assert fake.rejections == ["签名验证失败"]
    assert book.balances[PSN] == 356_000
    assert_clean(info.value)


def test_tampered_debit_reply_is_unavailable(bureau, fake, book):
    auth = bureau.authorise_debit(PSN, 100, "ORD-1")

    def tamper(body):
        body["output"]["txninfo"]["balc"] = "999999.00"  # changed after signing

    fake.after_sign = tamper

    with pytest.raises(BureauUnavailable, match="signature"):
        bureau.debit("REQ-T", auth.authorisation_id, PSN, 100, "ORD-1")
    fake.after_sign = None
    # The debit did happen: the caller finds out by querying.
    assert bureau.query("REQ-T").status == DEBIT_SUCCEEDED


# --------------------------------------------------------------------------------------------
# Timeouts and other unknown outcomes


def test_timeout_before_the_bureau_acts_is_unavailable(make_bureau, fake, book, httpserver):
    def slow(request):
        time.sleep(0.6)
        return fake.reply(-1, "too late")  # never reached the account book

    httpserver.expect_oneshot_request("/fsi/api/9602", method="POST").respond_with_handler(slow)
    quick = make_bureau(timeout=0.2)

    with pytest.raises(BureauUnavailable, match="timed out"):
        quick.debit("REQ-SLOW", "AU1", PSN, 100, "ORD-1")
    assert book.balances[PSN] == 356_000


def test_lost_reply_timeout_then_query_and_retry_debit_once(
    make_bureau, bureau, fake, book, httpserver
):
    auth = bureau.authorise_debit(PSN, 6_000, "ORD-LOST")

    def debit_then_stall(request):
        response = fake.handle(request)  # the bureau debits ...
        time.sleep(0.6)  # ... and the reply never arrives in time
        return response

    httpserver.expect_oneshot_request("/fsi/api/9602", method="POST").respond_with_handler(
        debit_then_stall
    )
    quick = make_bureau(timeout=0.2)

    with pytest.raises(BureauUnavailable, match="timed out") as info:
        quick.debit("REQ-LOST", auth.authorisation_id, PSN, 6_000, "ORD-LOST")
    assert not isinstance(info.value, BureauRejected)
    assert book.balances[PSN] == 350_000

    found = bureau.query("REQ-LOST")
    assert found.status == DEBIT_SUCCEEDED and found.amount_fen == 6_000
    retried = bureau.debit("REQ-LOST", auth.authorisation_id, PSN, 6_000, "ORD-LOST")
    assert retried == found
    assert book.balances[PSN] == 350_000


def test_refund_timeout_is_unavailable(make_bureau, bureau, fake, book, httpserver):
    pay(bureau, PSN, 1_000, "REQ-RT")

    def slow(request):
        time.sleep(0.6)
        return fake.handle(request)

    httpserver.expect_oneshot_request("/fsi/api/9604", method="POST").respond_with_handler(slow)

    with pytest.raises(BureauUnavailable, match="timed out"):
        make_bureau(timeout=0.2).refund("REF-RT", "REQ-RT", 1_000)


def test_non_zero_infcode_on_debit_is_an_unknown_outcome(bureau, fake, book, httpserver):
    httpserver.expect_oneshot_request("/fsi/api/9602", method="POST").respond_with_handler(
        lambda request: fake.reply(-1, f"系统繁忙 {EMPLOYEE_ID}")
    )

    with pytest.raises(BureauUnavailable) as info:  # BureauRejected is-a BureauUnavailable
        bureau.debit("REQ-BUSY", "AU1", PSN, 100, "ORD-1")
    assert isinstance(info.value, BureauRejected)
    assert_clean(info.value)


# --------------------------------------------------------------------------------------------
# Malformed or inconsistent replies: never taken as an answer


@pytest.mark.parametrize(
    "breakage",
    [
        lambda i: {**i, "req_id": "REQ-SOMEONE-ELSE"},
        lambda i: {**i, "amt": "1.005"},
        lambda i: {**i, "amt": "2.00"},
        lambda i: {**i, "amt": "-1.00"},
        lambda i: {**i, "amt": "lots"},
        lambda i: {**i, "txn_stas": "9"},
        lambda i: {**i, "bureau_txn_id": None},
        lambda i: {**i, "balc": "12.345"},
        lambda i: {**i, "txn_stas": "2", "fail_code": None},
        lambda i: "succeeded",
    ],
    ids=[
        "other-req-id",
        "fraction-of-fen",
        "other-amount",
        "negative",
        "not-amount",
        "unknown-status",
        "no-txn-id",
        "balance-fraction",
        "failed-without-code",
        "not-object",
    ],
)
def test_malformed_debit_reply_is_unavailable(bureau, fake, book, breakage):
    auth = bureau.authorise_debit(PSN, 100, "ORD-1")
    book.txninfo_override = breakage

    with pytest.raises(BureauUnavailable, match="malformed"):
        bureau.debit("REQ-M", auth.authorisation_id, PSN, 100, "ORD-1")


def test_json_number_amounts_are_read_exactly(bureau, fake, book):
    auth = bureau.authorise_debit(PSN, 1_999, "ORD-1")
    # A gateway that sends numbers: 19.99 * 100 as a float would be 1998.9999999999998.
    book.txninfo_override = lambda i: {**i, "amt": 19.99, "balc": 3540.01}

    txn = bureau.debit("REQ-N", auth.authorisation_id, PSN, 1_999, "ORD-1")
    assert txn.amount_fen == 1_999 and txn.balance_after_fen == 354_001
    assert Decimal(fen_to_yuan(txn.amount_fen)) == Decimal("19.99")


def test_failure_message_echoing_an_id_number_is_masked(bureau, fake, book):
    book.txninfo_override = lambda i: {**i, "fail_msg": f"人员{EMPLOYEE_ID}余额不足"}
    txn = pay(bureau, EMPTY, 100, "REQ-MASK")
    assert txn.failure_code == "insufficient_balance"
    assert EMPLOYEE_ID not in txn.failure_message and "********" in txn.failure_message


def test_balance_is_read_in_yuan_and_returned_in_fen(bureau, fake, book):
    assert bureau.balance(PSN) == 356_000
    assert bureau.balance(EMPTY) == 0
    assert bureau.balance("36070000000000000777") is None  # no personal account
    assert bureau.balance(UNKNOWN) is None
    pay(bureau, PSN, 8_900, "REQ-BAL-1")
    assert bureau.balance(PSN) == 356_000 - 8_900


def test_balance_of_another_person_or_a_fraction_of_a_fen_is_unavailable(bureau, fake, book):
    fake.handlers[INFNO_ACCOUNT_BALANCE] = lambda env: fake.reply(
        0, "", {"acctinfo": {"psn_no": EMPTY, "balc": "1.00"}}
    )
    with pytest.raises(BureauUnavailable):
        bureau.balance(PSN)
    fake.handlers[INFNO_ACCOUNT_BALANCE] = lambda env: fake.reply(
        0, "", {"acctinfo": {"psn_no": PSN, "balc": "1.005"}}
    )
    with pytest.raises(BureauUnavailable):
        bureau.balance(PSN)
