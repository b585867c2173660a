"""RealWeChatPay (wechatpayv3 underneath) against a local fake of api.mch.weixin.qq.com.

The fake behaves like WeChat Pay v3: it checks every request's
`Authorization: WECHATPAY2-SHA256-RSA2048 mchid=..,nonce_str=..,signature=..,timestamp=..,
serial_no=..` with the merchant public key (answering 401 SIGN_ERROR otherwise), and signs every
answer (`Wechatpay-Serial/-Signature/-Timestamp/-Nonce`) with the platform key, which the SDK
verifies. All keys are RSA-2048 pairs generated for this module.
"""

from __future__ import annotations

import json
import re
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug import Request, Response

from app.integrations.wechatpay.notifications import build_notification
from app.integrations.wechatpay.port import (
    REFUND_PROCESSING,
    REFUND_SUCCESS,
    TRADE_NOTPAY,
    TRADE_SUCCESS,
    RefundResult,
    TradeStatus,
    WeChatPayError,
)
from app.integrations.wechatpay.real import RealWeChatPay
from app.integrations.wechatpay.signing import (
    message_for,
    private_key_pkcs8_pem,
    public_key_pem,
    random_nonce,
    rsa_sign,
    rsa_verify,
    verify_js_params,
)

APPID = "wxd678efh567hg6787"
MCHID = "1230000109"
MERCHANT_SERIAL = "444F4864EA9B34415A7E3B7A8A1B2C3D4E5F6071"
PUB_KEY_ID = "PUB_KEY_ID_0112300001092024010100000000000001"
APIV3_KEY = "a12d3924fd499edac8a5efc0123456ab"
NOTIFY_URL = "https://huimin.example.cn/payments/wechat/notify"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
OUT_TRADE_NO = "HM20260101000001"
EXPIRE = datetime(2026, 1, 1, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai

_AUTH = re.compile(r"WECHATPAY2-SHA256-RSA2048 (.*)")
_AUTH_FIELD = re.compile(r'(\w+)="([^"]*)"')


@pytest.fixture(scope="module")
def merchant_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def platform_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def stranger_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class FakeWeChatPay:
    """Route handlers for pytest-httpserver that authenticate like WeChat and sign answers."""

    server: object
    merchant_public: rsa.RSAPublicKey
    platform_key: rsa.RSAPrivateKey
    requests: list[dict] = field(default_factory=list)
    auth_failures: list[str] = field(default_factory=list)

    def authenticate(self, request: Request) -> str | None:
        match = _AUTH.fullmatch(request.headers.get("Authorization", ""))
        if not match:
            return "no WECHATPAY2-SHA256-RSA2048 Authorization"
        fields = dict(_AUTH_FIELD.findall(match.group(1)))
        if fields.get("mchid") != MCHID or fields.get("serial_no") != MERCHANT_SERIAL:
            return "mchid or serial_no"
        if abs(time.time() - int(fields.get("timestamp", "0"))) > 300:
            return "timestamp"
        if request.headers.get("Wechatpay-Serial") != PUB_KEY_ID:
            return "Wechatpay-Serial request header"
        path = request.path + (f"?{request.query_string.decode()}" if request.query_string else "")
        message = (
            f"{request.method}\n{path}\n{fields['timestamp']}\n{fields['nonce_str']}\n".encode()
            + request.get_data()
            + b"\n"
        )
        if not rsa_verify(self.merchant_public, message, fields.get("signature", "")):
            return "signature"
        return None

    def signed(
        self, status: int, payload: dict | None, *, key=None, headers: bool = True
    ) -> Response:
        body = "" if payload is None else json.dumps(payload, ensure_ascii=False)
        resp = Response(
            body.encode("utf-8"),
            status=status,
            content_type="application/json" if payload is not None else None,
        )
        if payload is None:
            resp.headers.pop("Content-Type", None)
        if headers:
            ts, nonce = str(int(time.time())), random_nonce(32)
            resp.headers["Wechatpay-Serial"] = PUB_KEY_ID
            resp.headers["Wechatpay-Timestamp"] = ts
            resp.headers["Wechatpay-Nonce"] = nonce
            resp.headers["Wechatpay-Signature-Type"] = "WECHATPAY2-SHA256-RSA2048"
            resp.headers["Wechatpay-Signature"] = rsa_sign(
                key or self.platform_key, message_for(ts, nonce, body.encode("utf-8"))
            )
        return resp

    def route(self, path: str, method: str, status: int, payload: dict | None, **kwargs) -> None:
        def handler(request: Request) -> Response:
            failure = self.authenticate(request)
            self.requests.append(
                {
                    "method": request.method,
                    "path": request.path,
                    "query": request.args.to_dict(),
                    "json": json.loads(request.get_data() or b"null"),
                }
            )
            if failure:
                self.auth_failures.append(failure)
                return self.signed(401, {"code": "SIGN_ERROR", "message": "签名错误"})
            return self.signed(status, payload, **kwargs)

        self.server.expect_request(path, method=method).respond_with_handler(handler)


@pytest.fixture
def fake(httpserver, merchant_key, platform_key) -> FakeWeChatPay:
    return FakeWeChatPay(httpserver, merchant_key.public_key(), platform_key)


def _adapter(
    httpserver, merchant_key, platform_key, *, timeout=5.0, gateway=None, merchant_pem=None
) -> RealWeChatPay:
    return RealWeChatPay(
        appid=APPID,
        mchid=MCHID,
        merchant_private_key_pem=merchant_pem or private_key_pkcs8_pem(merchant_key),
        merchant_serial=MERCHANT_SERIAL,
        apiv3_key=APIV3_KEY,
        platform_public_key_pem=public_key_pem(platform_key.public_key()),
        platform_public_key_id=PUB_KEY_ID,
        notify_url=NOTIFY_URL,
        timeout=timeout,
        gateway=gateway or httpserver.url_for("/").rstrip("/"),
    )


@pytest.fixture
def pay(httpserver, merchant_key, platform_key) -> RealWeChatPay:
    return _adapter(httpserver, merchant_key, platform_key)


def _create(pay: RealWeChatPay, **overrides):
    args = dict(
        out_trade_no=OUT_TRADE_NO,
        description="赣州惠民保2026-个人投保",
        amount_fen=9900,
        payer_openid=OPENID,
        notify_url=NOTIFY_URL,
        time_expire=EXPIRE,
    )
    args.update(overrides)
    return pay.create_jsapi_order(**args)


def _all_text(exc: BaseException) -> str:
    return "\n".join(
        [str(exc), repr(exc), *traceback.format_exception(type(exc), exc, exc.__traceback__)]
    )


JSAPI = "/v3/pay/transactions/jsapi"
QUERY = f"/v3/pay/transactions/out-trade-no/{OUT_TRADE_NO}"
CLOSE = f"/v3/pay/transactions/out-trade-no/{OUT_TRADE_NO}/close"
REFUNDS = "/v3/refund/domestic/refunds"


# --- construction ------------------------------------------------------------------------------


def test_construction_makes_no_network_call(monkeypatch, merchant_key, platform_key):
    import requests

    def boom(*args, **kwargs):
        raise AssertionError("network call at construction")

    for name in ("get", "post", "request"):
        monkeypatch.setattr(requests, name, boom)
    pay = RealWeChatPay(
        APPID,
        MCHID,
        private_key_pkcs8_pem(merchant_key),
        MERCHANT_SERIAL,
        APIV3_KEY,
        public_key_pem(platform_key.public_key()),
        PUB_KEY_ID,
        NOTIFY_URL,
        5.0,
    )
    assert "PRIVATE" not in repr(pay) and APIV3_KEY not in repr(pay)


def test_pkcs1_crlf_and_escaped_newline_pems_are_accepted(
    httpserver, fake, merchant_key, platform_key
):
    pkcs1 = merchant_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    fake.route(JSAPI, "POST", 200, {"prepay_id": "wx01"})
    for pem in (pkcs1.replace("\n", "\r\n"), pkcs1.strip().replace("\n", "\\n")):
        pay = _adapter(httpserver, merchant_key, platform_key, merchant_pem=pem)
        assert _create(pay).prepay_id == "wx01"
    assert fake.auth_failures == []


@pytest.mark.parametrize("apiv3_key", ["too-short", "x" * 33])
def test_apiv3_key_must_be_32_bytes(merchant_key, platform_key, apiv3_key):
    with pytest.raises(ValueError) as info:
        RealWeChatPay(
            APPID,
            MCHID,
            private_key_pkcs8_pem(merchant_key),
            MERCHANT_SERIAL,
            apiv3_key,
            public_key_pem(platform_key.public_key()),
            PUB_KEY_ID,
            NOTIFY_URL,
            5.0,
        )
    assert apiv3_key not in _all_text(info.value)


# --- create ------------------------------------------------------------------------------------


def test_create_order_sends_a_signed_jsapi_request_and_returns_signed_js_params(
    fake, pay, merchant_key
):
    fake.route(JSAPI, "POST", 200, {"prepay_id": "wx201410272009395522657a690389285100"})

    result = _create(pay)

    assert fake.auth_failures == []
    sent = fake.requests[0]["json"]
    assert sent == {
        "appid": APPID,
        "mchid": MCHID,
        "description": "赣州惠民保2026-个人投保",
        "out_trade_no": OUT_TRADE_NO,
        "notify_url": NOTIFY_URL,
        "amount": {"total": 9900, "currency": "CNY"},
        "payer": {"openid": OPENID},
        "time_expire": "2026-01-01T10:30:00+08:00",
    }
    assert result.prepay_id == "wx201410272009395522657a690389285100"
    js = result.js_params
    assert set(js) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert js["appId"] == APPID
    assert js["package"] == "prepay_id=wx201410272009395522657a690389285100"
    assert js["signType"] == "RSA"
    assert abs(int(js["timeStamp"]) - time.time()) < 60
    assert 1 <= len(js["nonceStr"]) <= 32
    assert verify_js_params(merchant_key.public_key(), js)
    assert not verify_js_params(merchant_key.public_key(), {**js, "package": "prepay_id=wx02"})


def test_create_uses_the_default_notify_url_when_none_given(fake, pay):
    fake.route(JSAPI, "POST", 200, {"prepay_id": "wx01"})

    _create(pay, notify_url="")

    assert fake.requests[0]["json"]["notify_url"] == NOTIFY_URL


@pytest.mark.parametrize(
    "overrides",
    [
        {"amount_fen": 0},
        {"amount_fen": -1},
        {"amount_fen": 99.0},
        {"out_trade_no": "HM1"},
        {"out_trade_no": "HM|20260101"},
        {"description": ""},
        {"payer_openid": ""},
        {"time_expire": datetime(2026, 1, 1, 10, 30)},
    ],
)
def test_bad_arguments_fail_before_any_request(fake, pay, overrides):
    with pytest.raises(WeChatPayError) as info:
        _create(pay, **overrides)

    assert info.value.code == "PARAM_ERROR" and info.value.retryable is False
    assert fake.requests == []


# --- query, close ------------------------------------------------------------------------------


def test_query_paid_order(fake, pay):
    fake.route(
        QUERY,
        "GET",
        200,
        {
            "appid": APPID,
            "mchid": MCHID,
            "out_trade_no": OUT_TRADE_NO,
            "transaction_id": "4200001234202601010123456789",
            "trade_type": "JSAPI",
            "trade_state": "SUCCESS",
            "trade_state_desc": "支付成功",
            "bank_type": "CMC",
            "attach": "",
            "success_time": "2026-01-01T10:05:00+08:00",
            "payer": {"openid": OPENID},
            "amount": {
                "total": 9900,
                "payer_total": 9900,
                "currency": "CNY",
                "payer_currency": "CNY",
            },
        },
    )

    status = pay.query_order(OUT_TRADE_NO)

    assert fake.auth_failures == []
    assert fake.requests[0]["query"] == {"mchid": MCHID}
    assert status == TradeStatus(
        out_trade_no=OUT_TRADE_NO,
        trade_state=TRADE_SUCCESS,
        amount_fen=9900,
        transaction_id="4200001234202601010123456789",
        success_time="2026-01-01T10:05:00+08:00",
    )


def test_query_unpaid_order(fake, pay):
    fake.route(
        QUERY,
        "GET",
        200,
        {
            "appid": APPID,
            "mchid": MCHID,
            "out_trade_no": OUT_TRADE_NO,
            "trade_state": "NOTPAY",
            "trade_state_desc": "订单未支付",
            "amount": {"payer_currency": "CNY", "total": 9900},
        },
    )

    assert pay.query_order(OUT_TRADE_NO) == TradeStatus(OUT_TRADE_NO, TRADE_NOTPAY, 9900)


def test_query_answer_for_another_order_is_invalid(fake, pay):
    fake.route(QUERY, "GET", 200, {"out_trade_no": "HM_OTHER_ORDER", "trade_state": "SUCCESS"})

    with pytest.raises(WeChatPayError) as info:
        pay.query_order(OUT_TRADE_NO)

    assert info.value.code == "INVALID_RESPONSE"


def test_close_order(fake, pay):
    fake.route(CLOSE, "POST", 204, None)

    assert pay.close_order(OUT_TRADE_NO) is None

    assert fake.auth_failures == []
    assert fake.requests[0]["json"] == {"mchid": MCHID}


# --- refunds -----------------------------------------------------------------------------------


def _refund_body(status: str) -> dict:
    return {
        "refund_id": "50000000382019052709732678859",
        "out_refund_no": "RF20260105000001",
        "transaction_id": "4200001234202601010123456789",
        "out_trade_no": OUT_TRADE_NO,
        "channel": "ORIGINAL",
        "user_received_account": "招商银行信用卡0403",
        "create_time": "2026-01-05T09:00:00+08:00",
        "status": status,
        "funds_account": "AVAILABLE",
        "amount": {
            "total": 9900,
            "refund": 9900,
            "payer_total": 9900,
            "payer_refund": 9900,
            "settlement_refund": 9900,
            "settlement_total": 9900,
            "discount_refund": 0,
            "currency": "CNY",
        },
    }


def test_refund_processing(fake, pay):
    fake.route(REFUNDS, "POST", 200, _refund_body("PROCESSING"))

    result = pay.refund(
        out_trade_no=OUT_TRADE_NO,
        out_refund_no="RF20260105000001",
        refund_fen=9900,
        total_fen=9900,
        reason="犹豫期内退保",
    )

    assert fake.auth_failures == []
    assert fake.requests[0]["json"] == {
        "out_refund_no": "RF20260105000001",
        "out_trade_no": OUT_TRADE_NO,
        "amount": {"refund": 9900, "total": 9900, "currency": "CNY"},
        "reason": "犹豫期内退保",
    }
    assert result == RefundResult(
        out_refund_no="RF20260105000001",
        status=REFUND_PROCESSING,
        refund_id="50000000382019052709732678859",
        amount_fen=9900,
    )


def test_query_refund_success(fake, pay):
    fake.route(f"{REFUNDS}/RF20260105000001", "GET", 200, _refund_body("SUCCESS"))

    result = pay.query_refund("RF20260105000001")

    assert fake.auth_failures == []
    assert result.status == REFUND_SUCCESS and result.amount_fen == 9900


def test_refund_over_the_total_fails_before_any_request(fake, pay):
    with pytest.raises(WeChatPayError) as info:
        pay.refund(
            out_trade_no=OUT_TRADE_NO,
            out_refund_no="RF1",
            refund_fen=9901,
            total_fen=9900,
            reason="",
        )
    assert info.value.code == "PARAM_ERROR" and fake.requests == []


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, code, retryable",
    [
        (500, "SYSTEM_ERROR", True),
        (502, None, True),
        (503, "BANK_ERROR", True),
        (429, "FREQUENCY_LIMITED", True),
        (400, "ORDERPAID", False),
        (400, "ORDER_CLOSED", False),
        (400, "PARAM_ERROR", False),
        (400, "INVALID_REQUEST", False),
        (403, "NOT_ENOUGH", False),
        (404, "ORDER_NOT_EXIST", False),
    ],
)
def test_http_errors_keep_wechats_code(fake, pay, status, code, retryable):
    payload = {"code": code, "message": "错误说明"} if code else None
    fake.route(JSAPI, "POST", status, payload, headers=False)

    with pytest.raises(WeChatPayError) as info:
        _create(pay)

    assert info.value.code == (code or f"HTTP_{status}")
    assert info.value.retryable is retryable


