"""WeChat Pay notifications against our notify endpoint: valid, duplicate (sequential and
concurrent), tampered, stale, probe, amount mismatch, and paid after the order was closed."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select, update

from app.database import get_session, transaction
from app.enrollment.models import LedgerEntry, Order, OrderItem, Payment, Refund
from app.integrations import registry
from app.integrations.wechatpay.notifications import build_notification
from app.payments.ledger import check_ledger
from app.policies.models import Policy
from tests.enrollment.conftest import pay, place_order

PREMIUM = 8900


@pytest.fixture
def awaiting(app, client, family):
    """An order for 张伟 alone, with a WeChat payment started; returns (order, out_trade_no)."""
    order = place_order(client, family, [], method="wechat")
    assert pay(client, family, order["id"], "wechat").get_json()["state"] == "awaiting_wechat"
    with app.app_context():
        reference = get_session().scalar(
            select(Payment.reference).where(Payment.order_id == order["id"])
        )
    return order, reference


def notification(app, reference, **kwargs):
    with app.app_context():
        return registry.wechat_pay().simulate_payment(reference, **kwargs)


def transaction_for(app, reference, transaction_id):
    """The decrypted resource WeChat would send for our trade (for hand-built notifications)."""
    with app.app_context():
        wx = registry.wechat_pay()
        return {
            "appid": wx.appid,
            "mchid": wx.mchid,
            "out_trade_no": reference,
            "transaction_id": transaction_id,
            "trade_state": "SUCCESS",
            "amount": {"total": PREMIUM, "payer_total": PREMIUM, "currency": "CNY"},
            "payer": {"openid": "x"},
            "success_time": "2026-11-23T10:00:00+08:00",
        }


def post(client, headers, body):
    return client.post(
        "/payments/wechat/notify", headers=headers, data=body, content_type="application/json"
    )


def state(app):
    with app.app_context():
        s = get_session()
        return {
            "order": s.scalar(select(Order.status)),
            "policies": s.scalar(select(func.count()).select_from(Policy)),
            "ledger": s.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0))),
            "payment": s.scalar(select(Payment.status)),
        }


def test_valid_notification_pays_once_and_duplicates_are_acknowledged(app, client, awaiting):
    headers, body = notification(app, awaiting[1])
    for _ in range(10):  # WeChat retries; every delivery gets a success answer
        assert post(client, headers, body).status_code == 204
    assert state(app) == {"order": "paid", "policies": 1, "ledger": PREMIUM, "payment": "succeeded"}
    with app.app_context():
        assert check_ledger() == []


@pytest.mark.parametrize("tamper", ["body", "signature", "timestamp", "nonce", "serial"])
def test_tampered_notifications_are_rejected_without_effect(app, client, awaiting, tamper):
    headers, body = notification(app, awaiting[1])
    headers = dict(headers)
    if tamper == "body":
        body = body.replace(
            b'"event_type":"TRANSACTION.SUCCESS"', b'"event_type":"TRANSACTION.SUCCESS" '
        )
    elif tamper == "signature":
        sig = headers["Wechatpay-Signature"]
        headers["Wechatpay-Signature"] = ("A" if sig[0] != "A" else "B") + sig[1:]
    elif tamper == "timestamp":
        headers["Wechatpay-Timestamp"] = str(int(headers["Wechatpay-Timestamp"]) + 1)
    elif tamper == "nonce":
        headers["Wechatpay-Nonce"] = headers["Wechatpay-Nonce"][::-1] + "x"
    else:
        headers["Wechatpay-Serial"] = "PUB_KEY_ID_SOMEONE_ELSE"
    resp = post(client, headers, body)
    assert resp.status_code == 401
    assert resp.get_json()["code"] == "notification_rejected"
    assert state(app)["order"] == "pending_payment" and state(app)["policies"] == 0


def test_probe_signed_with_another_key_is_rejected(app, client, awaiting):
    from app.integrations.wechatpay.sandbox import SANDBOX_APIV3_KEY, SANDBOX_PUBLIC_KEY_ID

    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _, genuine = notification(app, awaiting[1])
    import json as _json

    txn = transaction_for(app, awaiting[1], "4200000000000000000000000001")
    headers, body = build_notification(
        stranger, SANDBOX_PUBLIC_KEY_ID, SANDBOX_APIV3_KEY, txn, timestamp=int(time.time())
    )
    assert post(client, headers, body).status_code == 401
    assert _json.loads(genuine)["id"]  # the genuine one is still deliverable afterwards
    assert state(app)["policies"] == 0


def test_stale_notification_is_rejected(app, client, awaiting):
    from app.integrations.wechatpay.sandbox import (
        SANDBOX_APIV3_KEY,
        SANDBOX_PUBLIC_KEY_ID,
        sandbox_keypair,
    )

    txn = transaction_for(app, awaiting[1], "4200000000000000000000000002")
    headers, body = build_notification(
        sandbox_keypair(),
        SANDBOX_PUBLIC_KEY_ID,
        SANDBOX_APIV3_KEY,
        txn,
        timestamp=int(time.time()) - 3600,
    )
    assert post(client, headers, body).status_code == 401
    assert state(app)["policies"] == 0


def test_amount_mismatch_is_not_applied(app, client, awaiting):
    headers, body = notification(app, awaiting[1], paid_fen=1)
    assert post(client, headers, body).status_code == 401
    assert state(app)["order"] == "pending_payment" and state(app)["policies"] == 0


def test_paid_after_the_order_was_closed_is_refunded(app, client, awaiting):
    from app.payments.services import reconcile

    order, reference = awaiting
    headers, body = notification(app, reference)  # the member paid in WeChat ...
    with app.app_context():  # ... while the order closed on our side
        with transaction() as s:
            s.execute(update(Order).values(status="closed", close_reason="expired"))
            s.execute(update(OrderItem).values(open=False))
            s.execute(update(Payment).values(status="closed"))
    assert post(client, headers, body).status_code == 204
    assert post(client, headers, body).status_code == 204  # duplicate: still one refund
    with app.app_context():
        s = get_session()
        refunds = list(s.scalars(select(Refund)))
        assert [(r.reason, r.method, r.amount_fen) for r in refunds] == [
            ("paid_after_close", "wechat", PREMIUM)
        ]
        assert s.scalar(select(func.count()).select_from(Policy)) == 0
        assert s.scalar(select(Order.status)) == "closed"
        reconcile(min_age_seconds=0)  # the sandbox's refund goes PROCESSING -> SUCCESS
        assert get_session().scalar(select(Refund.status)) == "succeeded"
        assert get_session().scalar(select(func.sum(LedgerEntry.amount_fen))) == 0
        assert check_ledger() == []


@pytest.mark.postgres
def test_concurrent_duplicate_notifications_apply_once(app, awaiting):
    headers, body = notification(app, awaiting[1])

    def deliver(_):
        return post(app.test_client(), headers, body).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        codes = list(pool.map(deliver, range(10)))
    assert codes == [204] * 10
    assert state(app) == {"order": "paid", "policies": 1, "ledger": PREMIUM, "payment": "succeeded"}


def test_switching_to_the_account_after_paying_in_wechat_settles_the_wechat_payment(
    app, client, family, awaiting
):
    """The member paid in WeChat but the notification has not arrived; tapping 个人账户 then
    must neither debit the account nor answer "WeChat Pay is unavailable": WeChat refuses to
    close the paid trade (ORDERPAID), so the app asks WeChat and applies the payment."""
    order, reference = awaiting
    notification(app, reference)  # paid at WeChat; the notification is still on its way
    resp = pay(client, family, order["id"], "personal_account")
    assert resp.status_code == 409, resp.get_json()
    assert resp.get_json()["code"] == "order_already_paid"
    assert "微信支付" in resp.get_json()["detail"]
    assert state(app) == {"order": "paid", "policies": 1, "ledger": PREMIUM, "payment": "succeeded"}
    with app.app_context():
        s = get_session()
        assert s.scalar(select(Order.payment_method)) == "wechat"
        assert s.scalar(select(func.count()).select_from(Payment)) == 1  # no account debit
        assert check_ledger() == []
