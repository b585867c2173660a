"""The real WeChat mini-program login adapter: `jscode2session` over HTTPS.

The mini-program calls `wx.login()` and sends Huimin a one-time `code`; this adapter exchanges it
with WeChat (appid + app secret + code) for the member's `openid`, maybe a `unionid`, and a
`session_key`. Every failure is folded into `WeChatLoginError` with a `kind` the API layer can
act on (`invalid_code` -> ask the client to log in again, `rate_limited` / `busy` -> retry later,
`unavailable` -> WeChat unreachable or answering nonsense).

Secrets discipline: the app secret, the login code and the session_key are credentials. None of
them goes into an exception message, a log line or a chained traceback from this module, and the
`httpx` request log (which prints the full URL, query string included) is redacted.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import httpx

from app.integrations.wechat.port import WeChatLoginError, WeChatSession

log = logging.getLogger(__name__)

# WeChat's documented jscode2session errcodes that mean something other than "broken".
_ERRCODE_KINDS = {
    40029: "invalid_code",  # code invalid or expired (codes live about 5 minutes)
    40163: "invalid_code",  # code already used: a replayed or double-submitted login
    45011: "rate_limited",  # per-user frequency limit (100 calls/minute)
    -1: "busy",  # "system busy, try again"
}

# Real codes are ~32 visible ASCII characters. Anything else is garbage from a broken or hostile
# client, and sending it to WeChat would only burn our rate limit.
_CODE_SHAPE = re.compile(r"[\x21-\x7e]{1,128}")

# A jscode2session reply is a few hundred bytes; a bigger body is not WeChat talking, and reading
# it whole would let a misbehaving proxy make us buffer without bound.
_MAX_BODY_BYTES = 64 * 1024

# WeChat appends a request id to errmsg ("invalid code, rid: 65a1...-..."). It is the one piece of
# errmsg worth logging (WeChat support asks for it); the rest of errmsg is not logged in case it
# ever echoes request input.
_RID = re.compile(r"rid:\s*([0-9A-Za-z-]{1,64})")


class _RedactCredentialQuery(logging.Filter):
    """httpx logs every request at INFO as `HTTP Request: GET <full url> ...`; for jscode2session
    the URL carries `secret=` and `js_code=`. Mask those values before any handler sees them."""

    _PARAM = re.compile(r"((?:^|[?&])(?:secret|js_code)=)[^&\s\"']*")

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # pragma: no cover - leave a malformed record alone
            return True
        if "secret=" in message or "js_code=" in message:
            record.msg, record.args = self._PARAM.sub(r"\1***", message), None
        return True


def _install_httpx_log_redaction() -> None:
    # Idempotent: installing per instance would stack filters on the shared "httpx" logger.
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactCredentialQuery) for f in httpx_logger.filters):
        httpx_logger.addFilter(_RedactCredentialQuery())


class HttpWeChatLogin:
    """`WeChatLogin` over HTTP. One instance holds one connection pool; call `close()` (or use it as
    a context manager) when the app shuts down."""

    def __init__(
        self,
        appid: str,
        secret: str,
        base_url: str = "https://api.weixin.qq.com",
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not appid or not secret:
            # Deliberately does not say which value was wrong or what it was.
            raise ValueError("HttpWeChatLogin needs a non-empty appid and secret")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        url = httpx.URL(base_url)
        if url.scheme not in ("https", "http") or not url.host:
            raise ValueError("base_url must be an absolute http(s) URL")
        self._appid = appid
        self._secret = secret
        self._endpoint = str(base_url).rstrip("/") + "/sns/jscode2session"
        _install_httpx_log_redaction()
        # Every phase bounded explicitly: a login request is waiting on this call, and a hung
        # WeChat must turn into "unavailable" quickly instead of tying up a worker.
        self._client = httpx.Client(
            timeout=httpx.Timeout(connect=timeout, read=timeout, write=timeout, pool=timeout),
            transport=transport,
            follow_redirects=False,  # jscode2session never redirects; do not carry the secret elsewhere
            headers={"Accept": "application/json"},
        )

    def __repr__(self) -> str:
        return f"HttpWeChatLogin(appid={self._appid!r}, endpoint={self._endpoint!r})"

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpWeChatLogin:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def code_to_session(self, code: str) -> WeChatSession:
        if not isinstance(code, str) or not _CODE_SHAPE.fullmatch(code):
            raise WeChatLoginError("invalid_code", None, "malformed code")

        # Failures are recorded here and raised after the `except` block on purpose: raising inside
        # it would chain the httpx exception, whose request carries the secret and code in its URL,
        # into every traceback that gets logged.
        failure: str | None = None
        status = 0
        body = b""
        try:
            with self._client.stream(
                "GET",
                self._endpoint,
                params={
                    "appid": self._appid,
                    "secret": self._secret,
                    "js_code": code,
                    "grant_type": "authorization_code",
                },
            ) as response:
                status = response.status_code
                if 200 <= status < 300:
                    chunks: list[bytes] = []
                    size = 0
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        if size > _MAX_BODY_BYTES:
                            failure = "reply too large"
                            break
                        chunks.append(chunk)
                    body = b"".join(chunks)
        except httpx.TimeoutException:
            failure = "timeout"
        except httpx.HTTPError as exc:
            # Only the class name: str(exc) of some transport errors may include the URL.
            failure = f"transport error {type(exc).__name__}"

        if failure is None and not 200 <= status < 300:
            failure = f"HTTP {status}"
        if failure is not None:
            log.warning("wechat jscode2session failed: %s", failure)
            raise WeChatLoginError("unavailable", None, failure)

        return self._interpret(body)

    def _interpret(self, body: bytes) -> WeChatSession:
        # WeChat answers with Content-Type text/plain (sometimes application/json), so the body is
        # parsed as JSON whatever the header says.
        try:
            reply: Any = json.loads(body)
        except ValueError:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
            reply = None
        if not isinstance(reply, dict):
            log.warning("wechat jscode2session failed: reply is not a JSON object")
            raise WeChatLoginError("unavailable", None, "unreadable reply")

        errcode = reply.get("errcode", 0)
        # bool is an int subclass; `true` is not an errcode. Some gateways stringify numbers.
        if isinstance(errcode, bool) or not isinstance(errcode, (int, str)):
            errcode = None
        else:
            try:
                errcode = int(errcode)
            except ValueError:
                errcode = None
        if errcode is None:
            log.warning("wechat jscode2session failed: malformed errcode")
            raise WeChatLoginError("unavailable", None, "malformed errcode")

        if errcode != 0:
            kind = _ERRCODE_KINDS.get(errcode, "unavailable")
            rid = _RID.search(str(reply.get("errmsg", "")))
            log.warning(
                "wechat jscode2session refused: errcode=%s kind=%s rid=%s",
                errcode,
                kind,
                rid.group(1) if rid else "-",
            )
            raise WeChatLoginError(kind, errcode, "refused by WeChat")

        openid = reply.get("openid")
        session_key = reply.get("session_key")
        if not (
            isinstance(openid, str) and openid and isinstance(session_key, str) and session_key
        ):
            # A "success" without both is not usable; the message names the fields, never values.
            log.warning("wechat jscode2session failed: success reply without openid/session_key")
            raise WeChatLoginError("unavailable", None, "incomplete reply")

        unionid = reply.get("unionid")
        return WeChatSession(
            openid=openid,
            unionid=unionid if isinstance(unionid, str) and unionid else None,
            session_key=session_key,
        )
