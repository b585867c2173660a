"""The WeChat login port: exchange a one-time mini-program `code` for an openid."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class WeChatSession:
    openid: str
    unionid: str | None
    # session_key never leaves the server; Huimin does not store it either (minimum necessary).
    session_key: str


class WeChatLoginError(Exception):
    """jscode2session refused or failed. `kind` is one of: invalid_code, rate_limited, busy,
    unavailable."""

    def __init__(self, kind: str, errcode: int | None = None, message: str = "") -> None:
        super().__init__(f"{kind} (errcode={errcode}) {message}".strip())
        self.kind = kind
        self.errcode = errcode


class WeChatLogin(Protocol):
    def code_to_session(self, code: str) -> WeChatSession: ...
