"""HttpWeChatLogin against a local fake of api.weixin.qq.com (pytest-httpserver).

The fake answers the way WeChat does: HTTP 200 and a JSON body, usually labelled text/plain, with
`errcode` present only on failure.
"""

from __future__ import annotations

import json
import logging
import threading
import traceback

import pytest
from werkzeug import Request, Response

from app.integrations.wechat.http_login import HttpWeChatLogin
from app.integrations.wechat.port import WeChatLoginError, WeChatSession

APPID = "wx0123456789abcdef"
SECRET = "S3cr3t-app-secret-9f8e7d6c5b4a"
CODE = "0a3Xb1Ga1kQx2K0Yz41Ga9Yr0X3Xb1Gk"
SESSION_KEY = "tiihtNczf5v6AKRyjwEUhQ=="
PATH = "/sns/jscode2session"


@pytest.fixture
def login(httpserver):
    adapter = HttpWeChatLogin(APPID, SECRET, base_url=httpserver.url_for("/").rstrip("/"))
    yield adapter
    adapter.close()


def _reply(httpserver, payload, *, content_type="text/plain", status=200):
    body = payload if isinstance(payload, str) else json.dumps(payload)
    httpserver.expect_request(PATH, method="GET").respond_with_data(
        body, status=status, content_type=content_type
    )


def _all_text(exc: BaseException) -> str:
    """Everything a log line or error report could show about the exception, chain included."""
    return "\n".join(
        [str(exc), repr(exc), *traceback.format_exception(type(exc), exc, exc.__traceback__)]
    )


# --- success ---------------------------------------------------------------------------------


def test_success_with_unionid(httpserver, login):
    _reply(httpserver, {"openid": "oABC123", "session_key": SESSION_KEY, "unionid": "uXYZ789"})

    session = login.code_to_session(CODE)

    assert session == WeChatSession(openid="oABC123", unionid="uXYZ789", session_key=SESSION_KEY)


def test_success_without_unionid_gives_none(httpserver, login):
    _reply(httpserver, {"openid": "oABC123", "session_key": SESSION_KEY})

    session = login.code_to_session(CODE)

    assert session.openid == "oABC123"
    assert session.unionid is None
    assert session.session_key == SESSION_KEY


def test_errcode_zero_with_openid_is_success(httpserver, login):
    _reply(
        httpserver, {"errcode": 0, "errmsg": "ok", "openid": "oZERO", "session_key": SESSION_KEY}
    )

    assert login.code_to_session(CODE).openid == "oZERO"


def test_request_carries_appid_secret_code_and_grant_type(httpserver, login):
    httpserver.expect_request(
        PATH,
        method="GET",
        query_string={
            "appid": APPID,
            "secret": SECRET,
            "js_code": CODE,
            "grant_type": "authorization_code",
        },
    ).respond_with_data(json.dumps({"openid": "oQS", "session_key": SESSION_KEY}))

    assert login.code_to_session(CODE).openid == "oQS"
    ((request, _),) = httpserver.log
    assert dict(request.args) == {
        "appid": APPID,
        "secret": SECRET,
        "js_code": CODE,
        "grant_type": "authorization_code",
    }


def test_text_plain_json_body_is_accepted(httpserver, login):
    # Exactly what WeChat sends: JSON bytes labelled text/plain.
    _reply(
        httpserver,
        '{"session_key":"' + SESSION_KEY + '","openid":"oPLAIN"}',
        content_type="text/plain",
    )

    assert login.code_to_session(CODE).openid == "oPLAIN"


# --- WeChat refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("errcode", "kind"),
    [
        (40029, "invalid_code"),
        (40163, "invalid_code"),
        (45011, "rate_limited"),
        (-1, "busy"),
        (40226, "unavailable"),  # unknown to the adapter: high-risk user block
    ],
)
def test_errcodes_map_to_kinds(httpserver, login, errcode, kind):
    _reply(httpserver, {"errcode": errcode, "errmsg": "refused, rid: 65a1b2c3-0d9e8f7a-1b2c3d4e"})

    with pytest.raises(WeChatLoginError) as info:
        login.code_to_session(CODE)

    assert info.value.kind == kind
    assert info.value.errcode == errcode


# --- broken replies and transport failures ------------------------------------------------------


def test_non_json_reply_is_unavailable(httpserver, login):
    _reply(httpserver, "<html>502 Bad Gateway</html>", content_type="text/html")

    with pytest.raises(WeChatLoginError) as info:
        login.code_to_session(CODE)

    assert info.value.kind == "unavailable"


def test_http_502_is_unavailable_even_with_a_success_shaped_body(httpserver, login):
    _reply(httpserver, {"openid": "oGW", "session_key": SESSION_KEY}, status=502)

    with pytest.raises(WeChatLoginError) as info:
        login.code_to_session(CODE)

    assert info.value.kind == "unavailable"