def test_error_body_that_is_not_json(httpserver, pay):
    httpserver.expect_request(JSAPI).respond_with_data(
        "<html>bad gateway</html>", status=502, content_type="text/html"
    )
    with pytest.raises(WeChatPayError) as info:
        _create(pay)
    assert info.value.code == "HTTP_502" and info.value.retryable


def test_timeout_is_retryable(httpserver, merchant_key, platform_key):
    release = threading.Event()

    def slow(request: Request) -> Response:
        release.wait(2.0)
        return Response("{}", content_type="application/json")

    httpserver.expect_request(JSAPI).respond_with_handler(slow)
    pay = _adapter(httpserver, merchant_key, platform_key, timeout=0.2)
    try:
        with pytest.raises(WeChatPayError) as info:
            _create(pay)
    finally:
        release.set()

    assert info.value.code == "TIMEOUT" and info.value.retryable is True
    assert APIV3_KEY not in _all_text(info.value)


def test_connection_refused_is_retryable(merchant_key, platform_key, httpserver):
    pay = _adapter(
        httpserver, merchant_key, platform_key, gateway="http://127.0.0.1:1", timeout=0.5
    )
    with pytest.raises(WeChatPayError) as info:
        pay.query_order(OUT_TRADE_NO)
    assert info.value.code == "NETWORK_ERROR" and info.value.retryable is True


