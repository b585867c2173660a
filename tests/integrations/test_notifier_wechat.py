"""The real notifier (`WeChatSubscribeNotifier`) against a local fake WeChat over real HTTP:
stable_token issuing and caching, subscribeMessage.send outcomes, the one token refresh,
timeouts, and secrets kept out of logs."""

from __future__ import annotations

import json
import logging
import threading
import time

import pytest
from werkzeug import Request, Response

from app.integrations.notifier.port import NotifyResult
from app.integrations.notifier.wechat import TOKEN_MARGIN_SECONDS, WeChatSubscribeNotifier

APPID = "wx1234567890abcdef"
SECRET = "wechat-app-secret-0123456789abcdef"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
DATA = {"thing1": "住院理赔", "amount2": "17500.00元", "date3": "2026-11-20"}


class FakeWeChat:
    """stable_token and subscribe/send, as WeChat answers them."""

    def __init__(self) -> None:
        self.issued: list[str] = []
        self.valid: set[str] = set()
        self.token_requests: list[dict] = []
        self.sends: list[dict] = []  # {"token": ..., "body": ...}
        self.send_errcodes: list[int] = []  # scripted answers, then 0
        self.token_reply: dict | None = None

    def json(self, obj: dict, status: int = 200) -> Response:
        return Response(
            json.dumps(obj, ensure_ascii=False), status=status, content_type="application/json"
        )

    def stable_token(self, request: Request) -> Response:
        body = json.loads(request.get_data())
        self.token_requests.append(body)
        if self.token_reply is not None:
            return self.json(self.token_reply)
        if (body.get("grant_type"), body.get("appid"), body.get("secret")) != (
            "client_credential",
            APPID,
            SECRET,
        ):
            return self.json({"errcode": 40125, "errmsg": "invalid appsecret"})
        token = f"ACCESS-TOKEN-{len(self.issued) + 1:04d}-{'x' * 40}"
        if body.get("force_refresh"):
            self.valid.clear()  # a forced refresh invalidates the old token
        self.issued.append(token)
        self.valid.add(token)
        return self.json({"access_token": token, "expires_in": 7200})

    def send(self, request: Request) -> Response:
        token = request.args.get("access_token", "")
        body = json.loads(request.get_data())
        self.sends.append({"token": token, "body": body})
        if token not in self.valid:
            return self.json({"errcode": 40001, "errmsg": "invalid credential"})
        errcode = self.send_errcodes.pop(0) if self.send_errcodes else 0
        if errcode:
            return self.json({"errcode": errcode, "errmsg": "scripted, rid: 6571-abc"})
        return self.json({"errcode": 0, "errmsg": "ok", "msgid": 3284179432})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake(httpserver) -> FakeWeChat:
    fw = FakeWeChat()
    httpserver.expect_request("/cgi-bin/stable_token", method="POST").respond_with_handler(
        fw.stable_token
    )
    httpserver.expect_request(
        "/cgi-bin/message/subscribe/send", method="POST"
    ).respond_with_handler(fw.send)
    return fw


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_notifier(httpserver, clock):
    made = []

    def _make(**overrides) -> WeChatSubscribeNotifier:
        kwargs = dict(
            appid=APPID,
            secret=SECRET,
            base_url=httpserver.url_for("/").rstrip("/"),
            timeout=2.0,
            miniprogram_state="trial",
            monotonic=clock,
        )
        kwargs.update(overrides)
        made.append(WeChatSubscribeNotifier(**kwargs))
        return made[-1]

    yield _make
    for n in made:
        n.close()


@pytest.fixture
def notifier(make_notifier) -> WeChatSubscribeNotifier:
    return make_notifier()


def test_sent_with_the_wechat_body_and_one_cached_token(notifier, fake):
    assert notifier.send(OPENID, "TPL_PAID", DATA, "pages/claims/detail?id=7") == NotifyResult(
        "sent"
    )
    assert notifier.send(OPENID, "TPL_PAID", DATA, None) == NotifyResult("sent")

    assert len(fake.token_requests) == 1 and fake.token_requests[0]["force_refresh"] is False
    first, second = fake.sends
    assert first["token"] == second["token"] == fake.issued[0]
    assert first["body"] == {
        "touser": OPENID,
        "template_id": "TPL_PAID",
        "page": "pages/claims/detail?id=7",
        "data": {
            "thing1": {"value": "住院理赔"},
            "amount2": {"value": "17500.00元"},
            "date3": {"value": "2026-11-20"},
        },
        "miniprogram_state": "trial",
        "lang": "zh_CN",
    }
    assert "page" not in second["body"]


def test_token_is_fetched_again_before_it_expires(notifier, fake, clock):
    notifier.send(OPENID, "TPL", DATA, None)
    clock.now += 7200 - TOKEN_MARGIN_SECONDS - 1
    notifier.send(OPENID, "TPL", DATA, None)
    assert len(fake.token_requests) == 1
    clock.now += 1  # now within the safety margin of WeChat's expiry
    notifier.send(OPENID, "TPL", DATA, None)
    assert len(fake.token_requests) == 2
    assert fake.sends[-1]["token"] == fake.issued[1]


