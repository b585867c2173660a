"""The WeChat Pay port (API v3, JSAPI for mini-programs). Amounts are integer fen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

# trade_state values of WeChat Pay v3
TRADE_SUCCESS = "SUCCESS"
TRADE_NOTPAY = "NOTPAY"
TRADE_CLOSED = "CLOSED"
TRADE_REFUND = "REFUND"
TRADE_USERPAYING = "USERPAYING"
TRADE_PAYERROR = "PAYERROR"

REFUND_SUCCESS = "SUCCESS"
REFUND_PROCESSING = "PROCESSING"
REFUND_ABNORMAL = "ABNORMAL"
REFUND_CLOSED = "CLOSED"


class WeChatPayError(Exception):
    """The call failed or timed out; `retryable` says whether the same call may be repeated."""

    def __init__(self, message: str, *, code: str | None = None, retryable: bool = True) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable


@dataclass(frozen=True)
class PrepayResult:
    prepay_id: str
    # What wx.requestPayment() needs: timeStamp, nonceStr, package, signType, paySign.
    js_params: dict[str, str]


@dataclass(frozen=True)
class TradeStatus:
    out_trade_no: str
    trade_state: str
    amount_fen: int | None = None
    transaction_id: str | None = None
    success_time: str | None = None


@dataclass(frozen=True)
class RefundResult:
    out_refund_no: str
    status: str
    refund_id: str | None = None
    amount_fen: int | None = None


@dataclass(frozen=True)
class PaidNotification:
    """A verified, decrypted transaction notification (event_type TRANSACTION.SUCCESS)."""

    notification_id: str
    event_type: str
    appid: str
    mchid: str
    out_trade_no: str
    transaction_id: str
    trade_state: str
    amount_total_fen: int
    payer_total_fen: int | None
    currency: str
    payer_openid: str | None
    success_time: str | None


class WeChatPayPort(Protocol):
    def create_jsapi_order(
        self,
        *,
        out_trade_no: str,
        description: str,
        amount_fen: int,
        payer_openid: str,
        notify_url: str,
        time_expire: datetime,
    ) -> PrepayResult: ...

    def query_order(self, out_trade_no: str) -> TradeStatus: ...

    def close_order(self, out_trade_no: str) -> None: ...

    def refund(
        self, *, out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int, reason: str
    ) -> RefundResult: ...

    def query_refund(self, out_refund_no: str) -> RefundResult: ...

    def parse_notification(self, headers: dict[str, str], body: bytes) -> PaidNotification:
        """Verify the signature over the raw body (with a timestamp window) and decrypt the
        resource. Raises NotificationRejected for anything forged, stale or malformed."""
        ...


class NotificationRejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
