"""Relatives stored before the relation rules (app/members/relation_rules.py) that break them,
paid for from the personal account (家庭共济): the quote does not offer the account, an order
naming it is refused, a payment from it is refused (422 family_pool_relation_implausible, no
payment, no debit), WeChat Pay still pays; and the member's fix (remove, add again with the
right relation) makes the account pay.

The family: 张伟 (born 1985-03-12, employee, account 3,560.00 yuan) with 李娜 (spouse) and 张小宝
(child), made directly as the enrollment fixtures do. The rows that break the rules are written
directly too, as data stored before the rules: 孙丽 (born 1992-07-07, 7 years younger) as his
"parent", 张建国 (born 1942-11-05, 42 years older) as his "child", 陈静 (born 1979) as a second
spouse.
"""

from __future__ import annotations

from sqlalchemy import func, select

from app.database import get_session
from app.enrollment.models import Order, Payment
from app.integrations.bureau.sandbox_models import SandboxResident
from app.members.models import Relative
from tests import factories
from tests.conftest import CONSENT, bearer
from tests.enrollment.conftest import key, order_body, pay, place_order

IMPLAUSIBLE = "family_pool_relation_implausible"


def count(app, model, *where) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(model).where(*where))


def balance(app, resident) -> int:
    with app.app_context():
        return get_session().scalar(
            select(SandboxResident.balc_fen).where(SandboxResident.psn_no == resident.psn_no)
        )


def member_id(app, family) -> int:
    with app.app_context():
        return get_session().get_one(Relative, family["spouse"]).member_id


def stored(app, family, resident, relation) -> int:
    """`resident` on the family's list as `relation`, written as data stored before the rules."""
    return factories.relative(app, member_id(app, family), resident, relation)


def quote(client, family, relative_ids) -> dict:
    resp = client.post(
        "/quotes",
        headers=bearer(family["token"]),
        json={"include_self": False, "relative_ids": relative_ids},
    )
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_the_quote_offers_only_wechat_for_a_parent_younger_than_the_member(
    app, client, family, residents
):
    sunli = stored(app, family, residents["孙丽"], "parent")
    q = quote(client, family, [sunli])
    assert [l["eligible"] for l in q["lines"]] == [True]  # she may be insured
    assert q["payment_methods"] == ["wechat"]
    refusal = q["unavailable_methods"]["personal_account"]
    assert refusal["code"] == IMPLAUSIBLE
    assert "父母应比您年长至少12周岁" in refusal["message"]
    # the family as it should be still pays from the account
    assert quote(client, family, [family["spouse"], family["child"]])["payment_methods"] == [
        "personal_account",
        "wechat",
    ]


def test_an_order_naming_the_account_for_an_old_child_is_refused_and_nothing_written(
    app, client, family, residents
):
    father = stored(app, family, residents["张建国"], "child")
    resp = client.post(
        "/orders",
        headers={**bearer(family["token"]), **key()},
        json=order_body(client, [father], include_self=False),
    )
    assert resp.status_code == 422, resp.get_json()
    body = resp.get_json()
    assert body["code"] == IMPLAUSIBLE
    assert "子女应比您年轻至少12周岁" in body["detail"]
    assert count(app, Order) == 0


def test_a_wechat_order_for_the_younger_parent_is_not_paid_from_the_account(
    app, client, family, residents
):
    sunli = stored(app, family, residents["孙丽"], "parent")
    order = place_order(client, family, [sunli], include_self=False, method="wechat")
    before = balance(app, residents["张伟"])

    refused = pay(client, family, order["id"], "personal_account")
    assert refused.status_code == 422, refused.get_json()
    assert refused.get_json()["code"] == IMPLAUSIBLE
    assert count(app, Payment) == 0  # no payment started, nothing asked of the bureau
    assert balance(app, residents["张伟"]) == before
    got = client.get(f"/orders/{order['id']}", headers=bearer(family["token"])).get_json()
    assert got["status"] == "pending_payment"

    # WeChat Pay pays for anyone the product insures
    wechat = pay(client, family, order["id"], "wechat")
    assert wechat.status_code == 200, wechat.get_json()
    assert wechat.get_json()["state"] == "awaiting_wechat"


