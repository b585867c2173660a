"""SandboxWeChatPay: WeChat's side of API v3 played from the sandbox tables, with real keys, so
the notifications it produces go through the production `NotificationVerifier`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.database import get_session
from app.integrations.wechatpay.notifications import NotificationVerifier
from app.integrations.wechatpay.port import (
    REFUND_CLOSED,
    REFUND_PROCESSING,
    REFUND_SUCCESS,
    TRADE_CLOSED,
    TRADE_NOTPAY,
    TRADE_REFUND,
    TRADE_SUCCESS,
    NotificationRejected,
    WeChatPayError,
)
from app.integrations.wechatpay.sandbox import SandboxWeChatPay, sandbox_keypair
from app.integrations.wechatpay.sandbox_models import SandboxWeChatRefund, SandboxWeChatTrade
from app.integrations.wechatpay.signing import public_key_pem, verify_js_params

APPID = "wx-sandbox-appid"
MCHID = "1900000001"
OPENID = "oSandboxMemberA000000000001"
T0 = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def sandbox(app, clock):
    with app.app_context():
        yield SandboxWeChatPay(APPID, MCHID, clock=clock)


def _create(sandbox, out_trade_no="HM20260101000001", amount_fen=9900, **overrides):
    args = dict(
        out_trade_no=out_trade_no,
        description="赣州惠民保2026",
        amount_fen=amount_fen,
        payer_openid=OPENID,
        notify_url="http://127.0.0.1:5000/payments/wechat/notify",
        time_expire=T0 + timedelta(minutes=30),
    )
    args.update(overrides)
    return sandbox.create_jsapi_order(**args)


def _paid(sandbox, out_trade_no="HM20260101000001", amount_fen=9900):
    _create(sandbox, out_trade_no, amount_fen)
    sandbox.simulate_payment(out_trade_no)


def _code(call) -> WeChatPayError:
    with pytest.raises(WeChatPayError) as info:
        call()
    return info.value


# --- create ------------------------------------------------------------------------------------


def test_create_returns_js_params_signed_with_the_sandbox_merchant_key(sandbox):
    result = _create(sandbox)

    assert result.prepay_id.startswith("wx")
    assert result.js_params["package"] == f"prepay_id={result.prepay_id}"
    assert result.js_params["appId"] == APPID and result.js_params["signType"] == "RSA"
    assert verify_js_params(sandbox.public_key, result.js_params)
    assert sandbox.query_order("HM20260101000001").trade_state == TRADE_NOTPAY


def test_create_is_idempotent_per_out_trade_no(sandbox):
    first = _create(sandbox)
    second = _create(sandbox)

    assert second.prepay_id == first.prepay_id
    assert verify_js_params(sandbox.public_key, second.js_params)
    assert len(get_session().scalars(select(SandboxWeChatTrade)).all()) == 1


@pytest.mark.parametrize("overrides", [{"amount_fen": 9800}, {"payer_openid": "oSomeoneElse01"}])
def test_same_out_trade_no_with_another_amount_or_payer_is_invalid(sandbox, overrides):
    _create(sandbox)

    error = _code(lambda: _create(sandbox, **overrides))

    assert error.code == "INVALID_REQUEST" and error.retryable is False


def test_create_for_a_paid_or_closed_order_fails(sandbox):
    _paid(sandbox)
    assert _code(lambda: _create(sandbox)).code == "ORDERPAID"

    _create(sandbox, "HM20260101000002")
    sandbox.close_order("HM20260101000002")
    assert _code(lambda: _create(sandbox, "HM20260101000002")).code == "ORDER_CLOSED"


@pytest.mark.parametrize(
    "overrides, code",
    [
        ({"amount_fen": 0}, "PARAM_ERROR"),
        ({"out_trade_no": "x"}, "PARAM_ERROR"),
        ({"time_expire": T0 - timedelta(seconds=1)}, "PARAM_ERROR"),
        ({"time_expire": datetime(2026, 1, 1, 12, 0)}, "PARAM_ERROR"),
    ],
)
def test_create_rejects_bad_arguments(sandbox, overrides, code):
    assert _code(lambda: _create(sandbox, **overrides)).code == code


# --- payment and its notification --------------------------------------------------------------


def test_simulated_payment_gives_a_notification_the_verifier_accepts(sandbox):
    _create(sandbox)

    headers, body = sandbox.simulate_payment("HM20260101000001")
    parsed = sandbox.verifier().parse(headers, body)

    status = sandbox.query_order("HM20260101000001")
    assert status.trade_state == TRADE_SUCCESS and status.amount_fen == 9900
    assert parsed.out_trade_no == "HM20260101000001"
    assert parsed.amount_total_fen == 9900 and parsed.payer_total_fen == 9900
    assert parsed.trade_state == TRADE_SUCCESS and parsed.event_type == "TRANSACTION.SUCCESS"
    assert parsed.appid == APPID and parsed.mchid == MCHID
    assert parsed.payer_openid == OPENID
    assert parsed.transaction_id == status.transaction_id
    assert parsed.success_time == status.success_time == "2026-01-01T10:00:00+08:00"
    assert sandbox.parse_notification(headers, body) == parsed


def test_a_standalone_verifier_with_the_sandbox_public_key_accepts_it(sandbox, clock):
    _create(sandbox)
    headers, body = sandbox.simulate_payment("HM20260101000001")
    verifier = NotificationVerifier(
        public_key_pem(sandbox_keypair().public_key()).encode(),
        sandbox.public_key_id,
        b"huimin-sandbox-apiv3-key-0000000",
        APPID,
        MCHID,
        clock=clock,
    )

    assert verifier.parse(headers, body).amount_total_fen == 9900


def test_repeated_simulation_is_a_duplicate_delivery(sandbox):
    _create(sandbox)
    first = sandbox.verifier().parse(*sandbox.simulate_payment("HM20260101000001"))
    again = sandbox.verifier().parse(*sandbox.simulate_payment("HM20260101000001"))

    assert again == first  # same notification id, transaction, amount


def test_simulated_payment_with_another_amount(sandbox):
    _create(sandbox)

    parsed = sandbox.verifier().parse(*sandbox.simulate_payment("HM20260101000001", paid_fen=100))

    assert parsed.amount_total_fen == 100
    assert sandbox.query_order("HM20260101000001").amount_fen == 100
    with pytest.raises(ValueError):
        sandbox.simulate_payment("HM20260101000001", paid_fen=9900)


def test_notification_is_stale_long_after_the_payment(sandbox, clock):
    _create(sandbox)
    headers, body = sandbox.simulate_payment("HM20260101000001")
    clock.now = T0 + timedelta(minutes=6)

    with pytest.raises(NotificationRejected) as info:
        sandbox.verifier().parse(headers, body)
    assert info.value.reason == "stale"


def test_another_apiv3_key_cannot_decrypt_the_sandbox_notification(app, clock):
    with app.app_context():
        sandbox = SandboxWeChatPay(APPID, MCHID, clock=clock)
        _create(sandbox)
        headers, body = sandbox.simulate_payment("HM20260101000001")
        other = SandboxWeChatPay(
            APPID, MCHID, apiv3_key=b"another-apiv3-key-of-32-bytes-00", clock=clock
        )

        with pytest.raises(NotificationRejected) as info:
            other.verifier().parse(headers, body)
    assert info.value.reason == "decrypt_failed"


def test_a_closed_or_expired_trade_cannot_be_paid(sandbox, clock):
    _create(sandbox)
    sandbox.close_order("HM20260101000001")
    assert _code(lambda: sandbox.simulate_payment("HM20260101000001")).code == "ORDER_CLOSED"

    _create(sandbox, "HM20260101000002")
    clock.now = T0 + timedelta(minutes=31)
    assert _code(lambda: sandbox.simulate_payment("HM20260101000002")).code == "ORDER_CLOSED"
    assert sandbox.query_order("HM20260101000002").trade_state == TRADE_CLOSED


def test_unknown_orders(sandbox):
    assert _code(lambda: sandbox.query_order("HM_NO_SUCH_ORDER")).code == "ORDER_NOT_EXIST"
    assert _code(lambda: sandbox.close_order("HM_NO_SUCH_ORDER")).code == "ORDER_NOT_EXIST"
    assert _code(lambda: sandbox.simulate_payment("HM_NO_SUCH_ORDER")).code == "ORDER_NOT_EXIST"


# --- close -------------------------------------------------------------------------------------


def test_close(sandbox):
    _create(sandbox)
    sandbox.close_order("HM20260101000001")
    sandbox.close_order("HM20260101000001")  # again: no-op, like WeChat

    assert sandbox.query_order("HM20260101000001").trade_state == TRADE_CLOSED


def test_a_paid_trade_cannot_be_closed(sandbox):
    _paid(sandbox)

    error = _code(lambda: sandbox.close_order("HM20260101000001"))

    assert error.code == "ORDERPAID" and error.retryable is False
    assert sandbox.query_order("HM20260101000001").trade_state == TRADE_SUCCESS


# --- refunds -----------------------------------------------------------------------------------


def _refund(sandbox, out_refund_no, refund_fen, total_fen=9900, out_trade_no="HM20260101000001"):
    return sandbox.refund(
        out_trade_no=out_trade_no,
        out_refund_no=out_refund_no,
        refund_fen=refund_fen,
        total_fen=total_fen,
        reason="犹豫期退保",
    )


def test_refund_is_processing_then_succeeds(sandbox):
    _paid(sandbox)

    result = _refund(sandbox, "RF1", 9900)

    assert result.status == REFUND_PROCESSING and result.amount_fen == 9900 and result.refund_id
    assert sandbox.query_order("HM20260101000001").trade_state == TRADE_REFUND
    queried = sandbox.query_refund("RF1")
    assert queried.status == REFUND_SUCCESS and queried.refund_id == result.refund_id


def test_refund_by_the_same_out_refund_no_is_idempotent(sandbox):
    _paid(sandbox)

    first = _refund(sandbox, "RF1", 5000)
    second = _refund(sandbox, "RF1", 5000)

    assert second.refund_id == first.refund_id
    assert len(get_session().scalars(select(SandboxWeChatRefund)).all()) == 1
    error = _code(lambda: _refund(sandbox, "RF1", 4000))
    assert error.code == "INVALID_REQUEST" and error.retryable is False


def test_refunds_never_exceed_the_paid_amount(sandbox):
    _paid(sandbox)
    _refund(sandbox, "RF1", 5000)
    _refund(sandbox, "RF2", 4000)

    error = _code(lambda: _refund(sandbox, "RF3", 901))
    assert error.code == "INVALID_REQUEST" and error.retryable is False

    assert _refund(sandbox, "RF3", 900).status == REFUND_PROCESSING
    assert _code(lambda: _refund(sandbox, "RF4", 1)).code == "INVALID_REQUEST"


def test_a_closed_refund_frees_its_amount(sandbox):
    sandbox.auto_settle_refunds = False
    _paid(sandbox)
    _refund(sandbox, "RF1", 9900)
    assert sandbox.query_refund("RF1").status == REFUND_PROCESSING

    sandbox.settle_refund("RF1", REFUND_CLOSED)

    assert sandbox.query_refund("RF1").status == REFUND_CLOSED
    assert _refund(sandbox, "RF2", 9900).status == REFUND_PROCESSING


def test_refund_total_must_be_the_paid_amount(sandbox):
    _paid(sandbox)

    assert _code(lambda: _refund(sandbox, "RF1", 100, total_fen=10000)).code == "INVALID_REQUEST"


def test_refund_of_an_unpaid_closed_or_unknown_trade_fails(sandbox):
    _create(sandbox)
    assert _code(lambda: _refund(sandbox, "RF1", 100)).code == "INVALID_REQUEST"

    sandbox.close_order("HM20260101000001")
    assert _code(lambda: _refund(sandbox, "RF1", 100)).code == "INVALID_REQUEST"

    error = _code(lambda: _refund(sandbox, "RF1", 100, out_trade_no="HM_NO_SUCH_ORDER"))
    assert error.code == "RESOURCE_NOT_EXISTS"
    assert _code(lambda: sandbox.query_refund("RF1")).code == "RESOURCE_NOT_EXISTS"


def test_refund_number_reused_for_another_trade_is_invalid(sandbox):
    _paid(sandbox, "HM20260101000001")
    _paid(sandbox, "HM20260101000002")
    _refund(sandbox, "RF1", 100)

    error = _code(lambda: _refund(sandbox, "RF1", 100, out_trade_no="HM20260101000002"))

    assert error.code == "INVALID_REQUEST"


def test_a_refunded_trade_still_replays_its_payment_notification(sandbox):
    _create(sandbox)
    first = sandbox.verifier().parse(*sandbox.simulate_payment("HM20260101000001"))
    _refund(sandbox, "RF1", 9900)

    again = sandbox.verifier().parse(*sandbox.simulate_payment("HM20260101000001"))

    assert again == first and again.trade_state == TRADE_SUCCESS


# --- registry ----------------------------------------------------------------------------------


def test_registry_builds_one_sandbox_adapter_per_app(app):
    from app.integrations.registry import wechat_pay

    with app.app_context():
        adapter = wechat_pay()
        assert isinstance(adapter, SandboxWeChatPay)
        assert wechat_pay() is adapter
        assert adapter.public_key_pem() == public_key_pem(sandbox_keypair().public_key())
