"""Enrollment through HTTP on the sandbox: quotes, orders, personal-account and WeChat payment,
policies, idempotency, reconciliation, surrender and refunds, and the ledger."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from app.database import get_session
from app.demo.residents import generate
from app.enrollment.models import LedgerEntry, Order, Payment, Refund
from app.integrations.bureau.sandbox_models import SandboxResident
from app.payments.ledger import check_ledger
from app.policies.models import Policy
from tests.conftest import bearer, login
from tests.enrollment.conftest import key, order_body, pay, place_order

PREMIUM = 8900  # the demo product: 89 yuan for everyone


SHOWCASE = {r.name: r for r in generate()[:10]}


def balance(app, name="张伟") -> int:
    """The showcase person's personal-account balance (names are not unique in the registry)."""
    with app.app_context():
        return get_session().scalar(
            select(SandboxResident.balc_fen).where(SandboxResident.psn_no == SHOWCASE[name].psn_no)
        )


def count(app, model, *where) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(model).where(*where))


def test_quote_for_the_family_has_no_side_effects(app, client, family):
    resp = client.post(
        "/quotes",
        headers=bearer(family["token"]),
        json={"relative_ids": [family["spouse"], family["child"]]},
    )
    assert resp.status_code == 200, resp.get_json()
    q = resp.get_json()
    assert [l["eligible"] for l in q["lines"]] == [True, True, True]
    assert q["total_pay_fen"] == 3 * PREMIUM  # 3 x 89 yuan = 267 yuan
    assert q["payment_methods"] == ["personal_account", "wechat"]
    assert q["sponsored_cover"] is None  # no programme pays for this family
    assert "张伟" not in json.dumps(q, ensure_ascii=False)  # names masked
    assert count(app, Order) == 0


def test_pay_for_the_family_from_the_personal_account(app, client, family):
    before = balance(app)
    order = place_order(client, family, [family["spouse"], family["child"]])
    assert order["status"] == "pending_payment" and order["total_pay_fen"] == 3 * PREMIUM
    resp = pay(client, family, order["id"])
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["state"] == "paid" and body["order"]["status"] == "paid"
    assert balance(app) == before - 3 * PREMIUM  # 3,560.00 - 267.00 = 3,293.00 yuan
    policies = client.get("/policies", headers=bearer(family["token"])).get_json()
    assert len(policies) == 3 and {p["status"] for p in policies} == {"active"}
    assert {p["coverage_start"] for p in policies} == {"2026-11-23"}  # 自缴费成功之日起
    with app.app_context():
        assert check_ledger() == []
        total = get_session().scalar(select(func.sum(LedgerEntry.amount_fen)))
    assert total == 3 * PREMIUM


def test_terms_must_be_agreed_in_their_current_version(client, family):
    body = order_body(client, [family["spouse"]])
    body["terms"] = {"version": "1999.1", "accepted": True}
    resp = client.post("/orders", headers={**bearer(family["token"]), **key()}, json=body)
    assert resp.status_code == 422 and resp.get_json()["code"] == "terms_version_outdated"
    current = order_body(client, [])["terms"]["version"]
    assert (
        f"当前版本为 {current}" in resp.get_json()["detail"]
        and "1999.1" in resp.get_json()["detail"]
    )
    body["terms"] = {"version": current, "accepted": False}
    resp = client.post("/orders", headers={**bearer(family["token"]), **key()}, json=body)
    assert resp.status_code == 422 and resp.get_json()["code"] == "terms_not_accepted"


def test_a_payment_replays_the_answer_its_settlement_recorded(app, client, family):
    """The answer of a payment settled at once is written by the settling commit
    (idempotency.record_answer): the same key replays it, byte for byte the same JSON, and the
    account is debited once."""
    from app.common.idempotency import IdempotencyRecord

    order = client.post(
        "/orders", headers={**bearer(family["token"]), **key()}, json=order_body(client, [])
    ).get_json()
    before = balance(app)
    headers = {**bearer(family["token"]), **key()}
    url = f"/orders/{order['id']}/payments"
    first = client.post(url, headers=headers, json={"method": "personal_account"})
    assert first.status_code == 200 and first.get_json()["state"] == "paid"
    with app.app_context():
        record = get_session().scalar(
            select(IdempotencyRecord).where(IdempotencyRecord.key == headers["Idempotency-Key"])
        )
        assert record.state == "completed" and record.holder is None
        assert (record.response_status, record.response_body) == (200, first.get_json())
    again = client.post(url, headers=headers, json={"method": "personal_account"})
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert (again.status_code, again.get_json()) == (200, first.get_json())
    assert before - balance(app) == PREMIUM