def test_timeout_is_unavailable(httpserver):
    release = threading.Event()

    def slow(request: Request) -> Response:
        # Sleeps past the client's 0.2 s timeout; released early once the test has its answer so
        # the single-threaded fake server is free for the next test.
        release.wait(2.0)
        return Response(json.dumps({"openid": "oLATE", "session_key": SESSION_KEY}))

    httpserver.expect_request(PATH).respond_with_handler(slow)
    adapter = HttpWeChatLogin(
        APPID, SECRET, base_url=httpserver.url_for("/").rstrip("/"), timeout=0.2
    )
    try:
        with pytest.raises(WeChatLoginError) as info:
            adapter.code_to_session(CODE)
    finally:
        release.set()
        adapter.close()

    assert info.value.kind == "unavailable"
    assert info.value.errcode is None
    text = _all_text(info.value)
    assert SECRET not in text and CODE not in text


def test_connection_refused_is_unavailable():
    # Port 1 on localhost: nothing listens, the connect fails at once.
    with HttpWeChatLogin(APPID, SECRET, base_url="http://127.0.0.1:1", timeout=0.5) as adapter:
        with pytest.raises(WeChatLoginError) as info:
            adapter.code_to_session(CODE)

    assert info.value.kind == "unavailable"
    text = _all_text(info.value)
    assert SECRET not in text and CODE not in text


@pytest.mark.parametrize(
    "payload",
    [
        {"openid": "oNOKEY"},  # missing session_key
        {"session_key": SESSION_KEY},  # missing openid
        {"errcode": 0, "openid": "oX", "session_key": ""},  # empty session_key
    ],
)
def test_success_reply_missing_fields_is_unavailable(httpserver, login, payload):
    _reply(httpserver, payload)

    with pytest.raises(WeChatLoginError) as info:
        login.code_to_session(CODE)

    assert info.value.kind == "unavailable"


# --- garbage codes never reach WeChat ----------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    ["", "x" * 300, "a" * 129, "has space", "tab\tcode", "换行\n", None],
)
def test_garbage_code_is_rejected_without_calling_wechat(httpserver, login, code):
    # A success answer is armed, so a request that did get through would make the call succeed.
    _reply(httpserver, {"openid": "oLEAK", "session_key": SESSION_KEY})

    with pytest.raises(WeChatLoginError) as info:
        login.code_to_session(code)

    assert info.value.kind == "invalid_code"
    assert httpserver.log == []


def test_code_of_128_visible_characters_is_sent(httpserver, login):
    _reply(httpserver, {"openid": "oLONG", "session_key": SESSION_KEY})

    assert login.code_to_session("c" * 128).openid == "oLONG"
    assert len(httpserver.log) == 1


# --- secrets stay out of errors and logs -------------------------------------------------------


def _our_side_logs(caplog) -> str:
    """Log lines from Huimin's side of the wire. The fake server's own werkzeug access log plays
    WeChat's server and naturally sees the query string, so it is left out."""
    return "\n".join(
        f"{r.name} {r.getMessage()}" for r in caplog.records if not r.name.startswith("werkzeug")
    )


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"errcode": 40029, "errmsg": f"invalid code {CODE}, rid: 1a2b"}, 200),
        ({"errcode": 40226, "errmsg": f"blocked, secret {SECRET}"}, 200),
        ({"errcode": "weird", "session_key": SESSION_KEY}, 200),
        ({"session_key": SESSION_KEY}, 200),
        ({"openid": "o1", "session_key": SESSION_KEY}, 503),
        (f"not json {SESSION_KEY} {SECRET} {CODE}", 200),
    ],
)
def test_exception_and_logs_never_contain_secret_code_or_session_key(
    httpserver, login, caplog, payload, status
):
    _reply(httpserver, payload, status=status)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(WeChatLoginError) as info:
        login.code_to_session(CODE)

    logs = _our_side_logs(caplog)
    text = _all_text(info.value) + "\n" + logs
    for secret_value in (SECRET, CODE, SESSION_KEY):
        assert secret_value not in text
    # The httpx request log line is still there, just masked.
    assert "js_code=***" in logs and "secret=***" in logs


def test_successful_login_logs_no_secret(httpserver, login, caplog):
    _reply(httpserver, {"openid": "oOK", "session_key": SESSION_KEY})
    caplog.set_level(logging.DEBUG)

    login.code_to_session(CODE)

    logs = _our_side_logs(caplog)
    assert "HTTP Request" in logs  # httpx did log the call...
    for secret_value in (SECRET, CODE, SESSION_KEY):
        assert secret_value not in logs  # ...without the credentials


def test_repr_does_not_show_the_secret(httpserver, login):
    assert SECRET not in repr(login)
    assert APPID in repr(login)