def test_response_signed_by_another_key_is_rejected(fake, pay, stranger_key):
    fake.route(JSAPI, "POST", 200, {"prepay_id": "wx_forged"}, key=stranger_key)

    with pytest.raises(WeChatPayError) as info:
        _create(pay)

    assert info.value.code == "INVALID_RESPONSE_SIGNATURE" and info.value.retryable is True


def test_unsigned_success_response_is_rejected(fake, pay):
    fake.route(
        QUERY, "GET", 200, {"out_trade_no": OUT_TRADE_NO, "trade_state": "SUCCESS"}, headers=False
    )

    with pytest.raises(WeChatPayError) as info:
        pay.query_order(OUT_TRADE_NO)

    assert info.value.code == "INVALID_RESPONSE_SIGNATURE"


def test_success_without_prepay_id_is_invalid(fake, pay):
    fake.route(JSAPI, "POST", 200, {"code": "OK"})

    with pytest.raises(WeChatPayError) as info:
        _create(pay)

    assert info.value.code == "INVALID_RESPONSE" and info.value.retryable is True


def test_wrong_merchant_key_is_refused_by_the_fake(httpserver, fake, platform_key, stranger_key):
    """The fake really checks the request signature: a wrong merchant key gets SIGN_ERROR."""
    fake.route(JSAPI, "POST", 200, {"prepay_id": "wx01"})
    pay = _adapter(httpserver, stranger_key, platform_key)

    with pytest.raises(WeChatPayError) as info:
        _create(pay)

    assert fake.auth_failures == ["signature"]
    assert info.value.code == "SIGN_ERROR" and info.value.retryable is False
    text = _all_text(info.value)
    assert APIV3_KEY not in text and "PRIVATE KEY" not in text


