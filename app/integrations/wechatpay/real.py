"""The real WeChat Pay API v3 adapter (JSAPI / mini-program), wrapping the `wechatpayv3` SDK.

- Public-key mode (`public_key=` + `public_key_id=`): the SDK makes no network call when built,
  verifies every 2xx response's Wechatpay-Signature with the platform public key, and signs
  every request (`Authorization: WECHATPAY2-SHA256-RSA2048 ...`) with the merchant key.
- Errors become `WeChatPayError` with WeChat's own `code` (PARAM_ERROR, ORDERPAID, ...). Timeouts,
  network failures, 5xx, 429 / FREQUENCY_LIMITED / SYSTEM_ERROR and responses that fail
  signature verification are retryable; other 4xx are not.
- Notifications are verified by `NotificationVerifier` (the same code the sandbox runs), not by
  the SDK's `callback()`.
- Refund requests carry no notify_url: refund outcomes are read with `query_refund` (a refund
  notification posted to the payment notify_url would be rejected as `unsupported_event`).

Secrets (merchant private key, APIv3 key) never appear in an exception message or repr.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import requests
from wechatpayv3 import WeChatPay, WeChatPayType

from app.integrations.wechatpay import validation
from app.integrations.wechatpay.notifications import NotificationVerifier
from app.integrations.wechatpay.port import (
    PaidNotification,
    PrepayResult,
    RefundResult,
    TradeStatus,
    WeChatPayError,
)
from app.integrations.wechatpay.signing import (
    apiv3_key_bytes,
    load_private_key,
    load_public_key,
    private_key_pkcs8_pem,
    public_key_pem,
    random_nonce,
)

DEFAULT_GATEWAY = "https://api.mch.weixin.qq.com"
# 4xx codes that still mean "try the same call again later".
_RETRYABLE_CODES = frozenset({"SYSTEM_ERROR", "FREQUENCY_LIMITED", "BANK_ERROR"})


class RealWeChatPay:
    """`WeChatPayPort` against api.mch.weixin.qq.com (or `gateway`, for a local fake in tests)."""

    def __init__(
        self,
        appid: str,
        mchid: str,
        merchant_private_key_pem: str,
        merchant_serial: str,
        apiv3_key: str,
        platform_public_key_pem: str,
        platform_public_key_id: str,
        notify_url: str,
        timeout: float,
        *,
        notify_max_skew_seconds: int = 300,
        gateway: str | None = None,
        clock: Callable[[], Any] | None = None,
    ) -> None:
        if not (appid and mchid and merchant_serial and platform_public_key_id):
            raise ValueError(
                "RealWeChatPay needs appid, mchid, merchant_serial and platform_public_key_id"
            )
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        key = apiv3_key_bytes(apiv3_key)
        # Normalised here: the SDK only accepts PKCS#8 / SPKI PEM with LF line ends as given, and
        # a platform certificate is reduced to its public key.
        merchant_key = load_private_key(merchant_private_key_pem)
        platform_key = load_public_key(platform_public_key_pem)
        self._appid = appid
        self._mchid = mchid
        self._notify_url = notify_url
        self._pay = WeChatPay(
            wechatpay_type=WeChatPayType.JSAPI,
            mchid=mchid,
            private_key=private_key_pkcs8_pem(merchant_key),
            cert_serial_no=merchant_serial,
            appid=appid,
            apiv3_key=key.decode("utf-8"),
            notify_url=None,  # given per order; refunds deliberately carry none
            timeout=timeout,
            public_key=public_key_pem(platform_key),
            public_key_id=platform_public_key_id,
        )
        if gateway:
            # wechatpayv3 2.0.4 hard-codes the gateway here; there is no constructor argument.
            self._pay._core._gate_way = gateway.rstrip("/")
        self._verifier = NotificationVerifier(
            public_key_pem(platform_key).encode("ascii"),
            platform_public_key_id,
            key,
            appid,
            mchid,
            max_skew_seconds=notify_max_skew_seconds,
            clock=clock,
        )

    def __repr__(self) -> str:
        return f"RealWeChatPay(appid={self._appid!r}, mchid={self._mchid!r})"

    def verifier(self) -> NotificationVerifier:
        return self._verifier

    # --- the port ----------------------------------------------------------------------------

    def create_jsapi_order(
        self,
        *,
        out_trade_no: str,
        description: str,
        amount_fen: int,
        payer_openid: str,
        notify_url: str,
        time_expire: datetime,
    ) -> PrepayResult:
        validation.check_order(
            out_trade_no=out_trade_no,
            description=description,
            amount_fen=amount_fen,
            payer_openid=payer_openid,
            time_expire=time_expire,
        )
        if not (notify_url or self._notify_url):
            raise validation.param_error("notify_url is required")
        op = "create_jsapi_order"
        data = self._call(
            op,
            lambda: self._pay.pay(
                description=description,
                out_trade_no=out_trade_no,
                amount={"total": amount_fen, "currency": "CNY"},
                payer={"openid": payer_openid},
                time_expire=validation.rfc3339_shanghai(time_expire),
                notify_url=notify_url or self._notify_url,
                pay_type=WeChatPayType.JSAPI,
            ),
        )
        prepay_id = data.get("prepay_id")
        if not isinstance(prepay_id, str) or not prepay_id:
            raise _invalid_response(op, "no prepay_id")
        return PrepayResult(prepay_id=prepay_id, js_params=self.js_params(prepay_id))

    def js_params(self, prepay_id: str) -> dict[str, str]:
        """wx.requestPayment() parameters, paySign by the SDK's SHA256withRSA over
        `appId\\ntimeStamp\\nnonceStr\\npackage\\n` with the merchant key."""
        timestamp = str(int(time.time()))
        nonce = random_nonce(32)
        package = f"prepay_id={prepay_id}"
        return {
            "appId": self._appid,
            "timeStamp": timestamp,
            "nonceStr": nonce,
            "package": package,
            "signType": "RSA",
            "paySign": self._pay.sign([self._appid, timestamp, nonce, package]),
        }

    def query_order(self, out_trade_no: str) -> TradeStatus:
        validation.check_out_trade_no(out_trade_no)
        op = "query_order"
        data = self._call(op, lambda: self._pay.query(out_trade_no=out_trade_no))
        state = data.get("trade_state")
        if not isinstance(state, str) or data.get("out_trade_no", out_trade_no) != out_trade_no:
            raise _invalid_response(op, "unexpected order")
        raw_amount = data.get("amount")
        amount = raw_amount if isinstance(raw_amount, dict) else {}
        total = amount.get("total")
        return TradeStatus(
            out_trade_no=out_trade_no,
            trade_state=state,
            amount_fen=total if isinstance(total, int) and not isinstance(total, bool) else None,
            transaction_id=data.get("transaction_id") or None,
            success_time=data.get("success_time") or None,
        )

    def close_order(self, out_trade_no: str) -> None:
        validation.check_out_trade_no(out_trade_no)
        self._call("close_order", lambda: self._pay.close(out_trade_no), expect_body=False)

    def refund(
        self, *, out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int, reason: str
    ) -> RefundResult:
        validation.check_refund(
            out_trade_no=out_trade_no,
            out_refund_no=out_refund_no,
            refund_fen=refund_fen,
            total_fen=total_fen,
            reason=reason,
        )
        op = "refund"
        data = self._call(
            op,
            lambda: self._pay.refund(
                out_refund_no=out_refund_no,
                amount={"refund": refund_fen, "total": total_fen, "currency": "CNY"},
                out_trade_no=out_trade_no,
                reason=reason or None,
            ),
        )
        return self._refund_result(op, data, out_refund_no)

    def query_refund(self, out_refund_no: str) -> RefundResult:
        validation.check_out_refund_no(out_refund_no)
        op = "query_refund"
        data = self._call(op, lambda: self._pay.query_refund(out_refund_no))
        return self._refund_result(op, data, out_refund_no)

    def parse_notification(self, headers: dict[str, str], body: bytes) -> PaidNotification:
        return self._verifier.parse(headers, body)

    # --- plumbing ----------------------------------------------------------------------------

    @staticmethod
    def _refund_result(op: str, data: dict, out_refund_no: str) -> RefundResult:
        status = data.get("status")
        if not isinstance(status, str) or data.get("out_refund_no", out_refund_no) != out_refund_no:
            raise _invalid_response(op, "unexpected refund")
        raw_amount = data.get("amount")
        amount = raw_amount if isinstance(raw_amount, dict) else {}
        refund = amount.get("refund")
        return RefundResult(
            out_refund_no=out_refund_no,
            status=status,
            refund_id=data.get("refund_id") or None,
            amount_fen=refund if isinstance(refund, int) and not isinstance(refund, bool) else None,
        )

    def _call(
        self, op: str, send: Callable[[], tuple[int, Any]], *, expect_body: bool = True
    ) -> dict:
        try:
            status, text = send()
        except requests.Timeout as exc:
            raise WeChatPayError(
                f"WeChat Pay {op}: timed out", code="TIMEOUT", retryable=True
            ) from exc
        except requests.RequestException as exc:
            raise WeChatPayError(
                f"WeChat Pay {op}: network error ({type(exc).__name__})",
                code="NETWORK_ERROR",
                retryable=True,
            ) from exc
        except Exception as exc:
            # In practice: "failed to verify the signature" or a missing Signature-Type on a 2xx
            # response: something between us and WeChat, or a platform key mix-up.
            raise WeChatPayError(
                f"WeChat Pay {op}: response failed verification",
                code="INVALID_RESPONSE_SIGNATURE",
                retryable=True,
            ) from exc
        if 200 <= status < 300:
            if not expect_body:
                return {}
            data = _json(text)
            if data is None:
                raise _invalid_response(op, "body is not a JSON object")
            return data
        data = _json(text) or {}
        raw_code, raw_message = data.get("code"), data.get("message")
        code = raw_code if isinstance(raw_code, str) else f"HTTP_{status}"
        message = raw_message if isinstance(raw_message, str) else ""
        retryable = status >= 500 or status == 429 or code in _RETRYABLE_CODES
        raise WeChatPayError(
            f"WeChat Pay {op}: HTTP {status} {code} {message[:200]}".rstrip(),
            code=code,
            retryable=retryable,
        )


def _json(text: Any) -> dict | None:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            return None
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _invalid_response(op: str, what: str) -> WeChatPayError:
    return WeChatPayError(
        f"WeChat Pay {op}: invalid response ({what})", code="INVALID_RESPONSE", retryable=True
    )