def test_idempotency_key_rules(app, client, family):
    headers = {**bearer(family["token"]), "Idempotency-Key": "order-key-0001"}
    body = order_body(client, [family["spouse"]])
    first = client.post("/orders", headers=headers, json=body)
    again = client.post("/orders", headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert count(app, Order) == 1
    other = client.post("/orders", headers=headers, json=order_body(client, [family["child"]]))
    assert other.status_code == 422 and other.get_json()["code"] == "idempotency_key_reused"
    missing = client.post("/orders", headers=bearer(family["token"]), json=body)
    assert missing.status_code == 400 and missing.get_json()["code"] == "idempotency_key_required"
    assert count(app, Order) == 1


def test_a_second_order_for_the_same_people_is_refused(app, client, family):
    place_order(client, family, [family["spouse"]])
    resp = client.post(
        "/orders",
        headers={**bearer(family["token"]), **key()},
        json=order_body(client, [family["spouse"]]),
    )
    assert resp.status_code == 422 and resp.get_json()["code"] == "already_insured"
    assert count(app, Order) == 1


def test_insufficient_balance_leaves_the_order_payable_by_wechat(
    app, client, seeded, residents, frozen
):
    from tests.conftest import login, verify

    token = login(client, "sun-li")["access_token"]
    assert verify(client, token, residents["孙丽"]).status_code == 200  # account holds 0.00
    fam = {"token": token}
    # Marked before ordering: the quote shows 0.00 and why the account cannot pay, and an order
    # naming the account is refused at once.
    q = client.post("/quotes", headers=bearer(token), json={}).get_json()
    assert q["personal_account_balance_fen"] == 0 and q["payment_methods"] == ["wechat"]
    resp = client.post(
        "/orders", headers={**bearer(token), **key()}, json=order_body(client, [], True)
    )
    assert resp.get_json()["code"] == "personal_account_insufficient_balance"
    # Ordered for WeChat, the account is still refused by the bureau if tried at payment.
    order = place_order(client, fam, [], include_self=True, method="wechat")
    resp = pay(client, fam, order["id"])
    assert (
        resp.status_code == 422
        and resp.get_json()["code"] == "personal_account_insufficient_balance"
    )
    resp = pay(client, fam, order["id"], "wechat")
    assert resp.status_code == 200 and resp.get_json()["state"] == "awaiting_wechat"
    assert resp.get_json()["wechat_js_params"]["package"].startswith("prepay_id=")


def test_wechat_payment_through_the_sandbox_notification(app, client, family):
    order = place_order(client, family, [family["spouse"]], method="wechat")
    started = pay(client, family, order["id"], "wechat").get_json()
    assert started["state"] == "awaiting_wechat"
    params = started["wechat_js_params"]
    assert set(params) >= {"timeStamp", "nonceStr", "package", "signType", "paySign"}
    resp = client.post(
        f"/orders/{order['id']}/sandbox-wechat-payment", headers=bearer(family["token"])
    )
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["outcome"] == "paid" and resp.get_json()["order"]["status"] == "paid"
    assert count(app, Policy) == 2
    with app.app_context():
        assert check_ledger() == []


def test_timeout_then_reconciliation_settles_once(app, client, family):
    from app.integrations.bureau.sandbox import SandboxBureau
    from app.payments.services import reconcile

    app.extensions["bureau"] = SandboxBureau(faults={"timeout_after_debit"})
    before = balance(app)
    order = place_order(client, family, [family["spouse"]])
    resp = pay(client, family, order["id"])
    assert resp.status_code == 200 and resp.get_json()["state"] == "processing"
    assert resp.get_json()["order"]["status"] == "paying"
    assert balance(app) == before - 2 * PREMIUM  # the bureau did debit; the answer was lost
    assert count(app, Policy) == 0
    app.extensions["bureau"] = SandboxBureau()
    with app.app_context():
        summary = reconcile(min_age_seconds=0)
        again = reconcile(min_age_seconds=0)
    assert summary["paid"] == 1 and again["checked"] == 0
    assert count(app, Policy) == 2
    assert balance(app) == before - 2 * PREMIUM
    with app.app_context():
        assert check_ledger() == []


def test_timeout_before_debit_reconciles_to_failed_and_can_be_paid_again(app, client, family):
    from app.integrations.bureau.sandbox import SandboxBureau
    from app.payments.services import reconcile

    app.extensions["bureau"] = SandboxBureau(faults={"timeout_before_debit"})
    before = balance(app)
    order = place_order(client, family, [])
    assert pay(client, family, order["id"]).get_json()["state"] == "processing"
    app.extensions["bureau"] = SandboxBureau()
    with app.app_context():
        assert reconcile(min_age_seconds=0)["failed"] == 1
    assert (
        client.get(f"/orders/{order['id']}", headers=bearer(family["token"])).get_json()["status"]
        == "pending_payment"
    )
    assert pay(client, family, order["id"]).get_json()["state"] == "paid"
    assert balance(app) == before - PREMIUM


def test_surrender_within_the_window_refunds_the_account(app, client, family, frozen):
    before = balance(app)
    order = place_order(client, family, [family["spouse"]])
    assert pay(client, family, order["id"]).get_json()["state"] == "paid"
    policies = client.get("/policies", headers=bearer(family["token"])).get_json()
    target = policies[0]["id"]
    resp = client.post(
        f"/policies/{target}/surrender", headers={**bearer(family["token"]), **key()}
    )
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["policy"]["status"] == "void"
    assert [(r["method"], r["amount_fen"], r["status"]) for r in body["refunds"]] == [
        ("personal_account", PREMIUM, "succeeded")
    ]
    assert balance(app) == before - PREMIUM  # paid 178.00, 89.00 came back
    again = client.post(
        f"/policies/{target}/surrender", headers={**bearer(family["token"]), **key()}
    )
    assert again.status_code == 409 and again.get_json()["code"] == "policy_not_active"
    with app.app_context():
        assert check_ledger() == []
    # The surrendered person may enroll again.
    assert client.post(
        "/quotes",
        headers=bearer(family["token"]),
        json={"include_self": False, "relative_ids": [family["spouse"]]},
    ).get_json()["lines"][0]["eligible"] in (True, False)


def test_surrender_outside_the_window_is_refused(app, client, family, frozen):
    order = place_order(client, family, [])
    assert pay(client, family, order["id"]).get_json()["state"] == "paid"
    policy_id = client.get("/policies", headers=bearer(family["token"])).get_json()[0]["id"]
    frozen.shift(16 * 24 * 3600)  # paid 2026-11-23, today 2026-12-09: 16 days > 15
    token = login(client, "family-zhang")["access_token"]  # the old access token has expired
    resp = client.post(f"/policies/{policy_id}/surrender", headers={**bearer(token), **key()})
    assert resp.status_code == 422 and resp.get_json()["code"] == "refund_window_passed"
    assert (
        client.get(f"/policies/{policy_id}", headers=bearer(token)).get_json()["status"] == "active"
    )


def test_surrender_of_a_wechat_policy_refunds_by_out_refund_no(app, client, family):
    order = place_order(client, family, [], method="wechat")
    pay(client, family, order["id"], "wechat")
    client.post(f"/orders/{order['id']}/sandbox-wechat-payment", headers=bearer(family["token"]))
    policy_id = client.get("/policies", headers=bearer(family["token"])).get_json()[0]["id"]
    body = client.post(
        f"/policies/{policy_id}/surrender", headers={**bearer(family["token"]), **key()}
    ).get_json()
    assert [(r["method"], r["amount_fen"]) for r in body["refunds"]] == [("wechat", PREMIUM)]
    assert body["policy"]["status"] in ("void", "surrendered")
    with app.app_context():
        assert get_session().scalar(select(Refund.reference)).startswith("RF")
        assert check_ledger() == []


def test_expired_unpaid_orders_close_and_release_people(app, client, family, frozen):
    from app.payments.services import expire_orders

    order = place_order(client, family, [family["spouse"]], method="wechat")
    pay(client, family, order["id"], "wechat")
    frozen.shift(31 * 60)
    with app.app_context():
        assert expire_orders() == 1
    family["token"] = login(client, "family-zhang")["access_token"]  # 15-minute tokens
    got = client.get(f"/orders/{order['id']}", headers=bearer(family["token"])).get_json()
    assert got["status"] == "closed" and got["close_reason"] == "expired"
    with app.app_context():
        assert get_session().scalar(select(Payment.status)) == "closed"
    place_order(client, family, [family["spouse"]])  # the people are free again
