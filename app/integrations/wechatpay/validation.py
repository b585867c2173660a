"""Argument checks both adapters make before anything leaves the process, with WeChat's own
limits and its error code (PARAM_ERROR, never retryable): a bad argument would only come back
from WeChat as the same error, after a round trip and a rate-limit charge."""

from __future__ import annotations

import re
from datetime import datetime

from app.common.clock import SHANGHAI
from app.integrations.wechatpay.port import WeChatPayError

# WeChat allows [0-9A-Za-z_-|*@]; `|` is percent-encoded by HTTP clients after the request has
# been signed over the unencoded path, so Huimin keeps to the subset that travels unchanged.
_OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-*@]{6,32}")
_OUT_REFUND_NO = re.compile(r"[0-9A-Za-z_\-*@]{1,64}")
_OPENID = re.compile(r"[\x21-\x7e]{1,128}")


def param_error(message: str) -> WeChatPayError:
    return WeChatPayError(message, code="PARAM_ERROR", retryable=False)


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def check_out_trade_no(out_trade_no: str) -> None:
    if not isinstance(out_trade_no, str) or not _OUT_TRADE_NO.fullmatch(out_trade_no):
        raise param_error("out_trade_no must be 6-32 characters of [0-9A-Za-z_-*@]")


def check_out_refund_no(out_refund_no: str) -> None:
    if not isinstance(out_refund_no, str) or not _OUT_REFUND_NO.fullmatch(out_refund_no):
        raise param_error("out_refund_no must be 1-64 characters of [0-9A-Za-z_-*@]")


def check_order(
    *,
    out_trade_no: str,
    description: str,
    amount_fen: int,
    payer_openid: str,
    time_expire: datetime,
) -> None:
    check_out_trade_no(out_trade_no)
    if not isinstance(description, str) or not 1 <= len(description) <= 127:
        raise param_error("description must be 1-127 characters")
    if not _positive_int(amount_fen):
        raise param_error("amount must be a positive integer number of fen")
    if not isinstance(payer_openid, str) or not _OPENID.fullmatch(payer_openid):
        raise param_error("payer openid is malformed")
    if not isinstance(time_expire, datetime) or time_expire.tzinfo is None:
        raise param_error("time_expire must be a timezone-aware datetime")


def check_refund(
    *, out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int, reason: str
) -> None:
    check_out_trade_no(out_trade_no)
    check_out_refund_no(out_refund_no)
    if not _positive_int(refund_fen) or not _positive_int(total_fen):
        raise param_error("refund and total must be positive integers of fen")
    if refund_fen > total_fen:
        raise param_error("refund exceeds the order total")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 80):
        raise param_error("reason must be at most 80 characters")


def rfc3339_shanghai(value: datetime) -> str:
    """`2026-01-01T10:00:00+08:00`: the form WeChat documents for time_expire."""
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value.astimezone(SHANGHAI).isoformat(timespec="seconds")
