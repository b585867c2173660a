"""The real payout adapter (`HttpPayout`) against a local fake payment platform over real HTTP.

The fake signs and verifies with its own HMAC / canonical-JSON code (not the adapter's), checks
the timestamp and refuses reused nonces, keeps its transfers by request id (idempotent, with
conflicts), and can answer PROCESSING, lose replies, or answer in broken ways."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import threading
import time

import pytest
from werkzeug import Request, Response

from app.integrations.payout.http_adapter import HttpPayout
from app.integrations.payout.port import Payee, PayoutConflict, PayoutResult

SECRET = "payout-shared-secret-0123456789abcdef"
MCH_ID = "HUIMIN-GZ-01"
ACCOUNT = "6222021234567890123"
PAYEE = Payee(name="张伟", bank_account=ACCOUNT, bank_name="中国工商银行赣州分行")
NOW = 1_795_000_000  # a fixed "now" (Unix seconds) shared by the adapter and the fake


def canonical(obj: dict) -> bytes:
    body = {k: v for k, v in obj.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def sign(obj: dict, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), canonical(obj), hashlib.sha256).hexdigest()


class FakeBank:
    def __init__(self) -> None:
        self.transfers: dict[str, dict] = {}  # request_id -> {"request": ..., "data": ...}
        self.received: list[dict] = []
        self.rejections: list[str] = []
        self.nonces: set[str] = set()
        self.processing = False  # answer PROCESSING and complete on query
        self.after_sign = None  # mutate a reply after signing
        self.data_override = None  # rewrite `data` before signing
        self.reply_timestamp = NOW

    def reply(self, code: str, data: dict | None = None, message: str = "") -> Response:
        if data is not None and self.data_override:
            data = self.data_override(dict(data))
        body = {
            "code": code,
            "message": message,
            "nonce": secrets.token_hex(16),
            "timestamp": self.reply_timestamp,
            "data": data,
        }
        body["signature"] = sign(body)
        if self.after_sign:
            self.after_sign(body)
        return Response(
            json.dumps(body, ensure_ascii=False, indent=1), content_type="application/json"
        )

    def check(self, request: Request) -> dict | Response:
        env = json.loads(request.get_data())
        self.received.append(env)
        if not isinstance(env.get("signature"), str) or not hmac.compare_digest(
            env["signature"], sign(env)
        ):
            self.rejections.append("sign")
            return self.reply("SIGN_ERROR")
        if (
            env.get("mch_id") != MCH_ID
            or abs(env.get("timestamp", 0) - NOW) > 300
            or env.get("nonce") in self.nonces
        ):
            self.rejections.append("envelope")
            return self.reply("INVALID_REQUEST")
        self.nonces.add(env["nonce"])
        return env

    def transfer(self, request: Request) -> Response:
        env = self.check(request)
        if isinstance(env, Response):
            return env
        fields = {
            k: env.get(k)
            for k in ("amount_fen", "currency", "payee_name", "payee_account", "payee_bank", "memo")
        }
        if type(fields["amount_fen"]) is not int or fields["currency"] != "CNY":
            return self.reply("INVALID_REQUEST")
        seen = self.transfers.get(env["request_id"])
        if seen is not None:
            if seen["request"] != fields:
                return self.reply("REQUEST_ID_CONFLICT")
            return self.reply("OK", seen["data"])
        data = {
            "request_id": env["request_id"],
            "amount_fen": fields["amount_fen"],
            "transfer_id": None,
            "fail_code": None,
        }
        if fields["payee_account"].endswith("0000"):
            data.update(status="FAILED", fail_code="account_invalid")
        elif self.processing:
            data.update(status="PROCESSING")
        else:
            data.update(status="SUCCESS", transfer_id=f"BT{len(self.transfers) + 1:08d}")
        self.transfers[env["request_id"]] = {"request": fields, "data": data}
        return self.reply("OK", data)

    def query(self, request: Request) -> Response:
        env = self.check(request)
        if isinstance(env, Response):
            return env
        seen = self.transfers.get(env["request_id"])
        if seen is None:
            return self.reply("NOT_FOUND")
        if seen["data"]["status"] == "PROCESSING" and not self.processing:
            seen["data"].update(status="SUCCESS", transfer_id=f"BT{len(self.transfers):08d}")
        return self.reply("OK", seen["data"])


@pytest.fixture
def fake(httpserver) -> FakeBank:
    fb = FakeBank()
    httpserver.expect_request("/v1/transfers", method="POST").respond_with_handler(fb.transfer)
    httpserver.expect_request("/v1/transfers/query", method="POST").respond_with_handler(fb.query)
    return fb


@pytest.fixture
def make_payout(httpserver):
    made = []

    def _make(**overrides) -> HttpPayout:
        kwargs = dict(
            base_url=httpserver.url_for("/").rstrip("/"),
            merchant_id=MCH_ID,
            secret=SECRET,
            timeout=2.0,
            clock=lambda: NOW,
        )
        kwargs.update(overrides)
        made.append(HttpPayout(**kwargs))
        return made[-1]

    yield _make
    for p in made:
        p.close()


@pytest.fixture
def bank(make_payout) -> HttpPayout:
    return make_payout()


def test_transfer_succeeds_with_a_signed_integer_fen_request(bank, fake):
    result = bank.transfer("CLM2026000001P1", PAYEE, 1_750_000, "惠民保理赔 CLM2026000001")

    assert result == PayoutResult("succeeded", "BT00000001", None)
    env = fake.received[0]
    assert fake.rejections == []
    assert hmac.compare_digest(env["signature"], sign(env))
    assert {
        k: env[k]
        for k in (
            "mch_id",
            "request_id",
            "amount_fen",
            "currency",
            "payee_name",
            "payee_account",
            "payee_bank",
            "memo",
            "timestamp",
        )
    } == {
        "mch_id": MCH_ID,
        "request_id": "CLM2026000001P1",
        "amount_fen": 1_750_000,
        "currency": "CNY",
        "payee_name": "张伟",
        "payee_account": ACCOUNT,
        "payee_bank": "中国工商银行赣州分行",
        "memo": "惠民保理赔 CLM2026000001",
        "timestamp": NOW,
    }
    assert len(env["nonce"]) == 32


def test_repeating_a_transfer_moves_money_once(bank, fake):
    first = bank.transfer("R1", PAYEE, 5_000, "memo")
    again = bank.transfer("R1", PAYEE, 5_000, "memo")

    assert again == first and len(fake.transfers) == 1
    assert bank.query("R1") == first


def test_same_request_id_for_another_amount_is_a_conflict(bank, fake):
    bank.transfer("R1", PAYEE, 5_000, "memo")
    with pytest.raises(PayoutConflict) as info:
        bank.transfer("R1", PAYEE, 5_001, "memo")
    assert "R1" in str(info.value) and ACCOUNT not in str(info.value)
    assert fake.transfers["R1"]["request"]["amount_fen"] == 5_000


def test_refused_account_is_failed_with_the_banks_code(bank, fake):
    payee = Payee(name="张伟", bank_account="6222021234567890000", bank_name="工商银行")
    assert bank.transfer("R1", payee, 5_000, "memo") == PayoutResult(
        "failed", None, "account_invalid"
    )


def test_processing_is_pending_until_a_query_finds_it_done(bank, fake):
    fake.processing = True
    assert bank.transfer("R1", PAYEE, 5_000, "memo") == PayoutResult("pending")
    assert bank.query("R1") == PayoutResult("pending")
    fake.processing = False
    done = bank.query("R1")
    assert done.status == "succeeded" and done.external_id == "BT00000001"


def test_timeout_after_acceptance_is_pending_and_the_query_resolves_it(
    make_payout, fake, httpserver
):
    release = threading.Event()
    done = threading.Event()

    def accept_then_hang(request):
        answer = fake.transfer(request)  # the bank books the transfer ...
        release.wait(30)  # ... and the reply never arrives in time
        done.set()
        return answer

    httpserver.expect_oneshot_request("/v1/transfers", method="POST").respond_with_handler(
        accept_then_hang
    )
    quick = make_payout(timeout=0.2)

    started = time.monotonic()
    try:
        assert quick.transfer("R1", PAYEE, 5_000, "memo") == PayoutResult("pending")
        assert time.monotonic() - started < 15  # gave up at the timeout, did not wait it out
    finally:
        release.set()
    done.wait(10)  # the fake serves one request at a time: let the hung one finish
    assert quick.query("R1") == PayoutResult("succeeded", "BT00000001", None)
    assert len(fake.transfers) == 1


def test_timeout_before_acceptance_is_pending_and_the_query_says_not_found(
    make_payout, fake, httpserver
):
    def hang(request):
        time.sleep(0.6)
        return Response("", status=504)

    httpserver.expect_oneshot_request("/v1/transfers", method="POST").respond_with_handler(hang)
    quick = make_payout(timeout=0.2)

    assert quick.transfer("R1", PAYEE, 5_000, "memo") == PayoutResult("pending")
    time.sleep(0.5)  # the fake serves one request at a time: let the hung one finish
    assert quick.query("R1") == PayoutResult("not_found")
    assert quick.transfer("R1", PAYEE, 5_000, "memo").status == "succeeded"  # safe to resend


def breaks(field, value):
    def override(data):
        data[field] = value
        return data

    return override


@pytest.mark.parametrize(
    "tamper",
    [
        dict(after_sign=lambda body: body["data"].update(amount_fen=1)),  # changed after signing
        dict(after_sign=lambda body: body.pop("signature")),
        dict(after_sign=lambda body: body.update(signature=sign(body, "someone-else"))),
        dict(reply_timestamp=NOW - 301),  # stale reply
        dict(data_override=breaks("request_id", "R2")),  # another request
        dict(data_override=breaks("amount_fen", 4_999)),  # another amount
        dict(data_override=breaks("amount_fen", 5_000.0)),  # a float amount
        dict(data_override=breaks("transfer_id", None)),  # success without id
        dict(data_override=breaks("status", "DONE")),  # unknown status
    ],
    ids=[
        "tampered",
        "unsigned",
        "other-key",
        "stale",
        "other-request",
        "other-amount",
        "float-amount",
        "no-transfer-id",
        "unknown-status",
    ],
)
def test_untrustworthy_replies_leave_the_transfer_pending(bank, fake, tamper):
    for name, value in tamper.items():
        setattr(fake, name, value)
    assert bank.transfer("R1", PAYEE, 5_000, "memo") == PayoutResult("pending")
    assert len(fake.transfers) == 1  # the bank did book it: reconciliation will find it


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, "internal error"),
        (200, "<html>maintenance</html>"),
        (200, "[]"),
    ],
    ids=["http-500", "not-json", "not-an-object"],
)
def test_broken_answers_are_pending(bank, fake, httpserver, status, body):
    httpserver.expect_oneshot_request("/v1/transfers", method="POST").respond_with_data(
        body, status=status
    )
    assert bank.transfer("R1", PAYEE, 5_000, "memo") == PayoutResult("pending")


def test_platform_codes(bank, fake, httpserver):
    httpserver.expect_oneshot_request("/v1/transfers", method="POST").respond_with_handler(
        lambda request: fake.reply("SYSTEM_ERROR")
    )
    assert bank.transfer("R1", PAYEE, 5_000, "memo") == PayoutResult("pending")
    httpserver.expect_oneshot_request("/v1/transfers", method="POST").respond_with_handler(
        lambda request: fake.reply("INVALID_REQUEST")
    )
    assert bank.transfer("R2", PAYEE, 5_000, "memo") == PayoutResult(
        "failed", None, "invalid_request"
    )
    assert bank.query("R-never-sent") == PayoutResult("not_found")


def test_request_signed_with_the_wrong_secret_is_refused_and_pending(make_payout, fake):
    wrong = make_payout(secret="not-the-shared-secret-0123456789")
    assert wrong.transfer("R1", PAYEE, 5_000, "memo") == PayoutResult("pending")
    assert fake.rejections == ["sign"] and fake.transfers == {}


def test_unreachable_platform_is_pending(make_payout):
    assert make_payout(base_url="http://127.0.0.1:9").transfer(
        "R1", PAYEE, 5_000, "memo"
    ) == PayoutResult("pending")


def test_caller_mistakes_never_reach_the_platform(bank, fake):
    with pytest.raises(ValueError):
        bank.transfer("R1", PAYEE, 0, "memo")
    with pytest.raises(ValueError):
        bank.transfer("R/1", PAYEE, 1, "memo")
    with pytest.raises(ValueError):
        bank.query("")
    assert fake.received == []


def test_no_account_number_payee_name_or_secret_in_the_logs(bank, fake, caplog):
    caplog.set_level(logging.DEBUG)
    bank.transfer("R1", PAYEE, 5_000, "memo")
    fake.after_sign = lambda body: body.pop("signature")
    bank.transfer("R2", PAYEE, 5_000, "memo")
    fake.after_sign = None
    bank.query("R2")

    # Everything logged on our side (werkzeug's lines are the fake platform's own log).
    text = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug"))
    assert "payout transfer request_id=R1 outcome=succeeded" in text
    assert "request_id=R2 outcome=pending:bad_signature" in text
    for secret in (ACCOUNT, ACCOUNT[-8:], "张伟", SECRET):
        assert secret not in text
    assert SECRET not in repr(bank)