def test_two_spouses_listed_the_account_pays_for_neither_until_one_is_removed(
    app, client, family, residents
):
    second = stored(app, family, residents["陈静"], "spouse")
    q = quote(client, family, [family["spouse"]])
    assert q["payment_methods"] == ["wechat"]
    assert "登记了2位配偶" in q["unavailable_methods"]["personal_account"]["message"]

    order = place_order(client, family, [family["spouse"]], include_self=False, method="wechat")
    refused = pay(client, family, order["id"], "personal_account")
    assert refused.status_code == 422 and refused.get_json()["code"] == IMPLAUSIBLE
    assert count(app, Payment) == 0

    # the fix: the member removes the spouse entered by mistake; the same order then pays
    removed = client.delete(f"/me/relatives/{second}", headers=bearer(family["token"]))
    assert removed.status_code == 204
    before = balance(app, residents["张伟"])
    paid = pay(client, family, order["id"], "personal_account")
    assert paid.status_code == 200, paid.get_json()
    assert paid.get_json()["state"] == "paid"
    assert balance(app, residents["张伟"]) == before - order["total_pay_fen"]


def test_removing_and_adding_again_with_the_right_relation_lets_the_account_pay(
    app, client, family, residents
):
    """张建国 stored as 张伟's "child": refused; removed and added again as his parent (checked
    with the sandbox bureau, as any relative is), the account pays for him."""
    wrong = stored(app, family, residents["张建国"], "child")
    assert quote(client, family, [wrong])["payment_methods"] == ["wechat"]

    # while he is on the list, adding him again under the right relation says what to do
    father = residents["张建国"]
    body = {
        "name": father.name,
        "id_number": father.certno,
        "relation": "parent",
        "consent": CONSENT,
    }
    again = client.post("/me/relatives", headers=bearer(family["token"]), json=body)
    assert again.status_code == 409
    assert again.get_json()["code"] == "relative_exists"
    assert "（关系：子女）" in again.get_json()["detail"]
    assert "请先删除该家属" in again.get_json()["detail"]

    assert client.delete(f"/me/relatives/{wrong}", headers=bearer(family["token"])).status_code
    added = client.post("/me/relatives", headers=bearer(family["token"]), json=body)
    assert added.status_code == 201, added.get_json()
    q = quote(client, family, [added.get_json()["id"]])
    assert q["payment_methods"] == ["personal_account", "wechat"]
    order = place_order(client, family, [added.get_json()["id"]], include_self=False)
    paid = pay(client, family, order["id"])
    assert paid.status_code == 200 and paid.get_json()["state"] == "paid"


# --- the list as it stands when the account pays (review of the relation rules) --------------


def test_two_spouses_on_one_order_are_not_paid_after_one_is_removed(app, client, family, residents):
    """An order names 李娜 and 陈静 (stored before the rules) as spouses; the account refuses it;
    removing 陈静 from the list does not make the account pay for the order's two spouses."""
    second = stored(app, family, residents["陈静"], "spouse")
    order = place_order(
        client, family, [family["spouse"], second], include_self=False, method="wechat"
    )
    assert pay(client, family, order["id"], "personal_account").get_json()["code"] == IMPLAUSIBLE
    headers = bearer(family["token"])
    assert client.delete(f"/me/relatives/{second}", headers=headers).status_code == 204
    before = balance(app, residents["张伟"])
    refused = pay(client, family, order["id"], "personal_account")
    assert refused.status_code == 422
    assert refused.get_json()["code"] in (IMPLAUSIBLE, "family_pool_relative_not_listed")
    assert balance(app, residents["张伟"]) == before
    assert count(app, Payment, Payment.order_id == order["id"]) == 0


def test_an_order_for_a_removed_spouse_is_not_paid_from_the_account(app, client, family, residents):
    """Order for 李娜 left unpaid; 李娜 removed and 陈静 added as spouse: the account pays for
    陈静's order, not for the old order of a spouse no longer listed (WeChat Pay still may)."""
    mid = member_id(app, family)
    old = place_order(client, family, [family["spouse"]], include_self=False, method="wechat")
    headers = bearer(family["token"])
    assert client.delete(f"/me/relatives/{family['spouse']}", headers=headers).status_code == 204
    new_spouse = factories.relative(app, mid, residents["陈静"], "spouse")
    new = place_order(client, family, [new_spouse], include_self=False, method="wechat")
    before = balance(app, residents["张伟"])
    refused = pay(client, family, old["id"], "personal_account")
    assert refused.status_code == 422, refused.get_json()
    assert refused.get_json()["code"] == "family_pool_relative_not_listed"
    assert "重新下单" in refused.get_json()["detail"]
    assert balance(app, residents["张伟"]) == before
    assert count(app, Payment, Payment.order_id == old["id"]) == 0
    assert pay(client, family, new["id"], "personal_account").status_code == 200
    assert pay(client, family, old["id"], "wechat").status_code == 200
