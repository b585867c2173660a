"""The member's money in view: the personal-account balance in the quote (from the bureau, cached
for ACCOUNT_BALANCE_CACHE_SECONDS, forgotten after a debit), an account that cannot pay marked
with its reason before ordering (and refused at ordering), and the refund status on a policy."""

from __future__ import annotations

from sqlalchemy import update

from app.database import transaction
from app.integrations.bureau.sandbox_models import SandboxResident
from tests.conftest import bearer
from tests.enrollment.conftest import key, order_body, pay, place_order
from tests.enrollment.test_orders import PREMIUM, SHOWCASE, balance


def set_balance(app, fen: int, name="张伟") -> None:
    with app.app_context(), transaction() as s:
        s.execute(
            update(SandboxResident)
            .where(SandboxResident.psn_no == SHOWCASE[name].psn_no)
            .values(balc_fen=fen)
        )


def quote(client, family, relative_ids=()):
    resp = client.post(
        "/quotes", headers=bearer(family["token"]), json={"relative_ids": list(relative_ids)}
    )
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_the_quote_shows_the_balance_and_marks_an_account_that_cannot_pay(app, client, family):
    q = quote(client, family, [family["spouse"], family["child"]])
    assert q["personal_account_balance_fen"] == balance(app) == 356000
    assert q["payment_methods"] == ["personal_account", "wechat"]

    set_balance(app, 3 * PREMIUM - 1)  # one fen short of three premiums
    family_traveller = family["traveller"]
    family_traveller.shift(31)  # past ACCOUNT_BALANCE_CACHE_SECONDS (30)
    q = quote(client, family, [family["spouse"], family["child"]])
    assert q["personal_account_balance_fen"] == 3 * PREMIUM - 1
    assert q["payment_methods"] == ["wechat"]
    reason = q["unavailable_methods"]["personal_account"]
    assert reason["code"] == "personal_account_insufficient_balance"
    assert "266.99 元" in reason["message"] and "267.00 元" in reason["message"]

    # Ordering with that account is refused up front, not at payment; WeChat still works.
    resp = client.post(
        "/orders",
        headers={**bearer(family["token"]), **key()},
        json=order_body(client, [family["spouse"], family["child"]]),
    )
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["code"] == "personal_account_insufficient_balance"
    # For one person the same balance is enough.
    assert quote(client, family)["payment_methods"] == ["personal_account", "wechat"]


def test_the_balance_is_cached_briefly_and_forgotten_after_a_debit(app, client, family):
    assert quote(client, family)["personal_account_balance_fen"] == 356000
    set_balance(app, 50000)
    assert quote(client, family)["personal_account_balance_fen"] == 356000  # cached
    family["traveller"].shift(31)
    assert quote(client, family)["personal_account_balance_fen"] == 50000
    order = place_order(client, family, [])
    assert pay(client, family, order["id"]).get_json()["state"] == "paid"
    # The debit forgot the cached value: the next quote asks the bureau again.
    assert quote(client, family)["personal_account_balance_fen"] == 50000 - PREMIUM


def test_a_resident_without_a_personal_account_sees_no_balance(app, client, seeded, residents):
    from tests import factories

    made = factories.verified_member(seeded, "resident-liu", residents["刘强"])
    resp = client.post("/quotes", headers=bearer(made["access_token"]), json={"relative_ids": []})
    body = resp.get_json()
    assert body["personal_account_balance_fen"] is None
    assert body["unavailable_methods"]["personal_account"]["code"] == (
        "personal_account_unavailable"
    )


def test_the_policy_shows_its_refund_status(app, client, family):
    order = place_order(client, family, [])
    assert pay(client, family, order["id"]).get_json()["state"] == "paid"
    [policy] = client.get("/policies", headers=bearer(family["token"])).get_json()
    assert policy["refund"] == {
        "status": "none",
        "label": "无退款",
        "amount_fen": 0,
        "sponsor_fen": 0,
    }
    resp = client.post(
        f"/policies/{policy['id']}/surrender", headers={**bearer(family["token"]), **key()}
    )
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["policy"]["refund"]["status"] == "succeeded"
    shown = client.get(f"/policies/{policy['id']}", headers=bearer(family["token"])).get_json()
    assert shown["refund"] == {
        "status": "succeeded",
        "label": "已退款",
        "amount_fen": PREMIUM,
        "sponsor_fen": 0,
    }