@pytest.mark.parametrize(
    ("errcode", "expected"),
    [
        (43101, NotifyResult("failed", "43101")),  # refused / no subscription left
        (40003, NotifyResult("failed", "40003")),  # bad openid
        (40037, NotifyResult("failed", "40037")),  # bad template
        (47003, NotifyResult("failed", "47003")),  # data does not fit the template
        (-1, NotifyResult("retry", "-1")),  # busy
        (45009, NotifyResult("retry", "45009")),  # daily quota
        (45011, NotifyResult("retry", "45011")),  # per-minute limit
        (61234, NotifyResult("retry", "61234")),  # unknown: not treated as permanent
    ],
)
def test_errcodes_map_to_outcomes_without_resending(notifier, fake, errcode, expected):
    fake.send_errcodes = [errcode]
    assert notifier.send(OPENID, "TPL", DATA, None) == expected
    assert len(fake.sends) == 1


def test_an_invalid_token_is_refreshed_once_and_the_message_sent(notifier, fake):
    notifier.send(OPENID, "TPL", DATA, None)
    fake.valid.clear()  # WeChat revoked the token early (e.g. another server forced a refresh)

    assert notifier.send(OPENID, "TPL", DATA, None) == NotifyResult("sent")
    assert [r["force_refresh"] for r in fake.token_requests] == [False, True]
    assert [s["token"] for s in fake.sends[1:]] == [fake.issued[0], fake.issued[1]]


@pytest.mark.parametrize("errcode", [40001, 40014, 42001])
def test_a_token_rejected_twice_is_retry_after_exactly_one_refresh(notifier, fake, errcode):
    fake.send_errcodes = [errcode, errcode]

    assert notifier.send(OPENID, "TPL", DATA, None) == NotifyResult("retry", str(errcode))
    assert len(fake.sends) == 2 and len(fake.token_requests) == 2


def test_timeout_is_retry_and_bounded(make_notifier, fake, httpserver):
    release = threading.Event()  # the reply comes only when released (or after 30 s)

    def slow(request):
        release.wait(30)
        return fake.send(request)

    httpserver.expect_oneshot_request(
        "/cgi-bin/message/subscribe/send", method="POST"
    ).respond_with_handler(slow)
    quick = make_notifier(timeout=0.2)

    started = time.monotonic()
    try:
        assert quick.send(OPENID, "TPL", DATA, None) == NotifyResult("retry", "timeout")
        assert time.monotonic() - started < 15
    finally:
        release.set()


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (502, "bad gateway", "http_502"),
        (200, "<html>not json</html>", "bad_reply"),
        (200, "[1, 2]", "bad_reply"),
        (200, '{"errcode": "0"}', "bad_reply"),
    ],
)
def test_unusable_send_replies_are_retry(make_notifier, fake, httpserver, status, body, code):
    httpserver.expect_oneshot_request(
        "/cgi-bin/message/subscribe/send", method="POST"
    ).respond_with_data(body, status=status, content_type="application/json")

    assert make_notifier().send(OPENID, "TPL", DATA, None) == NotifyResult("retry", code)
    assert fake.sends == []  # the one-shot answer above was the only send


def test_token_refused_is_retry_and_nothing_is_sent(make_notifier, fake):
    wrong = make_notifier(secret="not-the-app-secret")
    assert wrong.send(OPENID, "TPL", DATA, None) == NotifyResult("retry", "token_40125")
    assert fake.sends == []


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        ({"access_token": "", "expires_in": 7200}, "token_bad_reply"),
        ({"access_token": "T", "expires_in": "7200"}, "token_bad_reply"),
        ({"errcode": -1, "errmsg": "system error"}, "token_-1"),
    ],
)
def test_unusable_token_replies_are_retry(notifier, fake, reply, code):
    fake.token_reply = reply
    assert notifier.send(OPENID, "TPL", DATA, None) == NotifyResult("retry", code)
    assert fake.sends == []


def test_wechat_unreachable_is_retry(make_notifier):
    assert make_notifier(base_url="http://127.0.0.1:9").send(
        OPENID, "TPL", DATA, None
    ) == NotifyResult("retry", "token_transport_error")


def test_bad_input_is_a_value_error_before_any_call(notifier, fake):
    with pytest.raises(ValueError):
        notifier.send("", "TPL", DATA, None)
    with pytest.raises(ValueError):
        notifier.send(OPENID, "TPL", {"amount2": 17500}, None)
    assert fake.token_requests == [] and fake.sends == []


def test_constructor_refuses_missing_secret_and_unknown_state():
    with pytest.raises(ValueError):
        WeChatSubscribeNotifier(appid=APPID, secret="")
    with pytest.raises(ValueError):
        WeChatSubscribeNotifier(appid=APPID, secret=SECRET, miniprogram_state="beta")


def test_secret_token_and_openid_never_reach_the_logs(notifier, fake, caplog):
    caplog.set_level(logging.DEBUG)
    notifier.send(OPENID, "TPL", DATA, None)
    fake.valid.clear()
    notifier.send(OPENID, "TPL", DATA, None)  # refresh path
    fake.send_errcodes = [43101]
    notifier.send(OPENID, "TPL", DATA, None)

    # Everything logged on our side (werkzeug's lines are the fake WeChat server's own log).
    text = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug"))
    assert "subscribe/send?access_token=***" in text  # httpx's request line, masked
    assert "outcome=failed code=43101" in text
    for secret in (SECRET, *fake.issued, OPENID, "17500.00"):
        assert secret not in text
    assert SECRET not in repr(notifier)
