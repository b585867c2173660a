"""The world the fault suite (bench/faults.py) runs in: the outside systems as stateful fakes on
loopback, a private Redis it may stop, and the members who enrol.

- The bureau is the smoke run's fake (tests/smoke/fakes.py: 1101 and the 96xx personal-account
  debit, signatures included) with synthetic employees added, each with a personal account, and
  a switch that delays the debit's answer (the debit happens; its answer comes late).
- WeChat Pay is a stateful fake built on the adapter tests' signing fake: JSAPI orders, query and
  close, with a switch that delays the JSAPI answer, and `pay()` playing the member paying in
  WeChat (the signed, encrypted notification the service verifies).
- Redis is a `redis-server` of the suite's own on a free port, so stopping it leaves the shared
  one alone.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from werkzeug import Request, Response

from app.integrations.bureau.http_account import INFNO_ACCOUNT_DEBIT
from tests.integrations import test_bureau_account_http as account
from tests.integrations import test_bureau_http as bureau
from tests.integrations import test_wechatpay_real as wechatpay
from tests.smoke import fakes as smoke_fakes

GIVEN_NAMES = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚"


@dataclass(frozen=True)
class Person:
    name: str
    certno: str
    psn_no: str
    login_code: str


def people(count: int) -> list[Person]:
    """Employees of 赣州 with personal accounts, valid ID numbers (check digit included)."""
    made = []
    for i in range(count):
        birth = f"{1970 + i % 30}{1 + i % 12:02d}{10 + i % 18:02d}"
        certno = bureau.make_id(f"360702{birth}{i % 1000:03d}")
        made.append(
            Person(
                name="刘" + GIVEN_NAMES[i % len(GIVEN_NAMES)],
                certno=certno,
                psn_no=f"360700000000{i + 100:08d}",
                login_code=f"fault-suite-member-{i}-{secrets.token_hex(4)}",
            )
        )
    return made


def add_people(fake: bureau.FakeBureau, book: account.AccountBook, persons: list[Person]) -> None:
    template = bureau.RESIDENTS[bureau.EMPLOYEE_ID]
    for person in persons:
        entry = json.loads(json.dumps(template))
        entry["baseinfo"].update(
            {"psn_no": person.psn_no, "certno": person.certno, "psn_name": person.name}
        )
        fake.residents[person.certno] = entry
        book.balances[person.psn_no] = 10_000_000  # 100,000.00 yuan


class SlowDebit:
    """Wraps the fake's 96xx debit: when `delay` > 0 the debit is made, then answered late."""

    def __init__(self, fake: bureau.FakeBureau) -> None:
        self.real = fake.handlers[INFNO_ACCOUNT_DEBIT]
        self.delay = 0.0
        fake.handlers[INFNO_ACCOUNT_DEBIT] = self

    def __call__(self, *args, **kwargs):
        answer = self.real(*args, **kwargs)
        if self.delay:
            time.sleep(self.delay)
        return answer


@dataclass
class WeChatPayWorld:
    """JSAPI create / query / close over the real wire format, with state per out_trade_no."""

    fake: wechatpay.FakeWeChatPay
    trades: dict[str, dict] = field(default_factory=dict)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self) -> None:
        import re

        server = self.fake.server
        server.expect_request(wechatpay.JSAPI, method="POST").respond_with_handler(self.create)  # type: ignore[attr-defined]
        trade = re.compile(r"^/v3/pay/transactions/out-trade-no/([^/]+)$")
        close = re.compile(r"^/v3/pay/transactions/out-trade-no/([^/]+)/close$")
        server.expect_request(trade, method="GET").respond_with_handler(self.query)  # type: ignore[attr-defined]
        server.expect_request(close, method="POST").respond_with_handler(self.close)  # type: ignore[attr-defined]

    def _refused(self, request: Request) -> Response | None:
        failure = self.fake.authenticate(request)
        if failure:
            self.fake.auth_failures.append(failure)
            return self.fake.signed(401, {"code": "SIGN_ERROR", "message": "签名错误"})
        return None

    def create(self, request: Request) -> Response:
        if refused := self._refused(request):
            return refused
        body = json.loads(request.get_data())
        with self.lock:
            known = self.trades.setdefault(
                body["out_trade_no"], {"created": body, "state": "NOTPAY", "txn": None}
            )
        if self.delay:
            time.sleep(self.delay)
        return self.fake.signed(200, {"prepay_id": "wx" + known["created"]["out_trade_no"]})

    def _trade_no(self, request: Request) -> str:
        return request.path.split("/out-trade-no/", 1)[1].split("/", 1)[0]

    def query(self, request: Request) -> Response:
        if refused := self._refused(request):
            return refused
        trade = self.trades.get(self._trade_no(request))
        if trade is None:
            return self.fake.signed(404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"})
        created = trade["created"]
        answer = {
            "appid": created["appid"],
            "mchid": created["mchid"],
            "out_trade_no": created["out_trade_no"],
            "trade_state": trade["state"],
            "trade_state_desc": trade["state"],
            "amount": {"total": created["amount"]["total"], "currency": "CNY"},
        }
        if trade["txn"]:
            answer["transaction_id"] = trade["txn"]
        return self.fake.signed(200, answer)

    def close(self, request: Request) -> Response:
        if refused := self._refused(request):
            return refused
        trade = self.trades.get(self._trade_no(request))
        if trade is not None and trade["state"] == "NOTPAY":
            trade["state"] = "CLOSED"
        return self.fake.signed(204, None)

    def pay(self, fakes: smoke_fakes.Fakes, out_trade_no: str) -> tuple[dict, bytes]:
        """The member pays in WeChat: the trade succeeds and WeChat's notification is built."""
        trade = self.trades[out_trade_no]
        headers, body = fakes.notification(trade["created"])
        trade["state"] = "SUCCESS"
        return headers, body


@dataclass
class World:
    fakes: smoke_fakes.Fakes
    people: list[Person]
    slow_debit: SlowDebit
    wechat_pay: WeChatPayWorld

    def debits(self) -> dict[str, int]:
        """The bureau's succeeded debits: payment reference (req_id) -> fen."""
        found = {}
        for req_id, txn in self.fakes.account_book.txns.items():
            info = txn["info"]
            if info.get("txn_stas") == "1" and txn["request"].get("kind") == "debit":
                found[req_id] = account.to_fen(info["amt"])
        return found


def start_world(count: int) -> World:
    fakes = smoke_fakes.start_fakes()
    persons = people(count)
    add_people(fakes.bureau, fakes.account_book, persons)
    slow = SlowDebit(fakes.bureau)
    pay_world = WeChatPayWorld(fakes.wechat_pay)
    pay_world.install()
    return World(fakes, persons, slow, pay_world)


@dataclass
class PrivateRedis:
    """A redis-server of the suite's own, on loopback, that the suite stops and starts."""

    port: int
    workdir: Path
    process: subprocess.Popen | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.process = subprocess.Popen(
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        for _ in range(50):
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError(f"private redis-server on port {self.port} did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None
