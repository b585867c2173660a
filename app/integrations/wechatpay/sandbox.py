"""Sandbox WeChat Pay: plays WeChat's side of API v3 for development and tests.

Trades and refunds live in `sandbox_wechat_trades` / `sandbox_wechat_refunds`, written through
the app's session (`transaction()` commits it: call the port outside your own unit of work, as
you would for the real network call). Signatures are real: JS params are signed with the sandbox
merchant key, notifications are AES-GCM encrypted with the APIv3 key and signed with the sandbox
platform key, and `verifier()` checks them with the same `NotificationVerifier` production uses.

Rules it enforces the way WeChat does:
- create: idempotent per out_trade_no (same prepay_id); another amount or payer for the same
  out_trade_no is INVALID_REQUEST; a paid trade is ORDERPAID, a closed one ORDER_CLOSED.
- a NOTPAY trade past its time_expire is closed (seen as CLOSED from then on).
- close: NOTPAY -> CLOSED, closing again is a no-op, a paid trade is ORDERPAID.
- refund: only of a paid trade (else INVALID_REQUEST), `total` must equal the paid amount, the sum
  of refunds never exceeds it, the same out_refund_no with the same trade and amount returns the
  same refund. New refunds are PROCESSING; `query_refund` settles them to SUCCESS when
  `auto_settle_refunds` (the default), or `settle_refund()` sets an outcome explicitly.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Callable
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.common.clock import SHANGHAI
from app.database import transaction, utcnow
from app.integrations.wechatpay import validation
from app.integrations.wechatpay.notifications import NotificationVerifier, build_notification
from app.integrations.wechatpay.port import (
    REFUND_ABNORMAL,
    REFUND_CLOSED,
    REFUND_PROCESSING,
    REFUND_SUCCESS,
    TRADE_CLOSED,
    TRADE_NOTPAY,
    TRADE_REFUND,
    TRADE_SUCCESS,
    PaidNotification,
    PrepayResult,
    RefundResult,
    TradeStatus,
    WeChatPayError,
)
from app.integrations.wechatpay.sandbox_models import SandboxWeChatRefund, SandboxWeChatTrade
from app.integrations.wechatpay.signing import (
    apiv3_key_bytes,
    build_js_params,
    public_key_pem,
)

SANDBOX_PUBLIC_KEY_ID = "PUB_KEY_ID_SANDBOX"
SANDBOX_MERCHANT_SERIAL = "SANDBOX0000000000000000000000000000000000"
# Used when no APIv3 key is configured (development and tests only; production refuses sandbox).
SANDBOX_APIV3_KEY = b"huimin-sandbox-apiv3-key-0000000"

_keypair: rsa.RSAPrivateKey | None = None
_keypair_lock = threading.Lock()


def sandbox_keypair() -> rsa.RSAPrivateKey:
    """One RSA-2048 key per process, made on first use: the sandbox's platform key and, the
    same pair, its merchant key."""
    global _keypair
    if _keypair is None:
        with _keypair_lock:
            if _keypair is None:
                _keypair = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _keypair


def _error(code: str, message: str, *, retryable: bool = False) -> WeChatPayError:
    return WeChatPayError(message, code=code, retryable=retryable)


def _rfc3339(value: datetime | None) -> str | None:
    return value.astimezone(SHANGHAI).isoformat(timespec="seconds") if value else None


def _digits(n: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(n))


class SandboxWeChatPay:
    """`WeChatPayPort` backed by the sandbox tables. Needs an application context."""

    public_key_id = SANDBOX_PUBLIC_KEY_ID

    def __init__(
        self,
        appid: str,
        mchid: str,
        apiv3_key: bytes | str | None = None,
        keypair: rsa.RSAPrivateKey | None = None,
        *,
        max_skew_seconds: int = 300,
        clock: Callable[[], datetime] | None = None,
        auto_settle_refunds: bool = True,
    ) -> None:
        self.appid = appid
        self.mchid = mchid
        self._apiv3_key = apiv3_key_bytes(apiv3_key or SANDBOX_APIV3_KEY)
        self._key = keypair or sandbox_keypair()
        self._max_skew = max_skew_seconds
        self._clock = clock or utcnow
        self.auto_settle_refunds = auto_settle_refunds
        self._verifier: NotificationVerifier | None = None

    def __repr__(self) -> str:
        return f"SandboxWeChatPay(appid={self.appid!r}, mchid={self.mchid!r})"

    # --- keys, for the notify endpoint and tests ---------------------------------------------

    @property
    def private_key(self) -> rsa.RSAPrivateKey:
        return self._key

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        """The sandbox platform public key, which is also the merchant public key."""
        return self._key.public_key()

    def public_key_pem(self) -> str:
        return public_key_pem(self.public_key)

    def verifier(self) -> NotificationVerifier:
        if self._verifier is None:
            self._verifier = NotificationVerifier(
                self.public_key_pem().encode("ascii"),
                SANDBOX_PUBLIC_KEY_ID,
                self._apiv3_key,
                self.appid,
                self.mchid,
                max_skew_seconds=self._max_skew,
                clock=self._clock,
            )
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
        for attempt in (1, 2):
            try:
                prepay_id = self._create(
                    out_trade_no, description, amount_fen, payer_openid, time_expire
                )
                break
            except IntegrityError as exc:
                # A concurrent create of the same out_trade_no won; the second pass sees its row.
                if attempt == 2:
                    raise _error(
                        "SYSTEM_ERROR", "concurrent order creation", retryable=True
                    ) from exc
        return PrepayResult(
            prepay_id=prepay_id, js_params=build_js_params(self._key, self.appid, prepay_id)
        )

    def _create(self, out_trade_no, description, amount_fen, payer_openid, time_expire) -> str:
        now = self._clock()
        with transaction() as session:
            trade = self._trade_for_update(session, out_trade_no)
            if trade is not None:
                if trade.amount_fen != amount_fen or trade.payer_openid != payer_openid:
                    raise _error(
                        "INVALID_REQUEST", "out_trade_no already used with another amount or payer"
                    )
                self._expire_if_due(trade, now)
                if trade.state in (TRADE_SUCCESS, TRADE_REFUND):
                    raise _error("ORDERPAID", "the order has been paid")
                if trade.state == TRADE_CLOSED:
                    raise _error("ORDER_CLOSED", "the order has been closed")
                return trade.prepay_id
            if time_expire <= now:
                raise validation.param_error("time_expire is in the past")
            trade = SandboxWeChatTrade(
                out_trade_no=out_trade_no,
                prepay_id=f"wx{now.astimezone(SHANGHAI):%d%H%M%S}{secrets.token_hex(12)}",
                amount_fen=amount_fen,
                payer_openid=payer_openid,
                description=description,
                state=TRADE_NOTPAY,
                time_expire=time_expire,
                created_at=now,
            )
            session.add(trade)
            session.flush()
            return trade.prepay_id

    def query_order(self, out_trade_no: str) -> TradeStatus:
        validation.check_out_trade_no(out_trade_no)
        with transaction() as session:
            trade = self._existing_trade(session, out_trade_no)
            self._expire_if_due(trade, self._clock())
            return TradeStatus(
                out_trade_no=trade.out_trade_no,
                trade_state=trade.state,
                amount_fen=trade.paid_fen if trade.paid_fen is not None else trade.amount_fen,
                transaction_id=trade.transaction_id,
                success_time=_rfc3339(trade.success_time),
            )

    def close_order(self, out_trade_no: str) -> None:
        validation.check_out_trade_no(out_trade_no)
        with transaction() as session:
            trade = self._existing_trade(session, out_trade_no)
            if trade.state in (TRADE_SUCCESS, TRADE_REFUND):
                raise _error("ORDERPAID", "the order has been paid")
            trade.state = TRADE_CLOSED

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
        for attempt in (1, 2):
            try:
                return self._refund(out_trade_no, out_refund_no, refund_fen, total_fen, reason)
            except IntegrityError as exc:
                if attempt == 2:
                    raise _error("SYSTEM_ERROR", "concurrent refund", retryable=True) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _refund(self, out_trade_no, out_refund_no, refund_fen, total_fen, reason) -> RefundResult:
        now = self._clock()
        with transaction() as session:
            trade = session.scalar(
                select(SandboxWeChatTrade)
                .where(SandboxWeChatTrade.out_trade_no == out_trade_no)
                .with_for_update()
            )
            existing = session.scalar(
                select(SandboxWeChatRefund).where(
                    SandboxWeChatRefund.out_refund_no == out_refund_no
                )
            )
            if existing is not None:
                if (
                    trade is None
                    or existing.trade_id != trade.id
                    or existing.amount_fen != refund_fen
                ):
                    raise _error(
                        "INVALID_REQUEST", "out_refund_no already used for another trade or amount"
                    )
                return self._refund_result(existing)
            if trade is None:
                raise _error("RESOURCE_NOT_EXISTS", "the order does not exist")
            self._expire_if_due(trade, now)
            if trade.state not in (TRADE_SUCCESS, TRADE_REFUND) or trade.paid_fen is None:
                raise _error("INVALID_REQUEST", "the order has not been paid")
            if total_fen != trade.paid_fen:
                raise _error("INVALID_REQUEST", "amount.total differs from the paid amount")
            refunded = session.scalar(
                select(func.coalesce(func.sum(SandboxWeChatRefund.amount_fen), 0)).where(
                    SandboxWeChatRefund.trade_id == trade.id,
                    SandboxWeChatRefund.status != REFUND_CLOSED,
                )
            )
            if refunded + refund_fen > trade.paid_fen:
                raise _error("INVALID_REQUEST", "refunds would exceed the paid amount")
            row = SandboxWeChatRefund(
                out_refund_no=out_refund_no,
                refund_id=f"50{_digits(30)}",
                trade_id=trade.id,
                amount_fen=refund_fen,
                reason=reason or "",
                status=REFUND_PROCESSING,
                created_at=now,
            )
            session.add(row)
            trade.state = TRADE_REFUND
            session.flush()
            return self._refund_result(row)

    def query_refund(self, out_refund_no: str) -> RefundResult:
        validation.check_out_refund_no(out_refund_no)
        with transaction() as session:
            row = self._existing_refund(session, out_refund_no)
            if self.auto_settle_refunds and row.status == REFUND_PROCESSING:
                row.status = REFUND_SUCCESS
                row.success_time = self._clock()
            return self._refund_result(row)

    def parse_notification(self, headers: dict[str, str], body: bytes) -> PaidNotification:
        return self.verifier().parse(headers, body)

    # --- sandbox-only controls ---------------------------------------------------------------

    def simulate_payment(
        self, out_trade_no: str, paid_fen: int | None = None
    ) -> tuple[dict[str, str], bytes]:
        """The payer pays: the trade becomes SUCCESS and the notification WeChat would POST to
        notify_url is returned (headers, raw body). Calling it again for a paid trade returns the
        same notification (same id and transaction), as WeChat's duplicate deliveries do.
        `paid_fen` makes WeChat report another amount than the order's, to test the app's
        amount check. A closed or expired trade cannot be paid: WeChatPayError ORDER_CLOSED."""
        validation.check_out_trade_no(out_trade_no)
        if paid_fen is not None and not (isinstance(paid_fen, int) and paid_fen > 0):
            raise ValueError("paid_fen must be a positive integer")
        now = self._clock()
        with transaction() as session:
            trade = self._existing_trade(session, out_trade_no, for_update=True)
            if trade.state == TRADE_NOTPAY and trade.time_expire <= now:
                raise _error("ORDER_CLOSED", "the order has expired")
            if trade.state == TRADE_CLOSED:
                raise _error("ORDER_CLOSED", "the order has been closed")
            if trade.state == TRADE_NOTPAY:
                trade.state = TRADE_SUCCESS
                trade.paid_fen = paid_fen if paid_fen is not None else trade.amount_fen
                trade.transaction_id = f"4200{_digits(24)}"
                trade.success_time = now
                trade.notification_id = str(uuid.uuid4())
            elif paid_fen is not None and paid_fen != trade.paid_fen:
                raise ValueError("the trade was already paid with another amount")
            transaction_data = self._transaction_resource(trade)
            notification_id = trade.notification_id
        return build_notification(
            self._key,
            SANDBOX_PUBLIC_KEY_ID,
            self._apiv3_key,
            transaction_data,
            timestamp=int(now.timestamp()),
            notification_id=notification_id,
            create_time=transaction_data["success_time"],
        )

    def settle_refund(self, out_refund_no: str, status: str = REFUND_SUCCESS) -> RefundResult:
        """Decide a refund's outcome (SUCCESS, ABNORMAL or CLOSED; a CLOSED refund no longer
        counts against the paid amount)."""
        if status not in (REFUND_SUCCESS, REFUND_ABNORMAL, REFUND_CLOSED):
            raise ValueError("status must be SUCCESS, ABNORMAL or CLOSED")
        with transaction() as session:
            row = self._existing_refund(session, out_refund_no)
            row.status = status
            row.success_time = self._clock() if status == REFUND_SUCCESS else None
            return self._refund_result(row)

    # --- helpers -----------------------------------------------------------------------------

    @staticmethod
    def _trade_for_update(session, out_trade_no: str) -> SandboxWeChatTrade | None:
        return session.scalar(
            select(SandboxWeChatTrade)
            .where(SandboxWeChatTrade.out_trade_no == out_trade_no)
            .with_for_update()
        )

    def _existing_trade(
        self, session, out_trade_no: str, *, for_update: bool = False
    ) -> SandboxWeChatTrade:
        stmt = select(SandboxWeChatTrade).where(SandboxWeChatTrade.out_trade_no == out_trade_no)
        trade = session.scalar(stmt.with_for_update() if for_update else stmt)
        if trade is None:
            raise _error("ORDER_NOT_EXIST", "the order does not exist")
        return trade

    @staticmethod
    def _existing_refund(session, out_refund_no: str) -> SandboxWeChatRefund:
        row = session.scalar(
            select(SandboxWeChatRefund).where(SandboxWeChatRefund.out_refund_no == out_refund_no)
        )
        if row is None:
            raise _error("RESOURCE_NOT_EXISTS", "the refund does not exist")
        return row

    @staticmethod
    def _expire_if_due(trade: SandboxWeChatTrade, now: datetime) -> None:
        if trade.state == TRADE_NOTPAY and trade.time_expire <= now:
            trade.state = TRADE_CLOSED

    @staticmethod
    def _refund_result(row: SandboxWeChatRefund) -> RefundResult:
        return RefundResult(
            out_refund_no=row.out_refund_no,
            status=row.status,
            refund_id=row.refund_id,
            amount_fen=row.amount_fen,
        )

    def _transaction_resource(self, trade: SandboxWeChatTrade) -> dict:
        """The decrypted `resource` of a TRANSACTION.SUCCESS notification."""
        return {
            "appid": self.appid,
            "mchid": self.mchid,
            "out_trade_no": trade.out_trade_no,
            "transaction_id": trade.transaction_id,
            "trade_type": "JSAPI",
            "trade_state": TRADE_SUCCESS,
            "trade_state_desc": "支付成功",
            "bank_type": "OTHERS",
            "attach": "",
            "success_time": _rfc3339(trade.success_time),
            "payer": {"openid": trade.payer_openid},
            "amount": {
                "total": trade.paid_fen,
                "payer_total": trade.paid_fen,
                "currency": "CNY",
                "payer_currency": "CNY",
            },
        }
