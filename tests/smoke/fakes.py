"""The outside systems for the smoke run, as real HTTP servers on loopback.

The bureau and WeChat Pay fakes are the ones the adapter tests use (tests/integrations): imported,
not copied, so the smoke run and the adapter tests hold the service to one wire format, signatures
included. Each runs here in a stand-alone pytest-httpserver `HTTPServer` instead of the pytest
fixture. WeChat login has no reusable fake there (its tests script single replies), so a small
jscode2session lives here.

Bureau interfaces served: 1101 (person lookup) and the 96xx personal-account debit, from the
synthetic residents of tests/integrations/test_bureau_http.py. Settlement records (2207 / 5203)
plug in as one more entry in `FakeBureau.handlers` when the claims step needs them.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric import rsa
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from app.common.clock import SHANGHAI
from app.integrations.wechatpay.notifications import build_notification
from app.integrations.wechatpay.signing import private_key_pkcs8_pem, public_key_pem
from tests.integrations import test_bureau_account_http as bureau_account
from tests.integrations import test_bureau_http as bureau
from tests.integrations import test_wechatpay_real as wechatpay

WECHAT_APPID = wechatpay.APPID  # one mini-program for login and pay, as in production
WECHAT_SECRET = "smoke-wechat-app-secret-0123456789"
JSCODE2SESSION = "/sns/jscode2session"


def _server() -> HTTPServer:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    return server


def base_url(server: HTTPServer) -> str:
    return server.url_for("/").rstrip("/")


@dataclass
class FakeWeChatLogin:
    """jscode2session as WeChat answers it: HTTP 200, JSON labelled text/plain, `errcode` only on
    failure. A code maps to a stable openid; "invalid-..." codes get 40029."""

    server: HTTPServer
    calls: list[dict] = field(default_factory=list)

    def handle(self, request: Request) -> Response:
        args = request.args.to_dict()
        self.calls.append(args)
        code = args.get("js_code", "")
        if (args.get("appid"), args.get("secret"), args.get("grant_type")) != (
            WECHAT_APPID,
            WECHAT_SECRET,
            "authorization_code",
        ):
            payload = {"errcode": 40013, "errmsg": "invalid appid"}
        elif not code or code.startswith("invalid-"):
            payload = {"errcode": 40029, "errmsg": "invalid code"}
        else:
            digest = hashlib.sha256(code.encode()).hexdigest()
            payload = {"openid": "o" + digest[:27], "session_key": secrets.token_urlsafe(16)}
        return Response(json.dumps(payload), content_type="text/plain")


@dataclass
class WeChatPayKeys:
    """Key material generated for this run: the merchant's (the service signs requests with it)
    and the platform's (the fake signs answers and notifications with it)."""

    merchant: rsa.RSAPrivateKey
    platform: rsa.RSAPrivateKey

    @classmethod
    def generate(cls) -> WeChatPayKeys:
        make = lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)  # noqa: E731
        return cls(make(), make())

    def merchant_private_pem(self) -> str:
        return private_key_pkcs8_pem(self.merchant)

    def platform_public_pem(self) -> str:
        return public_key_pem(self.platform.public_key())


@dataclass
class Fakes:
    wechat_login: FakeWeChatLogin
    bureau: bureau.FakeBureau
    account_book: bureau_account.AccountBook
    wechat_pay: wechatpay.FakeWeChatPay
    keys: WeChatPayKeys
    servers: list[HTTPServer]

    def service_environment(self) -> dict[str, str]:
        """What the service needs to talk to these fakes with the real adapters."""
        return {
            "WECHAT_ADAPTER": "real",
            "WECHAT_APPID": WECHAT_APPID,
            "WECHAT_SECRET": WECHAT_SECRET,
            "WECHAT_API_BASE": base_url(self.wechat_login.server),
            "BUREAU_ADAPTER": "real",
            "BUREAU_BASE_URL": base_url(self.bureau_server),
            "BUREAU_APP_ID": bureau.APP_ID,
            "BUREAU_SECRET": bureau.SECRET,
            "BUREAU_REGION": bureau.REGION,
            "WECHATPAY_ADAPTER": "real",
            "WECHATPAY_API_BASE": base_url(self.servers[2]),
            "WECHATPAY_MCHID": wechatpay.MCHID,
            "WECHATPAY_MERCHANT_SERIAL": wechatpay.MERCHANT_SERIAL,
            "WECHATPAY_APIV3_KEY": wechatpay.APIV3_KEY,
            "WECHATPAY_PUBLIC_KEY_ID": wechatpay.PUB_KEY_ID,
            # PEM text is accepted as well as a path (app/integrations/wechatpay/signing.py).
            "WECHATPAY_MERCHANT_KEY": self.keys.merchant_private_pem(),
            "WECHATPAY_PUBLIC_KEY": self.keys.platform_public_pem(),
        }

    @property
    def bureau_server(self) -> HTTPServer:
        return self.servers[1]

    def notification(self, created: dict, *, forged: bool = False) -> tuple[dict[str, str], bytes]:
        """What WeChat POSTs to notify_url once the payer has paid the JSAPI order `created` (the
        request body the service sent): signed with the platform key, or with a stranger's key
        when `forged` (WeChat sends such probes on purpose)."""
        transaction = {
            "appid": created["appid"],
            "mchid": created["mchid"],
            "out_trade_no": created["out_trade_no"],
            "transaction_id": "4200" + "".join(secrets.choice("0123456789") for _ in range(24)),
            "trade_type": "JSAPI",
            "trade_state": "SUCCESS",
            "trade_state_desc": "支付成功",
            "bank_type": "OTHERS",
            "attach": "",
            "success_time": datetime.now(SHANGHAI).isoformat(timespec="seconds"),
            "payer": {"openid": created["payer"]["openid"]},
            "amount": {
                "total": created["amount"]["total"],
                "payer_total": created["amount"]["total"],
                "currency": "CNY",
                "payer_currency": "CNY",
            },
        }
        key = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            if forged
            else self.keys.platform
        )
        return build_notification(key, wechatpay.PUB_KEY_ID, wechatpay.APIV3_KEY, transaction)

    def stop(self) -> None:
        for server in self.servers:
            if server.is_running():
                server.stop()


def start_fakes() -> Fakes:
    login_server, bureau_server, pay_server = _server(), _server(), _server()
    try:
        login = FakeWeChatLogin(login_server)
        login_server.expect_request(JSCODE2SESSION, method="GET").respond_with_handler(login.handle)

        fake_bureau = bureau.FakeBureau(json.loads(json.dumps(bureau.RESIDENTS)))
        bureau_server.expect_request(bureau.ENDPOINT, method="POST").respond_with_handler(
            fake_bureau.handle
        )
        book = bureau_account.AccountBook(fake_bureau)

        keys = WeChatPayKeys.generate()
        fake_pay = wechatpay.FakeWeChatPay(pay_server, keys.merchant.public_key(), keys.platform)
    except BaseException:
        for server in (login_server, bureau_server, pay_server):
            server.stop()
        raise
    return Fakes(
        login, fake_bureau, book, fake_pay, keys, [login_server, bureau_server, pay_server]
    )
