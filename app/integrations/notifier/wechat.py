"""The real notifier: WeChat mini-program subscription messages over HTTPS.

Two WeChat interfaces (base URL configurable so tests drive a local fake):

* ``POST /cgi-bin/stable_token`` with JSON ``{"grant_type": "client_credential", "appid",
  "secret", "force_refresh"}`` -> ``{"access_token", "expires_in"}`` or ``{"errcode",
  "errmsg"}``. The token is cached until ``expires_in`` minus a safety margin and shared by all
  threads of the process; ``force_refresh: true`` is sent only after WeChat called the cached
  token invalid (forced refreshes are rate-limited by WeChat, so one thread refreshes and the
  others reuse its token).
* ``POST /cgi-bin/message/subscribe/send?access_token=TOKEN`` with JSON ``{"touser",
  "template_id", "page", "data": {key: {"value": text}}, "miniprogram_state", "lang"}`` ->
  ``{"errcode": 0, "errmsg": "ok", "msgid"}`` or an errcode.

Outcomes (`NotifyResult`, see port.py): errcode 0 -> sent. Token rejected (40001, 40014,
42001) -> refresh the token once and send again; if the second try is rejected too -> retry.
43101 (the member refused, or has no subscription left for this template) and the other
errors about this very message (bad openid, template, page or field values, content
filtered) -> failed: sending it again cannot work. -1 (busy), quota and frequency limits,
timeouts, transport errors, non-2xx, non-JSON, and a token that cannot be fetched -> retry.
An errcode not listed here -> retry (unknown is not permanent; the outbox caps attempts).

Secrets: the app secret and the access token are never logged and never put in an exception or
a NotifyResult. httpx logs each request's URL (with ``access_token=``) at INFO; a filter on the
"httpx" logger masks it. The openid and the message text are not logged either.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from app.integrations.notifier.port import (
    NOTIFY_FAILED,
    NOTIFY_RETRY,
    NOTIFY_SENT,
    NotifyResult,
    check_message,
)

log = logging.getLogger(__name__)

TOKEN_ERRCODES = frozenset({40001, 40014, 42001})
# Errors about this message itself: repeating it cannot succeed.
PERMANENT_ERRCODES = frozenset(
    {
        43101,  # user refused / no subscription left for this template
        40003,  # invalid openid
        40037,  # invalid template_id
        41030,  # invalid page
        43107,  # subscription messages banned for this account or template
        45168,  # content contains sensitive words
        47003,  # data does not match the template's rules
    }
)
MINIPROGRAM_STATES = ("developer", "trial", "formal")
# Refresh this long before WeChat's stated expiry, so a token is never used at its last second.
TOKEN_MARGIN_SECONDS = 300
_MAX_BODY_BYTES = 64 * 1024


class _RedactAccessToken(logging.Filter):
    """Masks `access_token=...` in any record of the "httpx" logger (its request log line)."""

    _PARAM = re.compile(r"(access_token=)[^&\s\"']*")

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # pragma: no cover - leave a malformed record alone
            return True
        if "access_token=" in message:
            record.msg, record.args = self._PARAM.sub(r"\1***", message), None
        return True


def _install_httpx_log_redaction() -> None:
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactAccessToken) for f in httpx_logger.filters):
        httpx_logger.addFilter(_RedactAccessToken())


class _NoToken(Exception):
    """The access token could not be obtained; `code` says why (no secret in it)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class WeChatSubscribeNotifier:
    """`Notifier` over HTTP. One instance per app: it owns a pooled client and the token cache."""

    def __init__(
        self,
        appid: str,
        secret: str,
        base_url: str = "https://api.weixin.qq.com",
        timeout: float = 5.0,
        miniprogram_state: str = "formal",
        lang: str = "zh_CN",
        transport: httpx.BaseTransport | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not appid or not secret:
            raise ValueError("WeChatSubscribeNotifier needs appid and secret")
        if miniprogram_state not in MINIPROGRAM_STATES:
            raise ValueError(f"miniprogram_state must be one of {MINIPROGRAM_STATES}")
        self._appid = appid
        self._secret = secret
        self._base_url = base_url.rstrip("/")
        self._state = miniprogram_state
        self._lang = lang
        self._monotonic = monotonic
        self._token: str | None = None
        self._token_expires_at = 0.0
        self._token_lock = threading.Lock()
        self._client = httpx.Client(
            timeout=httpx.Timeout(connect=timeout, read=timeout, write=timeout, pool=timeout),
            transport=transport,
            follow_redirects=False,
            headers={"Accept": "application/json"},
        )
        _install_httpx_log_redaction()

    def __repr__(self) -> str:  # no secret, no token
        return f"WeChatSubscribeNotifier(appid={self._appid!r}, base_url={self._base_url!r})"

    def close(self) -> None:
        self._client.close()

    # -- the port ---------------------------------------------------------------------------

    def send(
        self, openid: str, template_id: str, data: dict[str, str], page: str | None
    ) -> NotifyResult:
        check_message(openid, template_id, data, page)
        body: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": {key: {"value": value} for key, value in data.items()},
            "miniprogram_state": self._state,
            "lang": self._lang,
        }
        if page:
            body["page"] = page
        try:
            token = self._access_token()
            errcode = self._post_send(token, body)
            if errcode in TOKEN_ERRCODES:
                # The cached token was revoked or expired early: refresh once, send once more.
                token = self._access_token(stale=token)
                errcode = self._post_send(token, body)
        except _NoToken as exc:
            result = NotifyResult(NOTIFY_RETRY, exc.code)
        else:
            result = self._result(errcode)
        log.info(
            "wechat subscribe send template=%s outcome=%s code=%s",
            template_id,
            result.status,
            result.code,
        )
        return result

    @staticmethod
    def _result(errcode: int | str) -> NotifyResult:
        if errcode == 0:
            return NotifyResult(NOTIFY_SENT)
        if isinstance(errcode, int) and errcode in PERMANENT_ERRCODES:
            return NotifyResult(NOTIFY_FAILED, str(errcode))
        return NotifyResult(NOTIFY_RETRY, str(errcode))

    # -- HTTP -------------------------------------------------------------------------------

    def _post_send(self, token: str, body: dict) -> int | str:
        """WeChat's errcode (int), or a transport reason (str) when there is no usable answer."""
        reply = self._post_json(
            "/cgi-bin/message/subscribe/send", body, params={"access_token": token}
        )
        if isinstance(reply, str):
            return reply
        errcode = reply.get("errcode", 0)  # WeChat omits errcode on some successes
        if not isinstance(errcode, int) or isinstance(errcode, bool):
            return "bad_reply"
        return errcode

    def _access_token(self, stale: str | None = None) -> str:
        """The cached token, fetched when missing or expiring; with `stale`, a fresh one
        (unless another thread already replaced `stale`)."""
        with self._token_lock:
            now = self._monotonic()
            if self._token is not None and now < self._token_expires_at and self._token != stale:
                return self._token
            reply = self._post_json(
                "/cgi-bin/stable_token",
                {
                    "grant_type": "client_credential",
                    "appid": self._appid,
                    "secret": self._secret,
                    "force_refresh": stale is not None,
                },
            )
            if isinstance(reply, str):
                raise _NoToken(f"token_{reply}")
            token, expires_in = reply.get("access_token"), reply.get("expires_in")
            if not isinstance(token, str) or not token:
                errcode = reply.get("errcode")
                raise _NoToken(
                    f"token_{errcode}" if isinstance(errcode, int) else "token_bad_reply"
                )
            if not isinstance(expires_in, int) or isinstance(expires_in, bool) or expires_in <= 0:
                raise _NoToken("token_bad_reply")
            self._token = token
            self._token_expires_at = now + max(expires_in - TOKEN_MARGIN_SECONDS, 0)
            return token

    def _post_json(self, path: str, body: dict, params: dict | None = None) -> dict | str:
        """The JSON object WeChat answered, or a short reason string when there is none."""
        try:
            response = self._client.post(
                f"{self._base_url}{path}",
                params=params,
                content=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                headers={"Content-Type": "application/json; charset=utf-8"},
            )
        except httpx.TimeoutException:
            return "timeout"
        except httpx.HTTPError:
            # Never chain or format the exception: its request carries the token in the URL.
            return "transport_error"
        if not 200 <= response.status_code < 300:
            return f"http_{response.status_code}"
        if len(response.content) > _MAX_BODY_BYTES:
            return "bad_reply"
        try:
            reply = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            return "bad_reply"
        return reply if isinstance(reply, dict) else "bad_reply"