# --- notifications -----------------------------------------------------------------------------


def test_parse_notification_uses_the_platform_key_and_apiv3_key(pay, platform_key, stranger_key):
    txn = {
        "appid": APPID,
        "mchid": MCHID,
        "out_trade_no": OUT_TRADE_NO,
        "transaction_id": "4200001234202601010123456789",
        "trade_state": "SUCCESS",
        "success_time": "2026-01-01T10:05:00+08:00",
        "payer": {"openid": OPENID},
        "amount": {"total": 9900, "payer_total": 9900, "currency": "CNY"},
    }
    headers, body = build_notification(platform_key, PUB_KEY_ID, APIV3_KEY.encode(), txn)

    parsed = pay.parse_notification(headers, body)
    assert parsed.out_trade_no == OUT_TRADE_NO and parsed.amount_total_fen == 9900

    from app.integrations.wechatpay.port import NotificationRejected

    probe_headers, probe_body = build_notification(stranger_key, PUB_KEY_ID, APIV3_KEY, txn)
    with pytest.raises(NotificationRejected) as info:
        pay.parse_notification(probe_headers, probe_body)
    assert info.value.reason == "bad_signature"


# --- registry ----------------------------------------------------------------------------------


def test_registry_builds_the_real_adapter_from_key_files(
    app_factory, tmp_path, merchant_key, platform_key
):
    from app.integrations.registry import wechat_pay

    key_file = tmp_path / "apiclient_key.pem"
    key_file.write_text(private_key_pkcs8_pem(merchant_key))
    app = app_factory(
        WECHATPAY_ADAPTER="real",
        WECHAT_APPID=APPID,
        WECHATPAY_MCHID=MCHID,
        WECHATPAY_MERCHANT_KEY=str(key_file),
        WECHATPAY_MERCHANT_SERIAL=MERCHANT_SERIAL,
        WECHATPAY_APIV3_KEY=APIV3_KEY,
        WECHATPAY_PUBLIC_KEY=public_key_pem(platform_key.public_key()),
        WECHATPAY_PUBLIC_KEY_ID=PUB_KEY_ID,
    )
    with app.app_context():
        adapter = wechat_pay()
        assert isinstance(adapter, RealWeChatPay)
        assert wechat_pay() is adapter


def test_registry_refuses_a_key_path_that_does_not_exist(app_factory, tmp_path):
    from app.integrations.registry import wechat_pay

    app = app_factory(
        WECHATPAY_ADAPTER="real",
        WECHATPAY_MERCHANT_KEY=str(tmp_path / "none"),
        WECHATPAY_MERCHANT_SERIAL=MERCHANT_SERIAL,
        WECHATPAY_APIV3_KEY=APIV3_KEY,
        WECHATPAY_PUBLIC_KEY=str(tmp_path / "none"),
        WECHATPAY_PUBLIC_KEY_ID=PUB_KEY_ID,
    )
    with app.app_context(), pytest.raises(ValueError):
        wechat_pay()


def test_expire_in_another_zone_is_sent_in_shanghai_time(fake, pay):
    fake.route(JSAPI, "POST", 200, {"prepay_id": "wx01"})

    _create(pay, time_expire=datetime(2026, 1, 1, 3, 30, tzinfo=timezone(timedelta(hours=1))))

    assert fake.requests[0]["json"]["time_expire"] == "2026-01-01T10:30:00+08:00"
