"""Sandbox WeChat login for development and tests: a code maps deterministically to an openid,
so the same demo code always logs in the same member. Codes starting with `invalid` answer like
errcode 40029. Refused by the production profile."""

from __future__ import annotations

import hashlib

from app.integrations.wechat.port import WeChatLoginError, WeChatSession


class SandboxWeChatLogin:
    def __init__(self, appid: str) -> None:
        self._appid = appid

    def code_to_session(self, code: str) -> WeChatSession:
        if not code or code.startswith("invalid"):
            raise WeChatLoginError("invalid_code", 40029, "invalid code")
        digest = hashlib.sha256(f"{self._appid}:{code}".encode()).hexdigest()
        return WeChatSession(openid="sbx_" + digest[:28], unionid=None, session_key=digest[28:52])
